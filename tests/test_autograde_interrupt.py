"""Ctrl-C and SIGTERM stop `grade` within seconds, leaving no process and no scratch folder.

A class of submissions whose notebooks take long, one of which starts a daemon (a process that
detaches from its kernel), is being graded when the signal comes. Afterwards nothing of the run
may be alive, its temporary folders must be gone, what finished stays in the cache, and the next
run completes the gradebook.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from make_course import ASSIGNMENT

from autograde.notebook import replace_answer

pytestmark = pytest.mark.grading

SLOW_ADD = """def add(a, b):
    import subprocess, sys, time
    daemon = "import os, time\\nos.setsid()\\nif os.fork(): os._exit(0)\\ntime.sleep(600)"
    subprocess.run([sys.executable, "-c", daemon])
    time.sleep(120)
    return a + b
"""


def make_class(course, folder: Path) -> None:
    solution = json.loads(course.source_notebook(ASSIGNMENT).read_text())
    students = {"done": solution, "slow1": replace_answer(solution, "add", SLOW_ADD)}
    students["slow2"] = students["slow1"]
    for student, notebook in students.items():
        path = folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(notebook))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_grading_cleanly_and_the_next_run_resumes(toy_course, tmp_path, signum):
    make_class(toy_course, tmp_path / "class")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "autograde",
        "--course",
        str(toy_course.root),
        "grade",
        str(tmp_path / "class"),
        "--out",
        str(out),
    ]
    environment = {**os.environ, "TMPDIR": str(scratch)}
    grade = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(grade.pid)
    deadline = time.monotonic() + 240
    daemons: list[psutil.Process] = []
    while time.monotonic() < deadline and not daemons:  # until a kernel has started its daemon
        time.sleep(0.5)
        daemons = [
            p for p in parent.children(recursive=True) if "time.sleep(600)" in " ".join(_cmdline(p))
        ]
    assert daemons, "the slow submission never started"
    everything = parent.children(recursive=True)

    grade.send_signal(signum)
    started = time.monotonic()
    _, stderr = grade.communicate(timeout=60)
    assert time.monotonic() - started < 15, "grade took too long to stop"
    assert grade.returncode == 128 + signum
    assert "Traceback" not in stderr and "stopped" in stderr
    _, alive = psutil.wait_procs(everything, timeout=10)
    assert [(_cmdline(p)[:3]) for p in alive] == []
    assert sorted(p.name for p in scratch.iterdir()) == []

    # The finished submission is kept; the next run (without the slow ones) completes the rest.
    for slow in ("slow1", "slow2"):
        path = tmp_path / "class" / slow / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.write_text(toy_course.release_notebook(ASSIGNMENT).read_text())
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "1 unchanged submissions taken from the last run" in result.stdout
    with (out / "grades.csv").open(newline="") as file:
        rows = {r["student"]: r["score"] for r in csv.DictReader(file)}
    assert rows == {"done": "5", "slow1": "0", "slow2": "0"}


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []
