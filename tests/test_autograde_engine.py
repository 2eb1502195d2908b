"""The grader's own step in nbgrader's pipeline: outputs are capped before anything stores them."""

from __future__ import annotations

import nbformat

from autograde import engine


def test_output_is_capped_per_cell_whatever_its_shape_and_errors_are_kept():
    steps = engine._autograde_preprocessors(output_chars=100)
    step = next(s for s in steps if s.__name__ == "LimitOutputChars")()
    many_small = [nbformat.v4.new_output("stream", name="stdout", text="x" * 30) for _ in range(50)]
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="e" * 1000, traceback=[])
    cell = nbformat.v4.new_code_cell("print('x' * 1500)", outputs=[*many_small, error])
    cell, _ = step.preprocess_cell(cell, {}, 0)
    printed = sum(len(o["text"]) for o in cell["outputs"] if o["output_type"] == "stream")
    assert printed < 200 and "more characters not kept" in cell["outputs"][3]["text"]
    assert cell["outputs"][-1]["output_type"] == "error"
    assert len(cell["outputs"][-1]["evalue"]) == 100
    assert step.enabled  # nbconvert registers a plain Preprocessor disabled
