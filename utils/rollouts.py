"""Collect experience from vector environments as tensors.

Two layouts, for two kinds of algorithms:

- ``collect_episodes`` -> ``EpisodeBatch``: whole episodes, padded to (N, T). For Monte-Carlo
  methods (REINFORCE, reward-to-go, baselines) that need each episode from start to end.
- ``StepCollector`` / ``collect_steps`` -> ``StepBatch``: a fixed number of steps of every
  environment, laid out (T, N), episodes crossing the batch boundaries. For actor-critic and PPO.

Both handle gymnasium's next-step autoreset: the step after an episode ends only resets the
environment (its action is ignored and its reward is 0). ``collect_episodes`` drops such steps;
``StepBatch`` keeps the (T, N) grid and marks them in ``reset_steps``.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import VectorEnv

from utils.policies import Policy
from utils.runtime import limit_cpu_threads

__all__ = [
    "EpisodeBatch",
    "StepBatch",
    "StepCollector",
    "collect_episodes",
    "collect_steps",
]

ValueFunction = Callable[[torch.Tensor], torch.Tensor]


# ---------------------------------------------------------------------- plumbing


def _draw_reset_seed() -> int:
    """A seed for ``envs.reset`` drawn from torch's global generator.

    Drawing it (instead of never seeding) makes every collection reproducible after
    ``utils.seed_everything``, while consecutive calls still see different episodes.
    """
    return int(torch.randint(0, 2**31 - 1, ()).item())


def _module_device(module: torch.nn.Module) -> torch.device:
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _env_actions(envs: VectorEnv, actions: torch.Tensor) -> np.ndarray:
    """Policy actions as the NumPy array ``envs.step`` expects.

    Gaussian samples can leave a Box's bounds; they are clipped for the environment only, the
    recorded action (whose log-probability we keep) stays the sampled one.
    """
    array = actions.cpu().numpy()
    space = envs.single_action_space
    if isinstance(space, gym.spaces.Box):
        return np.clip(array, space.low, space.high).astype(space.dtype)
    return array


def _move(instance, device: torch.device | str):
    """A copy of a dataclass with every tensor field moved to ``device``."""
    changes = {
        field.name: getattr(instance, field.name).to(device)
        for field in dataclasses.fields(instance)
        if isinstance(getattr(instance, field.name), torch.Tensor)
    }
    return dataclasses.replace(instance, **changes)


# ---------------------------------------------------------------------- whole episodes


@dataclass(frozen=True)
class EpisodeBatch:
    """N complete episodes, padded to the longest length T.

    Attributes:
        observations: (N, T, obs_dim) float32, the observation each action was chosen from.
        actions: (N, T) long for discrete actions, (N, T, action_dim) float32 for continuous.
        log_probs: (N, T) float32, log pi(a_t | s_t) under the policy that collected the batch
            (no gradient; recompute with the policy to differentiate).
        rewards: (N, T) float32, the reward after each action.
        mask: (N, T) bool, True on real steps, False on padding.
        lengths: (N,) long, number of real steps of each episode.
        terminated: (N,) bool, True if the episode ended in a terminal state, False if it was
            truncated by a time limit (then its last state still had a future).
        final_observations: (N, obs_dim) float32, the observation after each episode's last step.

    Padding entries (``mask`` False) are zero in every (N, T) tensor.
    """

    observations: torch.Tensor
    actions: torch.Tensor
    log_probs: torch.Tensor
    rewards: torch.Tensor
    mask: torch.Tensor
    lengths: torch.Tensor
    terminated: torch.Tensor
    final_observations: torch.Tensor

    @property
    def num_episodes(self) -> int:
        return self.lengths.shape[0]

    @property
    def num_steps(self) -> int:
        """Number of real environment steps in the batch (padding excluded)."""
        return int(self.lengths.sum())

    @property
    def returns(self) -> torch.Tensor:
        """Undiscounted return of each episode, shape (N,)."""
        return self.rewards.sum(dim=1)  # padding rewards are zero

    def flat(self, x: torch.Tensor) -> torch.Tensor:
        """Episodes laid end to end: ``x[mask]``, shape (B, ...) for x of shape (N, T, ...).

        B = ``num_steps``; episode 0's steps come first, in time order, then episode 1's, etc.
        """
        return x[self.mask]

    @property
    def flat_dones(self) -> torch.Tensor:
        """(B,) bool, True at the last step of each episode in the ``flat`` layout."""
        last_steps = torch.zeros_like(self.mask)
        last_steps[torch.arange(self.num_episodes), self.lengths - 1] = True
        return last_steps[self.mask]

    def to(self, device: torch.device | str) -> EpisodeBatch:
        return _move(self, device)


def collect_episodes(
    envs: VectorEnv,
    policy: Policy,
    num_episodes: int,
    device: torch.device | str | None = None,
) -> EpisodeBatch:
    """Run ``policy`` in ``envs`` until ``num_episodes`` episodes are complete.

    The envs are reset first (with a seed drawn from torch's generator), and each of the
    ``num_envs`` environments runs exactly ``num_episodes / num_envs`` episodes; an environment
    that has finished its share keeps stepping but its steps are ignored. Taking instead the
    first ``num_episodes`` episodes to finish, from whichever env, would over-represent short
    episodes and bias every estimate computed from the batch.

    Args:
        envs: a vector env from ``utils.make_vector_env`` (next-step autoreset).
        policy: chooses actions; runs under ``torch.no_grad`` on its own device.
        num_episodes: N, a multiple of ``envs.num_envs``.
        device: where the returned tensors live; defaults to the policy's device.

    Returns:
        An ``EpisodeBatch``; episodes are ordered by environment, then by time.
    """
    num_envs = envs.num_envs
    if num_episodes <= 0 or num_episodes % num_envs != 0:
        raise ValueError(
            f"num_episodes ({num_episodes}) must be a positive multiple of num_envs ({num_envs}),"
            " so that every environment runs the same number of episodes"
        )
    episodes_per_env = num_episodes // num_envs
    policy_device = _module_device(policy)
    device = policy_device if device is None else torch.device(device)

    observations, _ = envs.reset(seed=_draw_reset_seed())
    episodes_finished = np.zeros(num_envs, dtype=np.int64)
    # the step after a done is a reset step (next-step autoreset); none right after reset()
    is_reset_step = np.zeros(num_envs, dtype=bool)
    history: defaultdict[str, list[np.ndarray]] = defaultdict(list)  # name -> one entry a step
    with torch.no_grad(), limit_cpu_threads():
        while (episodes_finished < episodes_per_env).any():
            observation_tensor = torch.as_tensor(
                observations, dtype=torch.float32, device=policy_device
            )
            actions, log_probs = policy.act(observation_tensor)
            next_observations, rewards, terminations, truncations, _ = envs.step(
                _env_actions(envs, actions)
            )
            dones = terminations | truncations
            counted = ~is_reset_step & (episodes_finished < episodes_per_env)
            episodes_finished += counted & dones

            history["observations"].append(observations)
            history["actions"].append(actions.cpu().numpy())
            history["log_probs"].append(log_probs.cpu().numpy())
            history["rewards"].append(rewards)
            history["terminations"].append(terminations)
            history["dones"].append(dones)
            history["counted"].append(counted)
            history["next_observations"].append(next_observations)

            is_reset_step = dones
            observations = next_observations

    # (steps, envs, ...) -> counted steps only, env-major: each env's episodes back to back
    counted = np.stack(history.pop("counted")).T  # (E, steps)
    flat = {key: np.swapaxes(np.stack(value), 0, 1)[counted] for key, value in history.items()}
    return _pad_episodes(flat, num_episodes, device)


def _pad_episodes(flat: dict[str, np.ndarray], num_episodes: int, device) -> EpisodeBatch:
    """Scatter the counted steps (laid end to end, B of them) into (N, T) padded tensors."""
    dones = flat["dones"]
    # the episode of each step: the number of episodes that ended strictly before it
    episode_index = np.cumsum(dones) - dones
    lengths = np.bincount(episode_index, minlength=num_episodes)
    assert len(lengths) == num_episodes and dones[-1], "every env must end on a finished episode"
    starts = np.cumsum(lengths) - lengths
    step_index = np.arange(len(dones)) - starts[episode_index]
    max_length = int(lengths.max())

    def padded(values: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        result = torch.zeros((num_episodes, max_length, *values.shape[1:]), dtype=dtype)
        result[episode_index, step_index] = torch.as_tensor(values, dtype=dtype)
        return result.to(device)

    actions_dtype = (
        torch.long if np.issubdtype(flat["actions"].dtype, np.integer) else torch.float32
    )
    mask = torch.zeros((num_episodes, max_length), dtype=torch.bool)
    mask[episode_index, step_index] = True
    return EpisodeBatch(
        observations=padded(flat["observations"], torch.float32),
        actions=padded(flat["actions"], actions_dtype),
        log_probs=padded(flat["log_probs"], torch.float32),
        rewards=padded(flat["rewards"], torch.float32),
        mask=mask.to(device),
        lengths=torch.as_tensor(lengths, dtype=torch.long, device=device),
        terminated=torch.as_tensor(flat["terminations"][dones], device=device),
        final_observations=torch.as_tensor(
            flat["next_observations"][dones], dtype=torch.float32, device=device
        ),
    )


# ---------------------------------------------------------------------- fixed-length steps


@dataclass(frozen=True)
class StepBatch:
    """T steps of each of N environments, in (T, N) layout.

    Attributes:
        observations: (T, N, obs_dim) float32, observation before each step.
        actions: (T, N) long or (T, N, action_dim) float32.
        log_probs: (T, N) float32, log pi(a_t | s_t) at collection time (no gradient).
        rewards: (T, N) float32.
        terminations: (T, N) bool, the step ended its episode in a terminal state (no future:
            bootstrap with 0).
        truncations: (T, N) bool, the step ended its episode by a time limit (the state still
            had a future: bootstrap with the value of the next observation).
        reset_steps: (T, N) bool, True where the environment was only resetting after an
            episode end: the action was ignored, the reward is 0 and the step belongs to no
            episode. Mask these out of every loss (see ``mask``).
        values: (T, N) float32 value estimates of ``observations`` if a value function was
            given, else None.
        next_observation: (N, obs_dim) float32, the observation after the last step.
        next_values: (N,) value of ``next_observation``, or None.
        completed_returns: (K,) float32, undiscounted returns of the K episodes that ended
            during this batch (for logging; episodes that started in an earlier batch count
            their earlier rewards too).

    Bootstrapping: the observation after step t is ``observations[t + 1]`` (``next_observation``
    for t = T - 1). This holds even when step t ended an episode, because with next-step
    autoreset that slot holds the episode's final observation and the reset happens at t + 1,
    which ``reset_steps`` marks.
    """

    observations: torch.Tensor
    actions: torch.Tensor
    log_probs: torch.Tensor
    rewards: torch.Tensor
    terminations: torch.Tensor
    truncations: torch.Tensor
    reset_steps: torch.Tensor
    values: torch.Tensor | None
    next_observation: torch.Tensor
    next_values: torch.Tensor | None
    completed_returns: torch.Tensor

    @property
    def mask(self) -> torch.Tensor:
        """(T, N) bool, True on steps that belong to an episode."""
        return ~self.reset_steps

    @property
    def dones(self) -> torch.Tensor:
        """(T, N) bool, True where an episode ended (terminated or truncated)."""
        return self.terminations | self.truncations

    @property
    def num_steps(self) -> int:
        """Number of real environment steps (reset steps excluded)."""
        return int(self.mask.sum())

    def to(self, device: torch.device | str) -> StepBatch:
        return _move(self, device)


class StepCollector:
    """Steps a vector env in fixed-size chunks, carrying episodes over from chunk to chunk.

    Use one collector for a whole training run: each ``collect(T)`` continues where the last
    stopped, as actor-critic and PPO need. The envs are reset (seeded from torch's generator)
    on the first ``collect`` or when ``reset()`` is called.
    """

    def __init__(
        self,
        envs: VectorEnv,
        policy: Policy,
        value_fn: ValueFunction | None = None,
        device: torch.device | str | None = None,
    ):
        self.envs = envs
        self.policy = policy
        self.value_fn = value_fn
        self.policy_device = _module_device(policy)
        self.device = self.policy_device if device is None else torch.device(device)
        self._observations: np.ndarray | None = None
        self._is_reset_step = np.zeros(envs.num_envs, dtype=bool)
        self._running_returns = np.zeros(envs.num_envs, dtype=np.float64)

    def reset(self) -> None:
        """Start fresh episodes in every environment."""
        self._observations, _ = self.envs.reset(seed=_draw_reset_seed())
        self._is_reset_step[:] = False
        self._running_returns[:] = 0.0

    def _observation_tensor(self, observations: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(observations, dtype=torch.float32, device=self.policy_device)

    def _value(self, observations: torch.Tensor) -> torch.Tensor | None:
        if self.value_fn is None:
            return None
        return self.value_fn(observations).to(self.device, torch.float32)

    def collect(self, num_steps: int) -> StepBatch:
        """Step every environment ``num_steps`` times; returns (T, N) tensors, T = num_steps."""
        if self._observations is None:
            self.reset()
        assert self._observations is not None
        steps: defaultdict[str, list[torch.Tensor]] = defaultdict(list)  # one entry a step
        completed_returns: list[float] = []
        with torch.no_grad(), limit_cpu_threads():
            for _ in range(num_steps):
                observations = self._observation_tensor(self._observations)
                actions, log_probs = self.policy.act(observations)
                values = self._value(observations)
                next_observations, rewards, terminations, truncations, _ = self.envs.step(
                    _env_actions(self.envs, actions)
                )
                dones = terminations | truncations

                real_steps = ~self._is_reset_step
                self._running_returns[real_steps] += rewards[real_steps]
                completed_returns.extend(self._running_returns[dones].tolist())
                self._running_returns[dones] = 0.0

                steps["observations"].append(observations)
                steps["actions"].append(actions)
                steps["log_probs"].append(log_probs)
                if values is not None:
                    steps["values"].append(values)
                steps["rewards"].append(torch.as_tensor(rewards, dtype=torch.float32))
                steps["terminations"].append(torch.as_tensor(terminations))
                steps["truncations"].append(torch.as_tensor(truncations))
                steps["reset_steps"].append(torch.as_tensor(self._is_reset_step.copy()))

                self._is_reset_step = dones
                self._observations = next_observations

            next_observation = self._observation_tensor(self._observations)
            next_values = self._value(next_observation)

        stacked = {key: torch.stack(value).to(self.device) for key, value in steps.items()}
        return StepBatch(
            observations=stacked["observations"],
            actions=stacked["actions"],
            log_probs=stacked["log_probs"],
            rewards=stacked["rewards"],
            terminations=stacked["terminations"],
            truncations=stacked["truncations"],
            reset_steps=stacked["reset_steps"],
            values=stacked.get("values"),
            next_observation=next_observation.to(self.device),
            next_values=next_values,
            completed_returns=torch.tensor(
                completed_returns, dtype=torch.float32, device=self.device
            ),
        )


def collect_steps(
    envs: VectorEnv,
    policy: Policy,
    num_steps: int,
    value_fn: ValueFunction | None = None,
    device: torch.device | str | None = None,
) -> StepBatch:
    """Reset ``envs`` and collect ``num_steps`` steps of each environment, (T, N) layout.

    A one-shot ``StepCollector(envs, policy, value_fn, device).collect(num_steps)``; training
    loops should keep one ``StepCollector`` so episodes continue across batches.
    """
    return StepCollector(envs, policy, value_fn, device).collect(num_steps)
