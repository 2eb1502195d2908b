"""REINFORCE with per-step weights: measuring estimators on tabular MDPs, and a CartPole trainer.

Notebook 02 writes the policy gradient as one sum over the steps of a batch,

    grad J  ~  (1/N) sum_{steps b} weight_b * grad log pi(a_b | s_b),

where the weight of a step is the whole return, the reward-to-go, or the reward-to-go minus a
baseline. This module holds the plumbing around that sum; the weights and the loss are the
caller's (the student's) functions:

- ``flatten_episodes`` lays tabular episodes end to end, the layout the notebook's functions use;
- ``tabular_scores`` gives grad log pi of every step of a tabular softmax policy in closed form;
- ``gradient_estimates`` turns per-step weights into one gradient estimate per batch of episodes,
  through the caller's loss and a single backward pass;
- ``estimator_statistics`` measures the bias (its size, and whether it changes the direction or
  only the length) and the variance of those estimates against the exact gradient;

The CartPole trainer of notebook 02 (``train_policy_gradient``) is in ``utils.train``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from utils.tabular import TabularEpisodes, TabularMDP

__all__ = [
    "EstimatorStatistics",
    "estimator_statistics",
    "flatten_episodes",
    "format_statistics_table",
    "gradient_estimates",
    "tabular_scores",
]

PolicyGradientLoss = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
"""``loss_fn(log_probs, weights, num_episodes) -> scalar``: log_probs (B,) with gradient."""


# ---------------------------------------------------------------------- tabular estimators


def flatten_episodes(episodes: TabularEpisodes) -> tuple[torch.Tensor, torch.Tensor]:
    """Tabular episodes laid end to end: ``(rewards, dones)``, both of shape (N * H,).

    Episode 0's H steps come first, then episode 1's, and so on; ``dones`` is True on the last
    step of every episode. ``x.reshape(N, H)`` undoes the flattening of any per-step quantity.
    """
    dones = torch.zeros(episodes.num_episodes, episodes.horizon, dtype=torch.bool)
    dones[:, -1] = True
    return episodes.rewards.reshape(-1), dones.reshape(-1)


def tabular_scores(
    mdp: TabularMDP, logits: torch.Tensor, episodes: TabularEpisodes
) -> torch.Tensor:
    """grad_logits log pi(a_t | s_t) for every step, in closed form: shape (N, H, S, A).

    For a tabular softmax, d log pi(a | s) / d logits[s', b] = 1[s' = s] (1[b = a] - pi(b | s)):
    only the row of the visited state is non-zero.
    """
    probabilities = mdp.policy(logits.detach())
    action_part = (
        torch.nn.functional.one_hot(episodes.actions, mdp.num_actions).to(probabilities)
        - probabilities[episodes.states.to(probabilities.device)]
    )
    state_part = torch.nn.functional.one_hot(episodes.states, mdp.num_states).to(probabilities)
    return state_part[..., :, None] * action_part[..., None, :]


def gradient_estimates(
    mdp: TabularMDP,
    logits: torch.Tensor,
    episodes: TabularEpisodes,
    weights: torch.Tensor,
    loss_fn: PolicyGradientLoss,
    episodes_per_batch: int,
) -> torch.Tensor:
    """One policy-gradient estimate per batch of episodes, from the caller's loss: (K, S, A).

    The N episodes are cut into K = N // episodes_per_batch consecutive batches (a remainder is
    dropped). Batch k's estimate is minus the gradient of
    ``loss_fn(log_probs_k, weights_k, episodes_per_batch)`` with respect to the logits, where
    ``log_probs_k`` are the (flat) log-probabilities of batch k's steps.

    All K gradients come from one call and one backward pass: each batch gets its own copy of
    the logits, so the gradient with respect to copy k is batch k's estimate (the loss is a sum
    over steps divided by the number of episodes, so the batches do not mix).

    Args:
        weights: (N * H,) per-step weights in the flat layout of ``flatten_episodes``.
    """
    num_episodes, horizon = episodes.num_episodes, episodes.horizon
    num_batches = num_episodes // episodes_per_batch
    used = num_batches * episodes_per_batch
    if num_batches < 1:
        raise ValueError(f"need at least {episodes_per_batch} episodes, got {num_episodes}")
    if weights.shape != (num_episodes * horizon,):
        raise ValueError(
            f"weights must have shape (N * H,) = ({num_episodes * horizon},), "
            f"got {tuple(weights.shape)}"
        )
    copies = logits.detach().expand(num_batches, -1, -1).clone().requires_grad_(True)
    log_policy = torch.log_softmax(copies, dim=-1)  # (K, S, A)
    batch_of_episode = torch.arange(used) // episodes_per_batch
    states, actions = episodes.states[:used], episodes.actions[:used]
    log_probs = log_policy[batch_of_episode[:, None], states, actions]  # (used, H)
    loss = loss_fn(log_probs.reshape(-1), weights[: used * horizon], episodes_per_batch)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise TypeError(f"loss_fn must return a scalar tensor, got {loss!r}")
    (gradient,) = torch.autograd.grad(loss.reshape(()), copies)
    return -gradient


@dataclass(frozen=True)
class EstimatorStatistics:
    """Bias and variance of K independent gradient estimates, measured against the truth.

    Attributes:
        mean: (S, A) the average of the K estimates.
        bias_z: the largest |mean - exact| over the components, in standard errors of the mean;
            an unbiased estimator gives values of order 1 (rarely above 4).
        relative_bias: |mean - exact| / |exact| (Euclidean norms).
        cosine: the cosine of the angle between the mean and the exact gradient: 1 when the
            mean points the same way (however long it is), 0 at right angles, -1 opposite.
        length_ratio: |mean| / |exact|. A mean that is c times the exact gradient has cosine 1
            and length ratio c: a length error, not a direction error.
        variance: the total variance of ONE estimate, sum over components of its variance
            (the expected squared distance of an estimate from its own mean).
        relative_error: sqrt(E|estimate - exact|^2) / |exact|, the typical error of one estimate.
        num_estimates: K.
    """

    mean: torch.Tensor
    bias_z: float
    relative_bias: float
    cosine: float
    length_ratio: float
    variance: float
    relative_error: float
    num_estimates: int


def estimator_statistics(estimates: torch.Tensor, exact: torch.Tensor) -> EstimatorStatistics:
    """Bias and variance of ``estimates`` (K, ...) of the quantity ``exact`` (...)."""
    num_estimates = estimates.shape[0]
    if num_estimates < 2:
        raise ValueError("need at least two estimates to measure a variance")
    flat = estimates.detach().reshape(num_estimates, -1).double()
    truth = exact.detach().reshape(-1).to(flat)
    mean = flat.mean(dim=0)
    spread = flat.std(dim=0)
    standard_error = spread / math.sqrt(num_estimates)
    deviation = (mean - truth).abs()
    # components that never vary (an unvisited state) carry no information about bias
    informative = standard_error > 0
    bias_z = (deviation[informative] / standard_error[informative]).max().item()
    norm = truth.norm().item()
    mean_norm = mean.norm().item()
    return EstimatorStatistics(
        mean=mean.reshape(exact.shape),
        bias_z=bias_z,
        relative_bias=(mean - truth).norm().item() / norm,
        cosine=(mean @ truth).item() / (mean_norm * norm) if mean_norm > 0 else float("nan"),
        length_ratio=mean_norm / norm,
        variance=(spread**2).sum().item(),
        relative_error=math.sqrt(((flat - truth) ** 2).sum(dim=1).mean().item()) / norm,
        num_estimates=num_estimates,
    )


def format_statistics_table(results: dict[str, EstimatorStatistics]) -> str:
    """A text table of several estimators' statistics, one row each, in the given order.

    Columns: bias in standard errors (unbiased: below about 4), relative bias, the cosine of the
    mean estimate with the exact gradient and its length relative to the gradient's (a bias
    along the gradient changes only the length), the variance of one estimate, and that
    variance relative to the first row's.
    """
    width = max(len(name) for name in results)
    first = next(iter(results.values())).variance
    lines = [
        f"{'estimator':<{width}}  {'bias/s.e.':>9}  {'rel. bias':>9}  {'cosine':>7}  "
        f"{'length':>6}  {'variance':>10}  {'vs first':>8}"
    ]
    for name, result in results.items():
        lines.append(
            f"{name:<{width}}  {result.bias_z:>9.1f}  {result.relative_bias:>9.3f}  "
            f"{result.cosine:>7.4f}  {result.length_ratio:>6.3f}  "
            f"{result.variance:>10.4g}  {result.variance / first:>8.3f}"
        )
    return "\n".join(lines)
