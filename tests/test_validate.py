"""Students check their notebook before submitting: a line per function, and an exit status."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from make_course import ASSIGNMENT

from autograde.notebook import completed, replace_answer

pytestmark = pytest.mark.grading


def validate(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "utils.validate", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_complete_notebook_passes_and_a_wrong_function_is_named(toy_course, tmp_path):
    solution = json.loads(toy_course.source_notebook(ASSIGNMENT).read_text())
    release = json.loads(toy_course.release_notebook(ASSIGNMENT).read_text())
    done = completed(release, solution)
    (tmp_path / "done.ipynb").write_text(json.dumps(done))
    result = validate(tmp_path / "done.ipynb")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "2 of 2 functions pass their visible tests"

    wrong = replace_answer(done, "mul", "def mul(a, b):\n    return a + b\n")
    (tmp_path / "wrong.ipynb").write_text(json.dumps(wrong))
    result = validate(tmp_path / "wrong.ipynb")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["passed", "add"]
    assert lines[1].startswith("FAILED  mul") and "AssertionError" in lines[1]


def test_bad_use_is_one_line(tmp_path):
    result = validate(tmp_path / "missing.ipynb")
    assert result.returncode == 2 and "does not exist" in result.stderr
    (tmp_path / "broken.ipynb").write_text("{not json")
    result = validate(tmp_path / "broken.ipynb")
    assert result.returncode == 2 and "could not be run" in result.stderr
    assert "Traceback" not in result.stderr
