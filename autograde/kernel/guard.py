"""Runs *inside* a student's kernel while it is graded: notices tampering with the tests' tools.

Test cells run in the same Python process as the student's code, so code that replaces
``numpy.testing.assert_allclose``, ``math.isclose``, a builtin, the workbook's ``utils.checks``,
or IPython's error reporting could make failing tests look passed. The grader therefore adds a
hidden first cell that calls :func:`install` before any student code runs (it snapshots all of
these), and a call to the returned guard at the top and at the bottom of every test cell (the
student's function runs in between). When the snapshot no
longer matches, the guard prints a marker line the grader looks for and fails the test cell, so
this test and every later one score 0 and the row is flagged with what was found.

This raises the bar; it is not a proof. Code that studies the grader could still find the guard
and replace it, which the README says plainly.
"""

from __future__ import annotations

import builtins
import importlib
import sys
import types
from collections.abc import Callable

MARKER = "AUTOGRADE-INTEGRITY"

# module -> names whose objects the tests rely on (missing names are skipped)
_WATCHED_ATTRIBUTES = {
    "numpy": [
        "allclose",
        "isclose",
        "array_equal",
        "asarray",
        "array",
        "abs",
        "isfinite",
        "all",
        "any",
        "max",
        "float64",
        "ndarray",
    ],
    "numpy.testing": [
        "assert_allclose",
        "assert_array_equal",
        "assert_equal",
        "assert_almost_equal",
        "assert_array_almost_equal",
        "assert_array_less",
    ],
    "math": ["isclose", "isfinite", "fabs", "sqrt", "isnan", "isinf"],
    "torch": ["allclose", "isclose", "equal", "is_tensor", "tensor", "as_tensor", "Tensor"],
    "torch.testing": ["assert_close"],
}
# Whole namespaces that must not change: every name in them, and the code of their functions.
_WATCHED_NAMESPACES = ["utils.checks", "builtins"]
_WATCHED_CLASSES = [("torch", "Tensor")]
_SHELL_METHODS = [
    "run_cell",
    "run_code",
    "run_ast_nodes",
    "showtraceback",
    "_showtraceback",
    "showsyntaxerror",
    "get_exception_only",
]
_KERNEL_METHODS = ["do_execute", "execute_request"]


def _import(name: str):
    try:
        return importlib.import_module(name)
    except Exception:  # a course without torch simply watches less
        return None


def _snapshot() -> dict[str, object]:
    state: dict[str, object] = {}
    for module_name, names in _WATCHED_ATTRIBUTES.items():
        module = _import(module_name)
        if module is None:
            continue
        state[f"sys.modules[{module_name}]"] = module
        for name in names:
            if hasattr(module, name):
                state[f"{module_name}.{name}"] = getattr(module, name)
    for module_name in _WATCHED_NAMESPACES:
        module = builtins if module_name == "builtins" else _import(module_name)
        if module is None:
            continue
        for name, value in vars(module).items():
            if name.startswith("__") and name not in ("__import__", "__build_class__"):
                continue
            state[f"{module_name}.{name}"] = value
            code = getattr(value, "__code__", None)
            if code is not None:
                state[f"{module_name}.{name}.__code__"] = code
    for module_name, class_name in _WATCHED_CLASSES:
        module = _import(module_name)
        if module is not None:
            for name, value in vars(getattr(module, class_name)).items():
                state[f"{module_name}.{class_name}.{name}"] = value
    state["sys.excepthook"] = sys.excepthook
    state["sys.gettrace()"] = sys.gettrace()
    state["sys.getprofile()"] = sys.getprofile()
    shell = _shell()
    if shell is not None:
        state["IPython custom exception handler"] = tuple(shell.custom_exceptions)
        for name in _SHELL_METHODS:
            state[f"IPython shell.{name}"] = getattr(type(shell), name, None)
            # ipykernel itself puts some methods on the instance; what counts is that they stay.
            state[f"IPython shell.{name} (instance)"] = vars(shell).get(name)
        state["IPython AST transformers"] = tuple(shell.ast_transformers)
        state["IPython input transformers"] = tuple(shell.input_transformers_cleanup) + tuple(
            shell.input_transformers_post
        )
        for event in ("pre_execute", "pre_run_cell"):
            state[f"IPython {event} callbacks"] = tuple(shell.events.callbacks.get(event, ()))
        kernel = getattr(shell, "kernel", None)
        if kernel is not None:
            for name in _KERNEL_METHODS:
                state[f"kernel.{name}"] = getattr(type(kernel), name, None)
                state[f"kernel.{name} (instance)"] = vars(kernel).get(name)
    return state


def _shell():
    get_ipython = getattr(builtins, "get_ipython", None)
    return get_ipython() if get_ipython is not None else None


def _same(old: object, new: object) -> bool:
    """Identity, looking through the fresh bound-method and tuple objects each snapshot makes.

    Never ``==``: a replacement object could claim to equal anything.
    """
    if old is new:
        return True
    if isinstance(old, types.MethodType) and isinstance(new, types.MethodType):
        return old.__func__ is new.__func__ and old.__self__ is new.__self__
    if type(old) is tuple and type(new) is tuple:
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    return False


def _differences(before: dict[str, object], now: dict[str, object]) -> list[str]:
    changed = [key for key, value in before.items() if key in now and not _same(value, now[key])]
    changed += [key for key in before if key not in now and not key.startswith("builtins.")]
    for key in now:
        # A new builtin is harmless; a new global in utils.checks is not expected.
        if key not in before and key.startswith("utils.checks."):
            changed.append(key)
    return sorted(set(changed))


def install(token: str) -> Callable[[str], None]:
    """Snapshot the tests' tools now; return the guard that test cells call.

    ``guard.remember(globals())``, called right after the setup cell, adds the modules the setup
    cell bound (``np``, ``torch``...): test cells use those names, so they must not be rebound.
    """
    before = _snapshot()
    bindings: dict[str, object] = {}
    namespace: dict[str, object] = {}

    def remember(user_namespace: dict[str, object]) -> None:
        namespace.clear()
        namespace["ns"] = user_namespace
        bindings.update(
            {k: v for k, v in user_namespace.items() if isinstance(v, types.ModuleType)}
        )

    def guard(test_name: str) -> None:
        problems = _differences(before, _snapshot())
        user_namespace = namespace.get("ns", {})
        problems += [
            f"the name {name}"
            for name, module in bindings.items()
            if user_namespace.get(name) is not module
        ]
        if problems:
            shown = ", ".join(problems[:6]) + (" ..." if len(problems) > 6 else "")
            print(f"{MARKER} {token} changed: {shown}", flush=True)
            raise AssertionError(
                f"{test_name} does not count: the notebook changed what the tests rely on "
                f"({shown}). Remove the code that does this."
            )

    guard.remember = remember
    return guard
