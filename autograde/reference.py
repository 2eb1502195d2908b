"""The instructor's solutions as importable functions: one source of truth for reference code.

Benchmarks and tests that need a solution's ``gae`` or ``ppo_clip_loss`` load it from the
solution notebook itself instead of keeping a copy that could drift from it::

    from autograde.reference import solution_functions

    reference = solution_functions("03_actor_critic")
    advantages = reference.gae(rewards, values, next_values, terminations, truncations, 0.99, 0.95)

The notebook's setup cell runs first (its imports are what the answers use), then every answer
cell with the solution markers removed. Experiments and test cells are not run.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from types import SimpleNamespace

from autograde import notebook
from autograde.course import Course

SETUP_CELL = "setup"


def solution_namespace(source_notebook: Path) -> dict:
    """The globals of ``source_notebook`` after its setup cell and every solution answer."""
    solution = notebook.read(source_notebook)
    namespace: dict = {"__name__": f"solution_{source_notebook.stem}"}
    before = os.getcwd()
    os.chdir(source_notebook.parent)  # the setup cell finds the workbook from where it runs
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            code = notebook.cell_source(solution, SETUP_CELL)
            exec(compile(code, f"{source_notebook.name}:setup", "exec"), namespace)
            for function in notebook.answer_cells(solution):
                code = notebook.without_solution_markers(notebook.cell_source(solution, function))
                exec(compile(code, f"{source_notebook.name}:{function}", "exec"), namespace)
    finally:
        os.chdir(before)
    return namespace


def solution_functions(assignment: str, course: Course | None = None) -> SimpleNamespace:
    """Every graded function of ``assignment``'s solution, as attributes."""
    course = course or Course.default()
    source = course.source_notebook(assignment)
    namespace = solution_namespace(source)
    functions = notebook.answer_cells(notebook.read(source))
    return SimpleNamespace(**{name: namespace[name] for name in functions})
