"""Known-wrong implementations of the graded functions: the tests of the tests.

Each assignment has one module here, named after the assignment without its number
(``01_log_derivative_trick`` -> ``log_derivative_trick.py``). A mutant is an ordinary
function, decorated with the name of the graded function it replaces and a one-line
description of the mistake::

    @mutant("reinforce_loss", "sign error: gradient ascent on the loss")
    def reinforce_loss(log_probs, returns):
        return (log_probs * returns).mean()

``python -m autograde check`` pastes the function's source (without the decorator) into the
answer cell whose ``grade_id`` is the function's name, autogrades the notebook and requires that
the cell ``test_<function>`` loses its points while every other test cell keeps them. Mutants may
use the names the notebook's setup cell imports (``torch``, ``np``, ``math``...).
"""

from __future__ import annotations

import importlib
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

_REGISTRY: dict[str, list[Mutant]] = {}


@dataclass(frozen=True)
class Mutant:
    """A wrong version of one graded function."""

    function: str  # the graded function it replaces, also the grade_id of its answer cell
    description: str  # the mistake, in one line
    source: str  # the code that goes into the answer cell

    @property
    def name(self) -> str:
        return f"{self.function}: {self.description}"


def mutant(function: str, description: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as a mutant of ``function``."""

    def register(wrong: Callable) -> Callable:
        if wrong.__name__ != function:
            raise ValueError(f"mutant of {function!r} is defined as {wrong.__name__!r}")
        lines = inspect.getsource(wrong).splitlines(keepends=True)
        # Drop the decorator lines: the cell gets a plain definition.
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("def "))
        source = textwrap.dedent("".join(lines[start:])).rstrip() + "\n"
        _REGISTRY.setdefault(wrong.__module__, []).append(Mutant(function, description, source))
        return wrong

    return register


def module_name(assignment: str) -> str:
    """``01_log_derivative_trick`` -> ``autograde.mutants.log_derivative_trick``."""
    topic = assignment.split("_", 1)[1] if assignment[:2].isdigit() else assignment
    return f"{__name__}.{topic}"


def mutants_for(assignment: str) -> list[Mutant]:
    """All mutants of one assignment, in the order they are defined (empty if it has none)."""
    name = module_name(assignment)
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return []
    return list(_REGISTRY.get(name, []))
