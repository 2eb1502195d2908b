"""Where submissions are graded: a pool of local processes, or the workers of a Dask cluster.

Both run the same function on each submission (``worker.grade_one``) after the same set-up in
each process (``worker.start``: scratch folder, sandbox kernel, pre-warmed zygote), and hand
back the same ``Outcome``; the main process never runs student code. Jobs and outcomes are plain
bytes and dataclasses, so a Dask worker may be any machine with the workbook installed.

The local pool stops cleanly: on Ctrl-C or SIGTERM the main process stops handing out work,
tells every worker to stop, and each worker kills its kernels (and whatever they started)
before it exits, so that no process outlives the run and no scratch folder is left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

from autograde import worker
from autograde.course import Stopped
from autograde.datatypes import Outcome


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Stopped` in the main process, for this block."""

    def stop(signum, frame):
        raise Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _local_start(scratch: str, prewarm: bool, preload: list[str]) -> None:
    """Initializer of a local worker process."""
    # Ctrl-C reaches the whole terminal's process group; the main process decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _local_stop)
    worker.start(scratch, prewarm, preload=preload)


def _local_stop(signum, frame) -> None:
    """A worker told to stop: kill its kernels and what they started, remove its scratch."""
    worker.shutdown()
    os._exit(128 + signum)


def run(
    solutions: Path,
    assignments: list[str],
    make_jobs: Callable[[dict[str, worker.Template]], list[worker.Job]],
    *,
    jobs: int = 1,
    prewarm: bool = True,
    scheduler: str | None = None,
    on_done: Callable[[int, Outcome], None],
) -> list[Outcome]:
    """Prepare each assignment's template, grade every job, return outcomes in job order.

    ``on_done(index, outcome)`` runs in the main process as each submission finishes (the
    cache uses it, so an interrupted run keeps what it finished).
    """
    if scheduler:
        return _run_dask(solutions, assignments, make_jobs, scheduler, prewarm, on_done)
    scratch = Path(tempfile.mkdtemp(prefix="autograde-"))
    pool = ProcessPoolExecutor(
        max_workers=max(1, jobs),
        mp_context=get_context("spawn"),
        initializer=_local_start,
        initargs=(str(scratch), prewarm, worker.preload_for(solutions, assignments)),
    )
    try:
        with stop_on_signals():
            prepared = [pool.submit(worker.prepare, str(solutions), a) for a in assignments]
            templates = dict(zip(assignments, _results(prepared), strict=True))
            futures = [pool.submit(worker.grade_one, job) for job in make_jobs(templates)]
            return _collect(futures, on_done)
    finally:
        _stop_local(pool)
        shutil.rmtree(scratch, ignore_errors=True)


def _results(futures: list[Future]) -> list:
    """Results in order, without blocking signals (a plain ``result()`` waits uninterruptibly)."""
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
    return [future.result() for future in futures]


def _collect(futures: list[Future], on_done) -> list[Outcome]:
    index = {future: i for i, future in enumerate(futures)}
    outcomes: list[Outcome | None] = [None] * len(futures)
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        for future in done:
            try:
                outcome = future.result()
            except Exception as error:  # noqa: BLE001 - a dead worker must not lose the row
                outcome = Outcome(
                    error=f"the grading process failed ({type(error).__name__}); grade again"
                )
            else:
                on_done(index[future], outcome)
            outcomes[index[future]] = outcome
    return outcomes


def _stop_local(pool: ProcessPoolExecutor) -> None:
    """Stop every worker now: queued jobs are dropped, running ones killed with their kernels."""
    processes = list((pool._processes or {}).values())  # noqa: SLF001 - no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: the worker kills its kernels, then exits
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


# --- Dask -------------------------------------------------------------------------------------


def _run_dask(solutions, assignments, make_jobs, scheduler, prewarm, on_done) -> list[Outcome]:
    try:
        from autograde import cluster
    except ImportError as error:
        raise RuntimeError(
            f"grading on a cluster needs Dask ({error.name} is not installed): "
            "pip install -e '.[cluster]'"
        ) from None
    with stop_on_signals():
        # The instructor's source is on this machine: the templates are made here, then travel.
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as local:
            prepared = [local.submit(worker.prepare, str(solutions), a) for a in assignments]
            templates = dict(zip(assignments, _results(prepared), strict=True))
        return cluster.run(make_jobs(templates), scheduler, prewarm, on_done)
