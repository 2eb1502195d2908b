"""Linux Landlock: let a process read and write only inside the folders it is given.

Landlock (Linux 5.13 and later) lets any process, root or not, give up rights for itself and
everything it starts. The sandbox launcher uses it so that a student's kernel can write only in
its own scratch folder and its notebook's folder (and ``/dev``), read only those, the system
and Python's installation (with the workbook's ``utils``), and cannot signal or trace processes
outside its sandbox. The gradebook, the instructor's solutions, the grader's scratch files and
every other submission are out of its reach.

Called through ``ctypes`` (the syscalls have no wrapper in Python's standard library).
"""

from __future__ import annotations

import ctypes
import os

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # same on x86-64, arm64
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights that change something (ABI 1), then REFER (ABI 2) and TRUNCATE (ABI 3).
_WRITE_RIGHTS_V1 = sum(1 << bit for bit in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))
_READ_RIGHTS = (1 << 2) | (1 << 3)  # READ_FILE, READ_DIR
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_SCOPE_SIGNAL = 1 << 1  # ABI 6: no signals to processes outside the sandbox


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """Landlock's ABI version on this machine, 0 when it is not available."""
    try:
        version = _libc().syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    except (OSError, AttributeError):
        return 0
    return max(version, 0)


def restrict(writable: list[str], readable: list[str]) -> bool:
    """From now on, this process and its children write only beneath ``writable`` and read only
    beneath ``writable`` and ``readable`` (paths that do not exist are skipped).

    Returns False (and changes nothing) when Landlock is not available.
    """
    abi = abi_version()
    if abi < 1:
        return False
    write = _WRITE_RIGHTS_V1 | (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(write | _READ_RIGHTS, 0, _SCOPE_SIGNAL if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else ctypes.sizeof(ctypes.c_uint64)
    libc = _libc()
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules = [(path, write | _READ_RIGHTS) for path in writable]
        rules += [(path, _READ_RIGHTS) for path in readable]
        for path, rights in rules:
            if not os.path.isdir(path):
                continue
            descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneathAttr(rights, descriptor)
                if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0):
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(descriptor)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0):
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return True
