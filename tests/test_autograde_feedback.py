"""The feedback page: the grade first, then the notebook; nothing hidden leaks, nothing runs."""

from __future__ import annotations

from autograde.datatypes import CellScore, Row, Status, WrittenGrade
from autograde.feedback import error_text, markdown, render


def cell(kind: str, source: str, grade_id: str | None = None, **meta) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": source}
    if grade_id:
        cell["metadata"]["nbgrader"] = {"grade_id": grade_id, **meta}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def failing_traceback() -> dict:
    """As IPython reports an assertion raised in utils.checks, called from a test cell (In[4])
    that called the student's function (In[3]) first."""
    return {
        "output_type": "error",
        "ename": "AssertionError",
        "evalue": "mul is wrong: expected -8, got 2. Hint: multiply, do not add",
        "traceback": [
            "\x1b[0;31m----------\x1b[0m",
            "Cell In[4], line 12\n---> 12 assert_close(mul(-2, 4), -8.0, name='mul')",
            "File .../utils/checks.py:201, in assert_close(actual, expected)\n    raise ...",
            "Cell In[3], line 2, in mul(a, b)\n      1 def mul(a, b):\n----> 2     return a + b",
            "\x1b[0;31mAssertionError\x1b[0m: mul is wrong",
        ],
    }


def graded_notebook() -> dict:
    answer = cell("code", "def mul(a, b):\n    return a + b", "mul", solution=True)
    answer["execution_count"] = 3
    test = cell(
        "code",
        "assert mul(2, 3) == 6\n### BEGIN HIDDEN TESTS\nassert mul(-2, 4) == -8\n",
        "test_mul",
        grade=True,
        points=3,
    )
    test["execution_count"] = 4
    test["outputs"] = [failing_traceback()]
    plot = cell("code", "plot()")
    plot["outputs"] = [
        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}},
        {"output_type": "display_data", "data": {"image/png": "x' onerror='alert(1)"}},
    ]
    return {
        "cells": [
            cell("markdown", "# Toy\nThe product $a \\cdot b$ and $$\\sum_i x_i$$"),
            answer,
            test,
            cell(
                "markdown",
                "<script>alert('hi')</script> my *answer*",
                "why",
                solution=True,
                grade=True,
                points=2,
            ),
            plot,
        ]
    }


def row(**changes) -> Row:
    values = dict(
        student="ada",
        assignment="00_toy",
        score=2.0,
        max_score=5.0,
        status=Status.GRADED,
        cells={
            "test_add": CellScore("test_add", 2.0, 2.0),
            "test_mul": CellScore("test_mul", 0.0, 3.0),
        },
        written_max={"why": 2.0},
    )
    values.update(changes)
    return Row(**values)


def test_the_page_opens_with_every_score_and_says_not_graded_yet():
    page = render(graded_notebook(), row()).decode()
    summary = page[: page.index("<h1>Toy</h1>")]
    assert "test_mul</td><td>0 / 3</td><td>failed" in summary
    assert "autograded tests" in summary and "2 / 5" in summary
    assert "not graded yet" in summary and "7 (written answers not graded yet)" in summary


def test_graded_written_answers_and_the_total_agree_with_the_csv_columns():
    graded = row(written={"why": WrittenGrade(1.5, "good, but say why the mean is zero")})
    assert graded.written_score == 1.5 and graded.total == 3.5 and graded.total_max == 7.0
    page = render(graded_notebook(), graded).decode()
    assert "3.5 / 7" in page and "1.5 / 2" in page and "say why the mean is zero" in page


def test_hidden_tests_and_the_grader_frames_do_not_reach_the_student():
    page = render(graded_notebook(), row()).decode()
    assert "mul(-2, 4) == -8" not in page and "HIDDEN" not in page
    assert "utils/checks.py" not in page and "Cell In[4]" not in page
    assert "Cell In[3], line 2, in mul" in page  # the student's own frame stays
    assert "Hint: multiply, do not add" in page
    shown = render(graded_notebook(), row(), show_test_code=True).decode()
    assert "mul(-2, 4) == -8" in shown  # the instructor opted in


def test_error_text_puts_the_message_last_without_colour_codes():
    text = error_text(failing_traceback(), test_cells={4})
    assert text.endswith(
        "AssertionError: mul is wrong: expected -8, got 2. Hint: multiply, do not add"
    )
    assert "\x1b" not in text and text.count("Cell In") == 1


def test_nothing_from_the_notebook_can_run_in_the_page():
    page = render(graded_notebook(), row()).decode()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "onerror" not in page  # an "image" that tries to leave its attribute is dropped
    assert "data:image/png;base64,iVBORw0KGgo=" in page


def test_math_becomes_mathml_so_it_renders_without_a_network():
    html = markdown("The score $\\nabla_\\theta \\log \\pi$ and $$\\mathbb{E}[x]$$; costs $5.")
    assert html.count("<math") == 2 and 'display="block"' in html
    assert "$5" in html  # a lone dollar sign is text


def test_a_row_without_a_notebook_says_what_happened_and_what_to_do():
    broken = row(status=Status.ERROR, score=None, cells={}, detail='broken JSON, "quoted", <b>')
    page = render(None, broken).decode()
    assert "What happened" in page and "What to do" in page and "&lt;b&gt;" in page


def test_a_huge_output_is_cut_and_the_page_stays_within_its_limit():
    notebook = graded_notebook()
    dump = cell("code", "print('x' * 100_000_000)")
    dump["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * 10_000_000}] * 30
    notebook["cells"].append(dump)
    page = render(notebook, row(), max_bytes=2**20)
    assert len(page) <= 2**20
    assert b"more characters not shown" in page and b"test_mul</td>" in page
    assert len(render(notebook, row(), max_bytes=20_000)) <= 20_000  # even the cells are too many
