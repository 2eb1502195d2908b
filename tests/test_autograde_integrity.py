"""The rebuild onto the instructor's skeleton, and the in-kernel guard, without nbgrader."""

from __future__ import annotations

import json

import numpy.testing
import pytest
from make_course import toy_notebook

from autograde import integrity
from autograde.kernel.guard import MARKER, install


def cell_ids(notebook: dict) -> list[str]:
    return [
        c.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"extra:{c['source'][:12]}"
        for c in notebook["cells"]
    ]


@pytest.fixture
def skeleton() -> dict:
    """The toy notebook as students receive it (answers are stubs, no hidden tests)."""
    notebook = json.loads(json.dumps(toy_notebook()))
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code":
            name = meta["grade_id"]
            cell["source"] = f"def {name}(a, b):\n    raise NotImplementedError()"
        cell["source"] = cell["source"].split("### BEGIN HIDDEN TESTS")[0]
    return notebook


def answered(skeleton: dict) -> dict:
    notebook = json.loads(json.dumps(skeleton))
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id == "add":
            cell["source"] = "def add(a, b):\n    return a + b"
        if grade_id == "mul":
            cell["source"] = "def mul(a, b):\n    return a * b"
    return notebook


def test_an_untouched_submission_is_rebuilt_as_it_is(skeleton):
    student = answered(skeleton)
    rebuilt = integrity.rebuild(student, skeleton, assignment="00_toy")
    assert rebuilt.problem == "" and rebuilt.notes == []
    assert [c["source"] for c in rebuilt.notebook["cells"]] == [
        c["source"] for c in student["cells"]
    ]


def test_deleted_edited_and_moved_test_cells_come_back_in_order(skeleton):
    student = answered(skeleton)
    cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in student["cells"]}
    cells["test_mul"]["source"] = "pass"
    cells["test_mul"]["metadata"]["nbgrader"]["points"] = 100
    student["cells"] = [c for c in student["cells"] if c is not cells["test_add"]]
    # Move test_mul above mul and add an extra cell after mul.
    order = [c for c in student["cells"] if c is not cells["test_mul"]]
    order.insert(order.index(cells["mul"]), cells["test_mul"])
    order.insert(
        order.index(cells["mul"]) + 1,
        {
            "cell_type": "code",
            "metadata": {},
            "source": "print('mine')",
            "outputs": [],
            "execution_count": None,
        },
    )
    student["cells"] = order

    rebuilt = integrity.rebuild(student, skeleton, assignment="00_toy")
    by_id = {
        c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in rebuilt.notebook["cells"]
    }
    assert by_id["test_mul"]["source"].startswith("# Check that mul multiplies.")
    assert by_id["test_mul"]["metadata"]["nbgrader"]["points"] == 3
    assert "test_add" in by_id
    ids = cell_ids(rebuilt.notebook)
    assert ids.index("add") < ids.index("test_add") < ids.index("mul") < ids.index("test_mul")
    assert ids[ids.index("mul") + 1] == "extra:print('mine'"
    assert set(rebuilt.notes) == {
        "restored deleted test cell test_add",
        "restored edited cell test_mul",
        "graded in the original cell order",
    }


def test_extra_cells_cannot_claim_to_be_tests(skeleton):
    student = answered(skeleton)
    forged = {
        "cell_type": "code",
        "source": "assert True",
        "outputs": [],
        "execution_count": None,
        "metadata": {
            "nbgrader": {
                "grade": True,
                "grade_id": "bonus",
                "points": 50,
                "solution": False,
                "locked": True,
            }
        },
    }
    student["cells"].append(forged)
    rebuilt = integrity.rebuild(student, skeleton, assignment="00_toy")
    assert "nbgrader" not in rebuilt.notebook["cells"][-1]["metadata"]


def test_a_missing_answer_stays_a_stub_and_another_notebook_is_refused(skeleton):
    student = answered(skeleton)
    student["cells"] = [
        c for c in student["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") != "mul"
    ]
    rebuilt = integrity.rebuild(student, skeleton, assignment="00_toy")
    assert "answer cell mul was missing" in rebuilt.notes
    other = {"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}}]}
    refused = integrity.rebuild(other, skeleton, assignment="00_toy")
    assert "this is not the 00_toy notebook" in refused.problem


def test_the_guard_is_added_to_test_cells_and_removed_without_a_trace(skeleton):
    guarded = integrity.add_guard(skeleton, "abc123")
    assert guarded["cells"][0]["metadata"]["nbgrader"]["grade_id"] == integrity.GUARD_CELL_ID
    tests = [
        c
        for c in guarded["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade")
        and not c["metadata"]["nbgrader"].get("solution")
    ]
    assert all(c["source"].startswith("_autograde_guard_abc123(") for c in tests)
    assert all(
        c["source"]
        .rstrip()
        .endswith("_autograde_guard_abc123('" + c["metadata"]["nbgrader"]["grade_id"] + "')")
        for c in tests
    )
    ids = [
        c["metadata"]["nbgrader"]["grade_id"]
        for c in guarded["cells"]
        if "nbgrader" in c["metadata"]
    ]
    assert ids[:4] == ["autograde_guard", "setup", "autograde_guard_bindings", "add"]
    for cell in guarded["cells"]:
        cell["outputs"] = [
            {
                "output_type": "error",
                "ename": "E",
                "evalue": "",
                "traceback": ["----> 1 _autograde_guard_abc123('t')\n      2 x"],
            }
        ]
    clean = integrity.remove_guard(guarded, "abc123")
    assert [c["source"].rstrip() for c in clean["cells"]] == [
        c["source"].rstrip() for c in skeleton["cells"]
    ]
    assert "autograde_guard" not in json.dumps(clean)


def test_the_kernel_guard_notices_a_patched_testing_function(capsys, monkeypatch):
    guard = install("tok")
    guard("test_before")  # nothing changed yet
    monkeypatch.setattr(numpy.testing, "assert_allclose", lambda *a, **k: None)
    with pytest.raises(AssertionError, match="test_after does not count"):
        guard("test_after")
    assert f"{MARKER} tok changed: numpy.testing.assert_allclose" in capsys.readouterr().out
    monkeypatch.undo()
    guard("test_restored")


def test_the_kernel_guard_notices_a_rebound_setup_name(capsys):
    import numpy as np

    guard = install("tok")
    namespace = {"np": np, "answer": 42}
    guard.remember(namespace)
    namespace["answer"] = 43  # ordinary variables may change
    guard("test_fine")
    namespace["np"] = type("FakeNumpy", (), {})()
    with pytest.raises(AssertionError, match="the name np"):
        guard("test_shadowed")
