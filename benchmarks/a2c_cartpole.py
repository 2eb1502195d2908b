"""A2C on CartPole-v1 with the notebook-03 solution functions: does it solve the task?

Runs ``utils.train.train_a2c`` with the solution's two graded functions it takes (``gae`` and
``actor_critic_loss``, loaded from the solution notebook by ``autograde.reference``) and the
default ``A2CConfig`` (the settings the notebook's A2C experiment uses, with a smaller budget
there) on several seeds, and records for each seed the mean return of the last 100 finished
episodes at the end of training, the first environment step at which that 100-episode mean
reached 475 (CartPole-v1's "solved" threshold), the environment steps and the wall time. The
target: a final mean return >= 475 on at least 4 of 5 seeds.

    python benchmarks/a2c_cartpole.py                      # 5 seeds, writes the results file
    python benchmarks/a2c_cartpole.py --seeds 0 1 --no-write
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.reference import solution_functions  # noqa: E402
from utils.train import A2CConfig, train_a2c  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "a2c_cartpole.md"
SOLVED = 475.0
WINDOW = 100  # episodes averaged for the "mean return", as in gymnasium's solved criterion
CONFIG = A2CConfig(return_window=WINDOW, progress=False)


def run_seed(seed: int, total_steps: int) -> dict[str, float]:
    reference = solution_functions("03_actor_critic")
    config = dataclasses.replace(CONFIG, total_steps=total_steps, seed=seed)
    start = time.perf_counter()
    history = train_a2c(reference.actor_critic_loss, reference.gae, config)
    wall_time = time.perf_counter() - start
    returns = np.asarray(history.mean_return)
    solved = np.flatnonzero(returns >= SOLVED)
    return {
        "seed": seed,
        "final": float(returns[-1]),
        "first_solved": int(history.env_steps[solved[0]]) if solved.size else None,
        "env_steps": int(history.env_steps[-1]),
        "wall_time": wall_time,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| seed | final mean return (last 100 episodes) | first step at mean >= 475 "
        "| env steps | wall time (s) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        first = f"{row['first_solved']:,}" if row["first_solved"] is not None else "never"
        lines.append(
            f"| {row['seed']} | {row['final']:.1f} | {first} | {row['env_steps']:,} "
            f"| {row['wall_time']:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--total-steps", type=int, default=CONFIG.total_steps)
    parser.add_argument("--no-write", action="store_true", help="print only, keep the results")
    args = parser.parse_args()

    rows = []
    for seed in args.seeds:
        rows.append(run_seed(seed, args.total_steps))
        row = rows[-1]
        print(
            f"seed {seed}: final mean return {row['final']:.1f}, first >= {SOLVED:.0f} at "
            f"{row['first_solved']}, {row['env_steps']:,} steps, {row['wall_time']:.1f} s",
            flush=True,
        )
    num_solved = sum(row["final"] >= SOLVED for row in rows)
    verdict = f"{num_solved} of {len(rows)} seeds end with a mean return >= {SOLVED:.0f}"
    print(verdict)

    if not args.no_write:
        settings = ", ".join(
            f"`{field.name}={getattr(CONFIG, field.name)}`"
            for field in dataclasses.fields(CONFIG)
            if field.name not in ("seed", "progress", "device")
        )
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(
            "# A2C on CartPole-v1 (`benchmarks/a2c_cartpole.py`)\n\n"
            "`utils.train.train_a2c` with the notebook-03 solution's "
            "`gae` and `actor_critic_loss`. The mean return is that of the last "
            f"{WINDOW} finished episodes; CartPole-v1 counts as solved at {SOLVED:.0f}.\n\n"
            f"Settings: {settings}.\n\n"
            f"{table(rows)}\n\n"
            f"**{verdict}** (target: at least 4 of 5).\n\n"
            f"Measured {date.today().isoformat()} on {os.cpu_count()} CPU cores "
            f"({platform.processor() or platform.machine()}), torch {torch.__version__}, "
            "one torch thread (`utils.limit_cpu_threads`), no GPU. Wall times include "
            "environment stepping and are noisy when other processes share the cores.\n",
            encoding="utf-8",
        )
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0 if 5 * num_solved >= 4 * len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
