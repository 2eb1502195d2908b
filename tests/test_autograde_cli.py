"""The instructor tool's command line: grading a class, and one-line errors for bad use."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from make_course import ASSIGNMENT

from autograde.notebook import replace_answer

pytestmark = pytest.mark.grading  # one graded class: conftest keeps the module on one worker


def autograde(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograde", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


@pytest.fixture(scope="module")
def toy_class(toy_course, tmp_path_factory) -> Path:
    """perfect, stub, half-right, renamed, broken, empty: one of each kind of submission."""
    folder = tmp_path_factory.mktemp("class")
    solution = json.loads(toy_course.source_notebook(ASSIGNMENT).read_text())
    release = toy_course.release_notebook(ASSIGNMENT).read_text()
    wrong_mul = replace_answer(solution, "mul", "def mul(a, b):\n    return a + b\n")

    def put(student: str, text: str, name: str = f"{ASSIGNMENT}.ipynb") -> None:
        path = folder / student / ASSIGNMENT / name
        path.parent.mkdir(parents=True)
        path.write_text(text)

    put("perfect", json.dumps(solution))
    put("stub", release)
    put("half", json.dumps(wrong_mul))
    put("renamed", json.dumps(solution), name=f"{ASSIGNMENT} (1).ipynb")
    put("broken", json.dumps(solution)[:-40])
    (folder / "empty").mkdir()
    return folder


@pytest.fixture(scope="module")
def graded(toy_course, toy_class, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("graded")
    result = autograde(
        "--course", str(toy_course.root), "grade", str(toy_class), "--out", str(out), "--quiet"
    )
    assert result.returncode == 0, result.stderr
    return out


def test_every_submission_gets_a_row_with_the_right_status(graded):
    rows = read_rows(graded / "grades.csv")
    got = {
        student: (row["score"], row["max_score"], row["status"]) for student, row in rows.items()
    }
    assert got == {
        "perfect": ("5", "5", "graded"),
        "stub": ("0", "5", "graded"),
        "half": ("2", "5", "graded"),
        "renamed": ("5", "5", "graded"),
        "broken": ("", "5", "error"),
        "empty": ("0", "5", "missing"),
    }
    assert "test_mul" in rows["half"]["detail"]
    assert "JSON" in rows["broken"]["detail"]
    assert "renamed" in rows["renamed"]["detail"]


def test_every_row_has_a_feedback_page(graded):
    for student in ["perfect", "stub", "half", "renamed", "broken", "empty"]:
        page = graded / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert page.is_file(), student
    broken = (graded / "feedback" / "broken" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "JSON" in broken and "What to do" in broken
    # A graded notebook's page shows each test's result, but not the hidden tests' code.
    half = (graded / "feedback" / "half" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "<b>test_mul</b>: 0 / 3 points, failed" in half
    assert "mul(-2, 4) == -8" not in half and "HIDDEN" not in half


def test_grading_twice_gives_the_same_csv(toy_course, toy_class, graded, tmp_path):
    result = autograde(
        "--course",
        str(toy_course.root),
        "grade",
        str(toy_class),
        "--out",
        str(tmp_path),
        "--quiet",
        "--jobs",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "grades.csv").read_text() == (graded / "grades.csv").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grade", "does-not-exist"], "does not exist"),
        (["grade", "{course}/solutions/00_toy/00_toy.ipynb"], "neither a folder"),
        (["grade", "{course}/solutions"], "pass the folder above"),  # one level too deep
        (["grade", "{course}/broken.zip"], "not a readable zip file"),
        (["check", "00_tox"], "did you mean '00_toy'"),
        (["check", "99_unknown"], "unknown assignment"),
        (["release", "99_unknown"], "unknown assignment"),
        (["grade", "{course}", "--jobs", "0"], "at least 1"),
    ],
)
def test_bad_use_gets_one_line_and_nonzero_exit(toy_course, tmp_path, args, message):
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 cut off in the middle of the download")
    args = [arg.format(course=tmp_path if "zip" in arg else toy_course.root) for arg in args]
    result = autograde("--course", str(toy_course.root), *args, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_not_a_workbook_folder_is_a_usage_error(tmp_path):
    result = autograde("--course", str(tmp_path), "release")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"autograde: error: no solutions/ folder in {tmp_path}: is this the workbook's repo?"
    ]


def test_release_is_idempotent_and_strips_solutions(toy_course, tmp_path):
    course_copy = tmp_path / "course"
    shutil.copytree(toy_course.root, course_copy)
    before = (course_copy / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert autograde("--course", str(course_copy), "release").returncode == 0
    after = (course_copy / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert before == after
    assert "BEGIN SOLUTION" not in after and "HIDDEN TESTS" not in after
    assert "return a + b" not in after and "NotImplementedError" in after


def test_a_second_run_regrades_only_what_changed(toy_course, toy_class, graded, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(graded, out)  # the first run's results and cache
    changed = tmp_path / "class"
    shutil.copytree(toy_class, changed)
    stub = changed / "stub" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    perfect = json.loads((changed / "perfect" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    perfect["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "done!"})
    stub.write_text(json.dumps(perfect))  # new bytes: graded again
    result = autograde(
        "--course", str(toy_course.root), "grade", str(changed), "--out", str(out), "--quiet"
    )
    assert result.returncode == 0, result.stderr
    # broken and empty are never graded; perfect, half and renamed come from the cache.
    assert "3 unchanged submissions taken from the last run" in result.stdout
    assert read_rows(out / "grades.csv")["stub"]["score"] == "5"


def test_a_canvas_zip_is_graded_and_stray_files_are_reported(toy_course, toy_class, tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for number, student in enumerate(["perfect", "half"]):
            notebook = toy_class / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            zipped.write(notebook, f"{student}_{100 + number}_{900 + number}_{ASSIGNMENT}.ipynb")
        zipped.writestr("instructions.txt", "not a submission")
    result = autograde(
        "--course",
        str(toy_course.root),
        "grade",
        str(archive),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "instructions.txt: cannot tell whose file" in result.stderr
    rows = read_rows(tmp_path / "out" / "grades.csv")
    assert {s: (r["score"], r["status"]) for s, r in rows.items()} == {
        "perfect_100": ("5", "graded"),
        "half_101": ("2", "graded"),
    }
