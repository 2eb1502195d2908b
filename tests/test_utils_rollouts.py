"""utils.rollouts: episode boundaries, reset steps, unbiased per-env quotas, both action types."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import VectorWrapper
from gymnasium.wrappers.vector import RecordEpisodeStatistics

from utils.envs import make_vector_env
from utils.policies import CategoricalPolicy, policy_for
from utils.rollouts import collect_episodes, collect_steps
from utils.runtime import seed_everything
from utils.train import A2CConfig
from utils.train.scaffold import Run


class PoisonResetSteps(VectorWrapper):
    """Gives reward 1000 on the reset step after each episode end, so any leak is obvious."""

    def reset(self, **kwargs):
        self.previous_dones = np.zeros(self.num_envs, dtype=bool)
        return self.env.reset(**kwargs)

    def step(self, actions):
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        rewards = np.where(self.previous_dones, 1000.0, rewards)
        self.previous_dones = terminations | truncations
        return observations, rewards, terminations, truncations, infos


class RecordFinishedEpisodes(VectorWrapper):
    """Keeps (env index, return, length) of every episode RecordEpisodeStatistics reports."""

    def reset(self, **kwargs):
        self.finished: list[tuple[int, float, int]] = []
        return self.env.reset(**kwargs)

    def step(self, actions):
        result = self.env.step(actions)
        infos = result[-1]
        if "episode" in infos:
            for index in np.flatnonzero(infos["_episode"]):
                episode = infos["episode"]
                self.finished.append(
                    (int(index), float(episode["r"][index]), int(episode["l"][index]))
                )
        return result


def poisoned_cartpole(num_envs: int, max_episode_steps: int = 500) -> RecordFinishedEpisodes:
    envs = gym.make_vec(
        "CartPole-v1",
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        max_episode_steps=max_episode_steps,
    )
    return RecordFinishedEpisodes(RecordEpisodeStatistics(PoisonResetSteps(envs)))


def first_episodes_per_env(finished, num_envs: int, per_env: int):
    """The statistics of each env's first ``per_env`` episodes, env-major like EpisodeBatch."""
    return [[e for e in finished if e[0] == index][:per_env] for index in range(num_envs)]


def test_episode_returns_match_recorded_statistics_and_skip_reset_steps():
    seed_everything(0)
    envs = poisoned_cartpole(num_envs=4, max_episode_steps=30)  # short cap: some truncations
    policy = CategoricalPolicy(4, 2)
    batch = collect_episodes(envs, policy, num_episodes=12)

    expected = [e for per_env in first_episodes_per_env(envs.finished, 4, 3) for e in per_env]
    assert len(expected) == 12
    torch.testing.assert_close(batch.returns, torch.tensor([e[1] for e in expected]))
    assert batch.lengths.tolist() == [e[2] for e in expected]
    # CartPole pays 1 per real step: a single 1000 would mean a reset step leaked in
    assert torch.equal(batch.rewards, batch.mask.float())
    # an episode shorter than the cap terminated; one at the cap was (usually) truncated
    assert batch.terminated[batch.lengths < 30].all()
    assert (~batch.terminated).any() and batch.terminated.any(), "want both kinds of episode end"


def test_batch_layout_is_consistent():
    seed_everything(1)
    envs = make_vector_env("CartPole-v1", num_envs=4, seed=1)
    policy = CategoricalPolicy(4, 2)
    batch = collect_episodes(envs, policy, num_episodes=8)

    n, t = batch.mask.shape
    assert n == 8 and t == int(batch.lengths.max())
    assert batch.observations.shape == (n, t, 4) and batch.observations.dtype == torch.float32
    assert batch.actions.shape == (n, t) and batch.actions.dtype == torch.long
    assert batch.rewards.shape == batch.log_probs.shape == (n, t)
    assert torch.equal(batch.mask.sum(1), batch.lengths)
    # mask is a prefix of each row: True for the first `length` steps only
    assert torch.equal(batch.mask, torch.arange(t) < batch.lengths[:, None])
    assert batch.num_steps == int(batch.lengths.sum())
    assert (batch.observations[~batch.mask] == 0).all() and (
        batch.log_probs[~batch.mask] == 0
    ).all()

    flat_dones = batch.flat_dones
    assert flat_dones.shape == (batch.num_steps,)
    assert torch.equal(flat_dones.nonzero().squeeze(1), torch.cumsum(batch.lengths, 0) - 1)
    assert torch.equal(batch.flat(batch.rewards), torch.ones(batch.num_steps))

    # recorded log-probabilities are those of the policy that acted
    recomputed = policy.log_prob(batch.observations, batch.actions)
    torch.testing.assert_close(batch.log_probs, torch.where(batch.mask, recomputed, 0.0))


def test_collection_is_reproducible_after_seeding():
    envs = make_vector_env("CartPole-v1", num_envs=2, seed=0)
    seed_everything(3)
    policy = CategoricalPolicy(4, 2)
    first = collect_episodes(envs, policy, 4)
    seed_everything(3)
    policy = CategoricalPolicy(4, 2)
    second = collect_episodes(envs, policy, 4)
    assert torch.equal(first.observations, second.observations)
    assert torch.equal(first.actions, second.actions)


