"""utils.train.actor_critic: the loops' contracts with the caller's functions; they learn."""

from __future__ import annotations

import math

import pytest
import torch

from autograde.reference import solution_functions
from utils.actor_critic import QNetwork, Transitions, bootstrap_values
from utils.envs import make_vector_env
from utils.policies import CategoricalPolicy
from utils.rollouts import collect_steps
from utils.runtime import seed_everything
from utils.train import (
    A2CConfig,
    History,
    QActorCriticConfig,
    train_a2c,
    train_q_actor_critic,
)

# ---------------------------------------------------------------------- reference functions
# The instructor's solutions, loaded from the solution notebook (one source of truth).

REFERENCE = solution_functions("03_actor_critic")
q_learning_target = REFERENCE.q_learning_target
expected_sarsa_target = REFERENCE.expected_sarsa_target
gae = REFERENCE.gae
actor_critic_loss = REFERENCE.actor_critic_loss


def q_actor_critic_update(policy, critic, optimizer, transitions, gamma=0.99):
    """The notebook's update with the Q-learning target."""
    return REFERENCE.q_actor_critic_update(
        policy, critic, optimizer, transitions, gamma, q_learning_target
    )


# ---------------------------------------------------------------------- networks and data


def test_q_network_scores_every_action():
    critic = QNetwork(4, 3, hidden_sizes=(8,))
    assert critic(torch.zeros(5, 4)).shape == (5, 3)
    assert critic(torch.zeros(2, 5, 4)).shape == (2, 5, 3)


def test_bootstrap_values_follow_each_step_even_across_episode_ends():
    seed_everything(0)
    envs = make_vector_env("CartPole-v1", num_envs=3, seed=0, max_episode_steps=15)
    batch = collect_steps(envs, CategoricalPolicy(4, 2), 60, value_fn=lambda obs: obs[..., 2])
    next_values = bootstrap_values(batch)
    assert next_values.shape == (60, 3)
    # the value of the observation each step led to: the next grid slot, or the batch's last
    torch.testing.assert_close(next_values[:-1], batch.observations[1:, :, 2])
    torch.testing.assert_close(next_values[-1], batch.next_observation[:, 2])
    # after an episode end that slot is a reset step holding the episode's final observation
    assert batch.truncations.any() and batch.terminations.any()
    assert torch.equal(batch.reset_steps[1:], batch.dones[:-1])
    with pytest.raises(ValueError, match="value_fn"):
        bootstrap_values(collect_steps(envs, CategoricalPolicy(4, 2), 5))


# ---------------------------------------------------------------------- online Q actor-critic


def test_q_actor_critic_hands_update_fn_real_transitions_and_logs():
    seen = []

    def update_fn(policy, critic, optimizer, transitions):
        seen.append(transitions)
        assert isinstance(policy, CategoricalPolicy) and isinstance(critic, QNetwork)
        groups = optimizer.param_groups
        assert [group["lr"] for group in groups] == [3e-4, 2e-3]
        assert {id(p) for p in groups[0]["params"]} == {id(p) for p in policy.parameters()}
        assert {id(p) for p in groups[1]["params"]} == {id(p) for p in critic.parameters()}
        return q_actor_critic_update(policy, critic, optimizer, transitions)

    history = train_q_actor_critic(
        update_fn,
        QActorCriticConfig(
            num_envs=4,
            total_steps=800,
            policy_lr=0.0003,
            critic_lr=0.002,
            hidden_sizes=(16,),
            log_interval=200,
            progress=False,
        ),
    )
    assert len(seen) == 200
    for transitions in seen:
        assert isinstance(transitions, Transitions)
        n = transitions.num_transitions
        assert 1 <= n <= 4
        assert transitions.observations.shape == transitions.next_observations.shape == (n, 4)
        assert transitions.actions.shape == (n,) and transitions.actions.dtype == torch.long
        assert transitions.terminations.dtype == transitions.truncations.dtype == torch.bool
        # CartPole pays 1 on every real step; a reset step (reward 0) must never get through
        assert torch.equal(transitions.rewards, torch.ones(n))
    # some episodes ended, so some updates saw fewer than 4 transitions (reset steps dropped)
    assert any(t.terminations.any() for t in seen)
    assert any(t.num_transitions < 4 for t in seen)
    assert isinstance(history, History) and len(history) >= 2
    assert history.env_steps == sorted(history.env_steps)
    assert history.env_steps[-1] <= sum(t.num_transitions for t in seen)
    assert set(history.extra) == {"actor_loss", "critic_loss"}
    assert all(math.isfinite(value) for value in history.mean_return)


