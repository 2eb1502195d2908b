"""utils.probes: each probe environment does what its docstring says, and its check is right."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from torch import nn
from torch.distributions import Categorical

from utils.envs import make_vector_env
from utils.policies import Policy
from utils.probes import PROBES, Probe


@pytest.mark.parametrize("name", list(PROBES))
def test_every_probe_is_a_registered_valid_environment(name):
    probe = PROBES[name]
    env = gym.make(probe.env_id)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.observation_space.shape == (1,) and env.action_space.n == 2
    envs = make_vector_env(probe.env_id, num_envs=3, seed=0)
    observations, _ = envs.reset(seed=0)
    assert observations.shape == (3, 1)
    envs.close()


def episode(name: str, actions: list[int], seed: int = 0) -> list[tuple[float, float, bool]]:
    """(observation, reward, terminated) of each step of one episode of a probe."""
    env = gym.make(PROBES[name].env_id)
    observation, _ = env.reset(seed=seed)
    steps = []
    for action in actions:
        next_observation, reward, terminated, truncated, _ = env.step(action)
        steps.append((float(observation[0]), float(reward), terminated))
        assert not truncated
        observation = next_observation
        if terminated:
            break
    return steps


def test_constant_reward_pays_one_in_one_step():
    assert episode("ConstantReward", [0, 0]) == [(0.0, 1.0, True)]
    assert episode("ConstantReward", [1]) == [(0.0, 1.0, True)]


def test_observed_reward_pays_the_observation():
    seen = set()
    for seed in range(20):
        [(observation, reward, terminated)] = episode("ObservedReward", [0], seed)
        assert reward == observation and terminated
        seen.add(observation)
    assert seen == {-1.0, 1.0}


def test_delayed_reward_pays_at_the_second_step():
    assert episode("DelayedReward", [0, 1, 0]) == [(0.0, 0.0, False), (1.0, 1.0, True)]


def test_action_reward_pays_action_one():
    assert episode("ActionReward", [1]) == [(0.0, 1.0, True)]
    assert episode("ActionReward", [0]) == [(0.0, -1.0, True)]


def test_observed_action_reward_pays_the_matching_action():
    for seed in range(10):
        [(observation, reward, _)] = episode("ObservedActionReward", [1], seed)
        assert reward == (1.0 if observation > 0 else -1.0)
        [(observation, reward, _)] = episode("ObservedActionReward", [0], seed)
        assert reward == (1.0 if observation < 0 else -1.0)


class TablePolicy(Policy):
    """P(action 1 | o) given per observation (-1, 0, +1)."""

    def __init__(self, probability_of_one: dict[float, float]):
        super().__init__()
        self.table = probability_of_one
        self.unused = nn.Parameter(torch.zeros(1))

    def distribution(self, observations):
        p = torch.tensor([self.table[float(o)] for o in observations[:, 0]])
        return Categorical(probs=torch.stack([1 - p, p], dim=-1))


class TableValues(nn.Module):
    def __init__(self, values: dict[float, float]):
        super().__init__()
        self.values = values

    def forward(self, observations):
        return torch.tensor([self.values[float(o)] for o in observations[:, 0]])


UNIFORM = TablePolicy({-1.0: 0.5, 0.0: 0.5, 1.0: 0.5})

RIGHT = {
    "ConstantReward": (UNIFORM, {0.0: 1.0}),
    "ObservedReward": (UNIFORM, {-1.0: -1.0, 1.0: 1.0}),
    "DelayedReward": (UNIFORM, {0.0: 0.5, 1.0: 1.0}),
    "ActionReward": (TablePolicy({0.0: 0.95}), {0.0: 0.9}),
    "ObservedActionReward": (TablePolicy({-1.0: 0.02, 1.0: 0.97}), {-1.0: 0.96, 1.0: 0.94}),
}

WRONG = {
    "ConstantReward": (UNIFORM, {0.0: 0.0}, "V(0) = [0.0], expected [1.0]"),
    "ObservedReward": (UNIFORM, {-1.0: 0.0, 1.0: 0.0}, "ObservedReward"),
    "DelayedReward": (UNIFORM, {0.0: 1.0, 1.0: 1.0}, "ignore gamma"),
    "ActionReward": (TablePolicy({0.0: 0.5}), {0.0: 0.0}, "best action"),
    "ObservedActionReward": (
        TablePolicy({-1.0: 0.95, 1.0: 0.95}),
        {-1.0: 0.0, 1.0: 0.9},
        "of different samples",
    ),
}


@pytest.mark.parametrize("name", list(PROBES))
def test_check_passes_the_right_agent_and_names_what_is_wrong_with_a_wrong_one(name):
    probe: Probe = PROBES[name]
    policy, values = RIGHT[name]
    probe.check(policy, TableValues(values), gamma=0.5)
    policy, values, message = WRONG[name]
    with pytest.raises(AssertionError, match=f"probe {name}") as failure:
        probe.check(policy, TableValues(values), gamma=0.5)
    assert message in str(failure.value)


def test_expected_values_of_the_action_probes_follow_the_policy():
    probe = PROBES["ActionReward"]
    np.testing.assert_allclose(probe.expected_values(0.5, np.array([0.75])), [0.5])
