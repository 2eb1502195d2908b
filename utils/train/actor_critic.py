"""Actor-critic trainers that take the notebook's functions (notebook 03).

- ``train_q_actor_critic``: the lecture's online Q actor-critic. Every environment step yields
  transitions (s, a, r, s'), one per environment, and the caller's ``update_fn`` immediately
  updates the policy and a Q critic from them; nothing is stored or replayed.
- ``train_a2c``: batched advantage actor-critic (A2C). Collect T steps of N environments, estimate
  advantages with the caller's ``gae_fn``, take one gradient step on the caller's ``loss_fn``.

The notebook supplies the algorithm (targets, advantages, losses, the update); the networks and
data types are in ``utils.actor_critic``, the plumbing in ``scaffold.Run``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from utils.actor_critic import (
    A2CLoss,
    AdvantageEstimator,
    QActorCriticUpdate,
    QNetwork,
    Transitions,
    bootstrap_values,
)
from utils.envs import observation_dim
from utils.history import History
from utils.policies import ValueNetwork, policy_for
from utils.rollouts import StepCollector
from utils.train.config import RunConfig, option
from utils.train.scaffold import ReturnTracker, Run, explained_variance

__all__ = ["A2CConfig", "QActorCriticConfig", "train_a2c", "train_q_actor_critic"]


@dataclass(frozen=True)
class QActorCriticConfig(RunConfig):
    """Settings of ``train_q_actor_critic``."""

    total_steps: int = option(100_000, "environment steps in all, summed over environments")
    policy_lr: float = option(1e-3, "Adam learning rate of the policy")
    critic_lr: float = option(1e-3, "Adam learning rate of the Q critic")
    hidden_sizes: tuple[int, ...] = option((64,), "hidden layer widths of both networks")
    log_interval: int = option(2_000, "environment steps between two History entries")
    return_window: int = option(20, "mean_return averages this many most recent episodes")


@dataclass(frozen=True)
class A2CConfig(RunConfig):
    """Settings of ``train_a2c``. The defaults are those of ``benchmarks/a2c_cartpole.py``: with
    the notebook's GAE and loss they solve CartPole-v1 (mean return of the last 100 episodes
    >= 475) within 300k steps."""

    num_steps: int = option(8, "T, steps collected per environment per gradient step")
    total_steps: int = option(300_000, "environment steps in all (whole iterations)")
    lr: float = option(1e-3, "Adam learning rate")
    anneal_lr: bool = option(True, "decay the learning rate linearly to 0 over training")
    gamma: float = option(0.99, "discount, handed to gae_fn")
    lam: float = option(0.95, "GAE lambda, handed to gae_fn")
    value_coef: float = option(0.5, "weight of the critic's loss, handed to loss_fn")
    entropy_coef: float = option(0.0, "weight of the entropy bonus, handed to loss_fn")
    normalize_advantages: bool = option(False, "standardise each batch's advantages")
    max_grad_norm: float | None = option(0.5, "clip each network's gradient norm (None: never)")
    hidden_sizes: tuple[int, ...] = option((64, 64), "hidden widths of the policy and the critic")
    return_window: int = option(20, "mean_return averages this many most recent episodes")


def _discrete_num_actions(envs: gym.vector.VectorEnv) -> int:
    space = envs.single_action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise ValueError(f"a Q critic needs discrete actions, {space} is not Discrete")
    return int(space.n)


def train_q_actor_critic(
    update_fn: QActorCriticUpdate, config: QActorCriticConfig = QActorCriticConfig()
) -> History:
    """Online one-step Q actor-critic: every environment step is one update, nothing is stored.

    The loop the lecture writes down, with N environments side by side so each update sees N
    transitions instead of one:

    1. sample a ~ pi_theta(. | s) in every environment and step them: observe r and s';
    2. ``update_fn(policy, critic, optimizer, transitions)`` evaluates Q_beta(s, a), updates
       theta along grad log pi * Q and beta towards a TD target; it returns (actor_loss,
       critic_loss) for logging. It gets the acting policy itself, so an on-policy target can
       use the current pi(. | s'): ``policy.distribution(transitions.next_observations).probs``
       for the expected SARSA target.

    Reset steps (the step after an episode ends, see ``utils.envs``) are left out of
    ``transitions``, so N can be smaller than ``num_envs`` now and then. ``optimizer`` is one
    Adam over both networks, in two parameter groups (policy, critic).

    Returns:
        A ``History``: one entry per ``log_interval`` steps once an episode has finished, and
        one at the end, with the mean of the losses since the previous entry in ``loss`` (actor
        + critic) and ``extra["actor_loss"]``, ``extra["critic_loss"]``.
    """
    num_updates = max(1, config.total_steps // config.num_envs)
    with Run(config, name="Q actor-critic", total=num_updates) as run:
        envs = run.envs
        policy = policy_for(envs, config.hidden_sizes).to(run.device)
        critic = QNetwork(observation_dim(envs), _discrete_num_actions(envs), config.hidden_sizes)
        critic.to(run.device)
        optimizer = torch.optim.Adam(
            [
                {"params": policy.parameters(), "lr": config.policy_lr},
                {"params": critic.parameters(), "lr": config.critic_lr},
            ],
            foreach=True,  # one multi-tensor update: much faster than a loop for small networks
        )
        collector = StepCollector(envs, policy, device=run.device)
        tracker = ReturnTracker(config.return_window)
        env_steps, next_log = 0, config.log_interval
        actor_losses: list[float] = []
        critic_losses: list[float] = []
        for update in run.steps():
            step = collector.collect(1)  # (1, num_envs) tensors
            real = step.mask[0]
            transitions = Transitions(
                observations=step.observations[0][real],
                actions=step.actions[0][real],
                rewards=step.rewards[0][real],
                next_observations=step.next_observation[real],
                terminations=step.terminations[0][real],
                truncations=step.truncations[0][real],
            )
            tracker.add(step.completed_returns)
            if transitions.num_transitions > 0:  # 0 when every env was resetting
                actor_loss, critic_loss = update_fn(policy, critic, optimizer, transitions)
                actor_losses.append(run.scalar("update_fn's actor loss", actor_loss).item())
                critic_losses.append(run.scalar("update_fn's critic loss", critic_loss).item())
                env_steps += transitions.num_transitions
            last = update == num_updates - 1
            if (env_steps >= next_log or last) and tracker.num_episodes and actor_losses:
                next_log = env_steps + config.log_interval
                mean_actor, mean_critic = np.mean(actor_losses), np.mean(critic_losses)
                run.log(
                    env_steps=env_steps,
                    mean_return=tracker.mean,
                    loss=mean_actor + mean_critic,
                    actor_loss=mean_actor,
                    critic_loss=mean_critic,
                )
                actor_losses.clear()
                critic_losses.clear()
    return run.history


def train_a2c(
    loss_fn: A2CLoss, gae_fn: AdvantageEstimator, config: A2CConfig = A2CConfig()
) -> History:
    """Batched advantage actor-critic (A2C) with the caller's advantage estimator and loss.

    Every iteration:

    1. collect ``num_steps`` (T) steps of ``num_envs`` (N) environments with the current policy,
       recording the critic's values V(s_t) (``utils.rollouts.StepCollector``);
    2. ``advantages = gae_fn(rewards, values, next_values, terminations, truncations, gamma,
       lam)`` on the (T, N) grid, without gradient, with ``next_values = bootstrap_values``;
       the critic's regression targets are ``returns = advantages + values``;
    3. drop the reset steps, flatten to B <= T * N samples, optionally normalise the advantages
       to mean 0 and standard deviation 1 over the batch;
    4. recompute log pi(a|s), the policy's entropy and V(s) WITH gradient and take one Adam step
       on ``loss_fn(log_probs, advantages, values, returns, entropy, value_coef,
       entropy_coef)``, each network's gradient norm clipped to ``max_grad_norm``.

    The policy and the critic are separate networks (no shared trunk) updated by one optimiser.

    Returns:
        A ``History`` with one entry per iteration, from the first iteration in which an episode
        finished on; ``extra`` holds "entropy", "value_loss" (mean squared error of the critic
        against the returns, before the step) and "explained_variance" (1 - Var[returns -
        values] / Var[returns]: 1 for a perfect critic, 0 for one that predicts a constant).
    """
    iterations = max(1, config.total_steps // (config.num_envs * config.num_steps))
    with Run(config, name="A2C", total=iterations) as run:
        policy = policy_for(run.envs, config.hidden_sizes).to(run.device)
        critic = ValueNetwork(observation_dim(run.envs), config.hidden_sizes).to(run.device)
        parameters = [*policy.parameters(), *critic.parameters()]
        optimizer = torch.optim.Adam(parameters, lr=config.lr, eps=1e-5, foreach=True)
        collector = StepCollector(run.envs, policy, value_fn=critic, device=run.device)
        tracker = ReturnTracker(config.return_window)
        clip = config.max_grad_norm is not None and math.isfinite(config.max_grad_norm)
        env_steps = 0
        for iteration in run.steps():
            if config.anneal_lr:
                optimizer.param_groups[0]["lr"] = config.lr * (1 - iteration / iterations)
            batch = collector.collect(config.num_steps)
            with torch.no_grad():
                advantages = gae_fn(
                    batch.rewards,
                    batch.values,
                    bootstrap_values(batch),
                    batch.terminations,
                    batch.truncations,
                    config.gamma,
                    config.lam,
                )
            if not isinstance(advantages, torch.Tensor) or advantages.shape != batch.rewards.shape:
                raise TypeError(
                    f"gae_fn must return a (T, N) = {tuple(batch.rewards.shape)} tensor, "
                    f"got {getattr(advantages, 'shape', advantages)!r}"
                )
            if not torch.isfinite(advantages).all():
                raise FloatingPointError("gae_fn returned NaN or infinite advantages")
            mask = batch.mask
            advantages = advantages.to(batch.values.dtype)
            returns = (advantages + batch.values)[mask]
            advantages = advantages[mask]
            if config.normalize_advantages and advantages.numel() > 1:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            observations, actions = batch.observations[mask], batch.actions[mask]

            distribution = policy.distribution(observations)
            log_probs = distribution.log_prob(actions)
            entropy = distribution.entropy()
            values = critic(observations)
            loss = run.scalar(
                "loss_fn",
                loss_fn(
                    log_probs,
                    advantages,
                    values,
                    returns,
                    entropy,
                    config.value_coef,
                    config.entropy_coef,
                ),
            )
            optimizer.zero_grad()
            loss.backward()
            if clip:
                # clip each network on its own: the critic's gradient, large while its values
                # are far off, must not shrink the actor's step
                nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
                nn.utils.clip_grad_norm_(critic.parameters(), config.max_grad_norm)
            optimizer.step()

            env_steps += batch.num_steps
            tracker.add(batch.completed_returns)
            if tracker.num_episodes == 0:
                continue
            with torch.no_grad():
                value_loss = ((returns - values) ** 2).mean().item()
                explained = explained_variance(values, returns)
            run.log(
                env_steps=env_steps,
                mean_return=tracker.mean,
                loss=loss.item(),
                entropy=entropy.mean().item(),
                value_loss=value_loss,
                explained_variance=explained,
            )
    return run.history
