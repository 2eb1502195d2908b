"""Plumbing for notebook 04 (importance sampling): the surrogate objective computed exactly.

On a tabular MDP everything the surrogate needs is known exactly: the old policy's state
distributions ``d_t(s)``, its advantages ``A_t(s, a)`` and the probabilities of every action. The
surrogate of a new policy is then a finite sum,

    L(new) = sum_t gamma^t sum_s d_t(s) sum_a pi_old(a|s) (pi_new(a|s) / pi_old(a|s)) A_t(s, a),

which :func:`exact_surrogate_inputs` writes as a *mean over samples* (one "sample" per (t, s, a),
its advantage scaled by its probability), so that a function written for sampled batches,
``mean(ratio * advantages)``, computes it exactly. :func:`trust_region_constant` gives the
constant of the bound J(new) - J(old) >= L(new) - C * max_s KL(pi_old(.|s) || pi_new(.|s)) for a
finite horizon, and :func:`bonus_room_mdp` is a two-state MDP on which the surrogate visibly
overshoots the true improvement.
"""

from __future__ import annotations

import torch

from utils.tabular import TabularMDP

__all__ = [
    "bonus_room_mdp",
    "exact_advantages",
    "exact_surrogate_inputs",
    "trust_region_constant",
]


def bonus_room_mdp(horizon: int = 12, gamma: float = 0.95) -> TabularMDP:
    """Two states, two actions, deterministic: stay home, or take a detour through a bonus room.

    State 0, *home* (every episode starts there):
      action 0, *stay*: reward +0.25, stay home;
      action 1, *enter*: reward -0.1, move to the room.
    State 1, the *room*:
      action 0, *wrong button*: reward -1.3, back home;
      action 1, *right button*: reward +2.0, back home.

    A policy that enters and presses the right button earns 1.9 every two steps, far more than
    staying home (0.5 every two steps). A policy that mostly presses the wrong button makes the
    detour a loss, so its policy gradient says two things at once: press the right button, and
    stay home. The surrogate adds both improvements up on the old policy's state distribution;
    the true objective knows that a policy that stays home no longer profits from the button.
    """
    transitions = torch.zeros(2, 2, 2, dtype=torch.float64)
    transitions[0, 0, 0] = 1.0  # home, stay -> home
    transitions[0, 1, 1] = 1.0  # home, enter -> room
    transitions[1, :, 0] = 1.0  # room, either button -> home
    rewards = torch.tensor([[0.25, -0.1], [-1.3, 2.0]], dtype=torch.float64)
    initial = torch.tensor([1.0, 0.0], dtype=torch.float64)
    return TabularMDP(transitions, rewards, initial, horizon=horizon, gamma=gamma)


def exact_advantages(mdp: TabularMDP, logits: torch.Tensor) -> torch.Tensor:
    """A_t(s, a) = Q_t(s, a) - V_t(s) of the softmax policy, shape (H, S, A). Differentiable."""
    q_values = mdp.q_values(logits)
    return q_values - (mdp.policy(logits) * q_values).sum(dim=-1, keepdim=True)


def exact_surrogate_inputs(
    mdp: TabularMDP, old_logits: torch.Tensor, new_logits: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The surrogate's exact expectation as a batch of B = H * S * A weighted "samples".

    Entry b stands for one (t, s, a). Its advantage is ``B * gamma^t d_t(s) pi_old(a|s) A_t(s, a)``
    (old policy), so that for any function that returns ``mean_b(ratio_b * advantages_b)`` with
    ``ratio_b = exp(new_log_probs_b - old_log_probs_b)``,

        mean_b(ratio_b * advantages_b) = sum_t gamma^t sum_s d_t(s) sum_a pi_new(a|s) A_t(s, a),

    the surrogate L(new) exactly, and its gradient with respect to ``new_logits`` at
    ``new_logits == old_logits`` is the exact policy gradient ``mdp.exact_gradient(old_logits)``.

    Args:
        mdp: the tabular MDP.
        old_logits: (S, A) the old policy (the one whose samples are reused); not differentiated.
        new_logits: (S, A) the new policy; ``new_log_probs`` is differentiable with respect to it.

    Returns:
        ``(new_log_probs, old_log_probs, advantages)``, each of shape (H * S * A,), in the dtype
        of ``new_logits``; only ``new_log_probs`` carries gradient.
    """
    horizon, num_states, num_actions = mdp.horizon, mdp.num_states, mdp.num_actions
    old_logits = old_logits.detach().to(new_logits)
    shape = (horizon, num_states, num_actions)
    new_log_probs = torch.log_softmax(new_logits, dim=-1).expand(shape).reshape(-1)
    with torch.no_grad():
        old_log_probs = torch.log_softmax(old_logits, dim=-1).expand(shape).reshape(-1)
        visits = mdp.state_distributions(old_logits)  # (H, S)
        discounts = mdp.gamma ** torch.arange(horizon, dtype=old_logits.dtype)
        probability = discounts.to(old_logits.device)[:, None, None] * visits[:, :, None]
        probability = probability * mdp.policy(old_logits)  # gamma^t d_t(s) pi_old(a|s)
        advantages = (probability * exact_advantages(mdp, old_logits)).reshape(-1)
        advantages = advantages * advantages.numel()
    return new_log_probs, old_log_probs, advantages


def trust_region_constant(mdp: TabularMDP, logits: torch.Tensor) -> float:
    """C = 2 sum_t t gamma^t max_{s,a} |A_t(s, a)| for the old policy ``logits``.

    With it, for every new policy (both stationary softmax policies on this finite-horizon MDP),

        |J(new) - J(old) - L(new)| <= C * max_s KL(pi_old(.|s) || pi_new(.|s)),

    so ``J(new) - J(old) >= L(new) - C * KL_max``. Derivation: couple the two policies so that
    their actions differ with probability TV(s) <= alpha at each step; the state distributions at
    step t then differ by at most t * alpha in total variation, and the expected advantage
    sum_a pi_new(a|s) A_t(s, a) = sum_a (pi_new - pi_old)(a|s) A_t(s, a) is at most 2 alpha
    max|A_t| in size. Summing gives 4 alpha^2 sum_t t gamma^t max|A_t|, and Pinsker's inequality
    alpha^2 <= KL_max / 2 gives C. (For an infinite horizon and one eps = max|A| this is
    2 eps gamma / (1 - gamma)^2; TRPO's paper states 4 eps gamma / (1 - gamma)^2, using the weaker
    TV^2 <= KL.)
    """
    with torch.no_grad():
        largest = exact_advantages(mdp, logits.detach()).abs().amax(dim=(1, 2))  # (H,)
        steps = torch.arange(mdp.horizon, dtype=largest.dtype, device=largest.device)
        return float(2 * (steps * mdp.gamma**steps * largest).sum())
