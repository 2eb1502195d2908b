"""The actor-critic pieces of notebook 03: the Q critic, transitions, bootstrapped values.

The trainers that use them (``train_q_actor_critic``, ``train_a2c``) are in
``utils.train.actor_critic``, with the other training loops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from utils.policies import Policy, mlp
from utils.rollouts import StepBatch

__all__ = [
    "A2CLoss",
    "AdvantageEstimator",
    "QActorCriticUpdate",
    "QNetwork",
    "Transitions",
    "bootstrap_values",
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
