"""The notebooks' heavy training cells on the GPU and on the CPU, side by side in one run.

Each case is one training run of a notebook's longest experiment, with the instructor's solution
functions (loaded from ``solutions/`` by ``autograde.reference``), timed on ``cuda`` and on
``cpu`` in alternation (``--repeats`` rounds, median); the ratio says whether a student gains
anything from Colab's GPU runtime. The networks of these notebooks are small, so on a CPU the
policy's forward pass, not the environment, is the cost; on a GPU each step pays a kernel launch
and a host-device copy instead. Results go to benchmarks/results/gpu_cells.md.

    python benchmarks/gpu_cells.py [--repeats 3] [--scale 0.25]

Without a GPU it says so and exits 0 (nothing to compare).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.reference import solution_functions  # noqa: E402
from utils.train import A2CConfig, ReinforceConfig, train_a2c, train_reinforce  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "gpu_cells.md"


def reward_to_go_loss(log_probs, batch):
    reward_to_go = batch.rewards.flip(1).cumsum(dim=1).flip(1)
    return -(log_probs * reward_to_go).sum(dim=1).mean()


def cases(scale: float) -> dict:
    """name -> run(device): the heavy cells, at ``scale`` times the notebook's budget."""
    actor_critic = solution_functions("03_actor_critic")
    a2c = A2CConfig(total_steps=int(300_000 * scale), progress=False)
    reinforce = ReinforceConfig(iterations=max(1, int(50 * scale)), progress=False)
    return {
        "03 A2C on CartPole (8 envs x 8 steps per update)": lambda device: train_a2c(
            actor_critic.actor_critic_loss,
            actor_critic.gae,
            dataclasses.replace(a2c, device=device),
        ),
        "01-03 REINFORCE on CartPole (32 episodes per batch)": lambda device: train_reinforce(
            reward_to_go_loss, dataclasses.replace(reinforce, device=device)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds per device")
    parser.add_argument("--scale", type=float, default=0.25, help="fraction of each cell's budget")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no GPU here: nothing to compare (run this on a machine with CUDA)")
        return
    times: dict[str, dict[str, list[float]]] = {}
    for name, run in cases(args.scale).items():
        times[name] = {"cuda": [], "cpu": []}
        run("cuda")  # warm-up: CUDA context, kernels, allocator
        for _ in range(args.repeats):
            for device in ("cuda", "cpu"):
                started = time.perf_counter()
                run(device)
                if device == "cuda":
                    torch.cuda.synchronize()
                times[name][device].append(time.perf_counter() - started)
                print(f"{name}: {device}: {times[name][device][-1]:.1f} s", flush=True)
    lines = [
        "# The heavy training cells on the GPU and on the CPU",
        "",
        f"{date.today().isoformat()}; {torch.cuda.get_device_name()}; CPU: {platform.machine()}, "
        f"{os.cpu_count()} cores; torch {torch.__version__}; {args.scale} of each cell's budget; "
        f"median of {args.repeats} alternating rounds.",
        "",
        "| cell | GPU (s) | CPU (s) | CPU / GPU |",
        "| --- | --- | --- | --- |",
    ]
    for name, by_device in times.items():
        gpu, cpu = (statistics.median(by_device[d]) for d in ("cuda", "cpu"))
        lines.append(f"| {name} | {gpu:.1f} | {cpu:.1f} | {cpu / gpu:.2f}x |")
    print("\n".join(lines))
    if not args.no_write:
        RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
