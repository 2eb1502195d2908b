"""Command line of the instructor tool: ``python -m autograde {release,grade,check,demo}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograde.course import Course, UsageError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    course = Course(args.course.resolve()) if args.course else Course.default()
    try:
        return args.run(course, args)
    except UsageError as error:
        print(f"autograde: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograde: interrupted", file=sys.stderr)
        return 130


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
    )
    rows = graded.rows
    for warning in graded.warnings:
        print(f"autograde: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(report.table(rows))
    reused = sum(row.reused for row in rows)
    if reused:
        print(f"{reused} unchanged submissions taken from the last run (--force grades them again)")
    print(f"wrote {args.out / 'grades.csv'} ({len(rows)} rows), feedback in {args.out}/feedback")
    return 0


def _check(course: Course, args) -> int:
    from autograde.check import check

    return 0 if check(course, course.resolve(args.assignments), jobs=args.jobs) else 1


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
    grade.set_defaults(run=_grade)

    check = commands.add_parser(
        "check",
        help="tests of the tests: solution full marks, release 0, mutants lose their points, "
        "accepted variants keep them",
    )
    check.add_argument(
        "assignments", nargs="*", metavar="ASSIGNMENT", help="default: all assignments"
    )
    check.add_argument("--jobs", type=_positive, default=2, help="notebooks graded at once")
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
