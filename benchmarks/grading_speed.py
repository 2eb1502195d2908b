"""Grading speed, side by side in one run: the grader before the zygote, and now.

The same class (the demo's perfect, stub, partial, buggy and cheating submissions of every
assignment, copied ``--copies`` times) is graded, into fresh folders (no cache), by

- ``before``: the grader at ``--baseline`` (a commit from before pre-warmed kernels: every kernel
  a new Python, feedback pages by nbgrader), run from a temporary git worktree of that commit;
- ``now, --jobs 1`` and ``now, --jobs 2``: this checkout's grader.

The runs are interleaved (``--repeats`` rounds of before, now-1, now-2), so that a change in the
machine's load hits all of them alike; each figure is the median over the rounds. The grades
(student, assignment, score, max score, status) must be the same in every run. Results go to
benchmarks/results/grading_speed.md.

    python benchmarks/grading_speed.py [--copies 3] [--repeats 3] [--baseline d0fbda5]
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
BASELINE = "d0fbda5"  # the last commit whose kernels were each a new Python


def make_class(course: Course, folder: Path, copies: int) -> int:
    example = build_class(course, folder / "example")
    count = 0
    for student in sorted(example.iterdir()):
        if student.name in ("broken", "absent"):
            continue  # never reach a kernel: they would only dilute the comparison
        for copy in range(copies):
            shutil.copytree(student, folder / "class" / f"{student.name}-{copy}")
            count += sum(1 for _ in student.rglob("*.ipynb"))
    return count


def grade(checkout: Path, class_folder: Path, out: Path, jobs: int) -> tuple[float, list]:
    """Run `grade` from ``checkout`` (its own code) and return (seconds, the grades)."""
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
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
        ],
        cwd=checkout,
        env=environment,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="copies of each example student")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    course = Course(ROOT)
    runs = {"before, --jobs 1": [], "now, --jobs 1": [], "now, --jobs 2": []}
    grades = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        notebooks = make_class(course, work, args.copies)
        baseline = work / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(baseline), args.baseline],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            for repeat in range(args.repeats):
                for name, checkout, jobs in [
                    ("before, --jobs 1", baseline, 1),
                    ("now, --jobs 1", ROOT, 1),
                    ("now, --jobs 2", ROOT, 2),
                ]:
                    out = work / "out" / f"{repeat}-{name.replace(' ', '').replace(',', '-')}"
                    seconds, grades[name] = grade(checkout, work / "class", out, jobs)
                    runs[name].append(seconds)
                    print(f"round {repeat + 1}: {name}: {seconds:.1f} s", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT)
    median = {name: statistics.median(times) for name, times in runs.items()}
    same = len({tuple(g) for g in grades.values()}) == 1
    sequential = median["now, --jobs 1"] / median["before, --jobs 1"]
    parallel = median["now, --jobs 1"] / median["now, --jobs 2"]
    lines = [
        "# Grading speed: before the pre-warmed kernels, and now",
        "",
        f"{date.today().isoformat()}; machine: {platform.machine()}, {os.cpu_count()} cores; "
        f"{notebooks} notebooks ({', '.join(course.assignments())}), graded into fresh folders; "
        f"median of {args.repeats} interleaved rounds; baseline commit {args.baseline}.",
        "",
        "| grader | wall time (s) | per notebook (s) | every round (s) |",
        "| --- | --- | --- | --- |",
        *(
            f"| {name} | {median[name]:.1f} | {median[name] / notebooks:.2f} | "
            f"{', '.join(f'{t:.1f}' for t in runs[name])} |"
            for name in runs
        ),
        "",
        f"Sequential cost per notebook, now / before: **{sequential:.2f}x** (target: at most 0.5).",
        f"`--jobs 2` speed-up over `--jobs 1`: **{parallel:.2f}x** (target: at least 1.7).",
        f"Same grades in every run: **{same}**.",
        "",
    ]
    print("\n".join(lines))
    if not args.no_write:
        RESULTS.write_text("\n".join(lines), encoding="utf-8")
    if not same:
        raise SystemExit("the runs disagree on the grades")


if __name__ == "__main__":
    main()
