"""Grading speed, side by side in one run: kernels started cold, and forked from the zygote.

The same class (the demo's perfect, stub, partial, buggy and cheating submissions of every
assignment, copied ``--copies`` times) is graded, into fresh folders (no cache), by this
checkout's grader three ways:

- ``cold, --jobs 1``: ``grade --cold-kernels``, every kernel a new Python that imports torch,
  gymnasium and matplotlib itself (the grader's path before the pre-warmed kernels);
- ``warm, --jobs 1`` and ``warm, --jobs 2``: the default, kernels forked from a zygote that has
  imported them once per grading process.

The runs are interleaved (``--repeats`` rounds of cold, warm-1, warm-2), so that a change in the
machine's load hits all of them alike; each figure is the median over the rounds. The grades
(student, assignment, score, max score, status) must be the same in every run. Results go to
benchmarks/results/grading_speed.md, with what a whole course costs at the measured rates.

    python benchmarks/grading_speed.py [--copies 3] [--repeats 3] [--assignments NAME ...]
    python benchmarks/grading_speed.py --marginal [--copies 3] [--repeats 3] [--assignments ...]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.course import Course  # noqa: E402
from autograde.demo import build_class  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "grading_speed.md"


def make_class(
    course: Course, folder: Path, copies: int, name: str = "class", only: list[str] | None = None
) -> int:
    """Copy the demo's class ``copies`` times (only the assignments in ``only``, if given)."""
    example = folder / "example"
    if not example.exists():
        build_class(course, example)
    count = 0
    for student in sorted(example.iterdir()):
        if student.name in ("broken", "absent"):
            continue  # never reach a kernel: they would only dilute the comparison
        for copy in range(copies):
            target = folder / name / f"{student.name}-{copy}"
            for assignment in sorted(student.iterdir()):
                if only and assignment.name not in only:
                    continue
                shutil.copytree(assignment, target / assignment.name)
                count += sum(1 for _ in assignment.rglob("*.ipynb"))
    return count


