"""Probe environments: tiny tasks that each isolate one part of an agent.

A full environment tells you only that an agent does not learn. These tell you which part is
broken: each probe has one or two observations, episodes of one or two steps, and a value
function and best policy known exactly, so an agent that fails one of them fails for a reason the
probe names. Run them in order; the first one that fails points at the bug.

=========================  ===============================================  =====================
probe                      what it isolates                                 truth
=========================  ===============================================  =====================
``ConstantReward``         the value loss and its optimiser step            V = 1
``ObservedReward``         values tied to their own observations            V(o) = o
``DelayedReward``          discounting and bootstrapping over one step      V(0) = gamma, V(1) = 1
``ActionReward``           the policy gradient's sign and its advantages    pick action 1
``ObservedActionReward``   actions, advantages and observations kept        pick the action that
                           together                                         matches o
=========================  ===============================================  =====================

Each is a gymnasium environment registered under ``probes/<Name>-v0`` (importing this module
registers them), with observations of shape (1,) and two discrete actions, so every agent of
the workbook runs on them unchanged::

    envs = utils.make_vector_env("probes/DelayedReward-v0", num_envs=8)
    probe = PROBES["DelayedReward"]
    ...  # train an agent on envs
    probe.check(policy, value_network, gamma=0.5)  # AssertionError saying what is wrong, if so
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from utils.policies import Policy

__all__ = [
    "PROBES",
    "ActionReward",
    "ConstantReward",
    "DelayedReward",
    "ObservedActionReward",
    "ObservedReward",
    "Probe",
]


class _ProbeEnv(gym.Env):
    """Shared plumbing: observations of shape (1,), two discrete actions, a seeded generator."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._observation = np.zeros(1, dtype=np.float32)

    def _observe(self, value: float) -> np.ndarray:
        self._observation = np.array([value], dtype=np.float32)
        return self._observation.copy()

    def _random_sign(self) -> float:
        return float(self.np_random.choice([-1.0, 1.0]))


class ConstantReward(_ProbeEnv):
    """One step, observation 0, reward +1 whatever the action: V(0) = 1.

    Fails when the value network does not learn at all: the value loss is missing from the
    total loss, is not minimised (a sign), or the optimiser never steps on it.
    """

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._observe(0.0), {}

    def step(self, action):
        return self._observation.copy(), 1.0, True, False, {}


class ObservedReward(_ProbeEnv):
    """One step, observation -1 or +1 at random, reward equal to the observation: V(o) = o.

    Passes ConstantReward but fails here: the values are regressed on the wrong targets, for
    example observations shuffled with one permutation and returns with another.
    """

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._observe(self._random_sign()), {}

    def step(self, action):
        return self._observation.copy(), float(self._observation[0]), True, False, {}


class DelayedReward(_ProbeEnv):
    """Two steps: observation 0 then 1, reward 0 then +1: V(0) = gamma, V(1) = 1.

    Fails when the future is not discounted, or bootstrapped, the way it should be: returns or
    advantages computed without gamma, a termination that still bootstraps, a first step that
    never sees the reward of the second.
    """

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._observe(0.0), {}

    def step(self, action):
        if self._observation[0] == 0.0:
            return self._observe(1.0), 0.0, False, False, {}
        return self._observation.copy(), 1.0, True, False, {}


class ActionReward(_ProbeEnv):
    """One step, observation 0, reward +1 for action 1 and -1 for action 0.

    The first probe that needs the policy: it must come to pick action 1 (and then V(0) -> 1).
    Fails with a sign error in the policy loss, log-probabilities without gradient, or
    advantages that are not those of the actions taken.
    """

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._observe(0.0), {}

    def step(self, action):
        return self._observation.copy(), 1.0 if int(action) == 1 else -1.0, True, False, {}


class ObservedActionReward(_ProbeEnv):
    """One step, observation -1 or +1 at random; reward +1 for the action that matches it
    (action 0 for -1, action 1 for +1), -1 for the other.

    Passes ActionReward but fails here: the policy learns an average over observations, because
    the minibatches pair observations, actions and advantages of different samples.
    """

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._observe(self._random_sign()), {}

    def step(self, action):
        best = 1 if self._observation[0] > 0 else 0
        return self._observation.copy(), 1.0 if int(action) == best else -1.0, True, False, {}


