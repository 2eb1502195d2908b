"""Finding the submissions to grade: a folder laid out ``<student>/<assignment>/<notebook>.ipynb``.

(An LMS download is first unpacked into that layout by ``lms.py``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograde.course import UsageError, closest, did_you_mean


@dataclass(frozen=True)
class Submission:
    """One (student, assignment) pair: the notebook to grade, or why there is none."""

    student: str
    assignment: str
    notebook: Path | None
    note: str = ""  # something the instructor should know (a renamed file, what was found)
    problem: str = ""  # something was handed in, but it cannot be graded (an error row)


@dataclass
class Found:
    submissions: list[Submission]
    warnings: list[str] = field(default_factory=list)  # files that belong to no row


def find_submissions(folder: Path, assignments: list[str]) -> Found:
    """Every (student, assignment) pair of the class, sorted.

    Students are the sub-folders of ``folder``; the assignments are those any student submitted.
    A student without a notebook for one of them still gets a submission (``notebook=None``), so
    nobody is dropped from the grade sheet. Raises :class:`UsageError` when ``folder`` does not
    look like a class at all.
    """
    if not folder.exists():
        raise UsageError(f"submissions folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise UsageError(f"{str(folder)!r} is neither a folder of submissions nor a zip file")
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
        if any(student.name in assignments for student in students):
            raise UsageError(
                f"{str(folder)!r} holds assignment folders, not student folders: pass the "
                f"folder above, whose sub-folders are the students ({layout})"
            )
        seen = sorted(submitted)
        hint = did_you_mean(seen[0], assignments) if len(seen) == 1 else ""
        raise UsageError(
            f"no submissions in {str(folder)!r}: expected {layout} with an assignment among "
            f"{', '.join(assignments)} (assignment folders seen: {', '.join(seen[:5]) or 'none'})"
            f"{hint}"
        )
    warnings = [
        f"{student.name}/{child.name}: not an assignment of this course, not graded"
        f"{did_you_mean(child.name, assignments, or_list=False) if child.is_dir() else ''}"
        for student in students
        for child in sorted(student.iterdir())
        if not _hidden(child) and child.name not in assignments
    ]
    warnings += [
        f"{path.name}: a file at the top of the class folder, not graded"
        for path in sorted(folder.iterdir())
        if path.is_file() and not _hidden(path)
    ]
    return Found(
        [_submission(student, assignment) for student in students for assignment in found],
        warnings,
    )


def _submission(student: Path, assignment: str) -> Submission:
    folder = student / assignment
    expected = folder / f"{assignment}.ipynb"
    if expected.is_file():
        return Submission(student.name, assignment, expected)
    if not folder.is_dir():
        others = [p.name for p in student.iterdir() if p.is_dir() and not _hidden(p)]
        misnamed = [name for name in others if closest(name, [assignment])]
        note = "no folder for this assignment"
        if misnamed:
            note += f" (there is a folder {misnamed[0]!r}: misnamed? rename it {assignment!r})"
        return Submission(student.name, assignment, None, note)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not _in_hidden(p, folder))
    notebooks = [p for p in files if p.suffix == ".ipynb"]
    if len(notebooks) == 1:
        # Students rename files ("... (1).ipynb"); one notebook in the folder is unambiguous.
        return Submission(
            student.name, assignment, notebooks[0], f"graded {notebooks[0].name}, renamed"
        )
    if notebooks:
        names = ", ".join(p.name for p in notebooks)
        return Submission(
            student.name,
            assignment,
            None,
            problem=f"no {expected.name}, and several other notebooks ({names}): resubmit "
            f"one notebook named {expected.name}",
        )
    if files:
        names = ", ".join(p.name for p in files[:5])
        return Submission(
            student.name,
            assignment,
            None,
            problem=f"handed in {names}, but no notebook: submit {expected.name}",
        )
    return Submission(student.name, assignment, None, f"no {expected.name} in the folder")


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "__"))


def _in_hidden(path: Path, top: Path) -> bool:
    return any(_hidden(Path(part)) for part in path.relative_to(top).parts)
