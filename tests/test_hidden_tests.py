"""The hidden tests hold for any seed, in both directions.

``check`` proves each assignment on the seeds committed in the notebooks. A test that passes an
honest solution only by the luck of its seeds (a tolerance tighter than the rounding of correct
float32 arithmetic, a statistical check too close to its noise), or that catches a mutant only by
that luck, is a bug either way. Here every test cell runs again with its seeds re-drawn: the
solution and every accepted variant must pass each time, every mutant must fail each time.
"""

from __future__ import annotations

import pytest
from inprocess import SolutionNotebook

from autograde.course import Course
from autograde.mutants import accepted_for, mutants_for

COURSE = Course.default()
DRAWS = [0, 1, 2, 3]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", COURSE.assignments())
def test_hidden_tests_hold_in_both_directions_for_any_seed(assignment):
    notebook = SolutionNotebook(COURSE.source_notebook(assignment))
    namespace = notebook.namespace()
    problems = []
    for function in notebook.functions:
        right = [("solution", notebook.answers[function])] + [
            (f"accepted: {m.description}", m.source)
            for m in accepted_for(assignment)
            if m.function == function
        ]
        wrong = [
            (f"mutant: {m.description}", m.source)
            for m in mutants_for(assignment)
            if m.function == function
        ]
        for draw in DRAWS:
            for label, implementation in right:
                failure = notebook.failure(namespace, function, implementation, draw)
                if failure:
                    problems.append(f"{function} [{label}] failed with seeds #{draw}: {failure}")
            for label, implementation in wrong:
                if not notebook.failure(namespace, function, implementation, draw):
                    problems.append(f"{function} [{label}] passed with seeds #{draw}")
    assert problems == [], "\n".join(problems)
