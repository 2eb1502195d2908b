"""The instructor tool's command line: ``python -m autograde COMMAND`` (see ``--help``)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from autograde.course import Course, Stopped, UsageError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    course = Course(args.course.resolve()) if args.course else Course.default()
    try:
        return args.run(course, args)
    except UsageError as error:
        print(f"autograde: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        print(
            f"autograde: error: this Python ({sys.executable}) lacks the workbook's "
            f"dependencies (no module named {error.name!r}); run the tool with the project's "
            "environment, e.g. `.venv/bin/python -m autograde ...` (see the README's set-up)",
            file=sys.stderr,
        )
        return 2
    except (KeyboardInterrupt, Stopped) as error:
        signum = getattr(error, "signum", signal.SIGINT)
        print(
            "autograde: stopped; what was graded is kept, and the next run resumes from there",
            file=sys.stderr,
        )
        return 128 + signum


def _release(course: Course, args) -> int:
    from autograde.release import release

    for assignment in release(course, course.resolve(args.assignments)):
        print(f"released {course.release_notebook(assignment).relative_to(course.root)}")
    return 0


def _grade(course: Course, args) -> int:
    from autograde import report
    from autograde.datatypes import Limits
    from autograde.grading import grade

    limits = Limits(
        cell_timeout=args.timeout,
        notebook_timeout=args.notebook_timeout,
        memory_bytes=int(args.memory_gb * 2**30),
    )
    graded = grade(
        course,
        args.submissions,
        args.out,
        assignment=args.assignment,
        jobs=args.jobs,
        limits=limits,
        progress=not args.quiet,
        reuse=not args.force,
        scheduler=args.scheduler,
        show_test_code=args.show_test_code,
        prewarm=not args.cold_kernels,
    )
    rows = graded.rows
    for warning in graded.warnings:
        print(f"autograde: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(report.table(rows))
    reused = sum(row.reused for row in rows)
    if reused:
        print(f"{reused} unchanged submissions taken from the last run (--force grades them again)")
    print(
        f"gradebook {args.out}: this run {len(rows)} rows; grades.csv and grades_by_student.csv "
        f"rewritten, feedback in {args.out}/feedback"
    )
    return 0


def _publish(course: Course, args) -> int:
    from autograde.publish import check_published, publish

    written = publish(course, args.folder, args.repository)
    problems = check_published(args.folder, course)
    if problems:
        raise UsageError(f"the published tree holds what students must not see: {problems[0]}")
    print(f"wrote the student repository in {args.folder} ({len(written)} notebooks); commit it")
    print(f"and push it to {args.repository}: students open the notebooks from there")
    return 0


def _validate(course: Course, args) -> int:
    from utils.validate import main as validate_main

    return validate_main([str(args.notebook)])


def _manual(course: Course, args) -> int:
    from autograde import manual

    if args.action == "export":
        (assignment,) = course.resolve([args.target])
        folder = manual.export(course, args.out, assignment, anonymous=args.anonymous)
        print(f"wrote {folder / 'answers.html'} (read) and {folder / 'grades.csv'} (fill in)")
    else:
        changed = manual.import_grades(course, args.out, Path(args.target))
        print(f"imported {changed} grades into {args.out}; grades.csv and feedback updated")
    return 0


def _check(course: Course, args) -> int:
    from autograde.check import check

    assignments = course.resolve(args.assignments)
    return 0 if check(course, assignments, jobs=args.jobs, one_at_a_time=args.one_at_a_time) else 1


def _demo(course: Course, args) -> int:
    from autograde.demo import demo

    demo(course, args.out, jobs=args.jobs)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (no usage dump) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"autograde: error: {message} (see: {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m autograde",
        description="Release, autograde and check the workbook's assignments (nbgrader inside).",
    )
    parser.add_argument("--course", type=Path, help="the workbook's folder (default: this repo)")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    release = commands.add_parser("release", help="generate notebooks/ from solutions/")
    release.add_argument(
        "assignments", nargs="*", metavar="ASSIGNMENT", help="default: all assignments"
    )
    release.set_defaults(run=_release)

    grade = commands.add_parser("grade", help="autograde a class of submissions")
    grade.add_argument(
        "submissions",
        type=Path,
        metavar="SUBMISSIONS",
        help="folder laid out <student>/<assignment>/<notebook>.ipynb, or an LMS zip "
        "download (Canvas, or a zipped class folder)",
    )
    grade.add_argument(
        "--out",
        type=Path,
        default=Path("build/graded"),
        help="where grades.csv and feedback/ go (default: build/graded)",
    )
    grade.add_argument("--jobs", type=_positive, default=1, help="notebooks graded at once")
    grade.add_argument(
        "--timeout",
        type=_positive,
        default=None,
        help="seconds a cell may run (default: autograde/nbgrader_config.py)",
    )
    grade.add_argument(
        "--notebook-timeout",
        type=_positive,
        default=600,
        help="seconds the whole notebook may run (default: 600)",
    )
    grade.add_argument(
        "--memory-gb",
        type=float,
        default=4.0,
        help="memory of all of a submission's processes together, in GiB (default: 4)",
    )
    grade.add_argument(
        "--assignment", help="the assignment of a Canvas zip, if its names do not say"
    )
    grade.add_argument(
        "--force",
        action="store_true",
        help="grade everything again (default: reuse the results of unchanged submissions)",
    )
    grade.add_argument("--quiet", action="store_true", help="no progress bar or table")
    grade.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on a Dask cluster (e.g. tcp://host:8786) instead of local processes",
    )
    grade.add_argument(
        "--cold-kernels",
        action="store_true",
        help="start every kernel as a new Python instead of forking a pre-warmed one "
        "(slower; for comparison and debugging)",
    )
    grade.add_argument(
        "--show-test-code",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the test cells' code (hidden tests included) in feedback "
        "(default: hidden, or as the gradebook had it)",
    )
    grade.set_defaults(run=_grade)

    publish = commands.add_parser(
        "publish", help="write the student repository: notebooks, utils, README; no solutions"
    )
    publish.add_argument("folder", type=Path, metavar="DIR")
    publish.add_argument(
        "--repository",
        required=True,
        metavar="URL",
        help="where students will get it, e.g. https://github.com/ORG/REPO (setup cells and "
        "Colab badges name it)",
    )
    publish.set_defaults(run=_publish)

    validate = commands.add_parser(
        "validate", help="for students: run a notebook's visible tests, a line per function"
    )
    validate.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    validate.set_defaults(run=_validate)

    manual = commands.add_parser(
        "manual", help="grade written answers by hand: export them, import the points"
    )
    manual.add_argument("action", choices=["export", "import"])
    manual.add_argument(
        "target", metavar="ASSIGNMENT|SHEET", help="export: the assignment; import: grades.csv"
    )
    manual.add_argument(
        "--out",
        type=Path,
        default=Path("build/graded"),
        help="the gradebook folder (as given to grade; default: build/graded)",
    )
    manual.add_argument(
        "--anonymous", action="store_true", help="export: hide the students' names from graders"
    )
    manual.set_defaults(run=_manual)

    check = commands.add_parser(
        "check",
        help="tests of the tests: solution full marks, release 0, mutants lose their points, "
        "accepted variants keep them",
    )
    check.add_argument(
        "assignments", nargs="*", metavar="ASSIGNMENT", help="default: all assignments"
    )
    check.add_argument("--jobs", type=_positive, default=2, help="notebooks graded at once")
    check.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="grade every mutant and variant in a notebook of its own (default: in batches, "
        "one entry per function, and a surprising batch again entry by entry)",
    )
    check.set_defaults(run=_check)

    demo = commands.add_parser("demo", help="grade a built-in example class and print the table")
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("build/demo"),
        help="where the example class and its grades go (default: build/demo)",
    )
    demo.add_argument("--jobs", type=_positive, default=2, help="notebooks graded at once")
    demo.set_defaults(run=_demo)
    return parser


if __name__ == "__main__":
    sys.exit(main())
