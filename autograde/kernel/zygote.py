"""A pre-warmed process that student kernels are forked from.

Starting a kernel the usual way costs seconds before the first cell runs: a fresh Python imports
ipykernel, then the notebook's setup cell imports torch, NumPy, matplotlib and gymnasium, and the
first optimiser pulls in ``torch._dynamo``. Paid for every submission, every mutant and every
red-team case, that was most of the grading time. A grading worker therefore starts one zygote:
a plain Python that imports those modules once, at start, and then only waits on a Unix socket.
For each kernel the worker asks it to ``fork``; the child puts itself in the sandbox (resource
limits, Landlock, a clean environment: ``sandbox.enter``, exactly as the exec launcher does) and
becomes an ipykernel in-process, with the heavy modules already in memory (shared copy-on-write).

Isolation is unchanged: the zygote never holds grading data (no template, no gradebook, no
submission), the child enters the sandbox before any student code runs, and the integrity guard
is installed by the notebook's first hidden cell as before. Only the worker can ask for a kernel:
requests come over one end of a socket pair that the worker created and passed to the zygote
alone (there is no socket anyone could connect to), and each child closes it before it enters
the sandbox. The zygote is a child subreaper, so a process a kernel detaches (a double fork, a
new session) stays in the zygote's tree, where the worker's watchdog finds and kills it when the
submission ends.

Protocol, one JSON message per line on the socket pair: the zygote says ``{"ready": true}`` once
its imports are done; then for each request ``{"connection_file", "env", "cwd"}`` it replies
``{"pid": <kernel pid>}`` or ``{"error": "..."}``.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import random
import signal
import socket
import sys
import traceback

# What a notebook's setup cell and first optimiser import: worth paying for once, not per kernel.
# Never anything that touches a GPU: CUDA cannot be used again in a forked child.
PRELOAD = [
    "ipykernel.kernelapp",
    "numpy",
    "torch",
    "torch._dynamo",
    "torch.nn.functional",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib_inline.backend_inline",
    "gymnasium",
    "gymnasium.envs.classic_control",
    "tqdm.auto",
]
# A course whose notebooks import only Python's standard library (the tool's own toy course)
# has no use for the rest: its zygote imports the kernel alone.
KERNEL_ONLY = ["ipykernel.kernelapp"]
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _reap(signum=None, frame=None) -> None:
    """Collect every child that has exited: kernels, and orphans of kernels (we are the reaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def preload(modules: list[str]) -> list[str]:
    """Import what can be imported; return the modules that could not (a course without torch)."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional module only costs speed
            missing.append(name)
    return missing


def serve(channel_fd: int, modules: list[str]) -> None:
    """Import ``modules``, then fork a kernel for each request on ``channel_fd`` until the
    worker goes."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # the worker died: so do we
    # Ctrl-C in a terminal reaches its whole process group; the worker decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=channel_fd)
    preload(modules)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGCHLD, _reap)
    messages = channel.makefile("rwb", buffering=0)
    _send(messages, {"ready": True})
    for line in messages:  # ends when the worker closes its end (or dies)
        try:
            request = json.loads(line)
        except ValueError as error:
            _send(messages, {"error": f"bad request: {error}"})
            continue
        pid = os.fork()
        if pid == 0:
            # The kernel must not keep the channel: with it, it could ask for kernels itself.
            # (The socket's descriptor closes only once its file object is closed too.)
            messages.close()
            channel.close()
            _become_kernel(request)  # never returns
        _send(messages, {"pid": pid})


def _send(messages, message: dict) -> None:
    messages.write(json.dumps(message).encode() + b"\n")


def _become_kernel(request: dict) -> None:
    """In the forked child: enter the sandbox, then run an ipykernel here (never returns)."""
    status = 1
    try:
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)  # its own process group: interrupts and kills reach its children too
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        os.chdir(request["cwd"])

        from autograde.kernel import sandbox

        connection, environment = sandbox.enter(request["connection_file"], request["env"])
        os.environ.clear()
        os.environ.update(environment)
        _reseed()
        arguments = ["-f", connection, *sandbox.KERNEL_ARGUMENTS]
        sys.argv = ["ipykernel_launcher", *arguments]

        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(arguments)
        app.start()
        status = 0
    except BaseException:  # noqa: BLE001 - whatever happens, this process must not return
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _reseed() -> None:
    """Fresh random states, as a new process would have (the zygote's are shared by all forks)."""
    seed = int.from_bytes(os.urandom(8), "little")
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed % 2**63)


if __name__ == "__main__":
    # python -m autograde.kernel.zygote MODULE,MODULE,... CHANNEL_FD
    serve(int(sys.argv[2]), [name for name in sys.argv[1].split(",") if name])
