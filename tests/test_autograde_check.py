"""`check` itself must be able to fail, in both directions: a weak test that a mutant survives,
and a strict test that rejects a correct variant, are both reported."""

from __future__ import annotations

import json

import pytest
from make_course import ASSIGNMENT

from autograde.check import check_assignment
from autograde.mutants import Mutant

pytestmark = pytest.mark.grading


def mutant(function: str, body: str) -> Mutant:
    return Mutant(function, body, f"def {function}(a, b):\n    return {body}\n")


def accepted(function: str, body: str) -> Mutant:
    return Mutant(function, body, f"def {function}(a, b):\n    return {body}\n", correct=True)


GOOD_MUTANTS = [
    *(mutant("add", body) for body in ["a - b", "a * b", "b"]),
    *(mutant("mul", body) for body in ["a + b", "a ** b", "-a * b"]),
]
GOOD_VARIANTS = [
    *(accepted("add", body) for body in ["b + a", "sum([a, b])"]),
    *(accepted("mul", body) for body in ["b * a", "a * b * 1"]),
]


# `b * a` is a correct multiplication: declared a mutant, the tests cannot (and must not) catch it.
SURVIVOR = mutant("mul", "b * a")
# Declared correct, but it is not: the tests reject it, and check must say so.
REJECTED = accepted("mul", "a + b")


@pytest.fixture(scope="module")
def checked(toy_course):
    """One check of the toy course with a survivor and a rejected variant among good entries.

    The survivor is mul's first mutant, so it shares batch 1 with add's first mutant: the batch
    is surprising and both are graded again alone. The rejected variant is mul's third, alone in
    its batch. One graded run serves every test below.
    """
    entries = [GOOD_MUTANTS[0], SURVIVOR, *GOOD_MUTANTS[1:], *GOOD_VARIANTS, REJECTED]
    verdicts, problems = check_assignment(toy_course, ASSIGNMENT, mutants=entries)
    return {v.case.name: v for v in verdicts}, problems


def test_good_cases_hold_and_only_the_survivor_and_the_rejected_variant_fail(checked):
    verdicts, problems = checked
    assert problems == []
    assert {name: v.ok for name, v in verdicts.items()} == {
        "solution": True,
        "release": True,
        "stub-add": True,
        "stub-mul": True,
        **{f"mutant-add-{n}": True for n in [1, 2, 3]},
        **{f"mutant-mul-{n}": n != 1 for n in [1, 2, 3, 4]},
        **{f"accepted-add-{n}": True for n in [1, 2]},
        **{f"accepted-mul-{n}": n != 3 for n in [1, 2, 3]},
    }


def test_a_surviving_mutant_and_a_rejected_variant_say_what_scored_wrong(checked):
    verdicts, _ = checked
    assert verdicts["mutant-mul-1"].problems == ["test_mul scored 3.0, expected 0"]
    assert verdicts["accepted-mul-3"].problems == ["test_mul scored 0.0, expected 3"]


def test_a_surprising_batch_is_graded_again_one_entry_at_a_time(checked):
    verdicts, _ = checked
    # batch 1 (add-1 with the survivor) surprised: each of its entries has a row of its own
    assert verdicts["mutant-add-1"].row.student == "mutant-add-1"
    assert verdicts["mutant-mul-1"].row.student == "mutant-mul-1"
    # batch 2 held: its entries are judged on the batch's row
    assert verdicts["mutant-add-2"].row.student == "mutant-batch-2"
    assert verdicts["mutant-mul-2"].row.student == "mutant-batch-2"


def test_too_few_mutants_and_variants_are_reported(toy_course):
    from autograde.check import cases

    solution = json.loads(toy_course.source_notebook(ASSIGNMENT).read_text(encoding="utf-8"))
    release = json.loads(toy_course.release_notebook(ASSIGNMENT).read_text(encoding="utf-8"))
    _, problems = cases(solution, release, [*GOOD_MUTANTS[:3], SURVIVOR, *GOOD_VARIANTS[:3]])
    assert problems == [
        "mul: 1 mutants, at least 3 needed",
        "mul: 1 accepted variants, at least 2 needed",
    ]


def test_batches_hold_one_entry_per_function(toy_course):
    from autograde.check import batches, cases

    solution = json.loads(toy_course.source_notebook(ASSIGNMENT).read_text(encoding="utf-8"))
    release = json.loads(toy_course.release_notebook(ASSIGNMENT).read_text(encoding="utf-8"))
    made, _ = cases(solution, release, [*GOOD_MUTANTS, SURVIVOR, *GOOD_VARIANTS])
    grouped = batches(made)
    # 2 + 2 stubs + 4 mutant batches (the 4th has one entry) + 2 variant batches, not 2 + 2 + 11.
    assert len(grouped) == 10
    assert all(len({m.function for m in members}) == len(members) for _, members in grouped)


def test_one_at_a_time_grades_every_entry_alone(toy_course):
    verdicts, problems = check_assignment(
        toy_course, ASSIGNMENT, mutants=GOOD_MUTANTS[:3] + GOOD_VARIANTS[:2], one_at_a_time=True
    )
    assert {v.case.name: v.row.student for v in verdicts if v.case.function} == {
        name: name for name in ["mutant-add-1", "mutant-add-2", "mutant-add-3"]
    } | {"accepted-add-1": "accepted-add-1", "accepted-add-2": "accepted-add-2"}
