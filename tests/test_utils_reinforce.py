"""utils.reinforce: tabular estimator plumbing against autograd and closed forms; the trainer."""

from __future__ import annotations

import math

import pytest
import torch

from utils.reinforce import (
    EstimatorStatistics,
    estimator_statistics,
    flatten_episodes,
    format_statistics_table,
    gradient_estimates,
    tabular_scores,
)
from utils.tabular import random_mdp
from utils.train import PolicyGradientConfig, train_policy_gradient


def reward_to_go(rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    values, future = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        future = float(rewards[t]) + (0.0 if dones[t] else gamma * future)
        values[t] = future
    return torch.tensor(values, dtype=rewards.dtype)


def policy_gradient_loss(log_probs, weights, num_episodes):
    return -(log_probs * weights.detach()).sum() / num_episodes


def value_loss(values, targets):
    return ((values - targets.detach()) ** 2).mean()


@pytest.fixture
def setting():
    mdp = random_mdp(num_states=3, num_actions=2, horizon=4, gamma=0.9, seed=3)
    logits = torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    episodes = mdp.sample(logits, 60, generator=torch.Generator().manual_seed(6))
    return mdp, logits, episodes


def test_flatten_episodes_lays_episodes_end_to_end(setting):
    _, _, episodes = setting
    rewards, dones = flatten_episodes(episodes)
    assert rewards.shape == dones.shape == (60 * 4,)
    assert torch.equal(rewards.reshape(60, 4), episodes.rewards)
    assert dones.dtype == torch.bool
    last_steps = torch.tensor([False, False, False, True]).expand(60, 4)
    assert torch.equal(dones.reshape(60, 4), last_steps)


def test_tabular_scores_match_autograd(setting):
    mdp, logits, episodes = setting
    scores = tabular_scores(mdp, logits, episodes)
    assert scores.shape == (60, 4, 3, 2)
    parameters = logits.clone().requires_grad_(True)
    log_probs = mdp.policy_log_probs(parameters, episodes)
    for episode, step in [(0, 0), (7, 3), (59, 2)]:
        (expected,) = torch.autograd.grad(log_probs[episode, step], parameters, retain_graph=True)
        torch.testing.assert_close(scores[episode, step], expected)


def test_gradient_estimates_are_per_batch_means_of_weighted_scores(setting):
    mdp, logits, episodes = setting
    rewards, dones = flatten_episodes(episodes)
    weights = reward_to_go(rewards, dones, mdp.gamma)
    estimates = gradient_estimates(mdp, logits, episodes, weights, policy_gradient_loss, 20)
    assert estimates.shape == (3, 3, 2)
    per_episode = torch.einsum(
        "nt,ntsa->nsa", weights.reshape(60, 4), tabular_scores(mdp, logits, episodes)
    )
    torch.testing.assert_close(estimates, per_episode.reshape(3, 20, 3, 2).mean(dim=1))
    # a remainder that does not fill a batch is dropped
    assert gradient_estimates(mdp, logits, episodes, weights, policy_gradient_loss, 25).shape == (
        2,
        3,
        2,
    )


def test_gradient_estimates_are_unbiased_for_the_total_return():
    mdp = random_mdp(num_states=3, num_actions=2, horizon=4, gamma=0.8, seed=11)
    logits = torch.zeros(3, 2, dtype=torch.float64)
    episodes = mdp.sample(logits, 40_000, generator=torch.Generator().manual_seed(12))
    weights = episodes.returns().repeat_interleave(4)
    estimates = gradient_estimates(mdp, logits, episodes, weights, policy_gradient_loss, 100)
    statistics = estimator_statistics(estimates, mdp.exact_gradient(logits))
    assert statistics.bias_z < 4.5


def test_gradient_estimates_check_their_inputs(setting):
    mdp, logits, episodes = setting
    weights = torch.ones(60 * 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="weights must have shape"):
        gradient_estimates(mdp, logits, episodes, weights[:-1], policy_gradient_loss, 20)
    with pytest.raises(ValueError, match="at least 100 episodes"):
        gradient_estimates(mdp, logits, episodes, weights, policy_gradient_loss, 100)
    with pytest.raises(TypeError, match="scalar tensor"):
        gradient_estimates(
            mdp, logits, episodes, weights, lambda log_probs, w, n: log_probs * w, 20
        )


def test_estimator_statistics_on_known_noise():
    generator = torch.Generator().manual_seed(0)
    truth = torch.tensor([[1.0, -2.0], [0.5, 0.0]], dtype=torch.float64)
    noise = 0.3 * torch.randn(20_000, 2, 2, generator=generator, dtype=torch.float64)
    unbiased = estimator_statistics(truth + noise, truth)
    assert isinstance(unbiased, EstimatorStatistics) and unbiased.num_estimates == 20_000
    assert unbiased.bias_z < 4
    assert unbiased.variance == pytest.approx(4 * 0.09, rel=0.05)
    expected_error = math.sqrt(4 * 0.09) / truth.norm().item()
    assert unbiased.relative_error == pytest.approx(expected_error, rel=0.05)
    biased = estimator_statistics(truth + 0.1 + noise, truth)
    assert biased.bias_z > 20
    assert biased.relative_bias == pytest.approx(0.2 / truth.norm().item(), rel=0.1)
    with pytest.raises(ValueError):
        estimator_statistics(truth[None], truth)


def test_estimator_statistics_tell_a_length_error_from_a_direction_error():
    generator = torch.Generator().manual_seed(3)
    truth = torch.tensor([[1.0, -2.0], [0.5, 0.0]], dtype=torch.float64)
    noise = 0.01 * torch.randn(5000, 2, 2, generator=generator, dtype=torch.float64)
    # 1.5 times the truth: far from it in standard errors, yet pointing the same way
    longer = estimator_statistics(1.5 * truth + noise, truth)
    assert longer.bias_z > 100
    assert longer.relative_bias == pytest.approx(0.5, abs=0.01)
    assert longer.cosine == pytest.approx(1.0, abs=1e-4)
    assert longer.length_ratio == pytest.approx(1.5, abs=0.01)
    # the same length, turned by 60 degrees within the plane of two components
    turned = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    angle = math.pi / 3
    rotated = torch.tensor([[math.cos(angle), math.sin(angle)], [0.0, 0.0]], dtype=torch.float64)
    statistics = estimator_statistics(rotated + noise, turned)
    assert statistics.cosine == pytest.approx(0.5, abs=0.01)
    assert statistics.length_ratio == pytest.approx(1.0, abs=0.01)
    assert statistics.relative_bias == pytest.approx(1.0, abs=0.01)  # equilateral triangle
    # pointing the other way
    assert estimator_statistics(-truth + noise, truth).cosine == pytest.approx(-1.0, abs=1e-4)


def test_format_statistics_table_has_one_row_per_estimator():
    truth = torch.ones(3, dtype=torch.float64)
    noise = torch.randn(100, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    table = format_statistics_table(
        {
            "noisy": estimator_statistics(truth + noise, truth),
            "quiet": estimator_statistics(truth + 0.1 * noise, truth),
        }
    )
    lines = table.splitlines()
    assert len(lines) == 3 and lines[1].startswith("noisy") and lines[2].startswith("quiet")
    assert lines[0].split()[1:] == [
        "bias/s.e.",
        "rel.",
        "bias",
        "cosine",
        "length",
        "variance",
        "vs",
        "first",
    ]
    assert lines[1].split()[-1] == "1.000"
    assert float(lines[2].split()[-1]) == pytest.approx(0.01, abs=0.002)
    quiet = estimator_statistics(truth + 0.1 * noise, truth)
    cosine, length = (float(value) for value in lines[2].split()[3:5])
    assert cosine == pytest.approx(quiet.cosine, abs=1e-4)
    assert length == pytest.approx(quiet.length_ratio, abs=1e-3)


def test_trainer_hands_the_loss_flat_log_probs_and_raw_weights():
    seen = []

    def recording_loss(log_probs, weights, num_episodes):
        seen.append((log_probs, weights, num_episodes))
        return policy_gradient_loss(log_probs, weights, num_episodes)

    history = train_policy_gradient(
        lambda rewards, dones: reward_to_go(rewards, dones, 1.0),
        recording_loss,
        PolicyGradientConfig(
            iterations=2, episodes_per_batch=4, num_envs=2, value_steps=3, progress=False
        ),
        value_loss_fn=value_loss,
    )
    assert len(history) == 2 and len(seen) == 2
    log_probs, weights, num_episodes = seen[-1]
    assert num_episodes == 4
    assert log_probs.ndim == 1 and log_probs.requires_grad
    assert weights.shape == log_probs.shape
    # with a value baseline the weights carry the value network's gradient: the loss must detach
    assert weights.requires_grad
    assert len(history.extra["explained_variance"]) == 2
    assert history.env_steps == sorted(history.env_steps) and history.env_steps[0] > 0


def test_trainer_without_baseline_passes_the_returns_and_normalises_them():
    seen = []

    def recording_loss(log_probs, weights, num_episodes):
        seen.append(weights)
        return policy_gradient_loss(log_probs, weights, num_episodes)

    train_policy_gradient(
        lambda rewards, dones: reward_to_go(rewards, dones, 1.0),
        recording_loss,
        PolicyGradientConfig(iterations=1, episodes_per_batch=2, num_envs=2, progress=False),
        normalize_fn=lambda weights: (weights - weights.mean()) / (weights.std() + 1e-08),
    )
    (weights,) = seen
    assert not weights.requires_grad
    assert abs(weights.mean().item()) < 1e-5 and weights.std().item() == pytest.approx(1, rel=1e-4)


def test_trainer_checks_the_callers_functions():
    with pytest.raises(ValueError, match="one value per step"):
        train_policy_gradient(
            lambda rewards, dones: rewards[:1],
            policy_gradient_loss,
            PolicyGradientConfig(iterations=1, episodes_per_batch=2, num_envs=2, progress=False),
        )
    with pytest.raises(TypeError, match="scalar tensor"):
        train_policy_gradient(
            lambda rewards, dones: rewards,
            lambda log_probs, weights, n: log_probs * weights,
            PolicyGradientConfig(iterations=1, episodes_per_batch=2, num_envs=2, progress=False),
        )


def test_training_is_reproducible_for_a_seed():
    def run():
        return train_policy_gradient(
            lambda rewards, dones: reward_to_go(rewards, dones, 1.0),
            policy_gradient_loss,
            PolicyGradientConfig(
                iterations=2, episodes_per_batch=2, num_envs=2, value_steps=2, progress=False
            ),
            value_loss_fn=value_loss,
        ).mean_return

    assert run() == run()


@pytest.mark.slow
def test_reward_to_go_with_a_learned_baseline_learns_cartpole():
    history = train_policy_gradient(
        lambda rewards, dones: reward_to_go(rewards, dones, 1.0),
        policy_gradient_loss,
        PolicyGradientConfig(progress=False),
        value_loss_fn=value_loss,
        normalize_fn=lambda weights: (weights - weights.mean()) / (weights.std() + 1e-08),
    )
    returns = history.mean_return
    # a uniform policy scores ~22; the notebook's agent reaches ~500 within the default 60 updates
    assert sum(returns[-10:]) / 10 > 300, returns
