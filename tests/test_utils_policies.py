"""utils.policies: shapes, log-probabilities and the choice of policy for an environment."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest
import torch
from torch import nn

from utils.envs import make_vector_env, observation_dim
from utils.policies import CategoricalPolicy, GaussianPolicy, ValueNetwork, mlp, policy_for


def test_mlp_layers_and_output_gain():
    network = mlp([3, 16, 16, 2], activation=nn.ReLU, output_gain=0.01)
    linears = [layer for layer in network if isinstance(layer, nn.Linear)]
    assert [layer.out_features for layer in linears] == [16, 16, 2]
    assert sum(isinstance(layer, nn.ReLU) for layer in network) == 2
    assert linears[-1].weight.abs().max() < 0.05  # small output layer: near-uniform policy
    assert network(torch.zeros(5, 3)).shape == (5, 2)


def test_categorical_policy_shapes_and_log_probs():
    torch.manual_seed(0)
    policy = CategoricalPolicy(obs_dim=4, num_actions=3, hidden_sizes=(8,))
    observations = torch.randn(2, 5, 4)  # any leading shape, e.g. (N, T)
    logits = policy(observations)
    assert logits.shape == (2, 5, 3)
    actions, log_probs = policy.act(observations)
    assert actions.shape == (2, 5) and actions.dtype == torch.long
    expected = torch.log_softmax(logits, -1).gather(-1, actions[..., None]).squeeze(-1)
    torch.testing.assert_close(log_probs, expected)
    torch.testing.assert_close(policy.log_prob(observations, actions), expected)
    # a fresh policy is close to uniform, so it explores
    torch.testing.assert_close(log_probs.exp(), torch.full((2, 5), 1 / 3), atol=0.05, rtol=0)


def test_gaussian_policy_shapes_and_log_probs():
    torch.manual_seed(0)
    policy = GaussianPolicy(obs_dim=3, action_dim=2, hidden_sizes=(8,), initial_std=0.5)
    observations = torch.randn(7, 3)
    actions, log_probs = policy.act(observations)
    assert actions.shape == (7, 2) and log_probs.shape == (7,)
    mean, std = policy(observations), 0.5
    expected = (
        -0.5 * ((actions - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)
    ).sum(-1)
    torch.testing.assert_close(log_probs, expected)
    assert policy.log_std.requires_grad and policy.log_std.shape == (2,)


def test_value_network_shape():
    values = ValueNetwork(obs_dim=4, hidden_sizes=(8, 8))(torch.randn(3, 6, 4))
    assert values.shape == (3, 6)


def test_policy_for_picks_the_policy_from_the_action_space():
    cartpole = make_vector_env("CartPole-v1", num_envs=2)
    assert isinstance(policy_for(cartpole), CategoricalPolicy)
    assert observation_dim(cartpole) == 4
    pendulum = gym.make("Pendulum-v1")
    policy = policy_for(pendulum, hidden_sizes=(16,))
    assert isinstance(policy, GaussianPolicy) and policy(torch.zeros(3)).shape == (1,)
    with pytest.raises(ValueError, match="only flat Box observations"):
        policy_for(gym.make("Blackjack-v1"))
