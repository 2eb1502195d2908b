"""Red team: grade a class of hostile and careless submissions and check the policy holds.

Every attack in ``fixtures/redteam.py`` is one student of one class, graded once (``jobs=2``);
each gets a test id of its own that shows the expected and the actual row. The grader's scratch
space and the course live in one folder, the "fence" that the attacks which look for files never
leave.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from make_course import make_course
from redteam import (
    ASSIGNMENT,
    ATTACKS,
    TOTAL,
    UNPINNED,
    VANDALS,
    Expected,
    build_redteam_class,
    make_redteam_assignment,
)

from autograde.course import Course
from autograde.datatypes import Limits, Row
from autograde.gradebook import write_csv
from autograde.grading import grade_submissions, record
from autograde.release import release
from autograde.submissions import find_submissions

pytestmark = pytest.mark.slow  # one graded class: conftest keeps the module on one worker

# Generous enough that honest rows never hit them on a loaded 2-core machine; the bounded
# attacks run past them (the SIGINT-proof loop stops by itself after 60 s).
LIMITS = Limits(cell_timeout=30, notebook_timeout=240, memory_bytes=3 * 2**30, processes=40)


@dataclass
class Graded:
    course: Course
    base: Path  # the fence: course, class, scratch and output all live here
    folder: Path
    expected: dict[str, Expected]
    rows: dict[str, Row]
    instructor_files: dict[Path, bytes]  # the course's solutions/ before grading
    seconds: float


def vandals_first(submissions: list) -> list:
    """The attacks that write files first, each next to an innocent row (``jobs=2`` runs them
    side by side), so that every row graded during or after them shows any harm they did."""
    vandals = [s for s in submissions if s.student in VANDALS]
    others = [s for s in submissions if s.student not in VANDALS]
    paired = [s for pair in zip(vandals, others[: len(vandals)], strict=True) for s in pair]
    return paired + others[len(vandals) :]


def grade_class(base: Path, course: Course, folder: Path, out: Path) -> list[Row]:
    """Grade every submission in ``folder`` (see :func:`vandals_first` for the order)."""
    scratch = base / "scratch"
    scratch.mkdir(exist_ok=True)
    found = find_submissions(folder, course.assignments())
    submissions = vandals_first(list(getattr(found, "submissions", found)))
    with pytest.MonkeyPatch.context() as patch:
        # The grader's scratch folders (main process and spawned workers) inside the fence.
        patch.setenv("TMPDIR", str(scratch))
        patch.setattr(tempfile, "tempdir", str(scratch))
        rows = grade_submissions(course, submissions, out, jobs=2, limits=LIMITS, progress=False)
    return record(rows, out)  # the gradebook and every row's feedback page


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    base = tmp_path_factory.mktemp("redteam").resolve()
    course = Course(make_course(base / "course"))
    make_redteam_assignment(course.root)
    release(course, course.assignments())
    folder = base / "class"
    expected = build_redteam_class(course, folder, fence=base)
    instructor_files = {path: path.read_bytes() for path in course.solutions.rglob("*.ipynb")}
    started = time.monotonic()
    rows = grade_class(base, course, folder, base / "out")
    seconds = time.monotonic() - started
    print(f"\nred team: graded {len(rows)} submissions in {seconds:.0f} s")
    return Graded(
        course,
        base,
        folder,
        expected,
        {row.student: row for row in rows},
        instructor_files,
        seconds,
    )


def _score(value) -> str:
    if value is UNPINNED:
        return "any"
    return "empty" if value is None else f"{value:g}"


def _problems(expected: Expected, row: Row) -> list[str]:
    problems = []
    if row.status not in expected.statuses():
        problems.append(f"status {row.status!r}, expected {' or '.join(expected.statuses())}")
    if expected.score is not UNPINNED:
        same = (
            row.score is None
            if expected.score is None
            else row.score is not None and abs(row.score - expected.score) < 1e-9
        )
        if not same:
            problems.append(f"score {_score(row.score)}, expected {_score(expected.score)}")
    if row.max_score != TOTAL:
        problems.append(f"max_score {row.max_score:g}, expected {TOTAL:g}")
    if expected.detail and not re.search(expected.detail, row.detail, re.IGNORECASE):
        problems.append(f"detail does not match /{expected.detail}/")
    if expected.feedback_max_bytes is not None:
        if row.feedback is None or not row.feedback.is_file():
            problems.append("no feedback page")
        elif row.feedback.stat().st_size > expected.feedback_max_bytes:
            problems.append(
                f"feedback page is {row.feedback.stat().st_size / 2**20:.1f} MiB, "
                f"at most {expected.feedback_max_bytes / 2**20:g} MiB allowed"
            )
    return problems


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack(graded: Graded, attack: str):
    expected = graded.expected[attack]
    row = graded.rows.get(attack)
    assert row is not None, f"{attack}: no row at all ({expected.about})"
    problems = _problems(expected, row)
    assert not problems, (
        f"{attack}: {expected.about}\n"
        f"  expected: status={'|'.join(expected.statuses())} score={_score(expected.score)}"
        f" detail~/{expected.detail or ''}/\n"
        f"  got:      status={row.status} score={_score(row.score)} detail={row.detail!r}\n"
        f"  problems: {'; '.join(problems)}"
    )


def test_one_row_per_attack_and_nothing_else(graded: Graded):
    assert sorted(graded.rows) == sorted(ATTACKS)
    assert {row.assignment for row in graded.rows.values()} == {ASSIGNMENT}


def test_every_row_has_a_feedback_page(graded: Graded):
    missing = [
        name for name, row in graded.rows.items() if not (row.feedback and row.feedback.is_file())
    ]
    assert not missing, f"no feedback page for {missing}"


def test_instructor_files_are_unchanged(graded: Graded):
    changed = [
        str(path.relative_to(graded.course.root))
        for path, content in graded.instructor_files.items()
        if not path.is_file() or path.read_bytes() != content
    ]
    assert not changed, f"grading the red-team class changed the instructor's files: {changed}"


# Attacks that run into a time limit or wait out a bound: grading them again proves nothing
# new about determinism and costs minutes of CI.
SLOW_ATTACKS = {
    "infinite_loop",
    "sigint_ignored_loop",
    "memory_bomb",
    "fork_bomb",
    "thread_bomb",
    "write_gradebook",
}


def test_grading_twice_gives_the_same_csv(graded: Graded, tmp_path):
    quick = tmp_path / "class"
    for student in sorted(graded.folder.iterdir()):
        if student.name not in SLOW_ATTACKS:
            shutil.copytree(student, quick / student.name)
    first = graded.base / "first.csv"
    write_csv(
        sorted(
            (row for row in graded.rows.values() if row.student not in SLOW_ATTACKS),
            key=lambda r: (r.student, r.assignment),
        ),
        first,
    )
    again = grade_class(graded.base, graded.course, quick, graded.base / "out-again")
    second = graded.base / "second.csv"
    write_csv(again, second)
    first_rows, second_rows = first.read_text().splitlines(), second.read_text().splitlines()
    changed = sorted(set(first_rows) ^ set(second_rows))  # a failure names the rows that moved
    assert second_rows == first_rows, "rows that differ between the gradings:\n" + "\n".join(
        changed
    )
