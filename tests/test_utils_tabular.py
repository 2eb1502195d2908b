"""Exact values and gradients of utils.tabular against autograd, finite differences and sampling."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from utils.tabular import TabularEpisodes, TabularMDP, random_mdp, two_armed_bandit

MDP_CASES = [
    dict(num_states=4, num_actions=3, horizon=5, gamma=1.0, seed=0),
    dict(num_states=3, num_actions=2, horizon=4, gamma=0.9, seed=1),
    dict(num_states=5, num_actions=4, horizon=7, gamma=0.5, seed=2),
    dict(num_states=2, num_actions=2, horizon=1, gamma=1.0, seed=3),
]


def random_logits(mdp: TabularMDP, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(mdp.num_states, mdp.num_actions, generator=generator, dtype=torch.float64)


def finite_difference_gradient(mdp: TabularMDP, logits: torch.Tensor, step: float = 1e-6):
    gradient = torch.zeros_like(logits)
    for s, a in itertools.product(range(mdp.num_states), range(mdp.num_actions)):
        shift = torch.zeros_like(logits)
        shift[s, a] = step
        difference = mdp.objective(logits + shift) - mdp.objective(logits - shift)
        gradient[s, a] = difference / (2 * step)
    return gradient


@pytest.mark.parametrize("case", MDP_CASES)
def test_exact_gradient_matches_autograd_and_finite_differences(case):
    mdp = random_mdp(**case)
    logits = random_logits(mdp, seed=case["seed"] + 100).requires_grad_()
    (autograd_gradient,) = torch.autograd.grad(mdp.objective(logits), logits)
    exact = mdp.exact_gradient(logits)

    assert exact.shape == (mdp.num_states, mdp.num_actions)
    assert not exact.requires_grad
    assert exact.abs().max() > 1e-3, "test MDP should have a clearly non-zero gradient"
    torch.testing.assert_close(exact, autograd_gradient, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        exact, finite_difference_gradient(mdp, logits.detach()), rtol=1e-6, atol=1e-8
    )


def test_two_armed_bandit_has_analytic_gradient():
    mdp = two_armed_bandit(reward_left=1.0, reward_right=-2.0)
    logits = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
    left, right = torch.softmax(logits, dim=-1)[0]
    expected_gradient = left * right * 3.0 * torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    torch.testing.assert_close(mdp.objective(logits), left * 1.0 + right * -2.0)
    torch.testing.assert_close(mdp.exact_gradient(logits), expected_gradient)


def test_values_and_state_distributions_are_consistent():
    mdp = random_mdp(num_states=4, num_actions=3, horizon=6, gamma=0.8, seed=5)
    logits = random_logits(mdp, seed=6)
    q = mdp.q_values(logits)
    v = mdp.values(logits)
    visits = mdp.state_distributions(logits)
    assert q.shape == (6, 4, 3) and v.shape == (6, 4) and visits.shape == (6, 4)
    torch.testing.assert_close(q[-1], mdp.rewards)  # last step: only the immediate reward
    torch.testing.assert_close(visits.sum(1), torch.ones(6, dtype=torch.float64))
    # J is also the discounted sum of expected rewards under the visitation distributions
    expected_rewards = (visits[:, :, None] * mdp.policy(logits) * mdp.rewards).sum((1, 2))
    discounts = 0.8 ** torch.arange(6, dtype=torch.float64)
    torch.testing.assert_close(mdp.objective(logits), (discounts * expected_rewards).sum())


def test_sample_shapes_and_reproducibility():
    mdp = random_mdp(num_states=4, num_actions=3, horizon=5)
    logits = random_logits(mdp, seed=0)
    episodes = mdp.sample(logits, 7, generator=torch.Generator().manual_seed(1))
    again = mdp.sample(logits, 7, generator=torch.Generator().manual_seed(1))
    for name in ("states", "actions", "next_states"):
        tensor = getattr(episodes, name)
        assert tensor.shape == (7, 5) and tensor.dtype == torch.long
        assert torch.equal(tensor, getattr(again, name))
    assert episodes.rewards.shape == (7, 5) and episodes.rewards.dtype == torch.float64
    # the next state of step t is the state of step t + 1
    assert torch.equal(episodes.next_states[:, :-1], episodes.states[:, 1:])
    torch.testing.assert_close(episodes.rewards, mdp.rewards[episodes.states, episodes.actions])


@pytest.mark.parametrize("gamma", [1.0, 0.7])
def test_sampled_mean_return_matches_objective(gamma):
    mdp = random_mdp(num_states=4, num_actions=3, horizon=5, gamma=gamma, seed=4)
    logits = random_logits(mdp, seed=8)
    episodes = mdp.sample(logits, 20_000, torch.Generator().manual_seed(2))
    returns = episodes.returns()  # discounted with the MDP's gamma by default
    torch.testing.assert_close(returns, episodes.returns(gamma))
    standard_error = returns.std() / math.sqrt(len(returns))
    assert abs(returns.mean() - mdp.objective(logits)) < 4 * standard_error


def test_reinforce_estimate_matches_exact_gradient():
    mdp = random_mdp(num_states=3, num_actions=2, horizon=4, gamma=0.9, seed=7)
    logits = random_logits(mdp, seed=9).requires_grad_()
    num_episodes = 20_000
    episodes = mdp.sample(logits, num_episodes, torch.Generator().manual_seed(3))
    returns = episodes.returns(mdp.gamma)

    # one gradient estimate per episode: grad of sum_t log pi(a_t|s_t), times R(tau)
    log_probs = mdp.policy_log_probs(logits, episodes).sum(1)
    per_episode = torch.stack(
        [torch.autograd.grad(log_probs[i], logits, retain_graph=True)[0] for i in range(200)]
    )
    # the same scores in closed form for all episodes: one_hot(s) x (one_hot(a) - pi(s))
    probabilities = mdp.policy(logits.detach())
    states = torch.nn.functional.one_hot(episodes.states, mdp.num_states).double()
    actions = torch.nn.functional.one_hot(episodes.actions, mdp.num_actions).double()
    scores = torch.einsum("nts,nta->nsa", states, actions - probabilities[episodes.states])
    torch.testing.assert_close(scores[:200], per_episode)

    estimates = scores * returns[:, None, None]
    standard_errors = estimates.std(0) / math.sqrt(num_episodes)
    error = (estimates.mean(0) - mdp.exact_gradient(logits)).abs()
    # 5 standard errors per component keeps the whole test honest with 6 components
    assert (error < 5 * standard_errors + 1e-12).all(), (error, standard_errors)


def test_trajectory_log_probability_matches_brute_force():
    mdp = random_mdp(num_states=3, num_actions=2, horizon=3, gamma=1.0, seed=11)
    logits = random_logits(mdp, seed=12).requires_grad_()
    episodes = mdp.sample(logits, 5, torch.Generator().manual_seed(4))
    total = mdp.policy_log_probs(logits, episodes).sum(1) + mdp.dynamics_log_probs(episodes).sum(1)
    assert total.requires_grad

    probabilities = mdp.policy(logits.detach())
    for i in range(5):
        states, actions = episodes.states[i].tolist(), episodes.actions[i].tolist()
        visited = states + [int(episodes.next_states[i, -1])]
        probability = mdp.initial[visited[0]]
        for t in range(mdp.horizon):
            probability = probability * probabilities[visited[t], actions[t]]
            probability = probability * mdp.transitions[visited[t], actions[t], visited[t + 1]]
        torch.testing.assert_close(total[i].detach(), torch.log(probability))

    # and the log-probabilities of all trajectories of a tiny MDP sum to one
    tiny = random_mdp(num_states=2, num_actions=2, horizon=2, seed=13)
    tiny_logits = random_logits(tiny, seed=14)
    total_probability = torch.zeros((), dtype=torch.float64)
    for s0, a0, s1, a1, s2 in itertools.product(range(2), repeat=5):
        states, actions = torch.tensor([[s0, s1]]), torch.tensor([[a0, a1]])
        episode = TabularEpisodes(
            states, actions, tiny.rewards[states, actions], torch.tensor([[s1, s2]])
        )
        log_probability = (
            tiny.policy_log_probs(tiny_logits, episode) + tiny.dynamics_log_probs(episode)
        ).sum()
        total_probability += log_probability.exp()
    torch.testing.assert_close(total_probability, torch.ones((), dtype=torch.float64))


def test_invalid_inputs_are_rejected():
    mdp = random_mdp()
    with pytest.raises(ValueError, match="logits"):
        mdp.objective(torch.zeros(2, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="transitions"):
        TabularMDP(
            transitions=torch.full((2, 2, 2), 0.3),
            rewards=torch.zeros(2, 2),
            initial=torch.tensor([0.5, 0.5]),
            horizon=3,
        )
