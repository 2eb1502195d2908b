"""The RLHF capstone's chain, stage by stage: how long each takes and what it reaches.

Runs SFT -> comparisons -> reward model -> PPO -> best-of-n -> DPO with the settings the
notebook uses (``ChainSettings`` in ``tests/test_utils_rlhf.py``) and the notebook's graded
functions, loaded from the solution notebook itself (``autograde.reference``), and records,
per stage, the wall time and the CPU time of this process (the machine is shared: CPU time is
what the stage costs, wall time what it took here), and the numbers the capstone claims:
held-out loss, reward-model accuracy against the Bayes ceiling, gold reward and KL of PPO,
best-of-n and DPO. Budget: the whole chain in about 3 minutes on 2 CPU cores, so that notebook
06 runs in under 5.

    python benchmarks/rlhf_stages.py             # writes benchmarks/results/rlhf_stages.md
    python benchmarks/rlhf_stages.py --no-write
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import test_utils_rlhf as reference  # noqa: E402

from autograde.reference import solution_functions  # noqa: E402
from utils.lm import Labeller, LMConfig, RewardModel, TinyLM, World, collect_comparisons  # noqa: E402
from utils.runtime import device  # noqa: E402
from utils.train.rlhf import (  # noqa: E402
    PPOFunctions,
    best_of_n,
    evaluate_policy,
    response_scores,
    train_dpo,
    train_reward_model,
    train_rlhf_ppo,
    train_sft,
)

RESULTS = ROOT / "benchmarks" / "results" / "rlhf_stages.md"
BEST_OF = [1, 2, 4, 8, 16, 32, 64]


def clock() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime + usage.ru_stime


class Stages:
    """Times each stage (wall and CPU) and keeps what it measured."""

    def __init__(self):
        self.rows: list[tuple[str, float, float, str]] = []
        self._start = clock()

    def done(self, name: str, result: str) -> None:
        wall, cpu = clock()
        self.rows.append((name, wall - self._start[0], cpu - self._start[1], result))
        print(f"{name:<16} wall {wall - self._start[0]:6.1f} s  cpu {cpu - self._start[1]:6.1f} s"
              f"  {result}", flush=True)  # fmt: skip
        self._start = clock()


def trajectory(history, every: int = 10) -> str:
    gold, kl = history.extra["gold"], history.extra["kl"]
    points = range(every - 1, len(history), every)
    return ", ".join(f"{i + 1}: {gold[i]:.2f}, {kl[i]:.2f}" for i in points)


def run_chain(settings: reference.ChainSettings) -> Stages:
    solution = solution_functions("06_rlhf")
    functions = PPOFunctions(
        response_log_probs=solution.response_log_probs,
        kl_penalized_rewards=solution.kl_penalized_rewards,
        masked_whiten=solution.masked_whiten,
        ppo_policy_loss=solution.ppo_policy_loss,
        ppo_value_loss=solution.ppo_value_loss,
    )
    world = World()
    stages = Stages()
    evaluation_prompts = world.prompts(1024, seed=99)

    torch.manual_seed(settings.sft.seed)
    tokenizer = world.tokenizer
    sft = TinyLM(
        LMConfig(vocab_size=len(tokenizer)), eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id
    )
    tokens, mask = world.demonstrations(settings.demonstrations, seed=settings.sft.seed)
    train_sft(sft, tokens, mask, solution.response_log_probs, settings.sft)
    held, held_mask = world.demonstrations(1000, seed=12345)
    loss = reference.held_out_loss(sft.cpu(), held, held_mask)
    sft_eval = evaluate_policy(sft.to(device()), world, evaluation_prompts)
    stages.done(
        "SFT",
        f"held-out loss {loss:.3f} nats/token; gold {sft_eval['gold']:.2f}, "
        f"length {sft_eval['length']:.1f}",
    )

    torch.manual_seed(settings.reward_model.seed)
    labeller = Labeller(world, temperature=settings.labeller_temperature)
    comparisons = collect_comparisons(
        sft,
        labeller,
        world.prompts(settings.comparison_prompts, seed=settings.reward_model.seed + 1),
        solution.ranking_to_pairs,
        group_size=settings.group_size,
        generator=torch.Generator().manual_seed(settings.reward_model.seed),
    )
    train, held_out = comparisons.split(settings.held_out_fraction)
    stages.done(
        "comparisons",
        f"{len(train)} training pairs, {len(held_out)} held-out pairs "
        f"({settings.comparison_prompts} prompts x {settings.group_size} responses)",
    )

    reward_model = RewardModel(sft)
    train_reward_model(
        reward_model,
        train,
        solution.bradley_terry_loss,
        settings.reward_model,
        held_out=held_out,
        accuracy_fn=solution.preference_accuracy,
    )
    scores = response_scores(reward_model, held_out.tokens, held_out.response_mask)
    gap = scores[held_out.chosen] - scores[held_out.rejected]
    measured = (gap > 0).float().mean().item()
    expected = labeller.expected_accuracy(held_out, gap)
    stages.done(
        "reward model",
        f"held-out accuracy {measured:.3f} on the labels, {expected:.3f} in expectation; "
        f"Bayes ceiling {labeller.bayes_ceiling(held_out):.3f}",
    )

    policy = reference.copy_model(sft)
    history = train_rlhf_ppo(
        solution.rlhf_ppo_step, policy, reward_model, functions, world, settings.ppo
    )
    ppo = evaluate_policy(
        policy, world, evaluation_prompts, reference=sft, reward_model=reward_model
    )
    stages.done(
        "PPO",
        f"gold {sft_eval['gold']:.2f} -> {ppo['gold']:.2f} at KL {ppo['kl']:.2f} nats "
        f"(proxy {ppo['proxy']:.2f}; {settings.ppo.iterations} iterations x "
        f"{settings.ppo.batch_size} prompts); along the way (iteration: gold, KL of its own "
        f"batch): {trajectory(history)}",
    )

    result = best_of_n(
        sft,
        reward_model,
        world,
        world.prompts(32, seed=7),
        BEST_OF,
        solution.best_of_n_kl,
        settings.bon,
    )
    frontier = ", ".join(
        f"n={n}: gold {g:.2f} KL {k:.2f} (pool {p:.2f})"
        for n, g, k, p in zip(result.n, result.gold, result.kl, result.pool_kl, strict=True)
        if n in (1, 4, 16, 64)
    )
    stages.done("best-of-n", f"{frontier}; {result.duplicates:.0%} duplicate responses")

    policy = reference.copy_model(sft)
    train_dpo(solution.dpo_loss, solution.response_log_probs, policy, train, world, settings.dpo)
    dpo = evaluate_policy(policy, world, evaluation_prompts, reference=sft)
    stages.done("DPO", f"gold {sft_eval['gold']:.2f} -> {dpo['gold']:.2f} at KL {dpo['kl']:.2f}")
    return stages


def report(stages: Stages, settings: reference.ChainSettings, loads: list[float]) -> str:
    wall = sum(row[1] for row in stages.rows)
    cpu = sum(row[2] for row in stages.rows)
    lines = [
        "# The RLHF chain, stage by stage (`benchmarks/rlhf_stages.py`)",
        "",
        f"Measured {date.today().isoformat()} on {platform.machine()}, "
        f"{os.cpu_count()} CPU cores, torch {torch.__version__}, device {device()}; one torch "
        f"thread per training loop. Load average (1 minute) before and after: {loads[0]:.1f} and "
        f"{loads[-1]:.1f} (above about 1, other jobs shared the cores): CPU time is what a "
        "stage costs, wall time what it took in this run.",
        "",
        "| stage | wall (s) | CPU (s) | result |",
        "| --- | ---: | ---: | --- |",
        *(f"| {name} | {w:.1f} | {c:.1f} | {result} |" for name, w, c, result in stages.rows),
        f"| **total** | **{wall:.1f}** | **{cpu:.1f}** | |",
        "",
        "Settings (`ChainSettings` in `tests/test_utils_rlhf.py`): a 2-layer, d=64 `TinyLM` "
        f"(SFT on {settings.demonstrations} demonstrations, {settings.sft.steps} steps of "
        f"{settings.sft.batch_size}); the reward model is the SFT model with a scalar head, "
        f"trained {settings.reward_model.epochs} epochs on all K(K-1)/2 pairs of "
        f"{settings.comparison_prompts} prompts x {settings.group_size} responses "
        f"({settings.held_out_fraction:.0%} of the prompts held out), labeller temperature "
        f"{settings.labeller_temperature}; PPO {settings.ppo.iterations} iterations of "
        f"{settings.ppo.batch_size} prompts, beta {settings.ppo.beta}; best-of-n from a pool of "
        f"{settings.bon.pool_size} responses for each of 32 prompts; DPO "
        f"{settings.dpo.epochs} epochs on the reward model's training pairs, beta "
        f'{settings.dpo.beta}. "in expectation": the accuracy averaged over the labeller\'s '
        "noise (exact, given the gold reward), comparable with the Bayes ceiling without the "
        "sampling error of one set of labels.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    loads = [os.getloadavg()[0]]
    stages = run_chain(reference.CHAIN)
    loads.append(os.getloadavg()[0])
    text = report(stages, reference.CHAIN, loads)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
