"""Put a submission back into the instructor's shape before it is graded.

Students delete, move and edit cells. nbgrader restores the source of test cells it can find, but
not a deleted one (its points silently vanish), and it grades cells in the student's order. So
before nbgrader sees a submission, it is rebuilt on the instructor's *skeleton* (the release
notebook of the grading template):

- every nbgrader cell of the skeleton appears once, in the skeleton's order; locked cells and test
  cells (with their points) come from the skeleton, whatever the student did to them;
- answer cells come from the student (matched by ``grade_id``); a missing one stays a stub;
- the student's other cells (extra cells, experiments they edited) are kept, after the nbgrader
  cell they followed in the student's notebook.

What was repaired is reported as notes, so the instructor can see it; repairs never cost an
honest student points.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from autograde import notebook as notebook_format

# The guard's call atop a test cell of the grading template (see add_guard below).
_GUARD_LINE = re.compile(r"^_autograde_guard_[0-9a-f]+[.(].*\n?", re.MULTILINE)


@dataclass
class Rebuilt:
    notebook: dict
    notes: list[str] = field(default_factory=list)  # what was restored, for the row's detail
    problem: str = ""  # why the submission cannot be graded at all


_meta = notebook_format.nbgrader
_source = notebook_format.source


def _is_answer(cell: dict) -> bool:
    """Anything the student writes: code answers and written answers alike."""
    return bool(_meta(cell).get("solution"))


def rebuild(submitted: dict, skeleton: dict, *, assignment: str) -> Rebuilt:
    """The notebook to grade: ``skeleton``'s cells with the student's answers in their places."""
    skeleton_ids = [_meta(c)["grade_id"] for c in skeleton["cells"] if _meta(c).get("grade_id")]
    known = set(skeleton_ids)
    answers = [gid for gid, c in _by_id(skeleton).items() if _is_answer(c)]

    student_by_id: dict[str, dict] = {}
    followers: dict[str | None, list[dict]] = {None: []}  # extra cells after each anchor
    anchor: str | None = None
    seen_order: list[str] = []
    for cell in submitted.get("cells", []):
        grade_id = _meta(cell).get("grade_id")
        if grade_id in known and grade_id not in student_by_id:
            student_by_id[grade_id] = cell
            seen_order.append(grade_id)
            anchor = grade_id
            followers.setdefault(anchor, [])
        elif grade_id in known:
            continue  # a duplicated nbgrader cell: the first copy counts
        else:
            followers[anchor].append(_as_plain_cell(cell))

    found_answers = [gid for gid in answers if gid in student_by_id]
    if answers and not found_answers:
        return Rebuilt(
            submitted,
            problem=f"this is not the {assignment} notebook (none of its answer cells are in "
            "it); submit the notebook of this assignment",
        )

    notes = []
    cells: list[dict] = []
    anchors = [c for c in skeleton["cells"] if _meta(c).get("grade_id")]
    for position, skeleton_cell in enumerate(anchors):
        grade_id = _meta(skeleton_cell)["grade_id"]
        if grade_id.startswith(GUARD_CELL_ID):
            cells.append(copy.deepcopy(skeleton_cell))
            continue
        if position == 0 or all(_is_guard(c) for c in anchors[:position]):
            cells.extend(followers[None])  # the student's cells before any nbgrader cell
        theirs = student_by_id.get(grade_id)
        if _is_answer(skeleton_cell):
            if theirs is None:
                notes.append(f"answer cell {grade_id} was missing")
                cells.append(copy.deepcopy(skeleton_cell))
            else:
                answer = copy.deepcopy(skeleton_cell)
                answer["source"] = _source(theirs)
                cells.append(answer)
        else:
            if theirs is None and _meta(skeleton_cell).get("grade"):
                notes.append(f"restored deleted test cell {grade_id}")
            elif theirs is not None and _changed(theirs, skeleton_cell):
                notes.append(f"restored edited cell {grade_id}")
            cells.append(copy.deepcopy(skeleton_cell))
        # The grader's hidden cells that follow this one run before the student's extra cells.
        for hidden in anchors[position + 1 :]:
            if not _is_guard(hidden):
                break
            cells.append(copy.deepcopy(hidden))
        cells.extend(followers.get(grade_id, []))
    # Hidden cells were appended twice when they follow an anchor; keep the first of each.
    cells = _first_of_each_guard_cell(cells)

    if seen_order != [gid for gid in skeleton_ids if gid in student_by_id]:
        notes.append("graded in the original cell order")
    notebook = copy.deepcopy(skeleton)
    notebook["cells"] = cells
    return Rebuilt(notebook, notes)


def _is_guard(cell: dict) -> bool:
    return str(_meta(cell).get("grade_id", "")).startswith(GUARD_CELL_ID)


def _first_of_each_guard_cell(cells: list[dict]) -> list[dict]:
    seen: set[str] = set()
    kept = []
    for cell in cells:
        if _is_guard(cell):
            if _meta(cell)["grade_id"] in seen:
                continue
            seen.add(_meta(cell)["grade_id"])
        kept.append(cell)
    return kept


def _by_id(notebook: dict) -> dict[str, dict]:
    return {_meta(c)["grade_id"]: c for c in notebook["cells"] if _meta(c).get("grade_id")}


def _changed(theirs: dict, ours: dict) -> bool:
    # A copy published for another student repository differs only in the setup cell's URL.
    mine = notebook_format.without_repository(_source(theirs)).strip()
    if mine != notebook_format.without_repository(_GUARD_LINE.sub("", _source(ours))).strip():
        return True
    return _meta(theirs).get("points") != _meta(ours).get("points")


def _as_plain_cell(cell: dict) -> dict:
    """A student's extra cell, stripped of any nbgrader metadata it claims."""
    plain = copy.deepcopy(cell)
    plain.setdefault("metadata", {}).pop("nbgrader", None)
    if plain.get("cell_type") == "code":
        plain["outputs"] = []
        plain["execution_count"] = None
    return plain


