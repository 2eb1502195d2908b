"""The kernel sandbox's pieces, each in a child process (their effects cannot be undone)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograde.kernel import landlock


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(landlock.abi_version() == 0, reason="this Linux has no Landlock")
def test_landlock_allows_reads_and_writes_only_beneath_the_given_folders(tmp_path):
    allowed, forbidden = tmp_path / "allowed", tmp_path / "forbidden"
    allowed.mkdir()
    forbidden.mkdir()
    (forbidden / "secret.txt").write_text("another student's work")
    result = run(f"""
        import os
        from autograde.kernel import landlock, sandbox
        assert landlock.restrict([{str(allowed)!r}, "/dev"], sandbox.readable_for_kernels())
        open({str(allowed / "ok.txt")!r}, "w").write("fine")
        open("/dev/null", "w").write("fine")
        for attempt in [
            lambda: open({str(forbidden / "no.txt")!r}, "w"),
            lambda: os.mkdir({str(forbidden / "dir")!r}),
            lambda: open({str(forbidden / "secret.txt")!r}).read(),
            lambda: os.listdir({str(forbidden)!r}),
            lambda: os.kill(os.getppid(), 0),  # a process outside the sandbox
        ]:
            try:
                attempt()
            except PermissionError:
                print("blocked")
        import numpy, torch, utils.checks  # Python and the workbook's packages stay readable
    """)
    assert result.returncode == 0, result.stderr
    signals_scoped = landlock.abi_version() >= 6  # Linux 6.12
    assert result.stdout.split() == ["blocked"] * (5 if signals_scoped else 4)
    assert (allowed / "ok.txt").read_text() == "fine"
    assert [p.name for p in forbidden.iterdir()] == ["secret.txt"]


def test_kernels_may_read_the_workbook_packages_but_not_the_repository():
    from autograde.kernel.sandbox import readable_for_kernels

    readable = readable_for_kernels()
    repository = Path(__file__).resolve().parent.parent
    assert str(repository) not in readable
    assert str(repository / "utils") in readable


def test_kernel_limits_travel_through_the_environment():
    from autograde.kernel.sandbox import KernelLimits

    limits = KernelLimits(memory_bytes=123, sandbox="/somewhere")
    assert KernelLimits.from_env(limits.to_env()) == limits


# ---------------------------------------------------------------- the pre-warmed zygote


@pytest.fixture
def zygote(tmp_path):
    from autograde.kernel.provisioner import Zygote

    started = Zygote(tmp_path / "zygote")
    yield started
    started.stop()


def test_a_kernel_forked_from_the_zygote_is_sandboxed_and_stays_in_its_tree(zygote, tmp_path):
    """The forked kernel runs ``sandbox.enter``; what it detaches is still the zygote's."""
    import json
    import os

    import psutil
    from jupyter_client import BlockingKernelClient
    from jupyter_client.connect import write_connection_file

    from autograde.kernel.sandbox import ENV_VAR, KernelLimits
    from autograde.kernel.watchdog import Watchdog

    notebook_folder, forbidden = tmp_path / "notebook", tmp_path / "forbidden"
    notebook_folder.mkdir()
    forbidden.mkdir()
    (forbidden / "solution.txt").write_text("the instructor's solution")
    connection_file, _ = write_connection_file(str(tmp_path / "connection.json"))
    environment = {
        **os.environ,
        ENV_VAR: KernelLimits(memory_bytes=8 * 2**30, sandbox=str(tmp_path / "box")).to_env(),
    }
    pid = zygote.fork_kernel(connection_file, environment, str(notebook_folder))
    assert pid in [p.pid for p in psutil.Process(zygote.pid).children()]

    client = BlockingKernelClient(connection_file=connection_file)
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        code = textwrap.dedent(f"""
            import json, os, subprocess, sys
            preloaded = "torch" in sys.modules
            import torch
            threads = torch.get_num_threads()
            try:
                open({str(forbidden / "solution.txt")!r}).read()
                readable = True
            except PermissionError:
                readable = False
            # a daemon: a new session, then a double fork, so that its parent is gone
            daemon = "import os, time\\nos.setsid()\\nif os.fork(): os._exit(0)\\ntime.sleep(300)"
            subprocess.run([sys.executable, "-c", daemon], check=True)
            grader = [name for name in os.environ if name.startswith("AUTOGRADE")]
            sockets = []
            for fd in os.listdir("/proc/self/fd"):
                try:
                    sockets.append(os.readlink(f"/proc/self/fd/{{fd}}"))
                except OSError:  # the descriptor listdir itself used
                    pass
            print(json.dumps(dict(readable=readable, home=os.environ["HOME"], cwd=os.getcwd(),
                                  preloaded=preloaded, grader=grader, sockets=sockets,
                                  threads=threads)))
        """)
        outputs = []
        reply = client.execute_interactive(code, timeout=60, output_hook=outputs.append)
        assert reply["content"]["status"] == "ok", reply["content"]
        printed = json.loads(
            "".join(o["content"]["text"] for o in outputs if o["msg_type"] == "stream")
        )
    finally:
        client.stop_channels()
    assert printed["readable"] is (landlock.abi_version() == 0)
    assert printed["home"] == str(tmp_path / "box")
    assert printed["cwd"] == str(notebook_folder)
    assert printed["grader"] == []
    # The kernel holds no end of the zygote's channel: it cannot ask for kernels of its own.
    channel_fd = psutil.Process(zygote.pid).cmdline()[-1]
    channel = os.readlink(f"/proc/{zygote.pid}/fd/{channel_fd}")
    assert channel.startswith("socket:") and channel not in printed["sockets"]
    assert printed["preloaded"], "the zygote should have imported torch before the fork"
    assert printed["threads"] == 1, "a grading kernel computes on one core (sandbox.ONE_THREAD)"

    tree = psutil.Process(zygote.pid).children(recursive=True)
    orphans = [p for p in psutil.Process(zygote.pid).children() if p.pid != pid]
    assert orphans, "the daemon, orphaned by its parent, should be the zygote's (a subreaper)"
    watchdog = Watchdog(memory_bytes=2**40, processes=1000, seconds=1e6, root=zygote.pid)
    watchdog.start()
    watchdog.stop()  # ends the submission: everything under the zygote is killed
    psutil.wait_procs(tree, timeout=10)
    assert psutil.Process(zygote.pid).children(recursive=True) == []
    assert zygote.process.poll() is None, "the zygote itself must survive"


def test_the_zygote_imports_torch_only_for_courses_that_use_it(toy_course, repo_course):
    """The tool's toy course imports only `math`: its grading zygotes skip torch (seconds each)."""
    from autograde.kernel.zygote import KERNEL_ONLY, PRELOAD
    from autograde.notebook import imports_beyond_the_standard_library as third_party
    from autograde.worker import preload_for

    assert preload_for(toy_course.solutions, toy_course.assignments()) == KERNEL_ONLY
    assert preload_for(repo_course.solutions, repo_course.assignments()) == PRELOAD

    def notebook(*sources: str) -> dict:
        return {"cells": [{"cell_type": "code", "source": s} for s in sources]}

    assert not third_party(notebook("import math, os.path", "from collections import abc"))
    assert third_party(notebook("import math", "def f():\n    import numpy as np"))
    assert third_party(notebook("from torch.nn import functional"))
    assert third_party(notebook("%matplotlib inline"))  # not Python: assume the worst
    assert not third_party(notebook("from . import sibling"))