@dataclass(frozen=True)
class Probe:
    """One probe: its environment, what it isolates, and the check of a trained agent.

    Attributes:
        name: the class name, e.g. "DelayedReward".
        env_id: the registered gymnasium id, e.g. "probes/DelayedReward-v0".
        isolates: what part of an agent the probe tests, in a few words.
        if_it_fails: the likely bugs when an agent fails it.
        observations: the observations the check evaluates, one per row, shape (K, 1).
        best_actions: the best action of each observation, or None when all actions are equal.
        value_tolerance: how far the values may be from the truth in ``check``; looser where the
            truth moves with the policy (the values lag behind it while it learns).
    """

    name: str
    env_id: str
    isolates: str
    if_it_fails: str
    observations: tuple[float, ...]
    best_actions: tuple[int, ...] | None
    value_tolerance: float = 0.1

    def expected_values(self, gamma: float, best_action_probabilities: np.ndarray) -> np.ndarray:
        """V(o) of each observation under a policy that picks the best action with the given
        probability (ignored when the actions do not matter)."""
        if self.name == "ConstantReward":
            return np.ones(1)
        if self.name == "ObservedReward":
            return np.array(self.observations)
        if self.name == "DelayedReward":
            return np.array([gamma, 1.0])
        # +1 with the best action, -1 with the other
        return 2.0 * best_action_probabilities - 1.0

    def check(
        self,
        policy: Policy,
        value_network: nn.Module,
        gamma: float,
        value_tolerance: float | None = None,
        min_best_action_probability: float = 0.9,
    ) -> None:
        """Raise an AssertionError that names the probe, what it means and the likely bug,
        unless the trained agent's values and (where actions matter) policy are right.

        ``value_tolerance`` defaults to the probe's own. Use a gamma well below 1 (0.5, say), so
        that DelayedReward's V(0) = gamma is far from the 1 of an agent that ignores it."""
        if value_tolerance is None:
            value_tolerance = self.value_tolerance
        parameter = next(policy.parameters())
        observations = torch.tensor(self.observations, dtype=parameter.dtype)[:, None]
        with torch.no_grad():
            values = value_network(observations.to(parameter.device)).double().cpu().numpy()
            if self.best_actions is not None:
                distribution = policy.distribution(observations.to(parameter.device))
                best = torch.tensor(self.best_actions, device=parameter.device)
                best_probabilities = distribution.log_prob(best).exp().double().cpu().numpy()
            else:
                best_probabilities = np.ones(len(self.observations))
        where = f"probe {self.name} ({self.isolates})"
        shown = ", ".join(f"{o:g}" for o in self.observations)
        if (
            self.best_actions is not None
            and (best_probabilities < min_best_action_probability).any()
        ):
            raise AssertionError(
                f"{where}: the policy picks the best action of observations ({shown}) with "
                f"probabilities {np.round(best_probabilities, 3).tolist()}, expected at least "
                f"{min_best_action_probability}. Likely: {self.if_it_fails}"
            )
        expected = self.expected_values(gamma, best_probabilities)
        if (abs(values - expected) > value_tolerance).any():
            raise AssertionError(
                f"{where}: V({shown}) = {np.round(values, 3).tolist()}, expected "
                f"{np.round(expected, 3).tolist()} (within {value_tolerance}). Likely: "
                f"{self.if_it_fails}"
            )


PROBES: dict[str, Probe] = {
    "ConstantReward": Probe(
        "ConstantReward",
        "probes/ConstantReward-v0",
        "does the value network learn at all?",
        "the value loss is missing from the total loss, has the wrong sign, or the optimiser "
        "never steps on it (zero_grad / backward / step).",
        (0.0,),
        None,
    ),
    "ObservedReward": Probe(
        "ObservedReward",
        "probes/ObservedReward-v0",
        "are values regressed on their own observations' returns?",
        "observations and returns are paired wrongly in the minibatches (shuffled with "
        "different permutations, or sliced with different indices).",
        (-1.0, 1.0),
        None,
    ),
    "DelayedReward": Probe(
        "DelayedReward",
        "probes/DelayedReward-v0",
        "is the reward of a later step discounted and bootstrapped into earlier values?",
        "the returns or advantages ignore gamma, bootstrap after a termination, or stop at the "
        "first step.",
        (0.0, 1.0),
        None,
    ),
    "ActionReward": Probe(
        "ActionReward",
        "probes/ActionReward-v0",
        "does the policy move towards the better action?",
        "a sign error in the policy loss, new log-probabilities computed without gradient, a "
        "policy loss missing from the total, or advantages not those of the actions taken.",
        (0.0,),
        (1,),
        0.25,
    ),
    "ObservedActionReward": Probe(
        "ObservedActionReward",
        "probes/ObservedActionReward-v0",
        "does the policy learn a different action for each observation?",
        "observations, actions and advantages of different samples are paired in the "
        "minibatches (shuffle every tensor with the same indices).",
        (-1.0, 1.0),
        (0, 1),
        0.25,
    ),
}

for _probe in PROBES.values():
    if _probe.env_id not in gym.registry:
        gym.register(id=_probe.env_id, entry_point=f"{__name__}:{_probe.name}")