# --- the integrity guard (see kernel/guard.py, which runs inside the kernel) ---------------------

GUARD_CELL_ID = "autograde_guard"


def guard_name(token: str) -> str:
    return f"_autograde_guard_{token}"


def _hidden_cell(grade_id: str, source: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": grade_id,
        "metadata": {
            "nbgrader": {
                "grade": False,
                "grade_id": grade_id,
                "locked": True,
                "schema_version": 3,
                "solution": False,
                "task": False,
            }
        },
        "outputs": [],
        "source": source,
    }


def add_guard(source: dict, token: str) -> dict:
    """The instructor's source with the guard (see kernel/guard.py).

    A hidden first cell installs it before any student code; a hidden cell after the setup cell
    (the first locked code cell) records the modules it imported; every test cell calls it at
    its top and at its bottom. Used only for the grading template; students never see it.
    """
    name = guard_name(token)
    guarded = copy.deepcopy(source)
    for cell in guarded["cells"]:
        if notebook_format.is_test(cell):
            check = f"{name}({_meta(cell)['grade_id']!r})"
            cell["source"] = f"{check}\n{_source(cell).rstrip()}\n{check}\n"
    setup = next(
        (
            i
            for i, c in enumerate(guarded["cells"])
            if c["cell_type"] == "code" and _meta(c).get("locked") and not _meta(c).get("grade")
        ),
        None,
    )
    if setup is not None:
        bindings = _hidden_cell(f"{GUARD_CELL_ID}_bindings", f"{name}.remember(globals())\n")
        guarded["cells"].insert(setup + 1, bindings)
    install = (
        f"from autograde.kernel.guard import install\n{name} = install({token!r})\ndel install\n"
    )
    guarded["cells"].insert(0, _hidden_cell(GUARD_CELL_ID, install))
    return guarded


def remove_guard(executed: dict, token: str) -> dict:
    """The executed notebook as the student should see it in feedback: no trace of the guard."""
    clean = copy.deepcopy(executed)
    clean["cells"] = [c for c in clean["cells"] if not _is_guard(c)]
    name = guard_name(token)
    for cell in clean["cells"]:
        source = _source(cell)
        if name in source:
            cell["source"] = "".join(
                line for line in source.splitlines(keepends=True) if not line.startswith(name)
            ).rstrip("\n")
        for output in cell.get("outputs", []):
            if "traceback" in output:  # tracebacks quote the lines around the failure
                output["traceback"] = [
                    "\n".join(line for line in frame.split("\n") if name not in line)
                    for frame in output["traceback"]
                ]
    return clean
