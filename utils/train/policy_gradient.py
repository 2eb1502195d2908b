"""REINFORCE with per-step weights and an optional learned baseline (notebook 02's CartPole runs).

The notebook supplies how each step is weighted (the returns, the loss, the value loss, the
normalisation); the scaffold (``scaffold.Run``) does the plumbing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from utils.envs import observation_dim
from utils.history import History
from utils.policies import Policy, ValueNetwork, policy_for
from utils.rollouts import collect_episodes
from utils.train.config import RunConfig, option
from utils.train.scaffold import Run, explained_variance

__all__ = [
    "PolicyGradientConfig",
    "PolicyGradientLoss",
    "ReturnsFunction",
    "ValueLoss",
    "train_policy_gradient",
]

ReturnsFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``returns_fn(rewards, dones) -> returns``: flat (B,) rewards and dones to (B,) returns."""

PolicyGradientLoss = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
"""``loss_fn(log_probs, weights, num_episodes) -> scalar``: log_probs (B,) with gradient."""

ValueLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``value_loss_fn(values, targets) -> scalar``: values (B,) with gradient, targets (B,)."""


@dataclass(frozen=True)
class PolicyGradientConfig(RunConfig):
    """Settings of ``train_policy_gradient`` (notebook 02 uses them as they are)."""

    num_envs: int = option(16, "environments stepped side by side")
    iterations: int = option(60, "batches of episodes, one policy update each")
    episodes_per_batch: int = option(16, "N, complete episodes per batch (a multiple of num_envs)")
    lr: float = option(0.01, "Adam learning rate of the policy")
    value_lr: float = option(0.03, "Adam learning rate of the value network")
    value_steps: int = option(20, "value-network updates per batch, each on the whole batch")
    hidden_sizes: tuple[int, ...] = option((32,), "hidden layer widths of the policy")
    value_hidden_sizes: tuple[int, ...] = option((64,), "hidden layer widths of the value network")


def train_policy_gradient(
    returns_fn: ReturnsFunction,
    loss_fn: PolicyGradientLoss,
    config: PolicyGradientConfig = PolicyGradientConfig(),
    *,
    value_loss_fn: ValueLoss | None = None,
    normalize_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    policy: Policy | None = None,
) -> History:
    """REINFORCE with per-step weights, optionally with a learned state-value baseline.

    Every iteration collects ``config.episodes_per_batch`` complete episodes and lays their
    steps end to end (B steps in all, ``EpisodeBatch.flat`` order), then:

    1. ``returns = returns_fn(rewards, dones)``, (B,) per-step returns (no gradient);
    2. with ``value_loss_fn``: ``values = V(observations)`` (B,), WITH gradient, and
       ``weights = returns - values``; without it, ``weights = returns``;
    3. with ``normalize_fn``: ``weights = normalize_fn(weights)``;
    4. one Adam step of the policy on ``loss_fn(log_probs, weights, num_episodes)``, where
       ``log_probs`` (B,) carry gradient. The loss must detach ``weights``;
    5. with ``value_loss_fn``: ``value_steps`` Adam steps of V on
       ``value_loss_fn(V(observations), returns)``, after the policy step, so that each batch's
       baseline was fitted on earlier batches only (fitting it on the batch it weighs would
       make the baseline depend on the actions it judges).

    Args:
        returns_fn: e.g. ``lambda rewards, dones: reward_to_go(rewards, dones, 1.0)``.
        loss_fn: the policy-gradient surrogate, minus the mean over episodes of
            sum_t weight_t log pi(a_t | s_t).
        config: the settings (see ``PolicyGradientConfig``).
        value_loss_fn: the value network's regression loss; None means no baseline.
        normalize_fn: applied to the weights of each batch, e.g. advantage normalisation.
        policy: train this policy in place instead of a fresh one.

    Returns:
        A ``History``; with a value baseline its ``extra["explained_variance"]`` records how well
        V(s) predicted each batch's returns before it was updated on them (1 is perfect).
    """
    with Run(config, name="policy gradient", total=config.iterations) as run:
        if policy is None:
            policy = policy_for(run.envs, config.hidden_sizes)
        policy.to(run.device)
        optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
        value_network = value_optimizer = None
        if value_loss_fn is not None:
            value_network = ValueNetwork(observation_dim(run.envs), config.value_hidden_sizes)
            value_network.to(run.device)
            value_optimizer = torch.optim.Adam(value_network.parameters(), lr=config.value_lr)
        env_steps = 0
        for _ in run.steps():
            batch = collect_episodes(run.envs, policy, config.episodes_per_batch)
            observations = batch.flat(batch.observations)
            rewards, dones = batch.flat(batch.rewards), batch.flat_dones
            with torch.no_grad():
                returns = returns_fn(rewards, dones)
            if not isinstance(returns, torch.Tensor) or returns.shape != rewards.shape:
                raise ValueError(
                    f"returns_fn must return one value per step, shape {tuple(rewards.shape)}"
                    f", got {tuple(getattr(returns, 'shape', ()))}"
                )
            returns = returns.to(run.device, torch.float32)
            extra = {}
            if value_network is not None:
                values = value_network(observations)
                extra["explained_variance"] = explained_variance(values.detach(), returns)
                weights = returns - values
            else:
                weights = returns
            if normalize_fn is not None:
                weights = normalize_fn(weights)

            log_probs = policy.log_prob(observations, batch.flat(batch.actions))
            loss = run.scalar("loss_fn", loss_fn(log_probs, weights, batch.num_episodes))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            if value_network is not None:
                for _ in range(config.value_steps):
                    value_loss = run.scalar(
                        "value_loss_fn", value_loss_fn(value_network(observations), returns)
                    )
                    value_optimizer.zero_grad()
                    value_loss.backward()
                    value_optimizer.step()

            env_steps += batch.num_steps
            run.log(
                env_steps=env_steps,
                mean_return=batch.returns.mean().item(),
                loss=loss.item(),
                **extra,
            )
    return run.history
