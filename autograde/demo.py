"""`python -m autograde demo`: the whole instructor loop on a built-in example class.

It releases the assignments, makes a class of submissions from the solutions, the release and
the mutants (one student of each kind an instructor meets), grades it and prints the table.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from autograde import report
from autograde.course import Course
from autograde.grading import grade
from autograde.mutants import mutants_for
from autograde.notebook import answer_cells, cell_source, completed, replace_answer
from autograde.release import release

# Who is in the example class, and what their grade must show.
STUDENTS = {
    "perfect": "the solution: full marks",
    "stub": "the release, nothing filled in: 0",
    "partial": "the first half of the functions done, the rest left as stubs",
    "buggy": "two functions with typical mistakes: loses those two functions' points",
    "cheating": "a wrong function and its test cell edited to pass: the test is restored, 0 for it",
    "broken": "a notebook file that is not valid JSON: status error, with the reason",
    "absent": "an empty folder, nothing submitted: status missing",
}


def build_class(course: Course, folder: Path) -> Path:
    """Write the example class to ``folder/<student>/<assignment>/<notebook>.ipynb``."""
    if folder.exists():
        shutil.rmtree(folder)
    for assignment in course.assignments():
        source = json.loads(course.source_notebook(assignment).read_text(encoding="utf-8"))
        student_version = json.loads(
            course.release_notebook(assignment).read_text(encoding="utf-8")
        )
        solution = completed(student_version, source)
        functions = answer_cells(source)
        mutants = mutants_for(assignment)
        first_mutant = {}
        for mutant in mutants:
            first_mutant.setdefault(mutant.function, mutant)

        partial = solution
        for function in functions[len(functions) // 2 :]:
            partial = replace_answer(partial, function, cell_source(student_version, function))
        buggy = solution
        for mutant in list(first_mutant.values())[:2]:
            buggy = replace_answer(buggy, mutant.function, mutant.source)
        cheating = solution
        if first_mutant:
            mutant = next(iter(first_mutant.values()))
            cheating = replace_answer(cheating, mutant.function, mutant.source)
            cheating = replace_answer(
                cheating, f"test_{mutant.function}", "# the tests were in the way\npass\n"
            )

        notebooks = {
            "perfect": json.dumps(solution),
            "stub": json.dumps(student_version),
            "partial": json.dumps(partial),
            "buggy": json.dumps(buggy),
            "cheating": json.dumps(cheating),
            "broken": json.dumps(solution)[: len(json.dumps(solution)) // 2],
        }
        for student, text in notebooks.items():
            path = folder / student / assignment / f"{assignment}.ipynb"
            path.parent.mkdir(parents=True)
            path.write_text(text, encoding="utf-8")
        (folder / "absent").mkdir(exist_ok=True)
    return folder


def demo(course: Course, out: Path, *, jobs: int = 2) -> None:
    assignments = release(course, course.assignments())
    print(f"released {', '.join(assignments)} into {course.notebooks}")
    submissions = build_class(course, out / "submissions")
    print(f"example class in {submissions}:")
    for student, story in STUDENTS.items():
        print(f"  {student:<9} {story}")
    rows = grade(course, submissions, out / "graded", jobs=jobs).rows
    print()
    print(report.table(rows, detail_width=90))
    print(f"\nwrote {out / 'graded' / 'grades.csv'} and feedback in {out / 'graded' / 'feedback'}")
