"""MLP policies (categorical and Gaussian) and value networks.

All networks accept observations with any leading batch shape: (B, obs_dim) or (N, T, obs_dim)
alike, and return outputs with the same leading shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import gymnasium as gym
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from utils.envs import observation_dim

__all__ = [
    "CategoricalPolicy",
    "GaussianPolicy",
    "Policy",
    "ValueNetwork",
    "mlp",
    "policy_for",
]


def mlp(
    sizes: Sequence[int],
    activation: type[nn.Module] = nn.Tanh,
    output_gain: float = 1.0,
) -> nn.Sequential:
    """A fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Hidden layers are followed by ``activation``; the output layer is linear. Weights are
    orthogonally initialised (gain sqrt(2) in hidden layers) with zero biases, which trains
    more reliably than PyTorch's default init for small RL networks. ``output_gain`` scales the
    last layer: a small gain (0.01) makes a fresh policy nearly uniform, so it explores.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes needs an input and an output size, got {list(sizes)}")
    layers: list[nn.Module] = []
    num_layers = len(sizes) - 1
    for index, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(size_in, size_out)
        is_output = index == num_layers - 1
        nn.init.orthogonal_(linear.weight, gain=output_gain if is_output else math.sqrt(2))
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if not is_output:
            layers.append(activation())
    return nn.Sequential(*layers)


class Policy(nn.Module):
    """Common interface of the policies: a distribution over actions for each observation.

    Subclasses implement ``distribution``; ``log_prob(obs, actions)`` and ``act(obs)`` follow.
    ``distribution(obs).log_prob(actions)`` has the leading shape of ``obs`` (one log-probability
    per observation, summed over action dimensions for multi-dimensional actions).
    """

    def distribution(self, observations: torch.Tensor) -> Distribution:
        raise NotImplementedError

    def log_prob(self, observations: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log pi(action | observation), shape (...,) for observations (..., obs_dim)."""
        return self.distribution(observations).log_prob(actions)

    def act(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample actions and return them with their log-probabilities.

        Returns:
            actions: (...,) long for discrete policies, (..., action_dim) float for Gaussian.
            log_probs: (...,) log pi(action | observation).
        """
        distribution = self.distribution(observations)
        actions = distribution.sample()
        return actions, distribution.log_prob(actions)


class CategoricalPolicy(Policy):
    """A softmax policy over ``num_actions`` discrete actions, parameterised by an MLP.

    ``forward(obs)`` gives the logits, shape (..., num_actions).
    """

    def __init__(self, obs_dim: int, num_actions: int, hidden_sizes: Sequence[int] = (64,)):
        super().__init__()
        self.logits_net = mlp([obs_dim, *hidden_sizes, num_actions], output_gain=0.01)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.logits_net(observations)

    def distribution(self, observations: torch.Tensor) -> Categorical:
        return Categorical(logits=self(observations))

    def act(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Same as the generic version, without building a Categorical: acting is called once
        # per environment step and the distribution object's checks dominate its CPU cost.
        log_probabilities = torch.log_softmax(self(observations), dim=-1)
        num_actions = log_probabilities.shape[-1]
        actions = torch.multinomial(log_probabilities.reshape(-1, num_actions).exp(), 1)
        actions = actions.reshape(log_probabilities.shape[:-1])
        return actions, log_probabilities.gather(-1, actions.unsqueeze(-1)).squeeze(-1)


class GaussianPolicy(Policy):
    """A diagonal Gaussian policy N(mean(obs), diag(std^2)) for continuous actions.

    The mean comes from an MLP; ``log_std`` is one learned parameter per action dimension,
    independent of the state (the usual choice for REINFORCE/PPO, and it keeps the exploration
    noise easy to read). ``forward(obs)`` gives the mean, shape (..., action_dim).

    Actions are NOT squashed into the action space's bounds; ``utils.rollouts`` clips them when
    sending them to the environment but records the sampled (unclipped) action.
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int] = (64,),
        initial_std: float = 1.0,
    ):
        super().__init__()
        self.mean_net = mlp([obs_dim, *hidden_sizes, action_dim], output_gain=0.01)
        self.log_std = nn.Parameter(torch.full((action_dim,), math.log(initial_std)))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.mean_net(observations)

    def distribution(self, observations: torch.Tensor) -> Independent:
        mean = self(observations)
        # Independent(..., 1) sums log-probabilities over the action dimensions
        return Independent(Normal(mean, self.log_std.exp().expand_as(mean)), 1)


class ValueNetwork(nn.Module):
    """An MLP estimate of the state value V(obs): observations (..., obs_dim) -> values (...,)."""

    def __init__(self, obs_dim: int, hidden_sizes: Sequence[int] = (64,)):
        super().__init__()
        self.value_net = mlp([obs_dim, *hidden_sizes, 1], output_gain=1.0)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.value_net(observations).squeeze(-1)


def policy_for(env: gym.Env | gym.vector.VectorEnv, hidden_sizes: Sequence[int] = (64,)) -> Policy:
    """A fresh policy matching ``env``'s spaces: categorical for Discrete, Gaussian for Box."""
    obs_dim = observation_dim(env)
    action_space = getattr(env, "single_action_space", env.action_space)
    if isinstance(action_space, gym.spaces.Discrete):
        return CategoricalPolicy(obs_dim, int(action_space.n), hidden_sizes)
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return GaussianPolicy(obs_dim, action_space.shape[0], hidden_sizes)
    raise ValueError(f"no policy for action space {action_space}")
