"""Watch one submission's kernel from outside and kill it when it goes over a limit.

Resource limits inside the kernel (see ``sandbox.py``) stop most runaway code, but not the total
memory of many processes, a fork bomb, or a notebook that keeps the kernel busy while ignoring
interrupts. The watchdog polls the kernel's processes and, past a limit, kills them all and
records why, so that the row can say so.
"""

from __future__ import annotations

import threading
import time

import psutil


def _memory(processes: list[psutil.Process], limit: int) -> int:
    """Memory of the processes together, with pages they share (after a fork) counted once.

    Resident sizes are cheap to read but count a forked child's inherited pages (torch alone is
    ~300 MB) once per child; so only when their sum is over ``limit`` are the proportional set
    sizes (exact, slower to read) added up instead.
    """
    resident = 0
    for process in processes:
        try:
            resident += process.memory_info().rss
        except psutil.Error:
            pass
    if resident <= limit:
        return resident
    proportional = 0
    for process in processes:
        try:
            proportional += process.memory_full_info().pss
        except (psutil.Error, AttributeError):
            pass
    return proportional


class Watchdog(threading.Thread):
    """Polls the processes of a submission; ``reason`` says why it killed them, if it did."""

    def __init__(
        self,
        *,
        memory_bytes: int,
        processes: int,
        seconds: float,
        poll: float = 0.2,
        root: int | None = None,
    ):
        super().__init__(daemon=True)
        self.memory_bytes = memory_bytes
        self.processes = processes
        self.seconds = seconds
        self.poll = poll
        self.reason: str | None = None
        self._stop_event = threading.Event()
        self._started_at = time.monotonic()
        # The submission's processes are the descendants of ``root``: this worker when kernels
        # are started as its children, the zygote (never counted itself) when they are forked.
        self._root = psutil.Process(root)

    def watched(self) -> list[psutil.Process]:
        """The submission's processes: every descendant of the root (the kernel and its kids)."""
        try:
            return self._root.children(recursive=True)
        except psutil.Error:
            return []

    def run(self) -> None:
        while not self._stop_event.wait(self.poll):
            processes = self.watched()
            if not processes:
                continue
            memory = _memory(processes, self.memory_bytes)
            elapsed = time.monotonic() - self._started_at
            if len(processes) > self.processes:
                self._kill(f"started more than {self.processes} processes")
            elif memory > self.memory_bytes:
                self._kill(f"used more than {self.memory_bytes / 2**30:.1f} GiB of memory")
            elif elapsed > self.seconds:
                self._kill(f"ran longer than the notebook's time limit of {self.seconds:g} s")

    def _kill(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.kill_all()

    def kill_all(self) -> None:
        for process in self.watched():
            try:
                process.kill()
            except psutil.Error:
                pass

    def stop(self) -> None:
        """Stop watching; anything the submission left running is killed."""
        self._stop_event.set()
        self.join()
        self.kill_all()
