"""`python -m autograde check`: tests of the tests.

For each assignment, grade a class of known notebooks made from the instructor's source and
require:

- the solution gets full marks and the release (every function a stub) gets 0;
- the solution with one function stubbed loses exactly that function's points (partial credit is
  isolated: no test leans on another graded function);
- every mutant (autograde/mutants/) loses exactly the points of the function it replaces;
- every graded function has at least ``MIN_MUTANTS`` mutants.

Answer cells are named by their function (``grade_id``), and the test cell of function ``f`` is
``test_f``.
"""

from __future__ import annotations

import copy
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograde import engine
from autograde.course import Course
from autograde.grading import Row, grade_submissions
from autograde.mutants import Mutant, mutants_for
from autograde.submissions import Submission

MIN_MUTANTS = 3


@dataclass(frozen=True)
class Variant:
    """A notebook made from the solution, with the test cells that must come out at 0."""

    name: str
    description: str
    notebook: dict
    failing: frozenset[str]  # test cells that must score 0; every other test cell full marks


@dataclass(frozen=True)
class Verdict:
    variant: Variant
    row: Row
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def answer_cells(notebook: dict) -> list[str]:
    """grade_ids of the graded functions' answer cells, in notebook order."""
    return [
        cell["metadata"]["nbgrader"]["grade_id"]
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        and cell.get("metadata", {}).get("nbgrader", {}).get("solution")
        and not cell["metadata"]["nbgrader"].get("grade")
    ]


def replace_answer(notebook: dict, grade_id: str, source: str) -> dict:
    """A copy of ``notebook`` whose answer cell ``grade_id`` holds ``source``."""
    changed = copy.deepcopy(notebook)
    for cell in changed["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            cell["source"] = source
            return changed
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def cell_source(notebook: dict, grade_id: str) -> str:
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            source = cell["source"]
            return source if isinstance(source, str) else "".join(source)
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def completed(release: dict, solution: dict) -> dict:
    """The student notebook as a perfect student hands it in: the release, every answer filled in.

    (Not the instructor's source: that one also carries the hidden tests.)
    """
    notebook = release
    for function in answer_cells(solution):
        answer = "".join(
            line
            for line in cell_source(solution, function).splitlines(keepends=True)
            if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
        )
        notebook = replace_answer(notebook, function, answer)
    return notebook


def variants(
    solution: dict, release: dict, mutants: list[Mutant]
) -> tuple[list[Variant], list[str]]:
    """The known notebooks of one assignment, and problems found while making them."""
    tests = set(engine.test_cells_of(solution))
    functions = answer_cells(solution)
    perfect = completed(release, solution)
    made = [
        Variant("solution", "the release with the solution's answers", perfect, frozenset()),
        Variant("release", "the student version, nothing filled in", release, frozenset(tests)),
    ]
    problems = []
    for function in functions:
        if f"test_{function}" not in tests:
            problems.append(f"{function}: no test cell named test_{function}")
            continue
        stub = replace_answer(perfect, function, cell_source(release, function))
        made.append(
            Variant(f"stub-{function}", "left as the stub", stub, frozenset({f"test_{function}"}))
        )
    for function in functions:
        own = [m for m in mutants if m.function == function]
        if len(own) < MIN_MUTANTS:
            problems.append(f"{function}: {len(own)} mutants, at least {MIN_MUTANTS} needed")
        for number, mutant in enumerate(own, start=1):
            made.append(
                Variant(
                    f"mutant-{function}-{number}",
                    mutant.description,
                    replace_answer(perfect, function, mutant.source),
                    frozenset({f"test_{function}"}),
                )
            )
    strays = sorted({m.function for m in mutants} - set(functions))
    problems += [f"mutants name {name!r}, which is not a graded function" for name in strays]
    return made, problems


def judge(variant: Variant, row: Row, tests: dict[str, float]) -> Verdict:
    problems = []
    if row.status != "graded":
        problems.append(f"status {row.status}: {row.detail}")
    else:
        for grade_id, points in sorted(tests.items()):
            cell = row.cells.get(grade_id)
            got = cell.score if cell else None
            want = 0.0 if grade_id in variant.failing else points
            if got != want:
                problems.append(
                    f"{grade_id} scored {got if got is not None else 'nothing'}, expected {want:g}"
                )
    return Verdict(variant, row, problems)


def check_assignment(
    course: Course, assignment: str, *, jobs: int = 2, mutants: list[Mutant] | None = None
) -> tuple[list[Verdict], list[str]]:
    """Grade every variant of one assignment; return the verdicts and any setup problems."""
    mutants = mutants_for(assignment) if mutants is None else mutants
    source = course.source_notebook(assignment)
    solution = json.loads(source.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="autograde-check-") as scratch:
        work = Path(scratch)
        release_path = engine.generate_assignment(course.solutions, assignment, work / "release")
        release = json.loads((release_path / source.name).read_text(encoding="utf-8"))
        made, problems = variants(solution, release, mutants)
        submissions = []
        for variant in made:
            path = work / "class" / variant.name / assignment / source.name
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(variant.notebook), encoding="utf-8")
            submissions.append(Submission(variant.name, assignment, path))
        rows = grade_submissions(course, submissions, work / "graded", jobs=jobs)
    by_name = {row.student: row for row in rows}
    tests = engine.test_cells(source)
    return [judge(v, by_name[v.name], tests) for v in made], problems


def check(course: Course, assignments: list[str], *, jobs: int = 2) -> bool:
    """Run the checks, print a report, and say whether everything held."""
    all_ok = True
    for assignment in assignments:
        print(f"checking {assignment} ...", flush=True)
        verdicts, problems = check_assignment(course, assignment, jobs=jobs)
        width = max(len(v.variant.name) for v in verdicts)
        for verdict in verdicts:
            score = f"{verdict.row.score if verdict.row.score is not None else '-':>4}"
            mark = "ok  " if verdict.ok else "FAIL"
            print(
                f"  {mark} {verdict.variant.name:<{width}}  {score}/{verdict.row.max_score:g}"
                f"  {verdict.variant.description}"
            )
            for problem in verdict.problems:
                print(f"         {problem}")
        for problem in problems:
            print(f"  FAIL {problem}")
        failed = sum(not v.ok for v in verdicts) + len(problems)
        mutants = sum(v.variant.name.startswith("mutant-") for v in verdicts)
        print(
            f"{assignment}: {len(verdicts)} notebooks ({mutants} mutants), "
            f"{'all checks hold' if not failed else f'{failed} problems'}"
        )
        all_ok &= not failed
    return all_ok
