"""Trainer settings as dataclasses, one per trainer, with a help string per field.

Settings are written once, here, with the defaults a trainer is known to work with; notebooks,
benchmarks and tests import them and change only what they need::

    config = A2CConfig(total_steps=100_000, seed=3)
    print(describe(config))  # every setting, its value and what it means

A config is frozen: ``dataclasses.replace(config, seed=4)`` makes a new one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunConfig", "describe", "option"]


def option(default: Any, help: str) -> Any:
    """A dataclass field with a default and a help string (the help shows in ``describe``)."""
    return field(default=default, metadata={"help": help})


def describe(config: Any) -> str:
    """Every setting of ``config``: name, value, help, one per line."""
    fields = dataclasses.fields(config)
    width = max(len(f.name) for f in fields)
    values = {f.name: repr(getattr(config, f.name)) for f in fields}
    value_width = max(len(v) for v in values.values())
    return "\n".join(
        f"{f.name:<{width}}  {values[f.name]:<{value_width}}  {f.metadata.get('help', '')}"
        for f in fields
    )


@dataclass(frozen=True)
class RunConfig:
    """What every training run has."""

    env_id: str = option("CartPole-v1", "gymnasium environment id")
    num_envs: int = option(8, "environments stepped side by side")
    seed: int = option(0, "seeds torch, NumPy and the environments: the same seed, the same run")
    device: str | None = option(None, "where the networks run; None: a GPU when there is one")
    progress: bool = option(True, "show a progress bar (never shown while nbgrader grades)")
