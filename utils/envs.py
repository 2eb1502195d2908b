"""Vectorised gymnasium environments with episode statistics.

gymnasium 1.x vector environments reset a finished sub-environment on the NEXT call to
``step``: the step right after an episode ends is a *reset step* whose action is ignored, whose
reward is 0 and which belongs to no episode. ``utils.rollouts`` drops those steps; any code that
steps these environments by hand must do the same.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.wrappers.vector import RecordEpisodeStatistics

__all__ = ["make_vector_env", "observation_dim"]


def make_vector_env(
    env_id: str = "CartPole-v1",
    num_envs: int = 8,
    seed: int = 0,
    episode_statistics: bool = True,
    **env_kwargs: Any,
) -> VectorEnv:
    """``num_envs`` copies of ``env_id`` stepped together, recording episode statistics unless
    ``episode_statistics`` is False.

    Environments with a native vector implementation (CartPole-v1) use it: it steps all copies
    in one NumPy call, many times faster than looping over copies. Others are wrapped in a
    ``SyncVectorEnv``. Both autoreset on the next step (see the module docstring).

    Args:
        env_id: a registered gymnasium id, e.g. "CartPole-v1", "Pendulum-v1".
        num_envs: number of sub-environments.
        seed: seeds the first reset and the action space, so the returned envs are reproducible.
        episode_statistics: wrap in ``RecordEpisodeStatistics`` (see Returns). The trainers count
            returns themselves and pass False: the wrapper doubles the cost of a CartPole step.
        **env_kwargs: passed to the environment's constructor (e.g. ``max_episode_steps``).

    Returns:
        A vector env; with ``episode_statistics``, ``info["episode"]`` holds returns ("r") and
        lengths ("l") of the episodes that ended at a step, and ``envs.return_queue`` /
        ``envs.length_queue`` the recent ones.
    """
    has_native_vector_env = gym.spec(env_id).vector_entry_point is not None
    mode = "vector_entry_point" if has_native_vector_env else "sync"
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **env_kwargs)
    if envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP) != AutoresetMode.NEXT_STEP:
        raise RuntimeError(f"{env_id}: expected next-step autoreset, the mode utils relies on")
    if episode_statistics:
        envs = RecordEpisodeStatistics(envs, buffer_length=1000)
    envs.reset(seed=seed)
    envs.action_space.seed(seed)
    return envs


def observation_dim(envs: VectorEnv | gym.Env) -> int:
    """Length of one flat observation of ``envs`` (a vector env or a single env)."""
    space = getattr(envs, "single_observation_space", envs.observation_space)
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ValueError(f"only flat Box observations are supported, got {space}")
    return space.shape[0]
