"""The grader's shared data types: what a submission may use, what grading it gave, and a row.

Every module of the pipeline speaks these; none of them needs another module's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class Status(str, Enum):
    """The status column of grades.csv."""

    GRADED = "graded"  # every test cell ran; the score is the student's
    ERROR = "error"  # the notebook could not be graded fully; ``detail`` says why
    MISSING = "missing"  # nothing was submitted for an assignment others submitted
    FLAGGED = "flagged"  # the notebook tampered with the grading; set aside for review

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass(frozen=True)
class Limits:
    """Everything one submission may use while it is graded: the one place for every limit."""

    cell_timeout: int | None = None  # seconds a cell may run; None: nbgrader_config.py decides
    notebook_timeout: float = 600.0  # seconds for the whole notebook
    memory_bytes: int = 4 * 2**30  # all of the submission's processes together
    processes: int = 64  # processes (not threads) alive at once
    file_bytes: int = 64 * 2**20  # the largest file the notebook may write
    output_chars: int = 20_000  # characters kept of one output (the rest is cut)
    feedback_bytes: int = 5 * 2**20  # the largest feedback page kept

    @property
    def address_space_bytes(self) -> int:
        """The kernel's address-space limit: a backstop well above ``memory_bytes``.

        Address space is not memory: torch reserves far more than it touches (thread stacks,
        malloc arenas), and a kernel that hits this limit inside C++ dies instead of raising
        MemoryError. The watchdog enforces ``memory_bytes`` on the memory actually used.
        """
        return 2 * self.memory_bytes + 2 * 2**30


@dataclass(frozen=True)
class CellScore:
    """The autograded result of one test cell."""

    grade_id: str
    score: float
    max_score: float


@dataclass(frozen=True)
class WrittenGrade:
    """The instructor's grade of one written answer."""

    points: float
    comment: str = ""


@dataclass
class Outcome:
    """What grading one submission gave, before it becomes a row."""

    cells: list[CellScore] = field(default_factory=list)
    executed: bytes = b""  # the graded notebook (JSON), for the feedback page; may be empty
    error: str = ""  # why the notebook could not be graded fully
    flags: list[str] = field(default_factory=list)  # cheating the grader detected
    notes: list[str] = field(default_factory=list)  # repairs and other things worth knowing


@dataclass
class Row:
    """One (student, assignment) of the gradebook: a line of grades.csv and what lies behind it.

    ``score`` and ``max_score`` count the autograded tests; the written answers are graded by
    hand, later (``written``, one entry per graded answer); ``total`` exists once all are.
    """

    student: str
    assignment: str
    score: float | None
    max_score: float
    status: Status
    detail: str = ""
    cells: dict[str, CellScore] = field(default_factory=dict)
    written_max: dict[str, float] = field(default_factory=dict)  # grade_id -> points
    written: dict[str, WrittenGrade] = field(default_factory=dict)  # graded by hand so far
    answers: dict[str, str] = field(default_factory=dict)  # the student's written answers
    key: str = ""  # the cache entry of the grading outcome (the graded notebook)
    graded_at: str = ""  # when it was graded (ISO 8601, UTC)
    feedback: Path | None = None
    reused: bool = False  # taken from the cache of an earlier run, not graded again

    @property
    def written_score(self) -> float | None:
        """Points of the written answers, once every one of them is graded (else None)."""
        if not self.written_max or any(g not in self.written for g in self.written_max):
            return None
        return sum(self.written[g].points for g in self.written_max)

    @property
    def total(self) -> float | None:
        """Autograded plus written points; None while a written answer is not graded yet."""
        if not self.written_max:
            return self.score
        written = self.written_score
        if written is None:
            return None
        return (self.score or 0.0) + written

    @property
    def total_max(self) -> float:
        return self.max_score + sum(self.written_max.values())