def test_q_actor_critic_hands_update_fn_the_acting_policy_for_on_policy_targets():
    """An expected SARSA update needs pi(. | s') of the policy that is acting and learning."""
    probabilities, at_rest = [], []

    def update_fn(policy, critic, optimizer, transitions):
        with torch.no_grad():
            next_probs = policy.distribution(transitions.next_observations).probs
            at_rest.append(policy.distribution(torch.zeros(4)).probs)
            # the policy that acts: its log-probabilities of the taken actions are finite
            assert torch.isfinite(
                policy.log_prob(transitions.observations, transitions.actions)
            ).all()
        probabilities.append(next_probs)
        q_taken = critic(transitions.observations).gather(1, transitions.actions[:, None])
        log_probs = policy.log_prob(transitions.observations, transitions.actions)
        with torch.no_grad():
            targets = expected_sarsa_target(
                transitions.rewards,
                critic(transitions.next_observations),
                next_probs,
                transitions.terminations,
                0.99,
            )
        actor_loss = -(log_probs * q_taken.squeeze(1).detach()).mean()
        critic_loss = ((q_taken.squeeze(1) - targets) ** 2).mean()
        optimizer.zero_grad()
        (actor_loss + critic_loss).backward()
        optimizer.step()
        return actor_loss.detach(), critic_loss.detach()

    history = train_q_actor_critic(
        update_fn, QActorCriticConfig(num_envs=4, total_steps=400, progress=False)
    )
    assert len(probabilities) == 100 and len(history) >= 1
    for next_probs in probabilities:
        assert next_probs.shape[1] == 2
        torch.testing.assert_close(next_probs.sum(dim=1), torch.ones(next_probs.shape[0]))
    # the same policy learns while it acts: pi(. | s) of a fixed state changes over the updates
    assert not torch.allclose(at_rest[0], at_rest[-1])


def test_q_actor_critic_with_one_environment_skips_its_reset_steps():
    sizes = []

    def update_fn(policy, critic, optimizer, transitions):
        sizes.append(transitions.num_transitions)
        return q_actor_critic_update(policy, critic, optimizer, transitions)

    history = train_q_actor_critic(
        update_fn, QActorCriticConfig(num_envs=1, total_steps=200, progress=False)
    )
    # the lecture's loop: one transition per update; the reset step after each episode is skipped
    assert set(sizes) == {1}
    assert 200 - len(sizes) >= 5  # random CartPole episodes last ~20 steps: ~9 reset steps
    assert len(history) == 1 and history.env_steps[-1] == len(sizes)


def test_q_actor_critic_rejects_continuous_actions():
    with pytest.raises(ValueError, match="discrete"):
        train_q_actor_critic(
            q_actor_critic_update,
            QActorCriticConfig(env_id="Pendulum-v1", total_steps=10, progress=False),
        )


def test_q_actor_critic_checks_what_update_fn_returns():
    with pytest.raises(TypeError, match="scalar"):
        train_q_actor_critic(
            lambda *args: (1.0, 2.0), QActorCriticConfig(num_envs=2, total_steps=10, progress=False)
        )


@pytest.mark.slow
def test_q_actor_critic_learns_cartpole():
    history = train_q_actor_critic(
        q_actor_critic_update,
        QActorCriticConfig(total_steps=40000, policy_lr=0.0003, progress=False, seed=0),
    )
    assert history.mean_return[-1] > 2 * history.mean_return[0]
    assert history.mean_return[-1] > 40


# ---------------------------------------------------------------------- A2C


