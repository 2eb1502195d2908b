"""An instructor's term, scripted: one gradebook across assignments, late work and written answers.

Grade 00 from a Canvas zip, then 01 from a folder, then a late submission and a resubmission of
00, then written-answer points: the gradebook must hold every row with the right totals, the
feedback must match it, and nothing graded earlier may be lost.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from make_course import make_term_course

from autograde.course import Course
from autograde.notebook import replace_answer
from autograde.release import release

pytestmark = pytest.mark.grading


def autograde(course: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "autograde", "--course", str(course), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result


def table(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open(newline="") as file:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(file)}


def test_a_whole_term_in_one_gradebook(tmp_path):
    course = Course(make_term_course(tmp_path / "course"))
    release(course, course.assignments())
    solution = json.loads(course.source_notebook("00_toy").read_text())
    perfect = json.dumps(solution)
    half = json.dumps(replace_answer(solution, "mul", "def mul(a, b):\n    return a + b\n"))
    stub = course.release_notebook("00_toy").read_text()
    out = tmp_path / "gradebook"

    # Week 1: assignment 00 from Canvas.
    canvas = tmp_path / "canvas-00.zip"
    with zipfile.ZipFile(canvas, "w") as zipped:
        zipped.writestr("ada_100_900_00_toy.ipynb", perfect)
        zipped.writestr("bob_101_901_00_toy.ipynb", half)
    autograde(course.root, "grade", str(canvas), "--out", str(out), "--quiet")

    # Week 2: assignment 01 from a folder; cy is new, bob did not submit.
    week2 = tmp_path / "week2"
    for student, text in [("ada_100", stub), ("cy_102", perfect)]:
        (week2 / student / "01_toy").mkdir(parents=True)
        (week2 / student / "01_toy" / "01_toy.ipynb").write_text(text)
    autograde(course.root, "grade", str(week2), "--out", str(out), "--quiet")
    rows = table(out / "grades.csv")
    assert {k: (r["score"], r["status"]) for k, r in rows.items()} == {
        ("ada_100", "00_toy"): ("5", "graded"),
        ("ada_100", "01_toy"): ("0", "graded"),
        ("bob_101", "00_toy"): ("2", "graded"),
        ("bob_101", "01_toy"): ("0", "missing"),
        ("cy_102", "00_toy"): ("0", "missing"),
        ("cy_102", "01_toy"): ("5", "graded"),
    }

    # Week 3: cy hands in 00 late, bob resubmits it; a batch of two must not touch ada's row.
    late = tmp_path / "late"
    for student, text in [("cy_102", half), ("bob_101", perfect)]:
        (late / student / "00_toy").mkdir(parents=True)
        (late / student / "00_toy" / "00_toy.ipynb").write_text(text)
    autograde(course.root, "grade", str(late), "--out", str(out), "--quiet")
    rows = table(out / "grades.csv")
    assert len(rows) == 6
    assert rows[("ada_100", "00_toy")]["score"] == "5"
    assert (rows[("cy_102", "00_toy")]["score"], rows[("cy_102", "00_toy")]["status"]) == (
        "2",
        "graded",
    )
    assert rows[("bob_101", "00_toy")]["score"] == "5"
    replaced = list((out / "history" / "bob_101" / "00_toy").glob("*.json"))
    assert len(replaced) == 1 and json.loads(replaced[0].read_text())["score"] == 2.0

    # Written answers: not graded yet, then graded through the exported sheet.
    assert rows[("ada_100", "00_toy")]["written"] == ""
    assert rows[("ada_100", "00_toy")]["total"] == ""
    page = (out / "feedback" / "ada_100" / "00_toy" / "00_toy.html").read_text()
    assert "not graded yet" in page
    autograde(course.root, "manual", "export", "00_toy", "--out", str(out), "--anonymous")
    sheet = out / "manual" / "00_toy" / "grades.csv"
    with sheet.open(newline="") as file:
        lines = list(csv.DictReader(file))
    assert sorted(line["student"] for line in lines) == [
        "student 001",
        "student 002",
        "student 003",
    ]
    key = json.loads((out / "manual" / "00_toy" / "anonymous-key.json").read_text())
    points = {"ada_100": "1", "bob_101": "0.5", "cy_102": ""}  # cy: not graded yet
    for line in lines:
        line["points"] = points[key[line["student"]]]
        line["comment"] = "clear" if line["points"] == "1" else ""
    with sheet.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
    autograde(course.root, "manual", "import", str(sheet), "--out", str(out))

    rows = table(out / "grades.csv")
    assert [rows[(s, "00_toy")]["total"] for s in ("ada_100", "bob_101", "cy_102")] == [
        "6",
        "5.5",
        "",
    ]
    assert rows[("ada_100", "00_toy")]["total_max"] == "6"
    page = (out / "feedback" / "ada_100" / "00_toy" / "00_toy.html").read_text()
    assert "6 / 6" in page and "clear" in page
    with (out / "grades_by_student.csv").open(newline="") as file:
        wide = {r["student"]: r for r in csv.DictReader(file)}
    assert wide["ada_100"]["00_toy"] == "6" and wide["ada_100"]["01_toy"] == ""
    assert wide["bob_101"]["00_toy autograded"] == "5"
    # Every row has its feedback page, and no folder belongs to no row.
    pages = sorted(p.relative_to(out / "feedback").parts[:2] for p in out.glob("feedback/*/*/*"))
    assert pages == sorted(rows)
