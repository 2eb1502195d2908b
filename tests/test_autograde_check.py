"""`check` itself must be able to fail: a weak test or a mutant that survives is reported."""

from __future__ import annotations

from make_course import ASSIGNMENT

from autograde.check import check_assignment
from autograde.mutants import Mutant


def mutant(function: str, body: str) -> Mutant:
    return Mutant(function, body, f"def {function}(a, b):\n    return {body}\n")


GOOD_MUTANTS = [
    *(mutant("add", body) for body in ["a - b", "a * b", "b"]),
    *(mutant("mul", body) for body in ["a + b", "a ** b", "-a * b"]),
]


def verdict_table(verdicts):
    return {v.variant.name: v.ok for v in verdicts}


def test_solution_release_stubs_and_mutants_all_hold(toy_course):
    verdicts, problems = check_assignment(toy_course, ASSIGNMENT, mutants=GOOD_MUTANTS)
    assert problems == []
    assert verdict_table(verdicts) == {
        "solution": True,
        "release": True,
        "stub-add": True,
        "stub-mul": True,
        **{f"mutant-{f}-{n}": True for f in ["add", "mul"] for n in [1, 2, 3]},
    }


def test_a_surviving_mutant_and_too_few_mutants_are_reported(toy_course):
    # `b * a` is a correct multiplication: the tests cannot (and must not) catch it.
    survivor = mutant("mul", "b * a")
    verdicts, problems = check_assignment(
        toy_course, ASSIGNMENT, mutants=[*GOOD_MUTANTS[:3], survivor]
    )
    failed = {v.variant.name: v.problems for v in verdicts if not v.ok}
    assert list(failed) == ["mutant-mul-1"]
    assert failed["mutant-mul-1"] == ["test_mul scored 3.0, expected 0"]
    assert problems == ["mul: 1 mutants, at least 3 needed"]
