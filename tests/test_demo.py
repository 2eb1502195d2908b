"""`python -m autograde demo`, the README's main job, on the real assignments."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pytest

from autograde.course import Course
from autograde.mutants import mutants_for
from autograde.notebook import answer_cells


@pytest.mark.slow
def test_demo_grades_every_kind_of_student(repo_course, tmp_path):
    # A copy of the course, so the demo's release cannot race other tests reading notebooks/.
    course = Course(tmp_path / "course")
    for folder in ["solutions", "notebooks"]:
        shutil.copytree(repo_course.root / folder, course.root / folder)
    shutil.copy(repo_course.root / "pyproject.toml", course.root)  # the student repository's URL
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograde",
            "--course",
            str(course.root),
            "demo",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "perfect" in result.stdout and "status" in result.stdout  # the table is printed

    with (tmp_path / "out" / "graded" / "grades.csv").open(newline="") as file:
        rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(file)}
    for assignment in course.assignments():
        source = course.source_notebook(assignment)
        points = {
            cell["metadata"]["nbgrader"]["grade_id"]: cell["metadata"]["nbgrader"]["points"]
            for cell in json.loads(source.read_text())["cells"]
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade")
            and not cell["metadata"]["nbgrader"]["solution"]
        }
        full = sum(points.values())
        functions = answer_cells(json.loads(source.read_text()))
        mutated = list(dict.fromkeys(m.function for m in mutants_for(assignment)))

        def row(student, assignment=assignment):
            return rows[(student, assignment)]

        def score(student, assignment=assignment):
            return float(row(student, assignment)["score"])

        assert score("perfect") == full and row("perfect")["status"] == "graded"
        assert score("stub") == 0
        second_half = functions[len(functions) // 2 :]
        assert score("partial") == full - sum(points[f"test_{f}"] for f in second_half)
        assert score("buggy") == full - sum(points[f"test_{f}"] for f in mutated[:2])
        assert score("cheating") == full - points[f"test_{mutated[0]}"]
        assert row("broken")["status"] == "error" and "JSON" in row("broken")["detail"]
        assert row("absent")["status"] == "missing"
        for student in ["perfect", "stub", "partial", "buggy", "cheating", "broken", "absent"]:
            page = tmp_path / "out/graded/feedback" / student / assignment / f"{assignment}.html"
            assert page.is_file()
