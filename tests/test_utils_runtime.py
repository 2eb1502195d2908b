"""utils.runtime and utils.envs: device choice, seeding, grading detection, vector envs."""

from __future__ import annotations

import random

import numpy as np
import torch
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import SyncVectorEnv

from utils import device, is_grading, limit_cpu_threads, make_vector_env, on_colab, seed_everything


def test_device_defaults_to_cuda_when_available_and_can_be_overridden(monkeypatch):
    monkeypatch.delenv("WORKBOOK_DEVICE", raising=False)
    assert device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("WORKBOOK_DEVICE", "cpu")
    assert device() == torch.device("cpu")


def test_seed_everything_seeds_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(()).item()

    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first


def test_is_grading_follows_nbgrader_variable(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not is_grading()
    monkeypatch.setenv("NBGRADER_EXECUTION", "")
    assert not is_grading()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert is_grading()


def test_on_colab_is_false_here(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert not on_colab()


def test_limit_cpu_threads_restores_the_thread_count():
    before = torch.get_num_threads()
    with limit_cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_make_vector_env_uses_native_vector_env_when_there_is_one():
    cartpole = make_vector_env("CartPole-v1", num_envs=3, seed=0)
    assert isinstance(cartpole.unwrapped, CartPoleVectorEnv) and cartpole.num_envs == 3
    pendulum = make_vector_env("Pendulum-v1", num_envs=2, seed=0)
    assert isinstance(pendulum.unwrapped, SyncVectorEnv)
    # seeded: two envs built with the same seed start from the same observations
    first, _ = make_vector_env("CartPole-v1", num_envs=3, seed=4).reset(seed=4)
    second, _ = make_vector_env("CartPole-v1", num_envs=3, seed=4).reset(seed=4)
    np.testing.assert_array_equal(first, second)
