"""The worker's side of the zygote: start it, and a kernel provisioner that forks kernels from it.

jupyter_client starts kernels through *provisioners*; the grader's kernelspec names this one
(``sandbox.PROVISIONER_NAME``). When this process has started a zygote (``start_zygote``), a
kernel is forked from it instead of started as a new Python (see ``zygote.py``); otherwise
this behaves exactly like jupyter_client's own local provisioner, running the kernelspec's
command (``python -m autograde.kernel.sandbox``). Either way the kernel runs ``sandbox.enter``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from autograde.kernel import sandbox
from autograde.kernel.zygote import PRELOAD

START_TIMEOUT = 120.0  # seconds for the zygote's imports on a slow, busy machine


class Zygote:
    """A running zygote process, started by (and dying with) the current process.

    The two talk over a socket pair made here: only this process holds the other end, so only
    this process can ask for kernels.
    """

    def __init__(self, folder: Path, modules: list[str] | None = None):
        folder.mkdir(parents=True, exist_ok=True)
        ours, theirs = socket.socketpair()
        environment = dict(os.environ)
        # Its imports may write caches (matplotlib's font list, torch's compiler cache
        # folder): into its own folder, removed with the worker's scratch.
        (folder / "tmp").mkdir(exist_ok=True)
        environment.update(
            MPLCONFIGDIR=str(folder / "matplotlib"),
            HOME=str(folder),
            TMPDIR=str(folder / "tmp"),
            **sandbox.ONE_THREAD,  # read by torch and NumPy when they are imported, below
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autograde.kernel.zygote",
                ",".join(PRELOAD if modules is None else modules),
                str(theirs.fileno()),
            ],
            stdin=subprocess.DEVNULL,
            env=environment,
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        self._channel = ours
        self._messages = ours.makefile("rwb", buffering=0)
        self._ready = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def _receive(self, timeout: float) -> dict:
        self._channel.settimeout(timeout)
        try:
            line = self._messages.readline()
        except TimeoutError:
            raise RuntimeError("the kernel zygote did not answer in time") from None
        if not line:
            raise RuntimeError(f"the kernel zygote exited ({self.process.poll()})")
        return json.loads(line)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        if not self._ready:
            self._ready = bool(self._receive(timeout).get("ready"))

    def fork_kernel(self, connection_file: str, env: dict[str, str], cwd: str) -> int:
        """Ask for a kernel; return its process id (a child of the zygote, not of us)."""
        self.wait_ready()
        request = {"connection_file": connection_file, "env": env, "cwd": cwd}
        self._messages.write(json.dumps(request).encode() + b"\n")
        reply = self._receive(timeout=60)
        if "pid" not in reply:
            raise RuntimeError(f"the kernel zygote could not fork: {reply.get('error')}")
        return int(reply["pid"])

    def stop(self) -> None:
        """Kill every process in the zygote's tree (kernels, and what they started), then it."""
        import psutil

        try:
            tree = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            tree = []
        for process in tree:
            try:
                process.kill()
            except psutil.Error:
                pass
        self.process.kill()
        self.process.wait()
        self._channel.close()


class ForkedProcess:
    """The ``subprocess.Popen`` surface LocalProvisioner uses, for a process we did not start.

    The kernel is the zygote's child, so it cannot be waited for here; its exit is seen through
    a pidfd (no confusion with a recycled process id), or by signal 0 where there is none.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = None

    def poll(self) -> int | None:
        if self.returncode is None and not self._alive():
            self.returncode = 0  # the real status belongs to the zygote, which reaped it
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return self.returncode

    def _alive(self) -> bool:
        if self._pidfd is not None:
            readable, _, _ = select.select([self._pidfd], [], [], 0)
            return not readable
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


_zygote: Zygote | None = None


def can_prewarm() -> bool:
    """Forking a kernel from a process that imported torch is safe on Linux, not on macOS."""
    return sys.platform.startswith("linux")


def register() -> None:
    """Make jupyter_client find this provisioner even if the install's entry points are stale."""
    from importlib.metadata import EntryPoint

    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    from autograde.kernel.sandbox import PROVISIONER_NAME

    KernelProvisionerFactory.provisioners.setdefault(
        PROVISIONER_NAME,
        EntryPoint(
            name=PROVISIONER_NAME,
            value=f"{__name__}:ZygoteProvisioner",
            group=KernelProvisionerFactory.GROUP_NAME,
        ),
    )


def start_zygote(folder: Path, modules: list[str] | None = None) -> Zygote:
    """Start this process's zygote (once), importing ``modules`` (default: ``zygote.PRELOAD``);
    kernels started from now on are forked from it."""
    global _zygote
    if _zygote is None:
        _zygote = Zygote(folder, modules)
    return _zygote


def current_zygote() -> Zygote | None:
    return _zygote


def stop_zygote() -> None:
    global _zygote
    if _zygote is not None:
        _zygote.stop()
        _zygote = None


class ZygoteProvisioner(LocalProvisioner):
    """Forks kernels from this process's zygote; the local provisioner's behaviour otherwise."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        if _zygote is None:
            return await super().launch_kernel(cmd, **kwargs)
        # The kernelspec's command ends with the connection file (sandbox.install_kernelspec).
        connection_file = cmd[-1]
        env = kwargs.get("env") or dict(os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        pid = _zygote.fork_kernel(connection_file, dict(env), cwd)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid  # the kernel leads its own process group
        self.cwd = cwd
        return self.connection_info
