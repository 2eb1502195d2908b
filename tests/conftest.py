from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))

from make_course import ASSIGNMENT, make_course  # noqa: E402

from autograde.course import Course  # noqa: E402


@pytest.fixture(scope="session")
def toy_course(tmp_path_factory) -> Course:
    """A released toy course (two functions), shared read-only by the tool's tests."""
    from autograde.release import release

    course = Course(make_course(tmp_path_factory.mktemp("toy")))
    release(course, [ASSIGNMENT])
    return course


@pytest.fixture(scope="session")
def repo_course() -> Course:
    return Course(REPO)
