"""The kernel sandbox's pieces, each in a child process (their effects cannot be undone)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograde import landlock


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
        from autograde import landlock, sandbox
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
    from autograde.sandbox import readable_for_kernels

    readable = readable_for_kernels()
    repository = Path(__file__).resolve().parent.parent
    assert str(repository) not in readable
    assert str(repository / "utils") in readable


def test_kernel_limits_travel_through_the_environment():
    from autograde.sandbox import KernelLimits

    limits = KernelLimits(memory_bytes=123, sandbox="/somewhere")
    assert KernelLimits.from_env(limits.to_env()) == limits
