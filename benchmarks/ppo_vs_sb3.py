"""Our reference PPO against Stable-Baselines3's PPO on CartPole-v1, side by side.

Ours is notebook 05's solution (``ppo_update``, ``ppo_clip_loss``, ``ppo_value_loss``,
``approx_kl``, ``clip_fraction``) with notebook 03's ``gae``, loaded from the solution notebooks
(``autograde.reference``: one source of truth, no copy), run by ``utils.train.train_ppo``. Theirs
is ``stable_baselines3.PPO`` with RL-Zoo's tuned hyperparameters for CartPole-v1, written once as
``PPOConfig.rl_zoo_cartpole()`` and translated for SB3 by ``sb3_settings`` (8 environments, 32
steps per rollout, one minibatch of 256, 20 epochs, gamma 0.98, GAE lambda 0.8, learning rate
1e-3 and clip range 0.2 both decayed linearly over 100,000 steps, separate 64-64 tanh networks,
gradient norm 0.5, no entropy bonus).

A run stops when it is **solved**: the mean return of its last 20 finished episodes reaches 475,
tested for both after every rollout (the policy changes only between rollouts), with the
environment steps taken so far: every SB3 step is a transition; gymnasium's vector environments
spend one step per finished episode on its reset, which ours does not count (it is no
transition). Methods alternate within each seed, and which one goes first alternates between
seeds, so that a change in the machine's load hits both. Per method: the seeds that solve within
100,000 steps, the median environment steps and wall time to solve (from building the
environments to solving), and the ratios ours / SB3, the steps ratio with a bootstrap interval
(seeds to solve vary by a factor of two, so a ratio of two medians moves by chance), and the
time per transition spent inside the solution's update loop. 20 seeds by default (the issue asks
for 10; ratios of 1.06 and 1.29 came from two 10-seed runs), and even 20 leave the steps ratio's
95% interval about +-20% wide: benchmarks/results/ppo_vs_sb3.md pools more runs. The target:
every seed solves, our median steps <= SB3's, our median wall time <= 0.5 x SB3's.

    pip install -c constraints.txt -e ".[bench]"   # stable-baselines3, the benchmark's only extra
    python benchmarks/ppo_vs_sb3.py                # 20 seeds each, writes benchmarks/results/
    python benchmarks/ppo_vs_sb3.py --seeds 0 1 --no-write
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
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
# RL-Zoo's hyperparameters for PPO on CartPole-v1, written once (utils.train.ppo): ours run them,
# SB3 gets them translated by sb3_settings.
OURS = PPOConfig.rl_zoo_cartpole(progress=False)
SOLVED = OURS.solved_return
WINDOW = OURS.return_window
TOTAL_STEPS = OURS.total_steps


def sb3_settings(config: PPOConfig) -> dict:
    """``config`` in SB3's PPO arguments (the learning rate and clip range decayed linearly
    to 0 as functions of SB3's progress_remaining, as RL-Zoo's "lin_" schedules do)."""

    def linear(initial: float, anneal: bool):
        return (lambda progress_remaining: progress_remaining * initial) if anneal else initial

    return dict(
        n_steps=config.num_steps,
        batch_size=config.num_envs * config.num_steps // config.num_minibatches,
        n_epochs=config.num_epochs,
        gamma=config.gamma,
        gae_lambda=config.lam,
        learning_rate=linear(config.lr, config.anneal_lr),
        clip_range=linear(config.clip_eps, config.anneal_clip),
        clip_range_vf=config.value_clip_eps,
        ent_coef=config.entropy_coef,
        vf_coef=config.value_coef,
        max_grad_norm=config.max_grad_norm,
        target_kl=config.target_kl,
        policy_kwargs=dict(net_arch=list(config.hidden_sizes)),
    )


def run_ours(seed: int, functions: dict, total_steps: int = TOTAL_STEPS) -> dict:
    """One run of ours; also measures the time spent inside the solution's ``ppo_update``
    (the gradient steps the settings prescribe), which no trainer change can make cheaper."""
    update_seconds = 0.0

    def timed_update(*args, **kwargs):
        nonlocal update_seconds
        begin = time.perf_counter()
        try:
            return functions["update_fn"](*args, **kwargs)
        finally:
            update_seconds += time.perf_counter() - begin

    start = time.perf_counter()
    config = dataclasses.replace(OURS, seed=seed, total_steps=total_steps)
    history = train_ppo(**{**functions, "update_fn": timed_update}, config=config)
    seconds = time.perf_counter() - start
    solved = bool(history.mean_return) and history.mean_return[-1] >= SOLVED
    return {
        "steps": history.env_steps[-1],
        "seconds": seconds,
        "solved": solved,
        "update_seconds": update_seconds,
    }


def run_sb3(seed: int, total_steps: int = TOTAL_STEPS) -> dict:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class StopWhenSolved(BaseCallback):
        """Follows the finished episodes' returns (Monitor's info) and tests, after every
        rollout, whether the last 20 have a mean of 475 (ours tests at the same points: the
        policy only changes between rollouts); stops at the next step once they have."""

        def __init__(self, start: float):
            super().__init__()
            self.start = start
            self.returns: deque[float] = deque(maxlen=WINDOW)
            self.solved_at: tuple[int, float] | None = None

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
            return self.solved_at is None

        def _on_rollout_end(self) -> None:
            # before this rollout's update, which SB3 still runs (not counted in its time)
            if self.solved_at is None and self.returns:
                if sum(self.returns) / len(self.returns) >= SOLVED:
                    self.solved_at = (self.num_timesteps, time.perf_counter() - self.start)

    start = time.perf_counter()
    envs = make_vec_env(OURS.env_id, n_envs=OURS.num_envs, seed=seed)
    model = PPO("MlpPolicy", envs, **sb3_settings(OURS), seed=seed, device="cpu", verbose=0)
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


def solved_rows(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row["solved"]]


def summary(rows: list[dict], method: str) -> dict:
    solved = solved_rows(rows)
    return {
        "solved": len(solved),
        "runs": len(rows),
        "steps": statistics.median(r["steps"] for r in solved) if solved else float("nan"),
        "seconds": statistics.median(r["seconds"] for r in solved) if solved else float("nan"),
        "method": method,
    }


def bootstrap_ratio_interval(
    ours: list[dict], theirs: list[dict], draws: int = 2000
) -> tuple[float, float]:
    """95% interval of median steps (ours) / median steps (SB3) over seeds resampled with
    replacement: how far the ratio of two 10- or 20-seed medians moves by chance alone."""
    mine = [row["steps"] for row in solved_rows(ours)]
    their = [row["steps"] for row in solved_rows(theirs)]
    if not mine or not their:
        return float("nan"), float("nan")
    generator = random.Random(0)
    ratios = sorted(
        statistics.median(generator.choices(mine, k=len(mine)))
        / statistics.median(generator.choices(their, k=len(their)))
        for _ in range(draws)
    )
    return ratios[int(0.025 * draws)], ratios[int(0.975 * draws) - 1]


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
        "475, tested after every rollout for both; steps are transitions (ours leave out "
        "gymnasium's reset steps). Wall time from building the environments to solving; the "
        "methods alternate within each seed.",
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
    low, high = bootstrap_ratio_interval(results["ours"], results["sb3"])
    mine_solved, theirs_solved = solved_rows(results["ours"]), solved_rows(results["sb3"])

    def per_step_ms(rows: list[dict], key: str) -> float:
        return 1000 * statistics.median(row[key] / row["steps"] for row in rows)

    ours_ms, update_ms = (
        per_step_ms(mine_solved, "seconds"),
        per_step_ms(mine_solved, "update_seconds"),
    )
    sb3_ms = per_step_ms(theirs_solved, "seconds")
    lines += [
        "",
        f"Steps ratio with a 95% bootstrap interval (seeds resampled, 2,000 draws): "
        f"{step_ratio:.2f} [{low:.2f}, {high:.2f}].",
        "",
        f"Wall time per transition (median over seeds): ours {ours_ms:.3f} ms, of which "
        f"{update_ms:.3f} ms inside the solution's `ppo_update` (20 epochs of one 256-sample "
        f"minibatch per rollout); SB3 {sb3_ms:.3f} ms. Ours / SB3 per transition: "
        f"{ours_ms / sb3_ms:.2f}; the update alone: {update_ms / sb3_ms:.2f}, the wall-time "
        "ratio ours would reach at equal steps with environments and a collector that cost "
        "nothing.",
    ]
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
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(20)))
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
