"""Where the course lives: instructor sources in ``solutions/``, the release in ``notebooks/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class UsageError(Exception):
    """A mistake in how the tool was called; shown as one line, exit status 2."""


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def default(cls) -> Course:
        """The repository this package lives in (the tool is installed editable from it)."""
        return cls(Path(__file__).resolve().parent.parent)

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    def assignments(self) -> list[str]:
        """Every assignment with a source notebook, in curriculum order."""
        if not self.solutions.is_dir():
            raise UsageError(f"no solutions/ folder in {self.root}: is this the workbook's repo?")
        return sorted(
            folder.name
            for folder in self.solutions.iterdir()
            if folder.is_dir() and any(folder.glob("*.ipynb"))
        )

    def resolve(self, names: list[str] | None) -> list[str]:
        """The assignments named on the command line (all of them when none is named)."""
        known = self.assignments()
        if not names:
            return known
        unknown = [name for name in names if name not in known]
        if unknown:
            raise UsageError(
                f"unknown assignment {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(known) or 'none'})"
            )
        return list(dict.fromkeys(names))

    def source_notebook(self, assignment: str) -> Path:
        return self.solutions / assignment / f"{assignment}.ipynb"

    def release_notebook(self, assignment: str) -> Path:
        return self.notebooks / assignment / f"{assignment}.ipynb"
