"""The student repository: everything students need, nothing they must not see."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from autograde.course import Course
from autograde.publish import check_published, colab_url, publish

COURSE = Course.default()
URL = "https://github.com/acme/rl-workbook"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student-repository")
    publish(COURSE, folder, URL)
    return folder


def test_the_student_repository_holds_notebooks_utils_and_a_minimal_package(published):
    assert sorted(p.name for p in published.iterdir()) == [
        ".gitignore",
        "README.md",
        "notebooks",
        "pyproject.toml",
        "utils",
    ]
    for assignment in COURSE.assignments():
        assert (published / "notebooks" / assignment / f"{assignment}.ipynb").is_file()
    pyproject = (published / "pyproject.toml").read_text()
    for grader_only in ("nbgrader", "jupyter_client", "psutil", "autograde"):
        assert grader_only not in pyproject


def test_nothing_students_must_not_see_is_published(published):
    assert check_published(published, COURSE) == []


def test_the_check_finds_a_leaked_solution(published, tmp_path):
    source = json.loads(COURSE.source_notebook(COURSE.assignments()[0]).read_text())
    (published / "notebooks" / "leak.ipynb").write_text(json.dumps(source))
    try:
        problems = check_published(published, COURSE)
    finally:
        (published / "notebooks" / "leak.ipynb").unlink()
    assert any("BEGIN SOLUTION" in p for p in problems)
    assert any("a line of the solution of" in p for p in problems)


def test_badges_and_setup_cells_name_the_student_repository(published):
    readme = (published / "README.md").read_text()
    for assignment in COURSE.assignments():
        path = f"notebooks/{assignment}/{assignment}.ipynb"
        assert colab_url(URL, path) in readme
        cells = json.loads((published / path).read_text())["cells"]
        setup = next(
            c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup"
        )
        assert f'REPOSITORY = "{URL}"' in "".join(setup["source"])


def test_publishing_inside_the_instructors_repository_is_refused():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograde",
            "publish",
            str(COURSE.root / "student"),
            "--repository",
            URL,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "inside the instructor's repository" in result.stderr
