"""`grade --jobs 1` against `--jobs 2` on the same class, in one run: speed-up and equal CSVs.

The class is the demo's (perfect, stub, partial, buggy, cheating submissions of every
assignment), copied under several names so that there is enough work to share. Each run grades
into a fresh folder (no cache). Results go to benchmarks/results/grading_jobs.md.

    python benchmarks/grading_jobs.py [--copies 3]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path

from autograde.course import Course
from autograde.demo import build_class
from autograde.grading import grade

RESULTS = Path(__file__).parent / "results" / "grading_jobs.md"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="copies of each example student")
    args = parser.parse_args()
    course = Course.default()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        notebooks = make_class(course, work, args.copies)
        timings, csvs = {}, {}
        for jobs in (1, 2):
            out = work / f"jobs{jobs}"
            start = time.perf_counter()
            grade(course, work / "class", out, jobs=jobs, progress=False, reuse=False)
            timings[jobs] = time.perf_counter() - start
            csvs[jobs] = (out / "grades.csv").read_text()
    same = csvs[1] == csvs[2]
    speedup = timings[1] / timings[2]
    lines = [
        "# `grade --jobs 1` vs `--jobs 2`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{__import__('os').cpu_count()} cores; {notebooks} notebooks "
        f"({', '.join(course.assignments())}).",
        "",
        "| jobs | wall time (s) | per notebook (s) |",
        "| --- | --- | --- |",
        *(f"| {j} | {t:.1f} | {t / notebooks:.2f} |" for j, t in timings.items()),
        "",
        f"Speed-up of `--jobs 2`: **{speedup:.2f}x**. Same grades.csv: **{same}**.",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    if not same:
        raise SystemExit("the two runs disagree")


if __name__ == "__main__":
    main()
