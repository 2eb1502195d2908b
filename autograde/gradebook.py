"""One gradebook per course folder, for the whole term.

``grade`` is run many times into the same folder: assignment 01 from one Canvas zip, 02 from
another, a late submission of 01 a week later, written answers graded by hand in between. The
gradebook (``DIR/gradebook.json``) keeps one row per (student, assignment) across all of them:

- a newly graded submission adds its row, or replaces the row of the same student and
  assignment; the replaced row is kept in ``DIR/history/`` (with its feedback page), so nothing
  graded is ever lost;
- a ``missing`` row only fills a gap: it never replaces a row that has a submission, so grading a
  late batch that holds one student does not mark everyone else missing;
- every student seen so far gets a row for every assignment graded so far (``missing`` until
  they submit);
- written answers keep their grades when the same answers are graded again.

After every change the exports are written again: ``DIR/grades.csv`` (one line per student and
assignment) and ``DIR/grades_by_student.csv`` (one line per student, a column per assignment,
for an LMS gradebook import), and the feedback page of every changed row.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from autograde import cache, feedback
from autograde.datatypes import CellScore, Row, Status, WrittenGrade
from autograde.report import points

FILE = "gradebook.json"
FORMAT = 1
COLUMNS = [
    "student",
    "assignment",
    "score",
    "max_score",
    "status",
    "detail",
    "written",
    "written_max",
    "total",
    "total_max",
]


def feedback_path(folder: Path, row: Row) -> Path:
    return folder / "feedback" / row.student / row.assignment / f"{row.assignment}.html"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Gradebook:
    """The rows of one course folder, read from and written back to ``folder/gradebook.json``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.show_test_code = False
        self._rows: dict[tuple[str, str], Row] = {}
        path = folder / FILE
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            self.show_test_code = bool(data.get("show_test_code", False))
            for entry in data["rows"]:
                row = _from_json(entry)
                row.feedback = feedback_path(folder, row)
                self._rows[(row.student, row.assignment)] = row

    def rows(self) -> list[Row]:
        return [self._rows[k] for k in sorted(self._rows)]

    def row(self, student: str, assignment: str) -> Row | None:
        return self._rows.get((student, assignment))

    def merge(self, rows: list[Row]) -> list[Row]:
        """Add or replace rows (see the module's rules); return the rows that changed."""
        changed = []
        for row in rows:
            key = (row.student, row.assignment)
            old = self._rows.get(key)
            if old is not None and row.status == Status.MISSING:
                continue  # a gap-filler never replaces anything
            if old is not None and _same_result(old, row):
                row.written = old.written  # the same grading again: keep everything
            elif old is not None:
                self._archive(old)
                if old.answers == row.answers:
                    row.written = {g: w for g, w in old.written.items() if g in row.written_max}
            row.graded_at = row.graded_at or now()
            self._rows[key] = row
            changed.append(row)
        return changed + self._fill_gaps()

    def _fill_gaps(self) -> list[Row]:
        """A missing row for every (student, assignment) pair seen so far that has none."""
        students = sorted({s for s, _ in self._rows})
        assignments = {a: r.max_score for (_, a), r in self._rows.items()}
        written = {a: r.written_max for (_, a), r in self._rows.items()}
        added = []
        for student in students:
            for assignment, max_score in sorted(assignments.items()):
                if (student, assignment) not in self._rows:
                    row = Row(
                        student,
                        assignment,
                        0.0,
                        max_score,
                        Status.MISSING,
                        "nothing submitted",
                        written_max=dict(written[assignment]),
                        graded_at=now(),
                    )
                    self._rows[(student, assignment)] = row
                    added.append(row)
        return added

    def grade_written(self, student: str, assignment: str, grade_id: str, grade: WrittenGrade):
        row = self._rows.get((student, assignment))
        if row is None:
            raise KeyError(f"no row for {student} in {assignment}")
        if grade_id not in row.written_max:
            raise KeyError(f"{assignment} has no written answer {grade_id!r}")
        if not 0 <= grade.points <= row.written_max[grade_id]:
            raise ValueError(
                f"{grade.points:g} points for {grade_id} of {student}: the answer is worth "
                f"0 to {row.written_max[grade_id]:g}"
            )
        row.written[grade_id] = grade
        return row

    def _archive(self, row: Row) -> None:
        stamp = (row.graded_at or now()).replace(":", "-")
        folder = self.folder / "history" / row.student / row.assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{stamp}.json").write_text(json.dumps(_to_json(row), indent=1), "utf-8")
        page = feedback_path(self.folder, row)
        if page.exists():
            shutil.copyfile(page, folder / f"{stamp}.html")

    # --- writing -----------------------------------------------------------------------------

    def save(self, rendered: list[Row] = ()) -> None:
        """Write the gradebook, the feedback pages of ``rendered``, and both CSV exports."""
        for row in rendered:
            self.write_feedback(row)
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {
            "format": FORMAT,
            "show_test_code": self.show_test_code,
            "rows": [_to_json(row) for row in self.rows()],
        }
        temporary = self.folder / f"{FILE}.tmp"
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        temporary.replace(self.folder / FILE)
        write_csv(self.rows(), self.folder / "grades.csv")
        write_wide_csv(self.rows(), self.folder / "grades_by_student.csv")

    def write_feedback(self, row: Row) -> Path:
        executed = cache.Cache(self.folder / ".cache").executed(row.key) if row.key else None
        page = feedback.render(executed, row, show_test_code=self.show_test_code)
        path = feedback_path(self.folder, row)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page)
        row.feedback = path
        return path