def test_a2c_hands_gae_the_grid_and_the_loss_flat_real_steps():
    gae_calls, loss_calls = [], []

    def gae_fn(rewards, values, next_values, terminations, truncations, gamma, lam):
        gae_calls.append((rewards, values, next_values, terminations, truncations, gamma, lam))
        assert not torch.is_grad_enabled()
        return gae(rewards, values, next_values, terminations, truncations, gamma, lam)

    def loss_fn(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
        loss_calls.append((log_probs, advantages, values, returns, entropy))
        assert (value_coef, entropy_coef) == (0.25, 0.02)
        return actor_critic_loss(
            log_probs, advantages, values, returns, entropy, value_coef, entropy_coef
        )

    history = train_a2c(
        loss_fn,
        gae_fn,
        A2CConfig(
            num_envs=4,
            num_steps=16,
            total_steps=640,
            gamma=0.9,
            lam=0.8,
            value_coef=0.25,
            entropy_coef=0.02,
            normalize_advantages=False,
            hidden_sizes=(16,),
            progress=False,
        ),
    )
    assert len(gae_calls) == len(loss_calls) == 10
    previous_dones = torch.zeros(4, dtype=torch.bool)  # the first batch starts with a reset
    for arguments, loss_arguments in zip(gae_calls, loss_calls, strict=True):
        rewards, values, next_values, terminations, truncations, gamma, lam = arguments
        assert (gamma, lam) == (0.9, 0.8)
        for grid in (rewards, values, next_values, terminations, truncations):
            assert grid.shape == (16, 4)
        # next_values continue the values: the slot after each step
        torch.testing.assert_close(next_values[:-1], values[1:])
        # the loss sees the real steps only: the step after an episode end is a reset step
        dones = terminations | truncations
        real = ~torch.cat([previous_dones[None], dones[:-1]])
        previous_dones = dones[-1]
        log_probs, advantages, values_with_grad, returns, entropy = loss_arguments
        for flat in loss_arguments:
            assert flat.shape == (int(real.sum()),)
        assert log_probs.requires_grad and values_with_grad.requires_grad and entropy.requires_grad
        assert not advantages.requires_grad and not returns.requires_grad
        expected = gae(*arguments)
        torch.testing.assert_close(advantages, expected[real])
        torch.testing.assert_close(returns, (expected + values)[real])
        torch.testing.assert_close(values_with_grad.detach(), values[real])
    assert any(call[3].any() for call in gae_calls), "want an episode end inside a batch"
    assert len(history) >= 1
    assert {"entropy", "value_loss", "explained_variance"} <= set(history.extra)


def test_a2c_normalises_advantages_when_asked():
    seen = []

    def loss_fn(log_probs, advantages, *rest):
        seen.append(advantages)
        return actor_critic_loss(log_probs, advantages, *rest)

    train_a2c(
        loss_fn,
        gae,
        A2CConfig(
            num_envs=2, num_steps=16, total_steps=96, normalize_advantages=True, progress=False
        ),
    )
    for advantages in seen:
        assert abs(advantages.mean().item()) < 1e-5
        assert abs(advantages.std().item() - 1) < 1e-4


def test_a2c_checks_the_shape_of_the_advantages():
    with pytest.raises(TypeError, match=r"\(T, N\)"):
        train_a2c(
            actor_critic_loss,
            lambda rewards, *rest: rewards.flatten(),
            A2CConfig(num_envs=2, num_steps=4, total_steps=8, progress=False),
        )


def test_a2c_is_reproducible_and_runs_gaussian_policies():
    def run():
        return train_a2c(
            actor_critic_loss,
            gae,
            A2CConfig(
                num_envs=2, num_steps=32, total_steps=640, hidden_sizes=(8,), progress=False, seed=3
            ),
        ).mean_return

    assert run() == run()
    history = train_a2c(
        actor_critic_loss,
        gae,
        A2CConfig(
            env_id="Pendulum-v1",
            num_envs=2,
            num_steps=100,
            total_steps=800,
            hidden_sizes=(8,),
            progress=False,
        ),
    )
    assert len(history) >= 1 and all(value < 0 for value in history.mean_return)


@pytest.mark.slow
def test_a2c_learns_cartpole():
    history = train_a2c(
        actor_critic_loss,
        gae,
        A2CConfig(
            num_envs=8,
            num_steps=8,
            lr=0.001,
            normalize_advantages=False,
            total_steps=120000,
            progress=False,
            seed=0,
        ),
    )
    assert max(history.mean_return) > 200
