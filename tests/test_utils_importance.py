"""utils.importance: the exact surrogate, its gradient, and the trust-region bound it obeys."""

from __future__ import annotations

import pytest
import torch

from utils.importance import (
    bonus_room_mdp,
    exact_advantages,
    exact_surrogate_inputs,
    trust_region_constant,
)
from utils.tabular import TabularMDP, random_mdp

MDP_CASES = [
    dict(num_states=4, num_actions=3, horizon=5, gamma=1.0, seed=0),
    dict(num_states=3, num_actions=2, horizon=8, gamma=0.9, seed=1),
    dict(num_states=5, num_actions=4, horizon=6, gamma=0.5, seed=2),
]


def random_logits(mdp: TabularMDP, seed: int, scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    shape = (mdp.num_states, mdp.num_actions)
    return scale * torch.randn(*shape, generator=generator, dtype=torch.float64)


def surrogate_by_loops(mdp: TabularMDP, old: torch.Tensor, new: torch.Tensor) -> float:
    """sum_t gamma^t sum_s d_t(s) sum_a pi_new(a|s) A_t(s, a), one term at a time."""
    visits = mdp.state_distributions(old)
    advantages = exact_advantages(mdp, old)
    new_policy = mdp.policy(new)
    total = 0.0
    for t in range(mdp.horizon):
        for s in range(mdp.num_states):
            for a in range(mdp.num_actions):
                term = visits[t, s] * new_policy[s, a] * advantages[t, s, a]
                total += mdp.gamma**t * float(term)
    return total


def max_kl(old: torch.Tensor, new: torch.Tensor) -> float:
    old_log, new_log = torch.log_softmax(old, dim=-1), torch.log_softmax(new, dim=-1)
    return float((old_log.exp() * (old_log - new_log)).sum(dim=-1).max())


@pytest.mark.parametrize("case", MDP_CASES)
def test_advantages_average_to_zero_under_the_policy(case):
    mdp = random_mdp(**case)
    logits = random_logits(mdp, seed=case["seed"] + 10)
    advantages = exact_advantages(mdp, logits)
    assert advantages.shape == (mdp.horizon, mdp.num_states, mdp.num_actions)
    average = (mdp.policy(logits) * advantages).sum(dim=-1)
    torch.testing.assert_close(average, torch.zeros_like(average), rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", MDP_CASES)
def test_mean_of_ratio_times_advantage_is_the_exact_surrogate(case):
    mdp = random_mdp(**case)
    old = random_logits(mdp, seed=case["seed"] + 20)
    new = old + random_logits(mdp, seed=case["seed"] + 30, scale=0.7)
    new_log_probs, old_log_probs, advantages = exact_surrogate_inputs(mdp, old, new)
    size = mdp.horizon * mdp.num_states * mdp.num_actions
    for tensor in (new_log_probs, old_log_probs, advantages):
        assert tensor.shape == (size,)
    assert not old_log_probs.requires_grad and not advantages.requires_grad
    value = ((new_log_probs - old_log_probs).exp() * advantages).mean()
    assert abs(float(value) - surrogate_by_loops(mdp, old, new)) < 1e-10
    # at the old policy the surrogate is 0 (the advantages average to zero)
    same = exact_surrogate_inputs(mdp, old, old.clone())
    assert abs(float(((same[0] - same[1]).exp() * same[2]).mean())) < 1e-10


@pytest.mark.parametrize("case", MDP_CASES)
def test_gradient_of_the_surrogate_at_the_old_policy_is_the_policy_gradient(case):
    mdp = random_mdp(**case)
    old = random_logits(mdp, seed=case["seed"] + 40)
    new = old.clone().requires_grad_(True)
    new_log_probs, old_log_probs, advantages = exact_surrogate_inputs(mdp, old, new)
    value = ((new_log_probs - old_log_probs).exp() * advantages).mean()
    (gradient,) = torch.autograd.grad(value, new)
    torch.testing.assert_close(gradient, mdp.exact_gradient(old), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", [*MDP_CASES, "bonus room"])
def test_the_trust_region_bound_holds_along_random_directions(case):
    mdp = bonus_room_mdp() if case == "bonus room" else random_mdp(**case)
    seed = 7 if case == "bonus room" else case["seed"]
    old = random_logits(mdp, seed=seed + 50)
    constant = trust_region_constant(mdp, old)
    assert constant > 0
    for k in range(5):
        direction = random_logits(mdp, seed=seed + 60 + k)
        for step in [0.01, 0.1, 0.5, 1.0, 3.0, 10.0]:
            new = old + step * direction
            improvement = float(mdp.objective(new) - mdp.objective(old))
            surrogate = surrogate_by_loops(mdp, old, new)
            assert abs(improvement - surrogate) <= constant * max_kl(old, new) + 1e-12


def test_trust_region_constant_by_hand():
    # one step: no later states to shift, so the surrogate is exact and C = 0
    mdp = random_mdp(num_states=3, num_actions=2, horizon=1, gamma=0.9, seed=4)
    assert trust_region_constant(mdp, random_logits(mdp, seed=5)) == 0.0
    # two steps: C = 2 * 1 * gamma * max |A_1|
    mdp = random_mdp(num_states=3, num_actions=2, horizon=2, gamma=0.9, seed=4)
    logits = random_logits(mdp, seed=5)
    largest = exact_advantages(mdp, logits)[1].abs().max()
    assert trust_region_constant(mdp, logits) == pytest.approx(2 * 0.9 * float(largest))


def test_bonus_room_gradient_says_stay_home_and_press_the_right_button():
    mdp = bonus_room_mdp()
    old = torch.log(torch.tensor([[0.3, 0.7], [0.7, 0.3]], dtype=torch.float64))
    gradient = mdp.exact_gradient(old)
    assert gradient[0, 0] > 0 > gradient[0, 1]  # home: stay more, enter less
    assert gradient[1, 1] > 0 > gradient[1, 0]  # room: the right button more
    # the surrogate keeps rising along the gradient while the true improvement peaks and falls
    direction = gradient / gradient.norm()
    far, near = old + 12 * direction, old + 3 * direction
    true_far = float(mdp.objective(far) - mdp.objective(old))
    true_near = float(mdp.objective(near) - mdp.objective(old))
    assert true_far < true_near
    assert surrogate_by_loops(mdp, old, far) > surrogate_by_loops(mdp, old, near) > true_near