def _same_result(old: Row, new: Row) -> bool:
    return old.key == new.key and old.status == new.status and old.key != ""


def _to_json(row: Row) -> dict:
    data = asdict(row)
    for transient in ("feedback", "reused"):
        data.pop(transient)
    data["status"] = str(row.status)
    return data


def _from_json(data: dict) -> Row:
    data = dict(data)
    data["status"] = Status(data["status"])
    data["cells"] = {g: CellScore(**c) for g, c in data.get("cells", {}).items()}
    data["written"] = {g: WrittenGrade(**w) for g, w in data.get("written", {}).items()}
    return Row(**data)


# --- the exports ---------------------------------------------------------------------------------


def write_csv(rows: list[Row], path: Path) -> None:
    """grades.csv: one line per (student, assignment); the same input gives the same file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            written_max = sum(row.written_max.values())
            writer.writerow(
                [
                    row.student,
                    row.assignment,
                    points(row.score),
                    points(row.max_score),
                    str(row.status),
                    row.detail,
                    points(row.written_score) if written_max else "",
                    points(written_max) if written_max else "",
                    points(row.total),
                    points(row.total_max),
                ]
            )


def write_wide_csv(rows: list[Row], path: Path) -> None:
    """One line per student: each assignment's total, autograded and written points, and the
    course total; a cell is empty while something in it is not graded yet."""
    assignments = sorted({row.assignment for row in rows})
    by_student: dict[str, dict[str, Row]] = {}
    for row in rows:
        by_student.setdefault(row.student, {})[row.assignment] = row
    header = ["student"]
    for assignment in assignments:
        header += [assignment, f"{assignment} autograded", f"{assignment} written"]
    header += ["total", "total_max"]
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        for student in sorted(by_student):
            line = [student]
            totals: list[float | None] = []
            maximum = 0.0
            for assignment in assignments:
                row = by_student[student].get(assignment)
                if row is None:
                    line += ["", "", ""]
                    totals.append(None)
                    continue
                line += [points(row.total), points(row.score), points(row.written_score)]
                totals.append(row.total)
                maximum += row.total_max
            complete = all(t is not None for t in totals)
            line += [points(sum(totals)) if complete else "", points(maximum)]
            writer.writerow(line)
