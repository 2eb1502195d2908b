"""Actor-critic training loops that take the student's functions as arguments.

Two loops, for the two halves of notebook 03:

- ``train_q_actor_critic``: the lecture's online Q actor-critic. Every environment step yields
  transitions (s, a, r, s'), one per environment, and the caller's ``update_fn`` immediately
  updates the policy and a Q critic from them; nothing is stored or replayed.
- ``train_a2c``: batched advantage actor-critic (A2C). Collect T steps of N environments, estimate
  advantages with the caller's ``gae_fn``, take one gradient step on the caller's ``loss_fn``.

The notebook supplies the algorithm (targets, advantages, losses, the update); the loops here do
the plumbing: environments, networks, optimisers, progress bars and a ``utils.train.History``.
Both run on ``utils.device()``, a GPU when there is one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from utils.envs import make_vector_env, observation_dim
from utils.policies import Policy, ValueNetwork, mlp, policy_for
from utils.rollouts import StepBatch, StepCollector
from utils.runtime import device as default_device
from utils.runtime import is_grading, limit_cpu_threads, seed_everything
from utils.train import History

__all__ = [
    "A2CLoss",
    "AdvantageEstimator",
    "QActorCriticUpdate",
    "QNetwork",
    "Transitions",
    "bootstrap_values",
    "train_a2c",
    "train_q_actor_critic",
]


# ---------------------------------------------------------------------- networks and data


class QNetwork(nn.Module):
    """An MLP action-value critic: observations (..., obs_dim) -> Q-values (..., num_actions).

    One output per discrete action, so ``critic(obs)`` scores every action of a state at once:
    ``critic(obs).gather(-1, actions.unsqueeze(-1)).squeeze(-1)`` is Q(s, a) of the taken actions
    and ``critic(next_obs).max(-1).values`` is max_a' Q(s', a').
    """

    def __init__(self, obs_dim: int, num_actions: int, hidden_sizes: Sequence[int] = (64,)):
        super().__init__()
        self.q_net = mlp([obs_dim, *hidden_sizes, num_actions], output_gain=1.0)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.q_net(observations)


@dataclass(frozen=True)
class Transitions:
    """One environment step of each of N environments: the lecture's (s, a, r, s').

    Attributes:
        observations: (N, obs_dim) float32, the state s the action was chosen in.
        actions: (N,) long, a ~ pi(. | s).
        rewards: (N,) float32, r.
        next_observations: (N, obs_dim) float32, s'. For a step that ended its episode this is
            the episode's final observation, not the first one of the next episode.
        terminations: (N,) bool, s' is terminal: nothing follows it, its value is 0.
        truncations: (N,) bool, a time limit cut the episode at s'; s' itself still had a
            future, so its value is NOT 0.
    """

    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_observations: torch.Tensor
    terminations: torch.Tensor
    truncations: torch.Tensor

    @property
    def num_transitions(self) -> int:
        return self.actions.shape[0]


def bootstrap_values(batch: StepBatch) -> torch.Tensor:
    """(T, N) V(s_{t+1}): the value of the observation each step of ``batch`` led to.

    With next-step autoreset the grid slot after step t holds the observation step t produced,
    even when step t ended an episode (the slot is then a reset step holding the episode's final
    observation), so this is ``values[1:]`` followed by ``next_values``. ``batch`` must have been
    collected with a value function.
    """
    if batch.values is None or batch.next_values is None:
        raise ValueError("the batch has no values: collect it with a value_fn")
    return torch.cat([batch.values[1:], batch.next_values.unsqueeze(0)], dim=0)


QActorCriticUpdate = Callable[
    [Policy, nn.Module, torch.optim.Optimizer, Transitions], tuple[torch.Tensor, torch.Tensor]
]
"""``update_fn(policy, critic, optimizer, transitions) -> (actor_loss, critic_loss)``."""

AdvantageEstimator = Callable[..., torch.Tensor]
"""``gae_fn(rewards, values, next_values, terminations, truncations, gamma, lam) -> (T, N)``."""

A2CLoss = Callable[..., torch.Tensor]
"""``loss_fn(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef)``."""


# ---------------------------------------------------------------------- plumbing


class _ReturnTracker:
    """Mean undiscounted return of the most recent ``window`` finished episodes."""

    def __init__(self, window: int):
        self.recent: deque[float] = deque(maxlen=window)
        self.num_episodes = 0

    def add(self, returns: torch.Tensor) -> None:
        values = returns.tolist()
        self.recent.extend(values)
        self.num_episodes += len(values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.recent)) if self.recent else float("nan")


def _discrete_num_actions(envs: gym.vector.VectorEnv) -> int:
    space = envs.single_action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise ValueError(f"a Q critic needs discrete actions, {space} is not Discrete")
    return int(space.n)


def _check_scalar(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise TypeError(f"{name} must return a scalar tensor, got {value!r}")
    if not torch.isfinite(value.detach()).all():
        raise FloatingPointError(f"{name} returned {value.item()}: training diverged")
    return value


# ---------------------------------------------------------------------- online Q actor-critic


def train_q_actor_critic(
    update_fn: QActorCriticUpdate,
    *,
    env_id: str = "CartPole-v1",
    num_envs: int = 8,
    total_steps: int = 100_000,
    policy_lr: float = 1e-3,
    critic_lr: float = 1e-3,
    hidden_sizes: Sequence[int] = (64,),
    log_interval: int = 2_000,
    return_window: int = 20,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
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
    ``transitions``, so N can be smaller than ``num_envs`` now and then.

    Args:
        update_fn: the notebook's update, called once per vector step.
        env_id: a gymnasium id with discrete actions (the critic has one output per action).
        num_envs: environments stepped side by side.
        total_steps: environment steps in all (summed over environments).
        policy_lr, critic_lr: Adam learning rates of the policy and the critic; ``optimizer``
            holds both networks' parameters in two groups.
        hidden_sizes: hidden layer widths of both networks.
        log_interval: environment steps between two ``History`` entries.
        return_window: ``mean_return`` averages the most recent this many finished episodes.
        seed: seeds torch, NumPy and the environments.
        device: where the networks run; defaults to ``utils.device()``.
        progress: show a tqdm bar (never shown under nbgrader).

    Returns:
        A ``History``: one entry per ``log_interval`` steps once an episode has finished, and
        one at the end, with the mean of the losses since the previous entry in ``loss`` (actor
        + critic) and ``extra["actor_loss"]``, ``extra["critic_loss"]``.
    """
    seed_everything(seed)
    device = default_device() if device is None else torch.device(device)
    envs = make_vector_env(env_id, num_envs=num_envs, seed=seed)
    policy = policy_for(envs, hidden_sizes).to(device)
    critic = QNetwork(observation_dim(envs), _discrete_num_actions(envs), hidden_sizes).to(device)
    optimizer = torch.optim.Adam(
        [
            {"params": policy.parameters(), "lr": policy_lr},
            {"params": critic.parameters(), "lr": critic_lr},
        ],
        foreach=True,  # one multi-tensor update: much faster than a loop for small networks
    )
    collector = StepCollector(envs, policy, device=device)
    tracker = _ReturnTracker(return_window)
    history = History()
    env_steps, next_log = 0, log_interval
    actor_losses: list[float] = []
    critic_losses: list[float] = []
    start = time.perf_counter()
    num_updates = max(1, total_steps // num_envs)
    bar = tqdm(range(num_updates), desc="Q actor-critic", disable=not progress or is_grading())
    try:
        with limit_cpu_threads():
            for update in bar:
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
                    actor_losses.append(_check_scalar("update_fn's actor loss", actor_loss).item())
                    critic_losses.append(
                        _check_scalar("update_fn's critic loss", critic_loss).item()
                    )
                    env_steps += transitions.num_transitions

                last = update == num_updates - 1
                if (env_steps >= next_log or last) and tracker.num_episodes and actor_losses:
                    next_log = env_steps + log_interval
                    mean_actor, mean_critic = np.mean(actor_losses), np.mean(critic_losses)
                    history.log(
                        env_steps=env_steps,
                        mean_return=tracker.mean,
                        loss=mean_actor + mean_critic,
                        wall_time=time.perf_counter() - start,
                        actor_loss=mean_actor,
                        critic_loss=mean_critic,
                    )
                    actor_losses.clear()
                    critic_losses.clear()
                    bar.set_postfix(mean_return=f"{tracker.mean:.1f}")
    finally:
        envs.close()
    return history


# ---------------------------------------------------------------------- batched A2C


def train_a2c(
    loss_fn: A2CLoss,
    gae_fn: AdvantageEstimator,
    *,
    env_id: str = "CartPole-v1",
    num_envs: int = 8,
    num_steps: int = 8,
    total_steps: int = 300_000,
    lr: float = 1e-3,
    anneal_lr: bool = True,
    gamma: float = 0.99,
    lam: float = 0.95,
    value_coef: float = 0.5,
    entropy_coef: float = 0.0,
    normalize_advantages: bool = False,
    max_grad_norm: float = 0.5,
    hidden_sizes: Sequence[int] = (64, 64),
    return_window: int = 20,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
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
       entropy_coef)``, its gradient norm clipped to ``max_grad_norm``.

    The policy and the critic are separate networks (no shared trunk) updated by one optimiser.
    The defaults are the settings of ``benchmarks/a2c_cartpole.py``: with the notebook's GAE and
    loss they solve CartPole-v1 (mean return of the last 100 episodes >= 475) in 300k steps.

    Args:
        loss_fn: the notebook's actor-critic loss; every argument but the coefficients is (B,).
        gae_fn: the notebook's advantage estimator (generalised advantage estimation).
        env_id: a gymnasium id; discrete actions get a categorical policy, boxes a Gaussian one.
        num_envs, num_steps: N and T; one gradient step per N * T environment steps.
        total_steps: environment steps in all (rounded down to whole iterations).
        lr: Adam learning rate, annealed linearly to 0 over training if ``anneal_lr``.
        gamma, lam: discount and GAE parameter handed to ``gae_fn``.
        value_coef, entropy_coef: handed to ``loss_fn``.
        normalize_advantages: standardise the advantages of each batch before the loss.
        max_grad_norm: clip the global gradient norm (``None`` or ``inf``: no clipping).
        hidden_sizes: hidden layer widths of the policy and of the critic.
        return_window: ``mean_return`` averages the most recent this many finished episodes.
        seed: seeds torch, NumPy and the environments.
        device: where the networks run; defaults to ``utils.device()``.
        progress: show a tqdm bar (never shown under nbgrader).

    Returns:
        A ``History`` with one entry per iteration, from the first iteration in which an episode
        finished on; ``extra`` holds "entropy", "value_loss" (mean squared error of the critic
        against the returns, before the step) and "explained_variance" (1 - Var[returns -
        values] / Var[returns]: 1 for a perfect critic, 0 for one that predicts a constant).
    """
    seed_everything(seed)
    device = default_device() if device is None else torch.device(device)
    envs = make_vector_env(env_id, num_envs=num_envs, seed=seed)
    policy = policy_for(envs, hidden_sizes).to(device)
    critic = ValueNetwork(observation_dim(envs), hidden_sizes).to(device)
    parameters = [*policy.parameters(), *critic.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=lr, eps=1e-5, foreach=True)
    collector = StepCollector(envs, policy, value_fn=critic, device=device)
    tracker = _ReturnTracker(return_window)
    history = History()
    iterations = max(1, total_steps // (num_envs * num_steps))
    env_steps = 0
    start = time.perf_counter()
    bar = tqdm(range(iterations), desc="A2C", disable=not progress or is_grading())
    try:
        with limit_cpu_threads():
            for iteration in bar:
                if anneal_lr:
                    optimizer.param_groups[0]["lr"] = lr * (1 - iteration / iterations)
                batch = collector.collect(num_steps)
                with torch.no_grad():
                    advantages = gae_fn(
                        batch.rewards,
                        batch.values,
                        bootstrap_values(batch),
                        batch.terminations,
                        batch.truncations,
                        gamma,
                        lam,
                    )
                if not isinstance(advantages, torch.Tensor) or advantages.shape != (
                    batch.rewards.shape
                ):
                    raise TypeError(
                        f"gae_fn must return a (T, N) = {tuple(batch.rewards.shape)} tensor, "
                        f"got {getattr(advantages, 'shape', advantages)!r}"
                    )
                mask = batch.mask
                advantages = advantages.to(batch.values.dtype)
                returns = (advantages + batch.values)[mask]
                advantages = advantages[mask]
                if normalize_advantages and advantages.numel() > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                observations, actions = batch.observations[mask], batch.actions[mask]

                distribution = policy.distribution(observations)
                log_probs = distribution.log_prob(actions)
                entropy = distribution.entropy()
                values = critic(observations)
                loss = loss_fn(
                    log_probs, advantages, values, returns, entropy, value_coef, entropy_coef
                )
                _check_scalar("loss_fn", loss)
                optimizer.zero_grad()
                loss.backward()
                if max_grad_norm is not None and np.isfinite(max_grad_norm):
                    # clip each network on its own: the critic's gradient, large while its
                    # values are far off, must not shrink the actor's step
                    nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
                    nn.utils.clip_grad_norm_(critic.parameters(), max_grad_norm)
                optimizer.step()

                env_steps += batch.num_steps
                tracker.add(batch.completed_returns)
                if tracker.num_episodes == 0:
                    continue
                with torch.no_grad():
                    residual_variance = (returns - values).var()
                    explained = 1 - residual_variance / returns.var().clamp_min(1e-8)
                    value_loss = ((returns - values) ** 2).mean()
                history.log(
                    env_steps=env_steps,
                    mean_return=tracker.mean,
                    loss=loss.item(),
                    wall_time=time.perf_counter() - start,
                    entropy=entropy.mean().item(),
                    value_loss=value_loss.item(),
                    explained_variance=explained.item(),
                )
                bar.set_postfix(mean_return=f"{tracker.mean:.1f}")
    finally:
        envs.close()
    return history