def test_num_episodes_must_divide_among_envs():
    envs = make_vector_env("CartPole-v1", num_envs=4)
    with pytest.raises(ValueError, match="multiple of num_envs"):
        collect_episodes(envs, CategoricalPolicy(4, 2), num_episodes=6)


class ShortOrLongEnv(gym.Env):
    """Each episode lasts 1 step or 10 steps, with probability 1/2 each: mean length 5.5."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.length = 1 if self.np_random.random() < 0.5 else 10
        self.steps = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.steps += 1
        return np.zeros(1, np.float32), 1.0, self.steps == self.length, False, {}


def test_per_env_quota_gives_unbiased_episode_lengths():
    num_envs, calls = 8, 100
    envs = RecordFinishedEpisodes(
        RecordEpisodeStatistics(gym.vector.SyncVectorEnv([ShortOrLongEnv] * num_envs))
    )
    policy = CategoricalPolicy(1, 2)
    seed_everything(4)
    lengths, first_to_finish = [], []
    for _ in range(calls):
        lengths.append(collect_episodes(envs, policy, num_episodes=num_envs).lengths)
        # the biased alternative: the first num_envs episodes to finish, from any env
        first_to_finish.extend(length for _, _, length in envs.finished[:num_envs])
    lengths = torch.cat(lengths).double()
    tolerance = 4 * 4.5 / math.sqrt(len(lengths))  # 4 standard errors; std of length is 4.5
    assert abs(lengths.mean() - 5.5) < tolerance
    # and the test has the power to see the bias it guards against
    assert abs(np.mean(first_to_finish) - 5.5) > tolerance


def test_gaussian_policy_on_pendulum():
    seed_everything(5)
    envs = make_vector_env("Pendulum-v1", num_envs=2, seed=5)
    recorder = RecordFinishedEpisodes(envs)
    policy = policy_for(recorder)
    batch = collect_episodes(recorder, policy, num_episodes=2)
    assert batch.actions.shape == (2, 200, 1) and batch.actions.dtype == torch.float32
    assert batch.lengths.tolist() == [200, 200] and not batch.terminated.any()
    torch.testing.assert_close(
        batch.returns, torch.tensor([r for _, r, _ in recorder.finished]), rtol=1e-5, atol=1e-3
    )
    torch.testing.assert_close(batch.log_probs, policy.log_prob(batch.observations, batch.actions))
    # actions are recorded unclipped, so some exceed the [-2, 2] bounds the env saw
    assert batch.actions.abs().max() > 2.0


def test_step_batch_marks_reset_steps_and_episode_returns():
    seed_everything(6)
    envs = poisoned_cartpole(num_envs=3, max_episode_steps=25)
    policy = CategoricalPolicy(4, 2)
    batch = collect_steps(envs, policy, num_steps=120, value_fn=lambda obs: obs[..., 0])

    t, n = 120, 3
    assert batch.observations.shape == (t, n, 4)
    for name in ("actions", "log_probs", "rewards", "terminations", "truncations", "reset_steps"):
        assert getattr(batch, name).shape == (t, n), name
    # reset steps are exactly the steps right after an episode end
    assert not batch.reset_steps[0].any()
    assert torch.equal(batch.reset_steps[1:], batch.dones[:-1])
    # a poisoned reward shows up only on reset steps, which the mask removes
    assert (batch.rewards[batch.reset_steps] == 1000).all()
    assert (batch.rewards[batch.mask] == 1).all()
    assert batch.num_steps == int(batch.mask.sum())
    # values are of the observation before each step; next_values of the final observation
    torch.testing.assert_close(batch.values, batch.observations[..., 0])
    torch.testing.assert_close(batch.next_values, batch.next_observation[:, 0])
    assert batch.truncations.any() and batch.terminations.any()
    torch.testing.assert_close(
        batch.completed_returns, torch.tensor([r for _, r, _ in envs.finished])
    )


def test_episode_statistics_are_optional_and_change_no_step():
    """The trainers' environments come without RecordEpisodeStatistics (the collectors count
    returns themselves): the same seed must give the same steps with and without it."""
    wrapped = make_vector_env("CartPole-v1", num_envs=3, seed=4, max_episode_steps=20)
    bare = make_vector_env(
        "CartPole-v1", num_envs=3, seed=4, max_episode_steps=20, episode_statistics=False
    )
    assert isinstance(wrapped, RecordEpisodeStatistics)
    assert not isinstance(bare, RecordEpisodeStatistics)
    batches = []
    for envs in (wrapped, bare):
        seed_everything(5)
        batches.append(collect_steps(envs, CategoricalPolicy(4, 2), num_steps=60))
    for name in ("observations", "actions", "rewards", "reset_steps", "completed_returns"):
        assert torch.equal(getattr(batches[0], name), getattr(batches[1], name)), name
    assert batches[0].completed_returns.numel() > 3  # episodes ended inside the window
    torch.testing.assert_close(
        batches[0].completed_returns, torch.tensor(list(wrapped.return_queue), dtype=torch.float32)
    )


def test_trainers_step_environments_without_episode_statistics():
    with Run(A2CConfig(progress=False), name="A2C", total=1) as run:
        assert not isinstance(run.envs, RecordEpisodeStatistics)
