"""Trusted comparisons for the notebooks' test cells.

A student's code runs in the same Python process as the tests that grade it, so a test must not
trust anything the student's function hands back: an object whose ``__eq__`` says "equal" to
everything, a ``torch.Tensor`` subclass that overrides arithmetic, or a monkeypatched
``numpy.testing`` could otherwise earn points. Every test cell therefore turns a student's result
into a plain float64 NumPy array with :func:`to_array` (or checks a tensor it must differentiate
with :func:`check_tensor`) and compares with the functions below, which use only the arithmetic
operators of ``numpy.ndarray`` (C code that Python code cannot patch), not ``numpy.testing``,
``torch.testing`` or ``math.isclose``.

Every failure raises ``AssertionError`` with a one-line message that says what was expected,
what came back, and, where the test knows it, the likely mistake.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
import torch.distributions

__all__ = [
    "assert_close",
    "assert_within_standard_errors",
    "check_tensor",
    "to_array",
    "without_torch_distributions",
]

# Bound once, when the module is first imported (the setup cell, before any student code runs),
# so that rebinding ``torch.Tensor`` or ``np.ndarray`` later does not change what we accept.
_TENSOR = torch.Tensor
_NDARRAY = np.ndarray
_NUMBER_TYPES = (int, float, np.float64, np.float32, np.float16, np.int64, np.int32)
_MAXIMUM = np.maximum


def _describe_type(value: object) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _shape_matches(actual: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    if len(actual) != len(expected):
        return False
    return all(want is None or have == want for have, want in zip(actual, expected, strict=True))


def _format_shape(shape: tuple[int | None, ...]) -> str:
    entries = ["*" if size is None else str(size) for size in shape]
    return "(" + ", ".join(entries) + ("," if len(entries) == 1 else "") + ")"


def _with_hint(message: str, hint: str | None) -> str:
    return f"{message} Hint: {hint}" if hint else message


def check_tensor(
    value: object,
    *,
    name: str,
    shape: tuple[int | None, ...] | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    hint: str | None = None,
) -> torch.Tensor:
    """Return ``value`` itself after checking it is exactly a ``torch.Tensor`` of ``shape``.

    Use this when the test needs the tensor (for example to call ``backward`` on a loss) or
    checks a promise of the docstring about the tensor itself (``dtype``, ``device``);
    otherwise use :func:`to_array`. ``shape`` entries may be ``None`` for "any size".
    """
    if type(value) is not _TENSOR:
        raise AssertionError(
            _with_hint(f"{name} should be a torch.Tensor, got {_describe_type(value)}.", hint)
        )
    if shape is not None and not _shape_matches(tuple(value.shape), tuple(shape)):
        raise AssertionError(
            _with_hint(
                f"{name} has shape {_format_shape(tuple(value.shape))}, "
                f"expected {_format_shape(tuple(shape))}.",
                hint,
            )
        )
    if dtype is not None and value.dtype != dtype:
        raise AssertionError(_with_hint(f"{name} has dtype {value.dtype}, expected {dtype}.", hint))
    if device is not None and value.device != torch.device(device):
        raise AssertionError(
            _with_hint(f"{name} is on the device {value.device}, expected {device}.", hint)
        )
    return value


def to_array(
    value: object,
    *,
    name: str,
    shape: tuple[int | None, ...] | None = None,
    hint: str | None = None,
) -> np.ndarray:
    """Convert a result to a fresh float64 NumPy array, checking type, shape and finiteness.

    Accepted: exactly ``torch.Tensor`` (detached and copied to the CPU), exactly
    ``numpy.ndarray``, and plain numbers (``int``, ``float`` and NumPy scalars). Subclasses and
    look-alikes are rejected, because they could override comparison or arithmetic. ``shape``
    entries may be ``None`` for "any size". Raises ``AssertionError`` with a teaching message.
    """
    kind = type(value)
    if kind is _TENSOR:
        if value.is_complex():
            raise AssertionError(_with_hint(f"{name} should be real, got a complex tensor.", hint))
        array = value.detach().to(device="cpu", dtype=torch.float64).numpy().copy()
    elif kind is _NDARRAY:
        if value.dtype.kind not in "biuf":
            raise AssertionError(
                _with_hint(f"{name} should hold real numbers, got dtype {value.dtype}.", hint)
            )
        array = value.astype(np.float64, copy=True)
    # `is`, not `in`: a class whose metaclass defines __eq__ could compare equal to `float`.
    elif any(kind is number for number in _NUMBER_TYPES):
        array = np.array(float(value), dtype=np.float64)
    else:
        raise AssertionError(
            _with_hint(f"{name} should be a torch.Tensor, got {_describe_type(value)}.", hint)
        )
    if type(array) is not _NDARRAY or array.dtype != np.float64:
        raise AssertionError(f"{name} could not be converted to a float64 array.")

    if shape is not None and not _shape_matches(array.shape, tuple(shape)):
        raise AssertionError(
            _with_hint(
                f"{name} has shape {_format_shape(array.shape)}, "
                f"expected {_format_shape(tuple(shape))}.",
                hint,
            )
        )
    # x - x is 0 for every finite x and NaN for inf and NaN: a finiteness test without np.isfinite.
    with np.errstate(invalid="ignore"):
        finite = (array - array) == 0
    if not finite.all():
        bad = array[~finite]
        raise AssertionError(
            _with_hint(
                f"{name} contains {bad.size} non-finite value(s) (e.g. {bad.flat[0]}); "
                "look for log(0), exp overflow or a division by zero.",
                hint,
            )
        )
    return array


def _same_shape(actual: np.ndarray, expected: np.ndarray, name: str, hint: str | None) -> None:
    if actual.shape != expected.shape:
        raise AssertionError(
            _with_hint(
                f"{name} has shape {_format_shape(actual.shape)}, "
                f"expected {_format_shape(expected.shape)}.",
                hint,
            )
        )


def _show(array: np.ndarray) -> str:
    """A small array as text, six significant digits."""
    if array.ndim == 0:
        return f"{float(array):.6g}"
    return np.array2string(array, precision=6, separator=", ")


def _location(flat_index: int, shape: tuple[int, ...]) -> str:
    if not shape:
        return ""
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return f" at index {tuple(reversed(index))}"


def assert_close(
    actual: object,
    expected: object,
    *,
    name: str,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    hint: str | None = None,
) -> None:
    """Check ``|actual - expected| <= atol + rtol * max(|expected|, rms(expected))`` elementwise.

    ``actual`` (the student's result) and ``expected`` go through :func:`to_array`; their shapes
    must be equal (no broadcasting). The relative tolerance is measured against each element's
    magnitude, but never against less than the root mean square of the whole expected array:
    an entry that is a small difference of large numbers (an advantage near 0 among advantages
    near 5) carries the rounding error of those large numbers, and correct code that rounds
    through float32 along the way must not fail on it. The failure message shows both values,
    the worst element and ``hint``.
    """
    got = to_array(actual, name=name, hint=hint)
    want = to_array(expected, name=f"the expected value of {name}")
    _same_shape(got, want, name, hint)
    error = abs(got - want)
    typical = float((want * want).mean()) ** 0.5 if want.size else 0.0
    tolerance = atol + rtol * _MAXIMUM(abs(want), typical)
    within = error <= tolerance
    if within.all():
        return
    if want.size == 1:
        message = f"{name} is wrong: expected {_show(want)}, got {_show(got)}."
    else:
        worst = int((error - tolerance).argmax())
        whole = f"expected {_show(want)}, got {_show(got)}; " if want.size <= 8 else ""
        message = (
            f"{name} is wrong: {whole}{int((~within).sum())} of {within.size} values differ, "
            f"worst{_location(worst, got.shape)}: "
            f"expected {want.flat[worst]:.6g}, got {got.flat[worst]:.6g}."
        )
    raise AssertionError(_with_hint(message, hint))


def assert_within_standard_errors(
    estimate: object,
    truth: object,
    standard_error: object,
    *,
    name: str,
    k: float = 4.0,
    atol: float = 1e-10,
    hint: str | None = None,
) -> None:
    """Check that a Monte-Carlo ``estimate`` is within ``k`` standard errors of ``truth``.

    Element by element: ``|estimate - truth| <= k * standard_error + atol``. ``standard_error``
    has the shape of ``truth`` or is a scalar. With ``k = 4`` an unbiased estimator fails a
    component with probability about 6e-5; the tests use fixed seeds, so an honest solution
    passes every time, while a biased one (a sign error, a missing factor) lands many standard
    errors away.
    """
    got = to_array(estimate, name=name, hint=hint)
    want = to_array(truth, name=f"the true value of {name}")
    spread = to_array(standard_error, name=f"the standard error of {name}")
    _same_shape(got, want, name, hint)
    if spread.shape not in ((), want.shape):
        raise AssertionError(
            f"the standard error of {name} has shape {_format_shape(spread.shape)}, "
            f"expected () or {_format_shape(want.shape)}."
        )
    if not (spread >= 0).all():
        raise AssertionError(f"the standard error of {name} must not be negative.")
    spread = spread + 0 * want  # broadcast a scalar standard error to the shape of truth
    error = abs(got - want)
    allowed = k * spread + atol
    within = error <= allowed
    if within.all():
        return
    worst = int((error - allowed).argmax())
    se = spread.flat[worst]
    z = error.flat[worst] / se if se > 0 else float("inf")
    message = (
        f"{name} is {z:.1f} standard errors from the truth (allowed: {k:g}), "
        f"worst{_location(worst, got.shape)}: expected {want.flat[worst]:.6g} "
        f"± {se:.3g}, got {got.flat[worst]:.6g}; "
        f"{int((~within).sum())} of {within.size} value(s) are off."
    )
    raise AssertionError(_with_hint(message, hint))


# Bound at import, like the types above: the test cells' tool must not follow a student's patch.
_DISTRIBUTION_INIT = torch.distributions.Distribution.__init__


@contextlib.contextmanager
def without_torch_distributions(function: str) -> Iterator[None]:
    """Inside this block, creating any ``torch.distributions`` object fails with a clear message.

    For test cells of functions whose exercise is to write a log-probability by hand: every
    distribution class (``Categorical``, ``Normal``, ...) runs ``Distribution.__init__``, however
    the student imported it, so this one replacement covers them all. Restored on exit.
    """

    def refuse(self, *args, **kwargs):
        raise AssertionError(
            f"{function} may not use torch.distributions ({type(self).__name__}): the exercise "
            "is to write the log-probability with tensor operations."
        )

    torch.distributions.Distribution.__init__ = refuse
    try:
        yield
    finally:
        torch.distributions.Distribution.__init__ = _DISTRIBUTION_INIT
