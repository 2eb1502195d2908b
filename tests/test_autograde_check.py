"""`check` itself must be able to fail, in both directions: a weak test that a mutant survives,
and a strict test that rejects a correct variant, are both reported."""

from __future__ import annotations

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


def verdict_table(verdicts):
    return {v.case.name: v.ok for v in verdicts}


def test_solution_release_stubs_mutants_and_variants_all_hold(toy_course):
    verdicts, problems = check_assignment(
        toy_course, ASSIGNMENT, mutants=GOOD_MUTANTS + GOOD_VARIANTS
    )
    assert problems == []
    assert verdict_table(verdicts) == {
        "solution": True,
        "release": True,
        "stub-add": True,
        "stub-mul": True,
        **{f"mutant-{f}-{n}": True for f in ["add", "mul"] for n in [1, 2, 3]},
        **{f"accepted-{f}-{n}": True for f in ["add", "mul"] for n in [1, 2]},
    }


def test_a_surviving_mutant_and_too_few_mutants_are_reported(toy_course):
    # `b * a` is a correct multiplication: the tests cannot (and must not) catch it.
    survivor = mutant("mul", "b * a")
    verdicts, problems = check_assignment(
        toy_course, ASSIGNMENT, mutants=[*GOOD_MUTANTS[:3], survivor, *GOOD_VARIANTS]
    )
    failed = {v.case.name: v.problems for v in verdicts if not v.ok}
    assert list(failed) == ["mutant-mul-1"]
    assert failed["mutant-mul-1"] == ["test_mul scored 3.0, expected 0"]
    assert problems == ["mul: 1 mutants, at least 3 needed"]


def test_a_rejected_variant_and_too_few_variants_are_reported(toy_course):
    # Declared correct, but it is not: the tests reject it, and check must say so.
    rejected = accepted("mul", "a + b")
    verdicts, problems = check_assignment(
        toy_course, ASSIGNMENT, mutants=[*GOOD_MUTANTS, *GOOD_VARIANTS[:2], rejected]
    )
    failed = {v.case.name: v.problems for v in verdicts if not v.ok}
    assert failed == {"accepted-mul-1": ["test_mul scored 0.0, expected 3"]}
    assert problems == ["mul: 1 accepted variants, at least 2 needed"]


def test_batches_hold_one_entry_per_function_and_a_surprise_is_graded_alone(toy_course):
    from autograde.check import batches, cases

    survivor = mutant("mul", "b * a")
    entries = [*GOOD_MUTANTS, survivor, *GOOD_VARIANTS]
    verdicts, problems = check_assignment(toy_course, ASSIGNMENT, mutants=entries)
    assert problems == []
    failed = {v.case.name: v.problems for v in verdicts if not v.ok}
    assert failed == {"mutant-mul-4": ["test_mul scored 3.0, expected 0"]}
    # Every other entry of the survivor's batch is judged on its own row, not the batch's.
    (mutant_add_1,) = [v for v in verdicts if v.case.name == "mutant-add-1"]
    assert mutant_add_1.row.student == "mutant-batch-1"
    # 2 + 2 stubs + 4 mutant batches (the 4th has one entry) + 2 variant batches, not 2 + 2 + 11.
    made, _ = cases(*[v.case.notebook for v in verdicts[:2]], entries)
    grouped = batches(made)
    assert len(grouped) == 10
    assert all(len({m.function for m in members}) == len(members) for _, members in grouped)


def test_one_at_a_time_grades_every_entry_alone(toy_course):
    verdicts, problems = check_assignment(
        toy_course, ASSIGNMENT, mutants=GOOD_MUTANTS[:3] + GOOD_VARIANTS[:2], one_at_a_time=True
    )
    assert {v.case.name: v.row.student for v in verdicts if v.case.function} == {
        name: name for name in ["mutant-add-1", "mutant-add-2", "mutant-add-3"]
    } | {"accepted-add-1": "accepted-add-1", "accepted-add-2": "accepted-add-2"}
