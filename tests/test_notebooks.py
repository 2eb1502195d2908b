"""The notebooks' contracts: stored clean, released in sync, graded as `check` demands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograde import engine
from autograde.check import check_assignment
from autograde.course import Course
from autograde.kernel.sandbox import ONE_THREAD
from autograde.notebook import answer_cells

REPO_COURSE = Course.default()
ASSIGNMENTS = REPO_COURSE.assignments()


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def text(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def test_there_is_an_assignment():
    assert "01_log_derivative_trick" in ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_stored_without_outputs(folder, assignment):
    path = REPO_COURSE.root / folder / assignment / f"{assignment}.ipynb"
    for cell in cells(path):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, text(cell)[:80]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_in_sync_with_solutions(assignment):
    with tempfile.TemporaryDirectory() as scratch:
        release = engine.generate_assignment(REPO_COURSE.solutions, assignment, Path(scratch))
        fresh = json.loads((release / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    stored = json.loads(REPO_COURSE.release_notebook(assignment).read_text(encoding="utf-8"))
    assert stored == fresh, "notebooks/ is stale: run `python -m autograde release` and commit"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebook_holds_no_solution_and_no_hidden_test(assignment):
    source = "\n".join(text(c) for c in cells(REPO_COURSE.release_notebook(assignment)))
    for marker in ["BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "MARK SCHEME"]:
        assert marker not in source


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nbgrader_metadata_follows_the_conventions(assignment):
    source_cells = cells(REPO_COURSE.source_notebook(assignment))
    ids = [nbgrader(c)["grade_id"] for c in source_cells if nbgrader(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    tests = engine.test_cells(REPO_COURSE.source_notebook(assignment))
    solution = json.loads(REPO_COURSE.source_notebook(assignment).read_text(encoding="utf-8"))
    functions = answer_cells(solution)
    assert functions, "no graded functions"
    for function in functions:
        assert f"test_{function}" in tests, f"{function} has no test cell test_{function}"
        assert f"def {function}(" in text(
            next(c for c in source_cells if nbgrader(c).get("grade_id") == function)
        )
    for cell in source_cells:
        meta = nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            assert meta["locked"] and meta["points"] > 0, meta["grade_id"]
            assert "### BEGIN HIDDEN TESTS" in text(cell), f"{meta['grade_id']} has no hidden tests"
    assert nbgrader(next(c for c in source_cells if c["cell_type"] == "code"))["locked"], (
        "the first code cell is the locked setup cell"
    )


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_check_holds(assignment):
    """Solution full marks, release 0, every stub and mutant loses exactly its function's points."""
    verdicts, problems = check_assignment(REPO_COURSE, assignment, jobs=2)
    assert problems == []
    failed = {v.case.name: v.problems for v in verdicts if not v.ok}
    assert failed == {}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS, reverse=True))  # later ones run longer
def test_solution_runs_top_to_bottom_for_students(assignment, tmp_path):
    """Normal (student) mode, with the experiments at full size, on the CPU.

    The longest tests of the suite: conftest.py schedules them first, so that with ``-n 2`` the
    rest of the suite fills the other core around them.
    """
    shutil.copytree(REPO_COURSE.solutions / assignment, tmp_path / assignment)
    environment = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    # One thread, as grading kernels: under `-n auto` every core already runs a test.
    environment.update(ONE_THREAD)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=600",
            "--ExecutePreprocessor.kernel_name=python3",
            "--output",
            "executed.ipynb",
            str(tmp_path / assignment / f"{assignment}.ipynb"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=1800,
    )
    # nbconvert exits non-zero with the failing cell's error on any error
    assert result.returncode == 0, result.stderr[-3000:]
