"""Where the course lives: instructor sources in ``solutions/``, the release in ``notebooks/``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


class UsageError(Exception):
    """A mistake in how the tool was called; shown as one line, exit status 2."""


class Stopped(Exception):
    """The run was interrupted (Ctrl-C or SIGTERM); what finished is kept."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


def closest(name: str, known: list[str]) -> str | None:
    """The known name ``name`` most likely meant (a typo, or a prefix such as "01"), if any."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if not close and name:
        close = [k for k in known if k.startswith(name)][:1]
    return close[0] if close else None


def did_you_mean(name: str, known: list[str], *, or_list: bool = True) -> str:
    """' (did you mean '01_log_derivative_trick'?)', else the list of what is known (or '')."""
    match = closest(name, known)
    if match:
        return f" (did you mean {match!r}?)"
    return f" (known: {', '.join(known) or 'none'})" if or_list else ""


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
        for name in names:
            if name not in known:
                raise UsageError(f"unknown assignment {name!r}{did_you_mean(name, known)}")
        return list(dict.fromkeys(names))

    @property
    def student_repository(self) -> str:
        """The student repository's URL: ``[tool.workbook] student-repository`` in pyproject."""
        settings = self.root / "pyproject.toml"
        if not settings.is_file():
            raise UsageError(f"no pyproject.toml in {self.root}: is this the workbook's repo?")
        text = settings.read_text(encoding="utf-8")
        match = re.search(r'^student-repository\s*=\s*"([^"]+)"', text, re.M)
        if not match:
            raise UsageError(
                f"{self.root / 'pyproject.toml'} has no [tool.workbook] student-repository"
            )
        return match.group(1)

    def source_notebook(self, assignment: str) -> Path:
        return self.solutions / assignment / f"{assignment}.ipynb"

    def release_notebook(self, assignment: str) -> Path:
        return self.notebooks / assignment / f"{assignment}.ipynb"
