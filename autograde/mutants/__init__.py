"""Tests of the tests, in both directions: wrong code that must lose its points, and right code
that must keep them.

Each assignment has one module here, named after the assignment without its number
(``01_log_derivative_trick`` -> ``log_derivative_trick.py``). Entries are ordinary functions,
decorated with the name of the graded function they replace and a one-line description:

- a **mutant** is a realistic mistake; its function's test cell must score 0::

      @mutant("reinforce_loss", "sign error: gradient ascent on the loss")
      def reinforce_loss(log_probs, returns):
          return (log_probs * returns).mean()

- an **accepted variant** is a correct implementation written the way students write it (a
  loop instead of vectorised code, ``.float()`` masks, ``sum() / n`` for ``mean()``...); its
  function's test cell must keep all of its points::

      @accepted("reinforce_loss", "sum divided by the batch size instead of mean()")
      def reinforce_loss(log_probs, returns):
          return -(log_probs * returns.detach()).sum() / log_probs.shape[0]

``python -m autograde check`` pastes the function's source (without the decorator) into the
answer cell whose ``grade_id`` is the function's name and autogrades the notebook: every other
test cell must keep its points either way. Entries may use the names the notebook's setup cell
imports (``torch``, ``np``, ``math``...).
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
    """Another version of one graded function: a known mistake, or (``correct``) right code."""

    function: str  # the graded function it replaces, also the grade_id of its answer cell
    description: str  # the mistake, or how the correct version differs, in one line
    source: str  # the code that goes into the answer cell
    correct: bool = False  # an accepted variant: must keep its function's points

    @property
    def name(self) -> str:
        return f"{self.function}: {self.description}"


def _register(function: str, description: str, correct: bool) -> Callable[[Callable], Callable]:
    def register(implementation: Callable) -> Callable:
        if implementation.__name__ != function:
            raise ValueError(f"entry for {function!r} is defined as {implementation.__name__!r}")
        lines = inspect.getsource(implementation).splitlines(keepends=True)
        # Drop the decorator lines: the cell gets a plain definition.
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("def "))
        source = textwrap.dedent("".join(lines[start:])).rstrip() + "\n"
        _REGISTRY.setdefault(implementation.__module__, []).append(
            Mutant(function, description, source, correct)
        )
        return implementation

    return register


def mutant(function: str, description: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as a wrong version of ``function``."""
    return _register(function, description, correct=False)


def accepted(function: str, description: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as a correct version of ``function`` (full marks)."""
    return _register(function, description, correct=True)


def module_name(assignment: str) -> str:
    """``01_log_derivative_trick`` -> ``autograde.mutants.log_derivative_trick``."""
    topic = assignment.split("_", 1)[1] if assignment[:2].isdigit() else assignment
    return f"{__name__}.{topic}"


def _entries(assignment: str) -> list[Mutant]:
    name = module_name(assignment)
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return []
    return list(_REGISTRY.get(name, []))


def mutants_for(assignment: str) -> list[Mutant]:
    """The wrong versions of one assignment's functions, in definition order (maybe none)."""
    return [entry for entry in _entries(assignment) if not entry.correct]


def accepted_for(assignment: str) -> list[Mutant]:
    """The accepted variants of one assignment's functions, in definition order (maybe none)."""
    return [entry for entry in _entries(assignment) if entry.correct]
