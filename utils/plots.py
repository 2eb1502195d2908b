"""Plots for the experiment cells: learning curves over seeds and estimator variances.

Every function draws on the given Axes (or a new figure's) and returns it; none calls
``plt.show()``, so a notebook can combine, restyle or save the figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from utils.history import History

__all__ = ["plot_learning_curves", "plot_variance_bars", "plot_variance_vs_samples"]


def _new_axes_if_none(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` entries (fewer at the start); same length."""
    if window <= 1:
        return values
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def plot_learning_curves(
    runs: Mapping[str, Sequence[History]],
    x: str = "env_steps",
    y: str = "mean_return",
    ax: Axes | None = None,
    title: str | None = None,
    band: Literal["minmax", "std"] = "minmax",
    smooth: int = 1,
    num_points: int = 200,
) -> Axes:
    """One curve per method: the mean over seeds, with a shaded band for their spread.

    Seeds log at different x values (e.g. env steps differ per run), so each run is linearly
    interpolated onto a common grid spanning the x range that all runs of a method cover.

    Args:
        runs: method name -> the ``History`` of each seed.
        x, y: column names of ``History.as_dict()`` ("iteration", "env_steps", "wall_time";
            "mean_return", "loss", or an extra diagnostic).
        ax: Axes to draw on; a new figure's if None.
        title: Axes title.
        band: "minmax" shades between the worst and best seed, "std" the mean +- one standard
            deviation over seeds. No band for a single seed.
        smooth: trailing moving-average window (in iterations) applied to each run first.
        num_points: size of the common x grid.

    Returns:
        The Axes, with one line and (for several seeds) one shaded band per method.
    """
    ax = _new_axes_if_none(ax)
    for label, histories in runs.items():
        if not histories:
            raise ValueError(f"no runs for {label!r}")
        columns = [history.as_dict() for history in histories]
        for column in columns:
            if x not in column or y not in column:
                raise KeyError(f"History has no column {x!r} or {y!r}; it has {list(column)}")
        xs = [np.asarray(column[x], dtype=float) for column in columns]
        ys = [_moving_average(np.asarray(column[y], dtype=float), smooth) for column in columns]
        grid = np.linspace(max(v[0] for v in xs), min(v[-1] for v in xs), num_points)
        curves = np.stack(
            [np.interp(grid, run_x, run_y) for run_x, run_y in zip(xs, ys, strict=True)]
        )
        mean = curves.mean(axis=0)
        (line,) = ax.plot(grid, mean, label=label)
        if len(curves) > 1:
            if band == "minmax":
                lower, upper = curves.min(axis=0), curves.max(axis=0)
            else:
                spread = curves.std(axis=0)
                lower, upper = mean - spread, mean + spread
            ax.fill_between(grid, lower, upper, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    if title is not None:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_variance_vs_samples(
    sample_sizes: Sequence[int] | np.ndarray,
    variances: Sequence[float] | np.ndarray,
    ax: Axes | None = None,
    label: str | None = None,
    reference: bool = True,
) -> Axes:
    """Log-log plot of an estimator's variance against the number of samples it averages.

    An average of n independent samples has variance proportional to 1/n; the dashed reference
    line (through the first point) shows that slope, so a steeper or shallower curve stands out.
    Call again on the same ``ax`` with ``reference=False`` to compare several estimators.

    Returns:
        The Axes, with the variance line (and the reference line if ``reference``).
    """
    sample_sizes = np.asarray(sample_sizes, dtype=float)
    variances = np.asarray(variances, dtype=float)
    if sample_sizes.shape != variances.shape or sample_sizes.ndim != 1:
        raise ValueError("sample_sizes and variances must be 1-d and of the same length")
    ax = _new_axes_if_none(ax)
    ax.loglog(sample_sizes, variances, marker="o", label=label)
    if reference:
        ax.loglog(
            sample_sizes,
            variances[0] * sample_sizes[0] / sample_sizes,
            linestyle="--",
            color="gray",
            label=r"$\propto 1/n$",
        )
    ax.set_xlabel("number of samples n")
    ax.set_ylabel("variance")
    ax.legend()
    return ax


def plot_variance_bars(
    variances: Mapping[str, float],
    ax: Axes | None = None,
    title: str | None = None,
    log_scale: bool = True,
) -> Axes:
    """Bar chart comparing the variance of several estimators (e.g. with and without baseline).

    Returns:
        The Axes, one bar per estimator, labelled with its name.
    """
    ax = _new_axes_if_none(ax)
    names = list(variances)
    ax.bar(names, [float(variances[name]) for name in names], color="tab:blue")
    if log_scale:
        ax.set_yscale("log")
    ax.set_ylabel("variance")
    if title is not None:
        ax.set_title(title)
    return ax
