"""Tests of utils.checks, the trusted conversion and comparisons used by every test cell."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from utils.checks import (
    assert_close,
    assert_within_standard_errors,
    check_tensor,
    to_array,
    without_torch_distributions,
)


class EqualsEverything:
    """What a cheating submission might return: equal to anything, close to anything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0

    def __lt__(self, other):
        return True

    __le__ = __lt__
    __hash__ = object.__hash__


class AlwaysEqualTensor(torch.Tensor):
    """A real tensor subclass whose comparisons always succeed."""

    def __eq__(self, other):
        return torch.ones_like(other, dtype=torch.bool)

    def __sub__(self, other):
        return torch.zeros_like(other)

    def __abs__(self):
        return torch.zeros_like(self)


class EqualsEverythingMeta(type):
    def __eq__(cls, other):
        return True

    __hash__ = type.__hash__


class FloatLookalike(metaclass=EqualsEverythingMeta):
    """A type that claims to be `float` when compared with ==."""

    def __float__(self):
        return 1.0


# ---------------------------------------------------------------- to_array


def test_to_array_converts_tensors_arrays_and_numbers_to_float64():
    tensor = torch.tensor([1.0, 2.0], requires_grad=True)
    for value, expected in [
        (tensor, [1.0, 2.0]),
        (torch.tensor([1, 2]), [1.0, 2.0]),
        (np.array([1.0, 2.0], dtype=np.float32), [1.0, 2.0]),
        (3, 3.0),
        (2.5, 2.5),
        (np.float64(0.5), 0.5),
    ]:
        array = to_array(value, name="x")
        assert type(array) is np.ndarray
        assert array.dtype == np.float64
        assert array.tolist() == expected


def test_to_array_returns_a_copy():
    source = np.zeros(3)
    array = to_array(source, name="x")
    array[0] = 1.0
    assert source[0] == 0.0
    tensor = torch.zeros(3)
    to_array(tensor, name="x")[0] = 1.0
    assert tensor[0] == 0.0


@pytest.mark.parametrize(
    "value",
    [
        EqualsEverything(),
        torch.zeros(3).as_subclass(AlwaysEqualTensor),
        FloatLookalike(),
        [1.0, 2.0],
        None,
        True,
        "1.0",
    ],
    ids=["equals-everything", "tensor-subclass", "metaclass-eq", "list", "none", "bool", "str"],
)
def test_to_array_rejects_everything_but_exact_tensors_arrays_and_numbers(value):
    with pytest.raises(AssertionError, match="should be a torch.Tensor"):
        to_array(value, name="result")


def test_to_array_rejects_non_numeric_arrays_and_complex_tensors():
    with pytest.raises(AssertionError, match="real numbers"):
        to_array(np.array(["a"]), name="x")
    with pytest.raises(AssertionError, match="complex"):
        to_array(torch.zeros(2, dtype=torch.complex64), name="x")


def test_to_array_checks_shape_with_wildcards():
    assert to_array(torch.zeros(4, 3), name="x", shape=(4, None)).shape == (4, 3)
    with pytest.raises(AssertionError, match=r"x has shape \(4, 4\), expected \(4,\)"):
        to_array(torch.zeros(4, 4), name="x", shape=(4,))
    with pytest.raises(AssertionError, match=r"expected \(\)"):
        to_array(torch.zeros(1), name="x", shape=())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_to_array_rejects_non_finite_values(bad):
    with pytest.raises(AssertionError, match="non-finite"):
        to_array(torch.tensor([0.0, bad]), name="x")


def test_messages_carry_the_hint():
    with pytest.raises(AssertionError, match="Hint: sum over the last axis"):
        to_array(torch.zeros(2, 2), name="x", shape=(2,), hint="sum over the last axis")


# ---------------------------------------------------------------- check_tensor


def test_check_tensor_returns_the_same_tensor():
    loss = torch.zeros((), requires_grad=True)
    assert check_tensor(loss, name="loss", shape=()) is loss


def test_check_tensor_rejects_subclasses_and_wrong_shapes():
    with pytest.raises(AssertionError, match="should be a torch.Tensor"):
        check_tensor(torch.zeros(()).as_subclass(AlwaysEqualTensor), name="loss")
    with pytest.raises(AssertionError, match="should be a torch.Tensor"):
        check_tensor(np.zeros(()), name="loss")
    with pytest.raises(AssertionError, match=r"loss has shape \(3,\), expected \(\)"):
        check_tensor(torch.zeros(3), name="loss", shape=())


def test_check_tensor_checks_the_promised_dtype_and_device():
    returns = torch.zeros(3, dtype=torch.float64)
    assert check_tensor(returns, name="r", dtype=torch.float64, device="cpu") is returns
    with pytest.raises(AssertionError, match="r has dtype torch.float32, expected torch.float64"):
        check_tensor(returns.float(), name="r", dtype=torch.float64)
    with pytest.raises(AssertionError, match="device meta, expected cpu"):
        check_tensor(torch.zeros(3, device="meta"), name="r", device="cpu")


# ---------------------------------------------------------------- assert_close


def test_assert_close_accepts_values_within_tolerance():
    assert_close(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), name="x")
    assert_close(1.0 + 1e-3, 1.0, name="x", rtol=0.0, atol=2e-3)


def test_assert_close_reports_expected_got_and_hint():
    with pytest.raises(AssertionError) as failure:
        assert_close(torch.tensor([1.0, -2.0]), np.array([1.0, 2.0]), name="grad", hint="sign?")
    message = str(failure.value)
    assert "grad is wrong" in message
    assert "expected 2, got -2" in message
    assert "at index (1,)" in message
    assert "Hint: sign?" in message
    assert "\n" not in message


