"""`python -m autograde check`: tests of the tests, in both directions.

For each assignment, grade a class of known notebooks made from the instructor's source and
require:

- the solution gets full marks and the release (every function a stub) gets 0;
- the solution with one function stubbed loses exactly that function's points (partial credit is
  isolated: no test leans on another graded function);
- every mutant (autograde/mutants/) loses exactly the points of the function it replaces;
- every accepted variant (correct code written another way) keeps all of its points;
- every graded function has at least ``MIN_MUTANTS`` mutants and ``MIN_ACCEPTED`` variants.

Mutants and variants are graded in batches: a batch carries at most one entry per function, and
every function has its own test cell, so one graded notebook says what each entry did to its own
cell (a batch of the k-th mutant of every function must score 0 on exactly their test cells). A
batch that does anything unexpected is graded again entry by entry, so every problem is reported
against the one entry that caused it. Stubs are graded one at a time: they are the proof that no
test leans on another graded function, which a batch could hide. Batching cuts an assignment's
~80 notebooks to ~20; ``one_at_a_time=True`` grades every entry alone.

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
    replaces: tuple[tuple[str, str], ...] = ()  # (function, source) pasted into the solution
    function: str | None = None  # the graded function a mutant or variant replaces
    number: int = 0  # a mutant's or variant's place among its function's entries (from 1)


@dataclass(frozen=True)
class Verdict:
    case: Case
    row: Row
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def score_text(self) -> str:
        """The notebook's score, or for a mutant or variant its own test cell's (it may have
        been graded in a batch)."""
        if self.case.function is None:
            score = "-" if self.row.score is None else f"{self.row.score:g}"
            return f"{score}/{self.row.max_score:g}"
        cell = self.row.cells.get(f"test_{self.case.function}")
        if cell is None:
            return "-"
        return f"{cell.score:g}/{cell.max_score:g} test"


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
                        ((function, entry.source),),
                        function,
                        number,
                    )
                )
    strays = sorted({m.function for m in mutants} - set(functions))
    problems += [f"mutants name {name!r}, which is not a graded function" for name in strays]
    return made, problems


def batches(made: list[Case]) -> list[tuple[Case, list[Case]]]:
    """Group the mutants (and, apart, the variants): batch k holds the k-th entry of every function.

    Returns (case to grade, the single cases it stands for); solution, release and stubs stand
    for themselves.
    """
    perfect = next(case.notebook for case in made if case.name == "solution")
    rounds: dict[tuple[bool, int], list[Case]] = {}
    for case in made:
        if case.function is not None:
            rounds.setdefault((case.failing == frozenset(), case.number), []).append(case)
    grouped = [(case, [case]) for case in made if case.function is None]
    for (correct, number), members in sorted(rounds.items()):
        if len(members) == 1:
            grouped.append((members[0], members))
            continue
        notebook = perfect
        for member in members:
            for function, source in member.replaces:
                notebook = replace_answer(notebook, function, source)
        kind = "accepted" if correct else "mutant"
        batch = Case(
            f"{kind}-batch-{number}",
            f"entry {number} of every function's {kind}s, together",
            notebook,
            frozenset().union(*(m.failing for m in members)),
        )
        grouped.append((batch, members))
    return grouped


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
    course: Course,
    assignment: str,
    *,
    jobs: int = 2,
    mutants: list[Mutant] | None = None,
    one_at_a_time: bool = False,
) -> tuple[list[Verdict], list[str]]:
    """Grade every case of one assignment; return one verdict per case and any setup problems.

    ``mutants`` defaults to the assignment's mutants and accepted variants. Unless
    ``one_at_a_time``, mutants and variants go in batches (see the module's docstring).
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
        tests = engine.test_cells(source)

        def grade(graded: list[Case], round_name: str) -> dict[str, Row]:
            submissions = []
            for case in graded:
                path = work / round_name / case.name / assignment / source.name
                path.parent.mkdir(parents=True)
                path.write_text(json.dumps(case.notebook), encoding="utf-8")
                submissions.append(Submission(case.name, assignment, path))
            rows = grade_submissions(course, submissions, work / f"graded-{round_name}", jobs=jobs)
            return {row.student: row for row in rows}

        if one_at_a_time:
            rows = grade(made, "single")
            return [judge(c, rows[c.name], tests) for c in made], problems
        grouped = batches(made)
        rows = grade([case for case, _ in grouped], "batch")
        verdicts: dict[str, Verdict] = {}
        again: list[Case] = []
        for case, members in grouped:
            verdict = judge(case, rows[case.name], tests)
            if verdict.ok or members == [case]:
                verdicts.update(
                    {m.name: Verdict(m, verdict.row, verdict.problems) for m in members}
                )
            else:
                again += members
        if again:  # say which entry of a surprising batch did it
            rows = grade(again, "again")
            verdicts.update({c.name: judge(c, rows[c.name], tests) for c in again})
    return [verdicts[c.name] for c in made], problems


def check(
    course: Course, assignments: list[str], *, jobs: int = 2, one_at_a_time: bool = False
) -> bool:
    """Run the checks, print a report, and say whether everything held."""
    all_ok = True
    for assignment in assignments:
        print(f"checking {assignment} ...", flush=True)
        verdicts, problems = check_assignment(
            course, assignment, jobs=jobs, one_at_a_time=one_at_a_time
        )
        width = max(len(v.case.name) for v in verdicts)
        for verdict in verdicts:
            mark = "ok  " if verdict.ok else "FAIL"
            print(
                f"  {mark} {verdict.case.name:<{width}}  {verdict.score_text():>12}"
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
