"""utils.plots draws the expected artists on the Agg backend and never shows a figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from utils.plots import (  # noqa: E402
    plot_learning_curves,
    plot_variance_bars,
    plot_variance_vs_samples,
)
from utils.train import History  # noqa: E402


def fake_history(seed: int, iterations: int = 20) -> History:
    rng = np.random.default_rng(seed)
    history = History()
    steps = 0
    for i in range(iterations):
        steps += int(rng.integers(100, 200))
        history.log(env_steps=steps, mean_return=i + rng.normal(), loss=-i, wall_time=0.1 * i)
    return history


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_learning_curves_have_a_line_and_band_per_method():
    runs = {
        "REINFORCE": [fake_history(seed) for seed in range(3)],
        "with baseline": [fake_history(seed + 10) for seed in range(3)],
        "one seed": [fake_history(99)],
    }
    ax = plot_learning_curves(runs, title="CartPole", smooth=3)
    assert [line.get_label() for line in ax.get_lines()] == list(runs)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # no band for a single seed
    assert ax.get_title() == "CartPole"
    assert ax.get_xlabel() == "env steps" and ax.get_ylabel() == "mean return"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == list(runs)


def test_learning_curve_mean_lies_inside_min_max_of_seeds():
    runs = {"a": [fake_history(seed) for seed in range(4)]}
    ax = plot_learning_curves(runs, x="iteration", band="std")
    x_values, mean = ax.get_lines()[0].get_data()
    assert x_values[0] == 0 and x_values[-1] == 19
    all_returns = np.array([h.mean_return for h in runs["a"]])
    np.testing.assert_allclose(mean[0], all_returns[:, 0].mean())
    np.testing.assert_allclose(mean[-1], all_returns[:, -1].mean())


def test_learning_curves_draw_on_a_given_axes_and_reject_unknown_columns():
    _, ax = plt.subplots()
    assert plot_learning_curves({"a": [fake_history(0)]}, ax=ax) is ax
    with pytest.raises(KeyError, match="no column"):
        plot_learning_curves({"a": [fake_history(0)]}, y="accuracy")


def test_variance_vs_samples_is_log_log_with_reference_line():
    sizes = np.array([10, 100, 1000])
    ax = plot_variance_vs_samples(sizes, 5.0 / sizes, label="REINFORCE")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["REINFORCE", r"$\propto 1/n$"]
    np.testing.assert_allclose(lines[1].get_ydata(), 5.0 / sizes)
    plot_variance_vs_samples(sizes, 1.0 / sizes, ax=ax, label="baseline", reference=False)
    assert len(ax.get_lines()) == 3


def test_variance_bars():
    ax = plot_variance_bars({"no baseline": 4.0, "mean baseline": 1.0}, title="variance")
    assert len(ax.patches) == 2
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["no baseline", "mean baseline"]
