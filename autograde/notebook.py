"""The one module that knows the notebook format and nbgrader's cell metadata.

A notebook is its JSON as a ``dict``. The workbook's conventions on top of nbgrader's:

- an **answer cell** holds one graded function; its ``grade_id`` is the function's name;
- its locked **test cell** is ``test_<function>``, worth ``points``;
- a **written answer** is a markdown cell that is graded by hand (``grade`` and ``solution``);
- solutions sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, hidden tests between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import sys
from pathlib import Path

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def imports_beyond_the_standard_library(notebook: dict) -> bool:
    """Whether a code cell imports a module outside Python's standard library.

    A cell that is not plain Python (a magic, a shell line) counts as importing one: the answer
    only decides what a grading zygote imports in advance, so a wrong yes costs seconds.
    """
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(source(cell))
        except SyntaxError:
            return True
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            if any(root not in sys.stdlib_module_names for root in roots):
                return True
    return False


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def nbgrader(cell: dict) -> dict:
    """The cell's nbgrader metadata (empty for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def source(cell: dict) -> str:
    """The cell's source as one string (the format allows a list of lines too)."""
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def is_test(cell: dict) -> bool:
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_answer(cell: dict) -> bool:
    """A graded function's answer cell: code the student writes, graded by its test cell."""
    meta = nbgrader(cell)
    return cell["cell_type"] == "code" and bool(meta.get("solution")) and not meta.get("grade")


def is_written_answer(cell: dict) -> bool:
    """An answer graded by hand (a written question)."""
    meta = nbgrader(cell)
    return bool(meta.get("solution")) and bool(meta.get("grade"))


def answer_cells(notebook: dict) -> list[str]:
    """grade_ids of the graded functions' answer cells, in notebook order."""
    return [nbgrader(cell)["grade_id"] for cell in notebook["cells"] if is_answer(cell)]


def test_cells(notebook: dict) -> dict[str, float]:
    """``grade_id -> points`` of the autograded test cells."""
    return {
        nbgrader(cell)["grade_id"]: float(nbgrader(cell).get("points", 0))
        for cell in notebook["cells"]
        if is_test(cell)
    }


def written_answers(notebook: dict) -> dict[str, float]:
    """``grade_id -> points`` of the answers graded by hand."""
    return {
        nbgrader(cell)["grade_id"]: float(nbgrader(cell).get("points", 0))
        for cell in notebook["cells"]
        if is_written_answer(cell)
    }


def cell(notebook: dict, grade_id: str) -> dict:
    for candidate in notebook["cells"]:
        if nbgrader(candidate).get("grade_id") == grade_id:
            return candidate
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def cell_source(notebook: dict, grade_id: str) -> str:
    return source(cell(notebook, grade_id))


def replace_answer(notebook: dict, grade_id: str, new_source: str) -> dict:
    """A copy of ``notebook`` whose cell ``grade_id`` holds ``new_source``."""
    changed = copy.deepcopy(notebook)
    cell(changed, grade_id)["source"] = new_source
    return changed


def without_solution_markers(text: str) -> str:
    """The solution as a student would hand it in: the code between the markers, kept."""
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
    )


def completed(release: dict, solution: dict) -> dict:
    """The student notebook as a perfect student hands it in: the release, every answer filled in.

    (Not the instructor's source: that one also carries the hidden tests.)
    """
    notebook = release
    for function in answer_cells(solution):
        answer = without_solution_markers(cell_source(solution, function))
        notebook = replace_answer(notebook, function, answer)
    return notebook


# The setup cell's line naming the student repository (Colab installs utils from it).
REPOSITORY_LINE = re.compile(r'^([ \t]*)REPOSITORY = "[^"\n]*"', re.M)


def stamp_repository(notebook: dict, repository: str) -> dict:
    """A copy of ``notebook`` whose setup cell names ``repository`` (see ``REPOSITORY_LINE``)."""
    stamped = copy.deepcopy(notebook)
    for candidate in stamped["cells"]:
        if nbgrader(candidate).get("grade_id") == "setup":
            candidate["source"] = REPOSITORY_LINE.sub(
                lambda match: f'{match.group(1)}REPOSITORY = "{repository}"', source(candidate)
            )
    return stamped


def without_repository(text: str) -> str:
    """``text`` with the repository line blanked: copies stamped for other repositories match."""
    return REPOSITORY_LINE.sub(lambda match: f'{match.group(1)}REPOSITORY = ""', text)
