"""`python -m autograde release`: solutions/ -> notebooks/ with nbgrader's generate_assignment."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from autograde import engine
from autograde.course import Course


def release(course: Course, assignments: list[str]) -> list[str]:
    """Regenerate ``notebooks/<assignment>/`` for each assignment (same input, same files)."""
    for assignment in assignments:
        with tempfile.TemporaryDirectory(prefix="autograde-release-") as scratch:
            generated = engine.generate_assignment(
                course.solutions, assignment, Path(scratch), repository=course.student_repository
            )
            destination = course.notebooks / assignment
            if destination.exists():
                shutil.rmtree(destination)
            shutil.copytree(generated, destination)
    return assignments
