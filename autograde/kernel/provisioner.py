"""The worker's side of the zygote: start it, and a kernel provisioner that forks kernels from it.

jupyter_client starts kernels through *provisioners*; the grader's kernelspec names this one
(``sandbox.PROVISIONER_NAME``). When the worker has a zygote (``ZYGOTE_ENV`` names its socket),
a kernel is forked from it instead of started as a new Python (see ``zygote.py``); otherwise
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

ZYGOTE_ENV = "AUTOGRADE_ZYGOTE"
START_TIMEOUT = 120.0  # seconds for the zygote's imports on a slow, busy machine


class Zygote:
    """A running zygote process, started by (and dying with) the current process."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.socket_path = str(folder / "zygote.sock")
        environment = dict(os.environ)
        # Its imports may write caches (matplotlib's font list): into its own folder.
        environment.update(MPLCONFIGDIR=str(folder / "matplotlib"), HOME=str(folder))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograde.kernel.zygote", self.socket_path],
            stdin=subprocess.DEVNULL,
            env=environment,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket_path):
            if self.process.poll() is not None:
                raise RuntimeError(f"the kernel zygote exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the kernel zygote did not start in time")
            time.sleep(0.05)

    def fork_kernel(self, connection_file: str, env: dict[str, str], cwd: str) -> int:
        """Ask for a kernel; return its process id (a child of the zygote, not of us)."""
        self.wait_ready()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(self.socket_path)
            request = {"connection_file": connection_file, "env": env, "cwd": cwd}
            client.sendall(json.dumps(request).encode())
            client.shutdown(socket.SHUT_WR)
            reply = json.loads(b"".join(iter(lambda: client.recv(65536), b"")))
        if "pid" not in reply:
            raise RuntimeError(f"the kernel zygote could not fork: {reply.get('error')}")
        return int(reply["pid"])

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


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


def start_zygote(folder: Path) -> Zygote:
    """Start this process's zygote (once); kernels started from now on are forked from it."""
    global _zygote
    if _zygote is None:
        _zygote = Zygote(folder)
        os.environ[ZYGOTE_ENV] = _zygote.socket_path
    return _zygote


def current_zygote() -> Zygote | None:
    return _zygote


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
