"""Grading on a Dask distributed cluster: the same jobs, run by the cluster's workers.

Every Dask worker is set up once as a local grading process is (``worker.start``, through
:class:`GradingPlugin`), then grades submissions with ``worker.grade_one``: the same sandbox, the
same zygote, the same outcomes. The main process keeps the cache and writes the gradebook, so a
run on the cluster and a run on one machine give the same rows. A worker machine needs only the
workbook installed with the ``cluster`` extra, and ``dask worker tcp://SCHEDULER:8786``.
"""

from __future__ import annotations

import tempfile

from distributed import Client, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from autograde import worker as grading
from autograde.datatypes import Outcome


class GradingPlugin(WorkerPlugin):
    """Sets up a Dask worker process as ``worker.start`` does a local one; cleans up after."""

    idempotent = True

    def __init__(self, prewarm: bool = True):
        self.prewarm = prewarm

    def setup(self, worker) -> None:  # Dask passes its worker by this name
        grading.start(tempfile.mkdtemp(prefix="autograde-dask-"), self.prewarm, quiet=False)

    def teardown(self, worker) -> None:
        grading.shutdown()


def run(jobs: list[grading.Job], scheduler: str, prewarm: bool, on_done) -> list[Outcome]:
    """Grade ``jobs`` on the cluster at ``scheduler``; outcomes in job order (see ``pool.run``)."""
    client = Client(scheduler)
    futures = []
    try:
        client.register_plugin(GradingPlugin(prewarm), name="autograde-grading")
        futures = [client.submit(grading.grade_one, job, pure=False) for job in jobs]
        index = {future.key: i for i, future in enumerate(futures)}
        outcomes: list[Outcome | None] = [None] * len(futures)
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as error:  # noqa: BLE001 - a lost worker must not lose the row
                outcome = Outcome(
                    error=f"the grading worker failed ({type(error).__name__}); grade again"
                )
            else:
                on_done(index[future.key], outcome)
            outcomes[index[future.key]] = outcome
        return outcomes
    finally:
        client.cancel(futures)
        client.close()
