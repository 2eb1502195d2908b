"""Grading the written answers by hand: export them side by side, import the points.

``python -m autograde manual export ASSIGNMENT`` writes, from the gradebook in ``--out``:

- ``manual/<assignment>/answers.html``: one section per question, with the question, the model
  answer and mark scheme from ``solutions/``, then every student's answer (anonymised with
  ``--anonymous``: the graders see ``student 007``, the key stays with the instructor);
- ``manual/<assignment>/grades.csv``: one line per (student, question) with columns
  ``student,question,max_points,points,comment``, already holding the grades given so far.

The instructor (or a team of graders) fills ``points`` and ``comment`` in any spreadsheet, then
``python -m autograde manual import manual/<assignment>/grades.csv`` folds them into the
gradebook: grades.csv and the feedback pages then show the written points and the totals. An
empty ``points`` cell means "not graded yet". A file with any bad line changes nothing, and each
bad line is named.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

from autograde import feedback
from autograde import notebook as notebook_format
from autograde.course import Course, UsageError
from autograde.datatypes import Status, WrittenGrade
from autograde.gradebook import Gradebook
from autograde.report import points

COLUMNS = ["student", "question", "max_points", "points", "comment"]
KEY_FILE = "anonymous-key.json"


def folder_of(out: Path, assignment: str) -> Path:
    return out / "manual" / assignment


def questions(course: Course, assignment: str) -> list[tuple[str, float, str, str]]:
    """(grade_id, points, question text, model answer) of each written answer, in order."""
    source = notebook_format.read(course.source_notebook(assignment))
    found = []
    previous_markdown = ""
    for cell in source["cells"]:
        if notebook_format.is_written_answer(cell):
            meta = notebook_format.nbgrader(cell)
            found.append(
                (
                    meta["grade_id"],
                    float(meta.get("points", 0)),
                    previous_markdown,
                    notebook_format.source(cell),
                )
            )
        elif cell["cell_type"] == "markdown":
            previous_markdown = notebook_format.source(cell)
    return found


def export(course: Course, out: Path, assignment: str, *, anonymous: bool = False) -> Path:
    """Write the answers page and the grades sheet of ``assignment``; return their folder."""
    book = Gradebook(out)
    rows = [r for r in book.rows() if r.assignment == assignment and r.status != Status.MISSING]
    if not rows:
        raise UsageError(
            f"the gradebook in {out} has no submissions of {assignment}: grade them first"
        )
    asked = questions(course, assignment)
    if not asked:
        raise UsageError(f"{assignment} has no written answers to grade by hand")
    folder = folder_of(out, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    names = {row.student: row.student for row in rows}
    if anonymous:
        names = {row.student: f"student {n:03d}" for n, row in enumerate(rows, start=1)}
        key = {alias: student for student, alias in names.items()}
        (folder / KEY_FILE).write_text(json.dumps(key, indent=1), encoding="utf-8")
    else:
        (folder / KEY_FILE).unlink(missing_ok=True)

    with (folder / "grades.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(COLUMNS)
        for grade_id, maximum, _, _ in asked:
            for row in rows:
                given = row.written.get(grade_id)
                writer.writerow(
                    [
                        names[row.student],
                        grade_id,
                        points(maximum),
                        points(given.points) if given else "",
                        given.comment if given else "",
                    ]
                )

    sections = []
    for grade_id, maximum, question, model in asked:
        answers = "".join(
            f"<div class='answer'><h3>{html.escape(names[row.student])}</h3>"
            f"{feedback.markdown(row.answers.get(grade_id, '')) or '<p><i>(no answer)</i></p>'}"
            "</div>"
            for row in rows
        )
        sections.append(
            f"<section><h2>{html.escape(grade_id)} ({points(maximum)} points)</h2>"
            f"<div class='question'>{feedback.markdown(question)}</div>"
            f"<details><summary>Model answer and mark scheme</summary>"
            f"{feedback.markdown(model)}</details>{answers}</section>"
        )
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(assignment)}: written answers</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        ".question{background:#f4f7fb;padding:.2em 1em}.answer{border-left:4px solid #36c;"
        "padding:.1em 1em;margin:1em 0}pre{white-space:pre-wrap}</style></head><body>"
        f"<h1>{html.escape(assignment)}: written answers</h1>"
        "<p>Enter the points in grades.csv next to this page, then run "
        f"<code>python -m autograde manual import {html.escape(str(folder / 'grades.csv'))}"
        "</code>.</p>" + "".join(sections) + "</body></html>\n"
    )
    (folder / "answers.html").write_text(page, encoding="utf-8")
    return folder


def import_grades(course: Course, out: Path, sheet: Path) -> int:
    """Fold a filled grades sheet into the gradebook; return the number of grades changed."""
    if not sheet.is_file():
        raise UsageError(f"{sheet} does not exist (make it with `manual export`)")
    assignment = sheet.parent.name
    if assignment not in course.assignments():
        raise UsageError(
            f"{sheet} is not in a manual/<assignment>/ folder that `manual export` made"
        )
    key_file = sheet.parent / KEY_FILE
    key = json.loads(key_file.read_text(encoding="utf-8")) if key_file.exists() else {}
    book = Gradebook(out)
    with sheet.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{sheet} has no column {', '.join(missing)} (expected {COLUMNS})")
        lines = list(reader)
    problems, grades = [], []
    for number, line in enumerate(lines, start=2):
        if not (line.get("points") or "").strip():
            continue  # not graded yet
        student = key.get(line["student"], line["student"])
        try:
            value = float(line["points"])
        except ValueError:
            problems.append(f"line {number}: points {line['points']!r} is not a number")
            continue
        grade = WrittenGrade(value, (line.get("comment") or "").strip())
        try:
            book.grade_written(student, assignment, line["question"], grade)
        except (KeyError, ValueError) as error:
            problems.append(f"line {number}: {error.args[0]}")
            continue
        grades.append((student, line["question"]))
    if problems:
        shown = "; ".join(problems[:5]) + (
            f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        )
        raise UsageError(f"{sheet}: nothing imported: {shown}")
    changed = {(s, assignment) for s, _ in grades}
    book.save(rendered=[book.row(s, a) for s, a in sorted(changed)])
    return len(grades)