def marginal(course: Course, copies: int, repeats: int, only: list[str] | None) -> list[str]:
    """Per-notebook cost without the run's fixed cost: the same grader on a small and a big class.

    (T(big) - T(small)) / (N(big) - N(small)) is what one more notebook costs, the figure that
    matters for a real class of hundreds; the fixed cost (processes, zygote, release, gradebook)
    is paid once per run.
    """
    times: dict[tuple[int, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sizes = {
            1: make_class(course, work, 1, "small", only),
            copies: make_class(course, work, copies, "class", only),
        }
        for repeat in range(repeats):
            for jobs in (1, 2):
                for size, name in [(1, "small"), (copies, "class")]:
                    out = work / "out" / f"{repeat}-{jobs}-{name}"
                    seconds, _ = grade(work / name, out, jobs, cold=False)
                    times.setdefault((jobs, size), []).append(seconds)
                    print(
                        f"marginal round {repeat + 1}: --jobs {jobs}, {sizes[size]} notebooks: "
                        f"{seconds:.1f} s",
                        flush=True,
                    )
    extra = sizes[copies] - sizes[1]
    cost = {
        jobs: (statistics.median(times[jobs, copies]) - statistics.median(times[jobs, 1])) / extra
        for jobs in (1, 2)
    }
    fixed = statistics.median(times[1, 1]) - sizes[1] * cost[1]
    return [
        "## One more notebook (warm kernels, the run's fixed cost taken out)",
        "",
        f"The same grader on {sizes[1]} and on {sizes[copies]} notebooks "
        f"({', '.join(only or course.assignments())}), median of {repeats} rounds: the "
        "difference divided by the extra notebooks.",
        "",
        f"- `--jobs 1`: **{cost[1]:.2f} s** per notebook; the run's fixed cost is about "
        f"{fixed:.0f} s.",
        f"- `--jobs 2`: **{cost[2]:.2f} s** per notebook: a speed-up of "
        f"**{cost[1] / cost[2]:.2f}x** (target: at least 1.7).",
        "",
    ]


def grade(class_folder: Path, out: Path, jobs: int, cold: bool) -> tuple[float, list]:
    """Run `grade` as a user would and return (seconds, the grades)."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograde",
            "--course",
            str(ROOT),
            "grade",
            str(class_folder),
            "--out",
            str(out),
            "--jobs",
            str(jobs),
            "--quiet",
            *(["--cold-kernels"] if cold else []),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    with (out / "grades.csv").open(newline="") as file:
        grades = sorted(
            (r["student"], r["assignment"], r["score"], r["max_score"], r["status"])
            for r in csv.DictReader(file)
        )
    return seconds, grades


def course_cost(per_notebook: float, jobs_speedup: float) -> list[str]:
    """What a 600-student, six-notebook course costs at the measured rates."""
    notebooks = 600 * 6
    one_core = notebooks * per_notebook / 3600
    lines = [
        "## What a course costs",
        "",
        f"A 600-student course with six notebooks is {notebooks:,} notebooks. At the measured "
        f"{per_notebook:.1f} s per notebook per grading process (these notebooks; later ones with "
        "heavier experiments under grading cost more), that is:",
        "",
        "| where | grading processes | hours |",
        "| --- | --- | --- |",
        f"| this 2-core machine, `--jobs 1` | 1 | {one_core:.1f} |",
        f"| this 2-core machine, `--jobs 2` | 2 | {one_core / jobs_speedup:.1f} |",
    ]
    for workers, cores in [(4, 8), (10, 16)]:
        processes = workers * cores
        hours = one_core / (processes * jobs_speedup / 2)
        lines.append(
            f"| Dask, {workers} workers x {cores} cores (`--scheduler`) | {processes} | "
            f"{hours:.2f} (assumes the 2-core scaling per pair of cores) |"
        )
    lines += [
        "",
        "Each assignment is graded when it is due, so a term is six such runs of "
        f"{notebooks // 6} notebooks; the cache makes a re-run pay only for changed notebooks.",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="copies of each example student")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--marginal",
        action="store_true",
        help="measure only one more notebook's cost, the fixed cost taken out (1 vs --copies "
        "copies of the class), and put it in the results file under the side-by-side table",
    )
    parser.add_argument(
        "--assignments",
        nargs="+",
        metavar="NAME",
        help="grade only these assignments (default: all of them)",
    )
    args = parser.parse_args()
    course = Course(ROOT)
    if args.assignments:
        unknown = sorted(set(args.assignments) - set(course.assignments()))
        if unknown:
            parser.error(f"no such assignment: {', '.join(unknown)}")
    if args.marginal:
        lines = marginal(course, args.copies, args.repeats, args.assignments)
        print("\n".join(lines))
        if not args.no_write:
            before = RESULTS.read_text(encoding="utf-8").split(lines[0])[0].rstrip("\n")
            RESULTS.write_text(before + "\n\n" + "\n".join(lines), encoding="utf-8")
        return
    ways = [("cold, --jobs 1", 1, True), ("warm, --jobs 1", 1, False), ("warm, --jobs 2", 2, False)]
    runs: dict[str, list[float]] = {name: [] for name, _, _ in ways}
    grades = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        notebooks = make_class(course, work, args.copies, only=args.assignments)
        for repeat in range(args.repeats):
            for name, jobs, cold in ways:
                out = work / "out" / f"{repeat}-{name.replace(' ', '').replace(',', '-')}"
                seconds, grades[name] = grade(work / "class", out, jobs, cold)
                runs[name].append(seconds)
                print(f"round {repeat + 1}: {name}: {seconds:.1f} s", flush=True)
    median = {name: statistics.median(times) for name, times in runs.items()}
    same = len({tuple(g) for g in grades.values()}) == 1
    sequential = median["warm, --jobs 1"] / median["cold, --jobs 1"]
    parallel = median["warm, --jobs 1"] / median["warm, --jobs 2"]
    lines = [
        "# Grading speed: kernels started cold, and forked from the pre-warmed zygote",
        "",
        f"{date.today().isoformat()}; machine: {platform.machine()}, {os.cpu_count()} cores; "
        f"{notebooks} notebooks ({', '.join(args.assignments or course.assignments())}), "
        "graded into fresh folders; "
        f"median of {args.repeats} interleaved rounds. Each wall time includes the run's fixed "
        "cost (starting the grading processes and the zygote, releasing, writing the gradebook).",
        "",
        "| grader | wall time (s) | per notebook (s) | every round (s) |",
        "| --- | --- | --- | --- |",
        *(
            f"| {name} | {median[name]:.1f} | {median[name] / notebooks:.2f} | "
            f"{', '.join(f'{t:.1f}' for t in runs[name])} |"
            for name in runs
        ),
        "",
        f"Sequential cost per notebook, warm / cold: **{sequential:.2f}x** (target: at most 0.5).",
        f"`--jobs 2` speed-up over `--jobs 1`: **{parallel:.2f}x** (target: at least 1.7).",
        f"Same grades in every run: **{same}**.",
        "",
        *course_cost(median["warm, --jobs 1"] / notebooks, parallel),
    ]
    print("\n".join(lines))
    if not args.no_write:
        RESULTS.write_text("\n".join(lines), encoding="utf-8")
    if not same:
        first, *others = grades
        for other in others:
            for row in sorted(set(grades[first]) ^ set(grades[other])):
                print(f"{first if row in grades[first] else other}: {row}")
        raise SystemExit("the runs disagree on the grades")


if __name__ == "__main__":
    main()
