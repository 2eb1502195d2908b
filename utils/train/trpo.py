"""TRPO with the caller's natural-gradient machinery (notebook 05).

The notebook supplies the pieces of the algorithm: the flat gradient, the Fisher-vector product,
conjugate gradient, the natural step's size and the line search, and the advantage estimator.
This module collects the rollouts (``utils.train.ppo.RolloutCollector``), builds the surrogate
and the exact mean KL between the old and the new policy, hands them to those pieces, and fits
the value network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import kl_divergence
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from utils.history import History
from utils.policies import Policy
from utils.train.config import RunConfig, option
from utils.train.ppo import (
    AdvantageFunction,
    Rollout,
    RolloutCollector,
    make_rollout,
    networks_for,
    unchecked_distributions,
)
from utils.train.scaffold import ReturnTracker, Run, explained_variance

__all__ = ["TRPOConfig", "train_trpo"]


@dataclass(frozen=True)
class TRPOConfig(RunConfig):
    """Settings of ``train_trpo``. With the defaults and notebook 05's functions, TRPO reaches a
    mean return near 500 on CartPole-v1 within about 100 thousand steps."""

    total_steps: int = option(100_000, "environment steps in all, counting reset steps")
    num_steps: int = option(128, "T, steps of every environment per rollout (one policy step)")
    gamma: float = option(0.99, "discount factor")
    lam: float = option(0.95, "GAE lambda")
    max_kl: float = option(0.01, "delta, the trust region: mean KL(pi_old || pi) per update")
    damping: float = option(0.1, "added to the Fisher matrix (F + damping I) for stability")
    cg_iterations: int = option(10, "conjugate-gradient iterations per update")
    shrink: float = option(0.5, "the line search multiplies the step by this after a failure")
    max_backtracks: int = option(10, "the line search's tries after the full step")
    value_lr: float = option(1e-3, "Adam learning rate of the value network")
    value_epochs: int = option(10, "passes of the value network over each rollout")
    value_minibatches: int = option(8, "minibatches per pass of the value network")
    hidden_sizes: tuple[int, ...] = option((64, 64), "hidden layer widths of both networks")
    return_window: int = option(20, "mean_return averages the last this many episodes")
    solved_return: float | None = option(
        None, "stop once mean_return reaches it (None: train for total_steps)"
    )


def _policy_step(
    policy: Policy,
    rollout: Rollout,
    config: TRPOConfig,
    flat_grad_fn: Callable[..., torch.Tensor],
    fisher_vector_product_fn: Callable[..., torch.Tensor],
    conjugate_gradient_fn: Callable[..., torch.Tensor],
    natural_step_fn: Callable[..., torch.Tensor],
    line_search_fn: Callable[..., torch.Tensor],
) -> tuple[float, float, float, float]:
    """One TRPO update of ``policy`` on ``rollout`` with the caller's functions.

    Returns the mean KL of the update, the surrogate's improvement, the policy's entropy after
    it, and the accepted step's length as a fraction of the full step's.
    """
    parameters = list(policy.parameters())
    observations, actions = rollout.observations, rollout.actions
    advantages = rollout.advantages
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    with torch.no_grad():
        old_distribution = policy.distribution(observations)

    def surrogate() -> torch.Tensor:
        log_ratio = policy.log_prob(observations, actions) - rollout.log_probs
        return (log_ratio.exp() * advantages).mean()

    def mean_kl() -> torch.Tensor:
        return kl_divergence(old_distribution, policy.distribution(observations)).mean()

    def fisher_vector_product(vector: torch.Tensor) -> torch.Tensor:
        return fisher_vector_product_fn(mean_kl(), parameters, vector, config.damping)

    def evaluated_at(
        function: Callable[[], torch.Tensor],
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        def at(theta: torch.Tensor) -> torch.Tensor:
            vector_to_parameters(theta, parameters)
            with torch.no_grad():
                return function()

        return at

    old_theta = parameters_to_vector(parameters).detach().clone()
    old_surrogate = surrogate()
    gradient = flat_grad_fn(old_surrogate, parameters).detach()
    direction = conjugate_gradient_fn(fisher_vector_product, gradient, config.cg_iterations)
    full_step = natural_step_fn(direction.detach(), fisher_vector_product, config.max_kl)
    new_theta = line_search_fn(
        evaluated_at(surrogate),
        evaluated_at(mean_kl),
        old_theta.clone(),
        full_step.detach(),
        config.max_kl,
        config.shrink,
        config.max_backtracks,
    )
    vector_to_parameters(new_theta.detach(), parameters)
    with torch.no_grad():
        kl = mean_kl().item()
        improvement = surrogate().item() - old_surrogate.item()
        entropy = policy.distribution(observations).entropy().mean().item()
        step_norm = full_step.norm().item()
        fraction = (new_theta - old_theta).norm().item() / step_norm if step_norm else 0.0
    return kl, improvement, entropy, fraction


def train_trpo(
    flat_grad_fn: Callable[..., torch.Tensor],
    fisher_vector_product_fn: Callable[..., torch.Tensor],
    conjugate_gradient_fn: Callable[..., torch.Tensor],
    natural_step_fn: Callable[..., torch.Tensor],
    line_search_fn: Callable[..., torch.Tensor],
    advantage_fn: AdvantageFunction,
    config: TRPOConfig = TRPOConfig(),
    *,
    policy: Policy | None = None,
    value_network: nn.Module | None = None,
) -> History:
    """Trust region policy optimisation, one natural-gradient step per rollout.

    Every iteration collects T steps of N environments, computes advantages with
    ``advantage_fn`` and normalises them over the rollout, then, with theta the policy's
    parameters as one flat vector:

    1. ``g = flat_grad_fn(surrogate, parameters)``, the gradient of the surrogate
       L(theta) = mean(pi_theta(a|s) / pi_old(a|s) * A) at theta_old;
    2. ``fvp(v) = fisher_vector_product_fn(kl, parameters, v, damping)`` with ``kl`` the exact
       mean KL(pi_old(.|s) || pi_theta(.|s)) over the rollout's states, recomputed (with its
       graph) for every product;
    3. ``direction = conjugate_gradient_fn(fvp, g, cg_iterations)``, about F^-1 g;
    4. ``step = natural_step_fn(direction, fvp, max_kl)``, the step to the trust region's edge;
    5. ``theta = line_search_fn(surrogate_at, kl_at, theta_old, step, max_kl, shrink,
       max_backtracks)`` where ``surrogate_at(theta)`` and ``kl_at(theta)`` evaluate the
       surrogate and the KL with the policy's parameters set to the flat vector ``theta``;
    6. ``value_epochs`` passes of Adam over the rollout fit the value network to the returns.

    Returns:
        A ``History``, one entry per iteration once an episode has finished; ``loss`` is minus
        the surrogate's improvement; ``extra`` holds "approx_kl" (the exact mean KL of the
        update), "step_fraction" (the accepted step's length over the full step's: 1 is the
        full step, 0 a rejected update), "entropy" and "explained_variance".
    """
    iterations = max(1, config.total_steps // (config.num_envs * config.num_steps))
    with Run(config, name="TRPO", total=iterations) as run, unchecked_distributions():
        policy, value_network = networks_for(run, config.hidden_sizes, policy, value_network)
        value_optimizer = torch.optim.Adam(
            value_network.parameters(), lr=config.value_lr, eps=1e-5, foreach=True
        )
        collector = RolloutCollector(run.envs, policy, value_network, run.device)
        tracker = ReturnTracker(config.return_window)
        env_steps = 0
        for _ in run.steps():
            batch = collector.collect(config.num_steps)
            rollout = make_rollout(batch, advantage_fn, config.gamma, config.lam)
            kl, improvement, entropy, fraction = _policy_step(
                policy,
                rollout,
                config,
                flat_grad_fn,
                fisher_vector_product_fn,
                conjugate_gradient_fn,
                natural_step_fn,
                line_search_fn,
            )
            observations = rollout.observations

            num_samples = rollout.num_samples
            for _ in range(config.value_epochs):
                for indices in torch.randperm(num_samples).tensor_split(config.value_minibatches):
                    predicted = value_network(observations[indices])
                    value_loss = ((predicted - rollout.returns[indices]) ** 2).mean()
                    value_optimizer.zero_grad()
                    value_loss.backward()
                    value_optimizer.step()

            env_steps += batch.num_steps
            tracker.add(batch.completed_returns)
            solved = run.log_returns(
                tracker,
                config.solved_return,
                env_steps=env_steps,
                loss=-improvement,
                approx_kl=kl,
                step_fraction=fraction,
                entropy=entropy,
                explained_variance=explained_variance(rollout.values, rollout.returns),
            )
            if solved:
                break
    return run.history
