"""What runs in a grading worker process: one submission at a time, sandboxed and watched.

The main process never imports nbgrader or runs student code; it hands :class:`Job` objects to a
pool of these workers and gets :class:`Outcome` objects back. Everything that can go wrong with
one submission ends here as ``Outcome.error``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from autograde import engine, sandbox
from autograde.watchdog import Watchdog


@dataclass(frozen=True)
class Limits:
    """What one submission may use while it is graded."""

    cell_timeout: int | None = None  # seconds; None: autograde/nbgrader_config.py decides
    notebook_timeout: float = 600.0  # seconds for the whole notebook
    memory_bytes: int = 4 * 2**30  # all of the submission's processes together
    processes: int = 64  # processes (not threads) alive at once


@dataclass(frozen=True)
class Job:
    template: str  # course folder made by engine.generate_assignment
    assignment: str
    notebook: str  # the submitted file (already checked to be a readable notebook)
    run: str  # scratch folder for this submission
    limits: Limits = Limits()


@dataclass
class Outcome:
    cells: list[engine.CellScore] = field(default_factory=list)
    feedback: str = ""
    error: str = ""


def start(log_path: str) -> None:
    """Pool initializer: send nbgrader's chatter to a log file; use the sandbox kernel."""
    warnings.filterwarnings("ignore")
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    share = Path(log_path).parent / "share"
    sandbox.install_kernelspec(share)
    os.environ["JUPYTER_PATH"] = str(share)


def prepare(source: str, assignment: str, template: str) -> None:
    engine.generate_assignment(Path(source), assignment, Path(template))


def grade_one(job: Job) -> Outcome:
    run = Path(job.run)
    limits = job.limits
    kernel_limits = sandbox.KernelLimits(
        memory_bytes=limits.memory_bytes, sandbox=str(run / "sandbox")
    )
    os.environ[sandbox.ENV_VAR] = kernel_limits.to_env()
    watchdog = Watchdog(
        memory_bytes=limits.memory_bytes,
        processes=limits.processes,
        seconds=limits.notebook_timeout,
    )
    watchdog.start()
    try:
        engine.autograde(
            Path(job.template),
            job.assignment,
            Path(job.notebook),
            run / "course",
            timeout=limits.cell_timeout,
            kernel_name=sandbox.KERNEL_NAME,
        )
    except engine.NbgraderFailed as failure:
        watchdog.stop()
        return Outcome(error=_limit_message(watchdog) or explain_failure(str(failure)))
    except Exception as error:  # noqa: BLE001 - a student's notebook must never stop the class
        watchdog.stop()
        return Outcome(error=f"could not be graded ({type(error).__name__}: {error})")
    watchdog.stop()
    if watchdog.reason:
        return Outcome(error=_limit_message(watchdog))
    try:
        feedback = engine.feedback(run / "course", job.assignment)
        return Outcome(engine.read_scores(run / "course", job.assignment), str(feedback))
    except Exception as error:  # noqa: BLE001
        return Outcome(error=f"could not be graded ({type(error).__name__}: {error})")


def _limit_message(watchdog: Watchdog) -> str:
    if not watchdog.reason:
        return ""
    return (
        f"stopped by the grader: the notebook {watchdog.reason}; make sure it finishes "
        f"quickly and within its resources when run top to bottom"
    )


_KNOWN_FAILURES: list[tuple[str, str]] = [
    (
        "DeadKernelError",
        "the notebook's Python process died while running (a crash, a call to "
        "os._exit, or too much memory); run it top to bottom yourself to find the cell",
    ),
    (
        "UnresponsiveKernelError",
        "the notebook stopped responding (an endless loop that could not "
        "be interrupted); make sure every cell finishes",
    ),
    ("CellTimeoutError", "a cell ran longer than the time limit; make sure every cell finishes"),
    ("MissingEntry", "the notebook does not match this assignment's cells"),
]


def explain_failure(log: str) -> str:
    """Turn nbgrader's log of a failed notebook into one line a student can act on."""
    for marker, explanation in _KNOWN_FAILURES:
        if marker in log:
            return explanation
    errors = [line for line in log.splitlines() if line.strip() and not line.startswith(" ")]
    last = errors[-1] if errors else "unknown error"
    return f"could not be graded: {last[:200]}"
