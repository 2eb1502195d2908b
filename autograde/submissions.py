"""Finding submissions in a folder laid out ``<student>/<assignment>/<notebook>.ipynb``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograde.course import UsageError


@dataclass(frozen=True)
class Submission:
    """One (student, assignment) pair: the notebook to grade, or why there is none."""

    student: str
    assignment: str
    notebook: Path | None
    note: str = ""  # something the instructor should know (a renamed file, what was found)


def find_submissions(folder: Path, assignments: list[str]) -> list[Submission]:
    """Every (student, assignment) pair of the class, sorted.

    Students are the sub-folders of ``folder``; the assignments are those any student submitted.
    A student without a notebook for one of them gets a submission with ``notebook=None`` so that
    nobody is dropped from the grade sheet. Raises :class:`UsageError` when ``folder`` does not
    look like a class at all.
    """
    if not folder.exists():
        raise UsageError(f"submissions folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise UsageError(f"{str(folder)!r} is not a folder of submissions")
    students = sorted(p for p in folder.iterdir() if p.is_dir() and not _hidden(p))
    submitted = {
        child.name
        for student in students
        for child in student.iterdir()
        if child.is_dir() and not _hidden(child)
    }
    found = sorted(submitted & set(assignments))
    if not found:
        layout = "<student>/<assignment>/<notebook>.ipynb"
        seen = ", ".join(sorted(submitted)[:5]) or "none"
        raise UsageError(
            f"no submissions in {str(folder)!r}: expected {layout} with an assignment among "
            f"{', '.join(assignments)} (assignment folders seen: {seen})"
        )
    return [_submission(student, assignment) for student in students for assignment in found]


def _submission(student: Path, assignment: str) -> Submission:
    folder = student / assignment
    expected = folder / f"{assignment}.ipynb"
    if expected.is_file():
        return Submission(student.name, assignment, expected)
    if not folder.is_dir():
        return Submission(student.name, assignment, None, "no folder for this assignment")
    notebooks = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if len(notebooks) == 1:
        # Students rename files ("... (1).ipynb"); one notebook in the folder is unambiguous.
        return Submission(
            student.name, assignment, notebooks[0], f"graded {notebooks[0].name}, renamed"
        )
    if not notebooks:
        return Submission(student.name, assignment, None, f"no {expected.name} in the folder")
    names = ", ".join(p.name for p in notebooks)
    return Submission(
        student.name, assignment, None, f"no {expected.name}, and several others: {names}"
    )


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "__"))
