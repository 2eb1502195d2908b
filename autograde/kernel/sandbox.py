"""Start a student's kernel with resource limits and a home of its own.

nbgrader starts kernels from a kernelspec; the grader points it at one whose command is
``python -m autograde.kernel.sandbox CONNECTION_FILE``. Before it becomes the ipykernel process,
this launcher sets resource limits (address space, file size, no core dumps), so that a memory
bomb or a runaway file fails inside the notebook instead of taking the grading machine down, and
gives the kernel an environment without the grader's settings, whose home, temporary folder and
caches are the submission's own scratch folder. Where Linux offers Landlock, the kernel may then
write only in that folder and its notebook's folder (see ``landlock.py``).

The same steps run in a process forked from the pre-warmed ``zygote`` (the usual path on Linux,
see ``zygote.py``); this module's ``launch`` starts a fresh Python instead (elsewhere).

The worker passes the limits in the environment variable ``AUTOGRADE_SANDBOX`` (JSON of
:class:`KernelLimits`). Limits on the submission's processes taken together (total memory, process
count, wall time) are the watchdog's job (``watchdog.py``).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from autograde.kernel import landlock

KERNEL_NAME = "autograde-sandbox"
ENV_VAR = "AUTOGRADE_SANDBOX"
PROVISIONER_NAME = "autograde-zygote"
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]


@dataclass(frozen=True)
class KernelLimits:
    """What one submission's kernel may use."""

    memory_bytes: int = 6 * 2**30  # address space: torch alone maps ~1-2 GiB
    file_bytes: int = 64 * 2**20  # largest file the notebook may write
    sandbox: str = ""  # the kernel's home and scratch folder

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> KernelLimits:
        return cls(**json.loads(text))


def install_kernelspec(share: Path) -> Path:
    """Write the sandbox kernelspec under ``share/kernels`` (add ``share`` to JUPYTER_PATH)."""
    folder = share / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "autograde.kernel.sandbox", "{connection_file}"],
        "display_name": "Python 3 (autograde sandbox)",
        "language": "python",
        # Started by forking the worker's pre-warmed zygote when there is one (provisioner.py).
        "metadata": {"kernel_provisioner": {"provisioner_name": PROVISIONER_NAME}},
    }
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return folder


# What a kernel must read: the system, and Python with its packages.
SYSTEM_FOLDERS = [
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/bin",
    "/sbin",
    "/etc",
    "/opt",
    "/proc",
    "/sys",
    "/run",
    "/var/lib",
    "/var/cache/fontconfig",
]


def readable_for_kernels() -> list[str]:
    """Folders a student's kernel may read: not the course, the grader's files or submissions.

    The workbook's own packages are listed one by one, so that an editable install (the repo
    holds solutions/ next to utils/) opens up only the packages, not the repository.
    """
    import importlib.util

    folders = SYSTEM_FOLDERS + [sys.prefix, sys.base_prefix, sys.exec_prefix]
    folders += [str(Path(sys.executable).resolve().parent)]
    folders += [p for p in sys.path if p and Path(p).is_dir() and not _is_repository(Path(p))]
    for package in ("utils", "autograde"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            folders += list(spec.submodule_search_locations)
    return sorted(set(folders))


def _is_repository(folder: Path) -> bool:
    """The workbook's checkout itself (on sys.path for an editable install or a local run)."""
    return (folder / "solutions").is_dir() or (folder / ".git").exists()


def _set_limit(kind: int, value: int) -> None:
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


# A grading pool runs one kernel per core: a kernel that spreads its tiny tensor operations over
# every core only makes the kernels fight over them (measured on a loaded 2-core machine: a 2x2
# softmax took 16 ms with torch's default two threads, 4 us with one). The zygote imports torch
# and NumPy with the same setting, so forked kernels have it too.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def enter(connection_file: str, environment: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Put this process into the kernel's sandbox; return its connection file and environment.

    ``environment`` is the one the kernel was started with: it carries the limits in
    ``AUTOGRADE_SANDBOX``. After this call the process has its resource limits and (on Linux
    5.13+) Landlock rules; the caller then becomes the kernel with the returned environment.
    """
    limits = KernelLimits.from_env(environment[ENV_VAR])
    sandbox = Path(limits.sandbox)
    (sandbox / "tmp").mkdir(parents=True, exist_ok=True)
    connection = sandbox / "kernel-connection.json"
    shutil.copyfile(connection_file, connection)

    kernel_environment = {
        key: value
        for key, value in environment.items()
        if not key.startswith(("AUTOGRADE_", "JUPYTER_"))
    }
    kernel_environment.update(
        HOME=str(sandbox),
        TMPDIR=str(sandbox / "tmp"),
        MPLCONFIGDIR=str(sandbox / "matplotlib"),
        IPYTHONDIR=str(sandbox / "ipython"),
        **ONE_THREAD,
    )

    _set_limit(resource.RLIMIT_AS, limits.memory_bytes)
    _set_limit(resource.RLIMIT_FSIZE, limits.file_bytes)
    _set_limit(resource.RLIMIT_CORE, 0)
    landlock.restrict([str(sandbox), os.getcwd(), "/dev"], readable_for_kernels())
    return str(connection), kernel_environment


def launch(connection_file: str) -> None:
    """Become the limited ipykernel process in a fresh Python (never returns)."""
    connection, environment = enter(connection_file, dict(os.environ))
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", connection, *KERNEL_ARGUMENTS]
    os.execve(sys.executable, argv, environment)


if __name__ == "__main__":
    launch(sys.argv[1])
