"""The grader's own steps in nbgrader's pipeline: outputs are capped before anything stores them,
and nbgrader's costly steps are replaced by ones that compute the same thing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import nbformat
import pytest

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


def test_the_in_process_alembic_head_is_the_one_nbgrader_gets_from_its_subprocess():
    # nbgrader's own function, in a fresh process (this one may have replaced it already)
    probe = "from nbgrader.api import get_alembic_version; print(get_alembic_version())"
    bin_folder = str(Path(sys.executable).parent)  # where nbgrader finds `alembic`
    environment = {**os.environ, "PATH": bin_folder + os.pathsep + os.environ.get("PATH", "")}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=environment
    )
    assert result.returncode == 0, result.stderr
    assert engine.alembic_head() == result.stdout.strip()


def test_nbformat_reads_notebooks_without_the_slow_optional_iri_checker():
    # a fresh process: whether rfc3987_syntax is imported depends on what ran before
    probe = "import autograde, nbformat, sys; print('rfc3987_syntax' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_nbgraders_metadata_check_still_rejects_bad_metadata_with_the_schema_checked_once():
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    engine._patch_nbgrader()
    validator = MetadataValidatorV3()
    good = {"grade": True, "solution": False, "locked": True, "grade_id": "test_f", "points": 2}
    cell = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {**good, "schema_version": 3}})
    validator.validate_cell(cell)
    cell.metadata.nbgrader.points = "two"
    with pytest.raises(jsonschema.ValidationError, match="'two'"):
        validator.validate_cell(cell)
