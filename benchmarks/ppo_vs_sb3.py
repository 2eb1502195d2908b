"""Our reference PPO against Stable-Baselines3's PPO on CartPole-v1, side by side.

Ours is notebook 05's solution (``ppo_update``, ``ppo_clip_loss``, ``ppo_value_loss``,
``approx_kl``, ``clip_fraction``) with notebook 03's ``gae``, loaded from the solution notebooks
(``autograde.reference``: one source of truth, no copy), run by ``utils.train.train_ppo``. Theirs
is ``stable_baselines3.PPO`` with RL-Zoo's tuned hyperparameters for CartPole-v1. Both use the
same settings (8 environments, 32 steps per rollout, one minibatch of 256, 20 epochs, gamma 0.98,
GAE lambda 0.8, learning rate 1e-3 and clip range 0.2 both decayed linearly over 100,000 steps,
separate 64-64 tanh networks, gradient norm 0.5, no entropy bonus).

A run stops when it is **solved**: the mean return of its last 20 finished episodes reaches 475
(checked after every step for SB3, after every 256-step rollout for ours, which can only count
against us). Methods alternate within each seed, and which one goes first alternates between
seeds, so that a change in the machine's load hits both. Per method: the seeds that solve within
100,000 steps, the median environment steps and wall time to solve (from building the
environments to solving), and the ratios ours / SB3. The target: 10/10 seeds solve, our median
steps <= SB3's, our median wall time <= 0.5 x SB3's.

    pip install -c constraints.txt -e ".[bench]"   # stable-baselines3, the benchmark's only extra
    python benchmarks/ppo_vs_sb3.py                # 10 seeds each, writes benchmarks/results/
    python benchmarks/ppo_vs_sb3.py --seeds 0 1 --no-write
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
from collections import deque
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402

from autograde.reference import solution_functions  # noqa: E402
from utils.train import PPOConfig, train_ppo  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "ppo_vs_sb3.md"
SOLVED = 475.0
WINDOW = 20
TOTAL_STEPS = 100_000

# RL-Zoo's hyperparameters for PPO on CartPole-v1 (rl-baselines3-zoo, hyperparams/ppo.yml).
ZOO = dict(
    n_envs=8,
    n_steps=32,
    batch_size=256,
    gae_lambda=0.8,
    gamma=0.98,
    n_epochs=20,
    ent_coef=0.0,
    learning_rate=1e-3,  # linearly decayed to 0 ("lin_1e-3")
    clip_range=0.2,  # linearly decayed to 0 ("lin_0.2")
)
OURS = PPOConfig(
    env_id="CartPole-v1",
    num_envs=8,
    num_steps=32,
    num_epochs=20,
    num_minibatches=1,
    lr=1e-3,
    anneal_lr=True,
    gamma=0.98,
    lam=0.8,
    clip_eps=0.2,
    anneal_clip=True,
    value_coef=0.5,
    entropy_coef=0.0,
    max_grad_norm=0.5,
    hidden_sizes=(64, 64),
    total_steps=TOTAL_STEPS,
    return_window=WINDOW,
    solved_return=SOLVED,
    progress=False,
)


def run_ours(seed: int, functions: dict, total_steps: int = TOTAL_STEPS) -> dict:
    start = time.perf_counter()
    config = dataclasses.replace(OURS, seed=seed, total_steps=total_steps)
    history = train_ppo(**functions, config=config)
    seconds = time.perf_counter() - start
    solved = bool(history.mean_return) and history.mean_return[-1] >= SOLVED
    return {"steps": history.env_steps[-1], "seconds": seconds, "solved": solved}


def run_sb3(seed: int, total_steps: int = TOTAL_STEPS) -> dict:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class StopWhenSolved(BaseCallback):
        """Follows the finished episodes' returns (Monitor's info) and stops at a mean of 475."""

        def __init__(self, start: float):
            super().__init__()
            self.start = start
            self.returns: deque[float] = deque(maxlen=WINDOW)
            self.solved_at: tuple[int, float] | None = None

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
            if self.returns and sum(self.returns) / len(self.returns) >= SOLVED:
                self.solved_at = (self.num_timesteps, time.perf_counter() - self.start)
                return False
            return True

    def linear(initial: float):
        return lambda progress_remaining: progress_remaining * initial

    start = time.perf_counter()
    settings = dict(ZOO)
    envs = make_vec_env("CartPole-v1", n_envs=settings.pop("n_envs"), seed=seed)
    model = PPO(
        "MlpPolicy",
        envs,
        **{**settings, "learning_rate": linear(1e-3), "clip_range": linear(0.2)},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    callback = StopWhenSolved(start)
    model.learn(total_timesteps=total_steps, callback=callback)
    envs.close()
    if callback.solved_at is None:
        return {
            "steps": model.num_timesteps,
            "seconds": time.perf_counter() - start,
            "solved": False,
        }
    steps, seconds = callback.solved_at
    return {"steps": steps, "seconds": seconds, "solved": True}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import stable_baselines3

    return (
        f"{os.cpu_count()} CPU cores ({cpu}), Python {platform.python_version()}, torch "
        f"{torch.__version__} (SB3 on {torch.get_num_threads()} torch threads, ours on one), "
        f"gymnasium {gym.__version__}, stable-baselines3 {stable_baselines3.__version__}"
    )


def summary(rows: list[dict], method: str) -> dict:
    solved = [row for row in rows if row["solved"]]
    return {
        "solved": len(solved),
        "runs": len(rows),
        "steps": statistics.median(r["steps"] for r in solved) if solved else float("nan"),
        "seconds": statistics.median(r["seconds"] for r in solved) if solved else float("nan"),
        "method": method,
    }


def report(results: dict[str, list[dict]], seeds: list[int], loads: list[float]) -> str:
    ours, theirs = summary(results["ours"], "ours"), summary(results["sb3"], "SB3")
    step_ratio = ours["steps"] / theirs["steps"]
    time_ratio = ours["seconds"] / theirs["seconds"]
    lines = [
        "# PPO on CartPole-v1: ours against Stable-Baselines3 (`benchmarks/ppo_vs_sb3.py`)",
        "",
        "Ours: notebook 05's solution functions with notebook 03's `gae` (loaded from the "
        "solution notebooks), run by `utils.train.train_ppo`. Theirs: `stable_baselines3.PPO` with "
        "RL-Zoo's CartPole-v1 hyperparameters. Same settings for both: 8 environments, 32 steps "
        "per rollout, one minibatch of 256, 20 epochs, gamma 0.98, GAE lambda 0.8, learning rate "
        "1e-3 and clip range 0.2 decayed linearly over 100,000 steps, separate 64-64 tanh "
        "networks, gradient norm 0.5. Solved: the mean return of the last 20 episodes reaches "
        "475. Wall time from building the environments to solving; the methods alternate "
        "within each seed.",
        "",
        "| seed | ours: steps | ours: seconds | SB3: steps | SB3: seconds |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for seed, mine, theirs_row in zip(seeds, results["ours"], results["sb3"], strict=True):

        def cell(row):
            mark = "" if row["solved"] else " (not solved)"
            return f"{row['steps']:,}{mark} | {row['seconds']:.1f}"

        lines.append(f"| {seed} | {cell(mine)} | {cell(theirs_row)} |")
    lines += [
        "",
        "| method | seeds solved | median steps to solve | median seconds to solve |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in (ours, theirs):
        lines.append(
            f"| {row['method']} | {row['solved']}/{row['runs']} | {row['steps']:,.0f} "
            f"| {row['seconds']:.1f} |"
        )
    hits = [
        ours["solved"] == ours["runs"],
        step_ratio <= 1.0,
        time_ratio <= 0.5,
    ]
    lines += [
        "",
        f"**Ratios ours / SB3: median steps {step_ratio:.2f}, median wall time {time_ratio:.2f}.** "
        f"Target: every seed solves ({'met' if hits[0] else 'missed'}), steps ratio <= 1 "
        f"({'met' if hits[1] else 'missed'}), wall-time ratio <= 0.5 "
        f"({'met' if hits[2] else 'missed'}).",
        "",
        f"Measured {date.today().isoformat()} on {machine()}. Load average (1 minute) "
        f"before and after the runs: {loads[0]:.1f} and {loads[1]:.1f}: other processes "
        "shared the cores, so wall times are noisy; the interleaving gives both methods the "
        "same conditions on average.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--no-write", action="store_true", help="print only, keep the results")
    parser.add_argument(
        "--sb3-threads",
        type=int,
        default=None,
        help="torch threads for SB3 (default: torch's own, one per core); ours always uses one",
    )
    args = parser.parse_args()
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        print("stable-baselines3 is not installed: pip install stable-baselines3", file=sys.stderr)
        return 2

    reference = solution_functions("05_trpo_ppo")
    functions = dict(
        update_fn=reference.ppo_update,
        policy_loss_fn=reference.ppo_clip_loss,
        value_loss_fn=reference.ppo_value_loss,
        advantage_fn=solution_functions("03_actor_critic").gae,
        kl_fn=reference.approx_kl,
        clip_fraction_fn=reference.clip_fraction,
    )
    if args.sb3_threads is not None:
        # utils.train limits ours to one thread inside each run and restores this afterwards
        torch.set_num_threads(args.sb3_threads)
    # Warm up both (imports, first optimiser step), so that no timed run pays for them.
    run_ours(0, functions, total_steps=512)
    run_sb3(0, total_steps=512)

    loads = [os.getloadavg()[0]]
    results: dict[str, list[dict]] = {"ours": [], "sb3": []}
    for index, seed in enumerate(args.seeds):
        order = ["ours", "sb3"] if index % 2 == 0 else ["sb3", "ours"]
        for method in order:
            row = run_ours(seed, functions) if method == "ours" else run_sb3(seed)
            results[method].append(row)
            print(
                f"seed {seed} {method:>4}: {'solved' if row['solved'] else 'NOT solved'} at "
                f"{row['steps']:,} steps, {row['seconds']:.1f} s (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    loads.append(os.getloadavg()[0])
    text = report(results, args.seeds, loads)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
