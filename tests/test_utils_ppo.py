"""utils.train.ppo: the fast collector keeps utils' conventions, and train_ppo's contract with the
notebook's functions (the solution's, loaded from the notebooks: one source of truth)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from autograde.reference import solution_functions
from utils.envs import make_vector_env
from utils.policies import CategoricalPolicy, ValueNetwork
from utils.probes import PROBES
from utils.train import PPOConfig, Rollout, RolloutCollector, train_ppo
from utils.train.ppo import make_rollout


@pytest.fixture(scope="module")
def ppo():
    return solution_functions("05_trpo_ppo")


@pytest.fixture(scope="module")
def gae():
    return solution_functions("03_actor_critic").gae


def train_reference(ppo, gae, config: PPOConfig, **replaced):
    """``train_ppo`` with the solution's functions; ``replaced`` swaps any of them by its
    parameter name (``policy_loss_fn=...``) or adds train_ppo's keyword arguments."""
    functions = dict(
        update_fn=ppo.ppo_update,
        policy_loss_fn=ppo.ppo_clip_loss,
        value_loss_fn=ppo.ppo_value_loss,
        advantage_fn=gae,
        kl_fn=ppo.approx_kl,
        clip_fraction_fn=ppo.clip_fraction,
    )
    return train_ppo(**{**functions, **replaced}, config=config)


def test_the_collector_marks_reset_steps_and_batches_the_values():
    torch.manual_seed(0)
    envs = make_vector_env("CartPole-v1", num_envs=4, seed=0)
    policy, value_network = CategoricalPolicy(4, 2), ValueNetwork(4)
    collector = RolloutCollector(envs, policy, value_network, torch.device("cpu"))
    first = collector.collect(60)
    second = collector.collect(5)
    for batch in (first, second):
        assert batch.observations.shape == (batch.rewards.shape[0], 4, 4)
        with torch.no_grad():
            torch.testing.assert_close(batch.values, value_network(batch.observations))
            torch.testing.assert_close(batch.next_values, value_network(batch.next_observation))
        # the step after an episode ends only resets: marked, and it pays nothing
        dones = batch.terminations | batch.truncations
        assert (batch.reset_steps[1:] == dones[:-1]).all()
        assert (batch.rewards[batch.reset_steps] == 0).all()
    # episodes carry over: the first step of the second batch follows the last of the first
    last_done = (first.terminations | first.truncations)[-1]
    assert (second.reset_steps[0] == last_done).all()
    # CartPole pays 1 per step: a completed return is its episode's length
    lengths = first.mask.sum().item()
    assert first.completed_returns.sum().item() <= lengths
    envs.close()


def test_make_rollout_keeps_the_real_steps_with_returns_equal_advantages_plus_values(gae):
    envs = make_vector_env("CartPole-v1", num_envs=3, seed=1)
    torch.manual_seed(1)
    collector = RolloutCollector(
        envs, CategoricalPolicy(4, 2), ValueNetwork(4), torch.device("cpu")
    )
    batch = collector.collect(40)
    rollout = make_rollout(batch, gae, 0.9, 0.8, reward_scale=0.5)
    assert rollout.num_samples == batch.num_steps
    advantages = gae(
        batch.rewards * 0.5,
        batch.values,
        torch.cat([batch.values[1:], batch.next_values[None]]),
        batch.terminations,
        batch.truncations,
        0.9,
        0.8,
    )[batch.mask]
    torch.testing.assert_close(rollout.advantages, advantages)
    torch.testing.assert_close(rollout.returns, advantages + batch.values[batch.mask])
    torch.testing.assert_close(rollout.log_probs, batch.log_probs[batch.mask])
    envs.close()


def test_train_ppo_hands_the_update_its_settings_and_logs_the_diagnostics(ppo, gae):
    calls = []

    def update_fn(policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
                  **settings):  # fmt: skip
        calls.append((rollout, settings))
        return ppo.ppo_update(
            policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
            **settings,
        )  # fmt: skip

    config = PPOConfig(total_steps=4 * 256, num_epochs=3, target_kl=0.5, progress=False)
    history = train_reference(ppo, gae, config, update_fn=update_fn)
    assert len(calls) == 4
    rollout, settings = calls[0]
    assert isinstance(rollout, Rollout)
    assert settings == dict(
        num_epochs=3,
        num_minibatches=1,
        value_coef=0.5,
        entropy_coef=0.0,
        max_grad_norm=0.5,
        target_kl=0.5,
    )
    assert set(history.extra) == {
        "approx_kl",
        "clip_fraction",
        "epochs",
        "entropy",
        "explained_variance",
    }
    # >= 0 up to rounding: the last update, annealed to learning rate 0, leaves KL 0 +- 1e-8
    assert all(kl >= -1e-6 for kl in history.extra["approx_kl"])
    assert all(0 <= f <= 1 for f in history.extra["clip_fraction"])
    assert history.env_steps == sorted(history.env_steps)


