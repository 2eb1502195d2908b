"""`python -m autograde check`: tests of the tests, in both directions.

For each assignment, grade a class of known notebooks made from the instructor's source and
require:

- the solution gets full marks and the release (every function a stub) gets 0;
- the solution with one function stubbed loses exactly that function's points (partial credit is
  isolated: no test leans on another graded function);
- every mutant (autograde/mutants/) loses exactly the points of the function it replaces;
- every accepted variant (correct code written another way) keeps all of its points;
- every graded function has at least ``MIN_MUTANTS`` mutants and ``MIN_ACCEPTED`` variants.

Answer cells are named by their function (``grade_id``), and the test cell of function ``f`` is
``test_f``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograde import engine
from autograde.course import Course
from autograde.datatypes import Row
from autograde.grading import grade_submissions
from autograde.mutants import Mutant, accepted_for, mutants_for
from autograde.notebook import answer_cells, cell_source, completed, replace_answer, test_cells
from autograde.submissions import Submission

MIN_MUTANTS = 3
MIN_ACCEPTED = 2


@dataclass(frozen=True)
class Case:
    """A notebook made from the solution, with the test cells that must come out at 0."""

    name: str
    description: str
    notebook: dict
    failing: frozenset[str]  # test cells that must score 0; every other test cell full marks


@dataclass(frozen=True)
class Verdict:
    case: Case
    row: Row
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def cases(solution: dict, release: dict, mutants: list[Mutant]) -> tuple[list[Case], list[str]]:
    """The known notebooks of one assignment, and problems found while making them.

    ``mutants`` holds both kinds: wrong versions, and correct ones (``Mutant.correct``).
    """
    tests = set(test_cells(solution))
    functions = answer_cells(solution)
    perfect = completed(release, solution)
    made = [
        Case("solution", "the release with the solution's answers", perfect, frozenset()),
        Case("release", "the student version, nothing filled in", release, frozenset(tests)),
    ]
    problems = []
    for function in functions:
        if f"test_{function}" not in tests:
            problems.append(f"{function}: no test cell named test_{function}")
            continue
        stub = replace_answer(perfect, function, cell_source(release, function))
        made.append(
            Case(f"stub-{function}", "left as the stub", stub, frozenset({f"test_{function}"}))
        )
    for function in functions:
        wrong = [m for m in mutants if m.function == function and not m.correct]
        right = [m for m in mutants if m.function == function and m.correct]
        if len(wrong) < MIN_MUTANTS:
            problems.append(f"{function}: {len(wrong)} mutants, at least {MIN_MUTANTS} needed")
        if len(right) < MIN_ACCEPTED:
            problems.append(
                f"{function}: {len(right)} accepted variants, at least {MIN_ACCEPTED} needed"
            )
        for kind, entries, failing in [
            ("mutant", wrong, frozenset({f"test_{function}"})),
            ("accepted", right, frozenset()),
        ]:
            for number, entry in enumerate(entries, start=1):
                made.append(
                    Case(
                        f"{kind}-{function}-{number}",
                        entry.description,
                        replace_answer(perfect, function, entry.source),
                        failing,
                    )
                )
    strays = sorted({m.function for m in mutants} - set(functions))
    problems += [f"mutants name {name!r}, which is not a graded function" for name in strays]
    return made, problems


def judge(case: Case, row: Row, tests: dict[str, float]) -> Verdict:
    problems = []
    if row.status != "graded":
        problems.append(f"status {row.status}: {row.detail}")
    else:
        for grade_id, points in sorted(tests.items()):
            cell = row.cells.get(grade_id)
            got = cell.score if cell else None
            want = 0.0 if grade_id in case.failing else points
            if got != want:
                problems.append(
                    f"{grade_id} scored {got if got is not None else 'nothing'}, expected {want:g}"
                )
    return Verdict(case, row, problems)


def check_assignment(
    course: Course, assignment: str, *, jobs: int = 2, mutants: list[Mutant] | None = None
) -> tuple[list[Verdict], list[str]]:
    """Grade every case of one assignment; return the verdicts and any setup problems.

    ``mutants`` defaults to the assignment's mutants and accepted variants.
    """
    if mutants is None:
        mutants = mutants_for(assignment) + accepted_for(assignment)
    source = course.source_notebook(assignment)
    solution = json.loads(source.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="autograde-check-") as scratch:
        work = Path(scratch)
        release_path = engine.generate_assignment(course.solutions, assignment, work / "release")
        release = json.loads((release_path / source.name).read_text(encoding="utf-8"))
        made, problems = cases(solution, release, mutants)
        submissions = []
        for case in made:
            path = work / "class" / case.name / assignment / source.name
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(case.notebook), encoding="utf-8")
            submissions.append(Submission(case.name, assignment, path))
        rows = grade_submissions(course, submissions, work / "graded", jobs=jobs)
    by_name = {row.student: row for row in rows}
    tests = engine.test_cells(source)
    return [judge(c, by_name[c.name], tests) for c in made], problems


def check(course: Course, assignments: list[str], *, jobs: int = 2) -> bool:
    """Run the checks, print a report, and say whether everything held."""
    all_ok = True
    for assignment in assignments:
        print(f"checking {assignment} ...", flush=True)
        verdicts, problems = check_assignment(course, assignment, jobs=jobs)
        width = max(len(v.case.name) for v in verdicts)
        for verdict in verdicts:
            score = f"{verdict.row.score if verdict.row.score is not None else '-':>4}"
            mark = "ok  " if verdict.ok else "FAIL"
            print(
                f"  {mark} {verdict.case.name:<{width}}  {score}/{verdict.row.max_score:g}"
                f"  {verdict.case.description}"
            )
            for problem in verdict.problems:
                print(f"         {problem}")
        for problem in problems:
            print(f"  FAIL {problem}")
        failed = sum(not v.ok for v in verdicts) + len(problems)
        count = {
            kind: sum(v.case.name.startswith(f"{kind}-") for v in verdicts)
            for kind in ("mutant", "accepted")
        }
        print(
            f"{assignment}: {len(verdicts)} notebooks ({count['mutant']} mutants, "
            f"{count['accepted']} accepted variants), "
            f"{'all checks hold' if not failed else f'{failed} problems'}"
        )
        all_ok &= not failed
    return all_ok