def test_assert_close_requires_equal_shapes():
    with pytest.raises(AssertionError, match="shape"):
        assert_close(torch.ones(3, 1), np.ones(3), name="x")
    with pytest.raises(AssertionError, match="shape"):
        assert_close(torch.ones(1), 1.0, name="x")


def test_assert_close_rejects_cheats():
    for cheat in (EqualsEverything(), torch.zeros(2).as_subclass(AlwaysEqualTensor)):
        with pytest.raises(AssertionError):
            assert_close(cheat, np.array([1.0, 2.0]), name="x")


def test_assert_close_does_not_rely_on_numpy_or_torch_testing(monkeypatch):
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *args, **kwargs: None)
    monkeypatch.setattr(np, "allclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(np, "isclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(np, "isfinite", lambda x: np.ones_like(x, dtype=bool))
    monkeypatch.setattr(torch.testing, "assert_close", lambda *args, **kwargs: None)
    monkeypatch.setattr(torch, "allclose", lambda *args, **kwargs: True)
    with pytest.raises(AssertionError, match="is wrong"):
        assert_close(torch.tensor([0.0]), np.array([1.0]), name="x")
    with pytest.raises(AssertionError, match="non-finite"):
        assert_close(torch.tensor([float("nan")]), np.array([1.0]), name="x")


def test_assert_close_is_relative_to_the_expected_value():
    assert_close(1000.5, 1000.0, name="x", rtol=1e-3, atol=0.0)
    with pytest.raises(AssertionError):
        assert_close(1.5, 1.0, name="x", rtol=1e-3, atol=0.0)


def test_assert_close_measures_small_entries_against_the_arrays_typical_size():
    # An advantage near 0 among advantages near 5 carries the rounding of the large numbers it
    # was computed from: float32 arithmetic (gamma * a float32 mask) must not fail it ...
    expected = np.array([5.0, -4.0, 1e-3, 3.0])
    rounded = torch.tensor(expected, dtype=torch.float32).double() + torch.tensor(
        [0.0, 0.0, 2e-7, 0.0], dtype=torch.float64
    )
    assert_close(rounded, expected, name="advantages", rtol=1e-6, atol=1e-8)
    # ... while an error above rtol times that typical size still fails, wherever it is.
    with pytest.raises(AssertionError, match="at index \\(2,\\)"):
        assert_close(np.array([5.0, -4.0, 2e-3, 3.0]), expected, name="a", rtol=1e-5, atol=0.0)


def test_without_torch_distributions_refuses_every_distribution_and_restores_them():
    from torch.distributions import Categorical  # imported before the block, as students do

    with without_torch_distributions("categorical_log_prob"):
        for make in (
            lambda: Categorical(logits=torch.zeros(3)),
            lambda: torch.distributions.Normal(torch.zeros(2), torch.ones(2)),
        ):
            with pytest.raises(AssertionError, match="categorical_log_prob may not use torch"):
                make()
        assert torch.log_softmax(torch.zeros(3), dim=-1).shape == (3,)  # plain tensors work
    assert Categorical(logits=torch.zeros(3)).log_prob(torch.tensor(0)) < 0


# ---------------------------------------------------------------- assert_within_standard_errors


def test_within_standard_errors_passes_an_unbiased_estimate_and_fails_a_biased_one():
    generator = np.random.default_rng(0)
    samples = generator.normal(loc=[1.0, -2.0, 0.0], scale=[1.0, 3.0, 0.5], size=(10_000, 3))
    estimate = samples.mean(axis=0)
    standard_error = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    truth = np.array([1.0, -2.0, 0.0])
    assert_within_standard_errors(estimate, truth, standard_error, name="mean")
    with pytest.raises(AssertionError, match="standard errors from the truth") as failure:
        assert_within_standard_errors(-estimate, truth, standard_error, name="mean", hint="sign")
    assert "Hint: sign" in str(failure.value)


def test_within_standard_errors_accepts_a_scalar_standard_error():
    assert_within_standard_errors(torch.tensor([1.0, 1.1]), np.ones(2), 0.05, name="x")
    with pytest.raises(AssertionError, match="allowed: 2"):
        assert_within_standard_errors(torch.tensor([1.0, 1.2]), np.ones(2), 0.05, name="x", k=2)


def test_within_standard_errors_checks_shapes_and_signs():
    with pytest.raises(AssertionError, match="shape"):
        assert_within_standard_errors(torch.ones(3), np.ones(2), np.ones(2), name="x")
    with pytest.raises(AssertionError, match="standard error of x has shape"):
        assert_within_standard_errors(torch.ones(2), np.ones(2), np.ones(3), name="x")
    with pytest.raises(AssertionError, match="negative"):
        assert_within_standard_errors(torch.ones(2), np.ones(2), -np.ones(2), name="x")


def test_within_standard_errors_rejects_cheats():
    with pytest.raises(AssertionError, match="should be a torch.Tensor"):
        assert_within_standard_errors(EqualsEverything(), np.ones(2), np.ones(2), name="x")


def test_assert_close_message_for_scalars_and_large_arrays():
    with pytest.raises(AssertionError, match=r"^loss is wrong: expected 2.5, got -2.5\.$"):
        assert_close(torch.tensor(-2.5), 2.5, name="loss")
    with pytest.raises(AssertionError) as failure:
        assert_close(torch.zeros(64), np.arange(64.0), name="x")
    message = str(failure.value)
    assert "63 of 64 values differ" in message and "worst at index (63,)" in message
    assert "[" not in message  # large arrays are summarised, not printed