def test_the_penalty_loss_gets_beta_and_beta_adapts(ppo, gae):
    seen = []

    def penalty(new, old, advantages, beta):
        seen.append(beta)
        return ppo.ppo_penalty_loss(new, old, advantages, beta)

    history = train_reference(
        ppo,
        gae,
        PPOConfig(total_steps=5 * 256, num_epochs=2, initial_beta=3.0, progress=False),
        policy_loss_fn=penalty,
        adapt_penalty_fn=ppo.adapt_kl_penalty,
    )
    betas = history.extra["beta"]
    assert betas[0] == 3.0
    for before, after, kl in zip(betas, betas[1:], history.extra["approx_kl"], strict=False):
        assert after == ppo.adapt_kl_penalty(before, kl, 0.01)
    assert set(seen) <= set(betas) | {ppo.adapt_kl_penalty(betas[-1], 0.0, 0.01)}


def test_the_clip_range_is_annealed_with_the_learning_rate(ppo, gae):
    seen = []

    def clip_loss(new, old, advantages, clip_eps):
        seen.append(clip_eps)
        return ppo.ppo_clip_loss(new, old, advantages, clip_eps)

    config = PPOConfig(total_steps=4 * 64, num_steps=8, num_epochs=1, progress=False)
    train_reference(ppo, gae, config, policy_loss_fn=clip_loss)
    # one call per update, then one more to log the loss. As in Stable-Baselines3, each update
    # gets the share of total_steps left after its rollout: 3/4, 2/4, 1/4, 0 of 0.2
    np.testing.assert_allclose(sorted(set(seen), reverse=True), [0.15, 0.1, 0.05, 0.0])


def test_a_policy_loss_that_is_not_a_scalar_stops_the_run(ppo, gae):
    with pytest.raises(TypeError, match="policy_loss_fn must return a scalar tensor"):
        train_reference(
            ppo,
            gae,
            PPOConfig(total_steps=256, progress=False),
            policy_loss_fn=lambda new, old, advantages, eps: new,
        )


def test_a_value_loss_that_is_not_finite_stops_the_run(ppo, gae):
    with pytest.raises(FloatingPointError, match="value_loss_fn returned nan"):
        train_reference(
            ppo,
            gae,
            PPOConfig(total_steps=256, progress=False),
            value_loss_fn=lambda values, old_values, returns, eps: (values * torch.nan).mean(),
        )


def test_the_rl_zoo_preset_is_the_defaults_spelled_out_with_a_stop_at_475():
    preset = PPOConfig.rl_zoo_cartpole(seed=3)
    assert preset.seed == 3 and preset.solved_return == 475.0 and preset.return_window == 20
    solved = dict(solved_return=475.0, seed=3, total_steps=100_000)
    assert preset == dataclasses.replace(PPOConfig(), **solved)


def probe_config(probe, seed):
    return PPOConfig(
        env_id=probe.env_id,
        seed=seed,
        num_envs=8,
        num_steps=16,
        total_steps=1024,
        num_epochs=4,
        num_minibatches=2,
        lr=0.02,
        anneal_lr=False,
        anneal_clip=False,
        gamma=0.5,
        lam=0.95,
        hidden_sizes=(16,),
        progress=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PROBES))
def test_the_reference_ppo_passes_every_probe_for_several_seeds(ppo, gae, name):
    probe = PROBES[name]
    for seed in range(3):
        torch.manual_seed(seed)
        policy, value_network = CategoricalPolicy(1, 2, (16,)), ValueNetwork(1, (16,))
        train_reference(
            ppo,
            gae,
            probe_config(probe, seed),
            policy=policy,
            value_network=value_network,
        )
        probe.check(policy, value_network, gamma=0.5)


@pytest.mark.slow
def test_the_reference_ppo_solves_cartpole_and_stops_there(ppo, gae):
    config = PPOConfig.rl_zoo_cartpole(progress=False)
    history = train_reference(ppo, gae, config)
    assert history.mean_return[-1] >= 475.0
    assert history.env_steps[-1] < 80_000
    assert dataclasses.replace(config).solved_return == 475.0
