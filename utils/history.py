"""What a training run measured: the ``History`` every trainer returns and every plot reads."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["History"]


@dataclass
class History:
    """What a training run measured, one entry per logged iteration (lists of equal length).

    Attributes:
        iteration: 0, 1, 2, ...
        env_steps: environment steps collected so far (cumulative, real steps only).
        mean_return: the mean undiscounted return of recent episodes (each trainer says which).
        loss: the value of the loss that was minimised.
        wall_time: seconds since the start of training.
        extra: further per-iteration diagnostics by name (e.g. "approx_kl"), same length.
    """

    iteration: list[int] = field(default_factory=list)
    env_steps: list[int] = field(default_factory=list)
    mean_return: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)

    def log(
        self,
        *,
        env_steps: int,
        mean_return: float,
        loss: float,
        wall_time: float,
        **extra: float,
    ) -> None:
        """Append one iteration's measurements (the iteration number is counted here)."""
        self.iteration.append(len(self.iteration))
        self.env_steps.append(int(env_steps))
        self.mean_return.append(float(mean_return))
        self.loss.append(float(loss))
        self.wall_time.append(float(wall_time))
        for name, value in extra.items():
            self.extra.setdefault(name, []).append(float(value))

    def as_dict(self) -> dict[str, list]:
        """All columns by name, the extra diagnostics included (e.g. for a DataFrame)."""
        return {
            "iteration": list(self.iteration),
            "env_steps": list(self.env_steps),
            "mean_return": list(self.mean_return),
            "loss": list(self.loss),
            "wall_time": list(self.wall_time),
            **{name: list(values) for name, values in self.extra.items()},
        }

    def __len__(self) -> int:
        return len(self.iteration)
