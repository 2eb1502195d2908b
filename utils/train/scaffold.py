"""The plumbing every trainer shares, written once.

A trainer is its algorithm and nothing else; this module gives it, through :class:`Run`, the
rest: a seeded start, the device (a GPU when there is one), the vector environments, one thread
per CPU operation (faster for small networks), a progress bar that stays quiet under nbgrader,
the clock, the :class:`~utils.history.History` it returns, and checks that stop a run the moment
the student's function returns something that is not a finite scalar. ::

    with Run(config, name="A2C", total=iterations) as run:
        for iteration in run.steps():
            ...  # collect with run.envs on run.device, compute, update
            loss = run.scalar("loss_fn", loss_fn(...))
            run.log(env_steps=..., mean_return=..., loss=loss.item())
    return run.history

Settings come in a config dataclass per trainer (see ``config.py``): ``RunConfig`` holds what
every run has (environment, seed, device, progress bar).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack

import numpy as np
import torch
from tqdm.auto import tqdm

from utils.envs import make_vector_env
from utils.history import History
from utils.runtime import device as default_device
from utils.runtime import is_grading, limit_cpu_threads, seed_everything
from utils.train.config import RunConfig

__all__ = ["ReturnTracker", "Run", "explained_variance"]


class Run:
    """One training run's plumbing; use it as a context manager (it closes the environments)."""

    def __init__(self, config: RunConfig, *, name: str, total: int, make_envs: bool = True):
        self.config = config
        self.name = name
        self.total = total
        self.make_envs = make_envs
        self.history = History()
        self.envs = None
        self.device = torch.device("cpu")
        self._stack = ExitStack()
        self._bar = None
        self._start = 0.0

    def __enter__(self) -> Run:
        seed_everything(self.config.seed)
        self.device = (
            default_device() if self.config.device is None else torch.device(self.config.device)
        )
        if self.make_envs:
            # no RecordEpisodeStatistics: the collectors count finished episodes' returns
            self.envs = make_vector_env(
                self.config.env_id,
                num_envs=self.config.num_envs,
                seed=self.config.seed,
                episode_statistics=False,
            )
            self._stack.callback(self.envs.close)
        self._stack.enter_context(limit_cpu_threads())
        self._bar = self._stack.enter_context(
            tqdm(
                total=self.total,
                desc=self.name,
                disable=not self.config.progress or is_grading(),
            )
        )
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def steps(self) -> Iterator[int]:
        """0, 1, ..., total - 1, moving the progress bar."""
        for step in range(self.total):
            yield step
            self._bar.update(1)

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self._start

    def log(self, *, env_steps: int, mean_return: float, loss: float, **extra: float) -> None:
        """Append one iteration to the history, and show its mean return on the bar."""
        self.history.log(
            env_steps=env_steps,
            mean_return=mean_return,
            loss=loss,
            wall_time=self.elapsed,
            **extra,
        )
        self._bar.set_postfix(mean_return=f"{mean_return:.1f}")

    def log_returns(
        self,
        tracker: ReturnTracker,
        solved_return: float | None,
        *,
        env_steps: int,
        loss: float,
        **extra: float,
    ) -> bool:
        """Log one iteration with ``tracker``'s mean return (nothing until an episode has
        finished); True once that mean reaches ``solved_return`` (never when it is None): the
        trainer then stops."""
        if tracker.num_episodes == 0:
            return False
        self.log(env_steps=env_steps, mean_return=tracker.mean, loss=loss, **extra)
        return solved_return is not None and tracker.mean >= solved_return

    @staticmethod
    def scalar(name: str, value: object) -> torch.Tensor:
        """``value`` itself, once it is known to be a finite scalar tensor (else a clear error).

        Every number a student's function hands a trainer goes through here: a wrong shape stops
        the run with a TypeError that names the function, a NaN or infinity with a
        FloatingPointError, instead of a silent, diverging run.
        """
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise TypeError(f"{name} must return a scalar tensor, got {value!r}")
        number = value.item()  # one call: cheaper than torch.isfinite(...).all() per minibatch
        if not math.isfinite(number):
            raise FloatingPointError(f"{name} returned {number}: training diverged")
        return value


def explained_variance(values: torch.Tensor, targets: torch.Tensor) -> float:
    """1 - Var[targets - values] / Var[targets]: 1 is a perfect critic, 0 one that predicts a
    constant, below 0 one worse than that. NaN when the targets do not vary."""
    spread = targets.var()
    if spread.item() == 0 or targets.numel() < 2:
        return math.nan
    return (1 - (targets - values).var() / spread).item()


class ReturnTracker:
    """Mean undiscounted return of the most recent ``window`` finished episodes."""

    def __init__(self, window: int):
        self.recent: deque[float] = deque(maxlen=window)
        self.num_episodes = 0

    def add(self, returns: torch.Tensor) -> None:
        values = returns.tolist()
        self.recent.extend(values)
        self.num_episodes += len(values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.recent)) if self.recent else math.nan
