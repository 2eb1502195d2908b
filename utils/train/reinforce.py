"""REINFORCE on whole episodes, with the caller's loss (notebooks 01 and 03).

The notebook supplies the algorithm, a loss computed from the per-step log-probabilities of a
batch of complete episodes; the scaffold (``scaffold.Run``) does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from utils.history import History
from utils.policies import CategoricalPolicy, Policy, policy_for
from utils.rollouts import EpisodeBatch, collect_episodes
from utils.train.config import RunConfig, option
from utils.train.scaffold import Run

__all__ = [
    "LogProbFunction",
    "ReinforceConfig",
    "ReinforceLoss",
    "episode_log_probs",
    "train_reinforce",
]

ReinforceLoss = Callable[[torch.Tensor, EpisodeBatch], torch.Tensor]
"""``loss_fn(log_probs, batch) -> scalar``: log_probs (N, T) with grad, zero on padding."""

LogProbFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``log_prob_fn(logits, actions) -> log_probs``: logits (B, A), actions (B,) -> (B,), with grad."""


@dataclass(frozen=True)
class ReinforceConfig(RunConfig):
    """Settings of ``train_reinforce``. With the defaults, total-return REINFORCE reaches a mean
    batch return of 400-500 on CartPole-v1 within 150 iterations (about 1.5 million steps,
    10-20 s on 2 CPU cores)."""

    num_envs: int = option(
        32,
        "environments stepped side by side; equal to episodes_per_batch is fastest on a CPU "
        "(a batch then takes as many policy calls as its longest episode)",
    )
    iterations: int = option(150, "batches of episodes, one gradient step each")
    episodes_per_batch: int = option(32, "N, complete episodes per batch (a multiple of num_envs)")
    lr: float = option(0.01, "Adam learning rate")
    hidden_sizes: tuple[int, ...] = option((32,), "hidden layer widths of the policy network")


def episode_log_probs(
    policy: Policy, batch: EpisodeBatch, log_prob_fn: LogProbFunction | None = None
) -> torch.Tensor:
    """log pi(a_t | s_t) of every step of ``batch`` under ``policy``, WITH gradient.

    One forward pass over the real steps only (padding is skipped, not computed and masked),
    scattered back into the padded layout.

    Args:
        policy: the policy that acted (or any policy over the same spaces).
        batch: complete episodes from ``collect_episodes``.
        log_prob_fn: ``log_prob_fn(logits, actions) -> (B,)`` computes the log-probabilities from
            a categorical policy's logits (B, A) and the actions (B,) of the B real steps, e.g.
            the notebook's own ``categorical_log_prob``. Default: the policy's ``log_prob``.

    Returns:
        (N, T) log-probabilities, exactly zero where ``batch.mask`` is False.
    """
    observations = batch.flat(batch.observations)
    actions = batch.flat(batch.actions)
    if log_prob_fn is None:
        flat_log_probs = policy.log_prob(observations, actions)
    else:
        if not isinstance(policy, CategoricalPolicy):
            raise TypeError(
                "log_prob_fn(logits, actions) needs a categorical policy (discrete actions), "
                f"got {type(policy).__name__}"
            )
        flat_log_probs = log_prob_fn(policy(observations), actions)
        if not isinstance(flat_log_probs, torch.Tensor) or flat_log_probs.shape != actions.shape:
            shape = tuple(getattr(flat_log_probs, "shape", ()))
            raise TypeError(
                f"log_prob_fn must return one log-probability per step, shape "
                f"{tuple(actions.shape)}, got {type(flat_log_probs).__name__} of shape {shape}"
            )
    padded = torch.zeros(batch.mask.shape, dtype=flat_log_probs.dtype, device=batch.mask.device)
    return padded.masked_scatter(batch.mask, flat_log_probs)


def train_reinforce(
    loss_fn: ReinforceLoss,
    config: ReinforceConfig = ReinforceConfig(),
    *,
    policy: Policy | None = None,
    log_prob_fn: LogProbFunction | None = None,
) -> History:
    """Train a policy with a Monte-Carlo policy-gradient loss supplied by the caller.

    Every iteration: collect ``config.episodes_per_batch`` complete episodes
    (``collect_episodes``), recompute their log-probabilities with gradient
    (``episode_log_probs``, through ``log_prob_fn`` when given), call
    ``loss = loss_fn(log_probs, batch)`` and take one Adam step on it.

    Args:
        loss_fn: ``loss_fn(log_probs, batch) -> scalar tensor`` with ``log_probs`` (N, T), zero
            on padding, and ``batch`` the ``EpisodeBatch``. For example total-return REINFORCE:
            ``lambda log_probs, batch: -(log_probs.sum(1) * batch.returns).mean()``.
        config: the settings (see ``ReinforceConfig``; ``describe(config)`` lists them).
        policy: train this policy (in place) instead of a fresh one, e.g. to inspect it after.
        log_prob_fn: ``log_prob_fn(logits, actions) -> (B,)`` for categorical policies: the
            log-probabilities the loss sees come from it (e.g. the notebook's
            ``categorical_log_prob``) instead of the policy's own ``log_prob``. Acting is
            unchanged: actions are still sampled by the policy.

    Returns:
        A ``History`` with one entry per iteration; ``mean_return`` is the batch's mean return.
    """
    with Run(config, name="REINFORCE", total=config.iterations) as run:
        if policy is None:
            policy = policy_for(run.envs, config.hidden_sizes)
        policy.to(run.device)
        optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
        env_steps = 0
        for _ in run.steps():
            batch = collect_episodes(run.envs, policy, config.episodes_per_batch)
            loss = run.scalar(
                "loss_fn", loss_fn(episode_log_probs(policy, batch, log_prob_fn), batch)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            env_steps += batch.num_steps
            run.log(env_steps=env_steps, mean_return=batch.returns.mean().item(), loss=loss.item())
    return run.history
