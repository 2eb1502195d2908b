from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))

from make_course import ASSIGNMENT, make_course  # noqa: E402

from autograde.course import Course  # noqa: E402

# The slowest tests first. The README's command runs the suite on every core (`-n auto`) and
# xdist hands tests out in this order (see pytest_xdist_make_scheduler below), so the
# five-minute notebook runs start at once and the short tests fill the other cores around them,
# instead of one long run starting last and ending alone.
SLOWEST_FIRST = [
    "tests/test_notebooks.py::test_solution_runs_top_to_bottom_for_students",
    "tests/test_student_install.py",
    "tests/test_notebooks.py::test_check_holds",
    "tests/test_redteam.py",
    "tests/test_demo.py",
    "tests/test_autograde_term.py",
    "tests/test_browser.py",
    "tests/test_utils_rlhf.py",
    "tests/test_autograde_check.py",
    "tests/test_autograde_cli.py",
    "tests/test_autograde_publish.py",
    "tests/test_autograde_interrupt.py",
    "tests/test_hidden_tests.py",
]

# Modules whose tests are independent of each other (no module-scoped fixture): xdist may hand
# their tests to different workers one by one. Every other module goes to one worker whole, so
# that its module fixture (a graded class, a trained chain of models, a JupyterLab) is built once:
# split over two workers, or interleaved with another module's tests on one, it is built again.
INDEPENDENT_TESTS = (
    "tests/test_notebooks.py",
    "tests/test_hidden_tests.py",
    "tests/test_autograde_interrupt.py",
    "tests/test_utils_train.py",
    "tests/test_utils_actor_critic.py",
    "tests/test_utils_reinforce.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        matches = (i for i, prefix in enumerate(SLOWEST_FIRST) if item.nodeid.startswith(prefix))
        return next(matches, len(SLOWEST_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: without it, pytest still runs
def pytest_xdist_make_scheduler(config, log):
    """xdist's scheduler, with a work unit per test in INDEPENDENT_TESTS and per module elsewhere,
    handed out in collection order (slowest first), for `-n N` with xdist's default --dist.

    (xdist's own `xdist_group` mark would do this, but it renames tests through an attribute
    that pytest 9.2 no longer reads, so on pytest 9.2 every group was silently split.) Nothing
    is set in pyproject's addopts, so `-p no:xdist` still works.
    """
    if config.getvalue("dist") not in ("load", "loadscope"):
        return None  # an explicit other --dist: xdist's own scheduler
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return nodeid if module in INDEPENDENT_TESTS else module

    config.option.loadscopereorder = False  # keep SLOWEST_FIRST's order
    return ModuleScheduling(config, log)


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
