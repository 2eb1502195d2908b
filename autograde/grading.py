"""`python -m autograde grade`: every submission in, one row per (student, assignment) out.

The main process only finds submissions, checks that each file is a readable notebook, and writes
the results. nbgrader runs in worker processes (``--jobs`` of them): each submission is graded in
a scratch course folder of its own, and whatever goes wrong there becomes that row's
``status=error`` with a reason, never a crash of the whole run.
"""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from autograde import engine, report, worker
from autograde.course import Course
from autograde.submissions import Submission, find_submissions

GRADED, ERROR, MISSING, FLAGGED = "graded", "error", "missing", "flagged"
DEFAULT_LIMITS = worker.Limits()


@dataclass
class Row:
    """One line of grades.csv, plus the per-test-cell scores that `check` looks at."""

    student: str
    assignment: str
    score: float | None
    max_score: float
    status: str
    detail: str = ""
    cells: dict[str, engine.CellScore] = field(default_factory=dict)
    feedback: Path | None = None


def grade(
    course: Course,
    folder: Path,
    out: Path,
    *,
    jobs: int = 1,
    limits: worker.Limits = DEFAULT_LIMITS,
    progress: bool = True,
) -> list[Row]:
    """Grade a class folder; write ``out/grades.csv`` and ``out/feedback/``; return the rows."""
    submissions = find_submissions(folder, course.assignments())
    rows = grade_submissions(course, submissions, out, jobs=jobs, limits=limits, progress=progress)
    report.write_csv(rows, out / "grades.csv")
    return rows


def grade_submissions(
    course: Course,
    submissions: list[Submission],
    out: Path,
    *,
    jobs: int = 1,
    limits: worker.Limits = DEFAULT_LIMITS,
    progress: bool = True,
) -> list[Row]:
    """Grade ``submissions``; feedback goes to ``out/feedback``. Rows come back sorted."""
    assignments = sorted({s.assignment for s in submissions})
    points = {a: engine.test_cells(course.source_notebook(a)) for a in assignments}
    manual = {a: report.manual_points(course.source_notebook(a)) for a in assignments}
    rows: list[Row] = []
    to_grade: list[Submission] = []
    for submission in submissions:
        max_score = sum(points[submission.assignment].values())
        problem = _unreadable(submission.notebook) if submission.notebook else None
        if submission.notebook is None:
            rows.append(
                Row(
                    submission.student,
                    submission.assignment,
                    0.0,
                    max_score,
                    MISSING,
                    f"nothing submitted ({submission.note})",
                )
            )
        elif problem:
            rows.append(
                Row(submission.student, submission.assignment, None, max_score, ERROR, problem)
            )
        else:
            to_grade.append(submission)

    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        work = Path(scratch)
        context = get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=max(1, jobs),
            mp_context=context,
            initializer=worker.start,
            initargs=(str(work / "worker.log"),),
        ) as pool:
            # Every grading run starts from the instructor's current source.
            templates = dict(
                zip(
                    assignments,
                    pool.map(
                        worker.prepare, [str(course.solutions)] * len(assignments), assignments
                    ),
                    strict=True,
                )
            )
            futures = [
                pool.submit(
                    worker.grade_one,
                    worker.Job(
                        template=templates[s.assignment],
                        notebook=str(s.notebook),
                        run=str(work / "runs" / f"{i:05d}"),
                        limits=limits,
                        protected=(str(course.solutions),),
                    ),
                )
                for i, s in enumerate(to_grade)
            ]
            outcomes = _wait(futures, enabled=progress)

    # Written only now that no student code runs any more.
    for submission, outcome in zip(to_grade, outcomes, strict=True):
        rows.append(_row(submission, outcome, points, manual, out))
    for row in rows:
        if row.feedback is None:
            row.feedback = report.write_error_feedback(row, _feedback_path(out, row))
    return sorted(rows, key=lambda row: (row.student, row.assignment))


def _row(submission: Submission, outcome: worker.Outcome, points, manual, out: Path) -> Row:
    max_score = sum(points[submission.assignment].values())
    row = Row(submission.student, submission.assignment, None, max_score, GRADED)
    row.cells = {cell.grade_id: cell for cell in outcome.cells}
    if outcome.cells:
        row.score = sum(cell.score for cell in outcome.cells)
    notes = [submission.note] if submission.note else []
    if outcome.flags:
        row.status = FLAGGED
        notes.append("flagged: " + "; ".join(outcome.flags))
    elif outcome.error:
        row.status = ERROR
    if outcome.error:
        notes.append(outcome.error)
    notes += outcome.notes
    if outcome.cells:
        lost = [
            f"{c.grade_id} {c.score:g}/{c.max_score:g}"
            for c in outcome.cells
            if c.score < c.max_score
        ]
        notes.append(f"lost points in {', '.join(lost)}" if lost else "all tests passed")
    if manual[submission.assignment] and row.status == GRADED:
        phrase = report.points_phrase(manual[submission.assignment])
        notes.append(f"written answers ({phrase}) to grade by hand")
    row.detail = "; ".join(notes)
    if outcome.feedback:
        destination = _feedback_path(out, row)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(outcome.feedback)
        row.feedback = destination
    return row


def _feedback_path(out: Path, row: Row) -> Path:
    return out / "feedback" / row.student / row.assignment / f"{row.assignment}.html"


def _unreadable(notebook: Path) -> str | None:
    """Why ``notebook`` cannot be graded at all, or None if it is a readable notebook."""
    advice = "open it in JupyterLab, save it, and resubmit the .ipynb file"
    try:
        text = notebook.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return f"not a notebook file (not readable as text); {advice}"
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return (
            f"not a valid notebook file (broken JSON at line {error.lineno}, "
            f"column {error.colno}: {error.msg}); {advice}"
        )
    try:
        nbformat.validate(nbformat.reads(text, as_version=4))
    except Exception as error:  # any schema problem means the same thing to a student
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
        return f"not a valid Jupyter notebook ({first_line}); {advice}"
    return None


def _wait(futures: list, *, enabled: bool) -> list[worker.Outcome]:
    """Every outcome, in submission order; the bar moves as each one finishes."""
    with tqdm(
        total=len(futures),
        desc="grading",
        unit="notebook",
        leave=False,
        disable=not enabled or not futures,
    ) as bar:
        for _ in as_completed(futures):
            bar.update(1)
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result())
        except Exception as error:  # noqa: BLE001 - a dead worker must not lose the row
            outcomes.append(
                worker.Outcome(
                    error=f"the grading process failed ({type(error).__name__}); run grade again"
                )
            )
    return outcomes
