"""PPO with the caller's update loop and losses (notebook 05), and the rollouts TRPO shares.

The notebook supplies the algorithm: the update loop over epochs and minibatches, the policy
loss (clipped or penalised), the value loss, the advantage estimator and the diagnostics. This
module does the rest: it collects rollouts fast (acting is the CPU's bottleneck here, so the
policy is called once per vector step with no other per-step tensor work, and the values of a
whole rollout are computed in one batched call after it), anneals the learning rate and the clip
range, adapts the KL penalty's beta, and logs what the notebook plots.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.distributions import Distribution

from utils.actor_critic import bootstrap_values
from utils.envs import observation_dim
from utils.history import History
from utils.policies import Policy, ValueNetwork, policy_for
from utils.rollouts import StepBatch
from utils.train.config import RunConfig, option
from utils.train.scaffold import ReturnTracker, Run, explained_variance

__all__ = [
    "AdvantageFunction",
    "PPOConfig",
    "PPOUpdate",
    "Rollout",
    "RolloutCollector",
    "train_ppo",
]

AdvantageFunction = Callable[..., torch.Tensor]
"""``advantage_fn(rewards, values, next_values, terminations, truncations, gamma, lam)``, all
(T, N) -> (T, N) advantages: notebook 03's ``gae``."""

PPOUpdate = Callable[..., int]
"""``update_fn(policy, value_network, optimizer, rollout, policy_loss_fn, value_loss_fn, kl_fn,
num_epochs=, num_minibatches=, value_coef=, entropy_coef=, max_grad_norm=, target_kl=)`` ->
the number of epochs it ran: notebook 05's ``ppo_update``."""


@dataclass(frozen=True)
class Rollout:
    """B samples of experience, flattened from a (T, N) rollout with the reset steps left out.

    Attributes:
        observations: (B, obs_dim) float32, the observation each action was chosen from.
        actions: (B,) long for discrete actions, (B, action_dim) float32 for continuous ones.
        log_probs: (B,) log pi_old(a | s) of the policy that collected the rollout (no gradient).
        values: (B,) V_old(s), the value network's estimates when the rollout was collected.
        advantages: (B,) advantage estimates (not normalised).
        returns: (B,) the value network's regression targets, advantages + values.
    """

    observations: torch.Tensor
    actions: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor

    @property
    def num_samples(self) -> int:
        return self.log_probs.shape[0]


@dataclass(frozen=True)
class PPOConfig(RunConfig):
    """Settings of ``train_ppo``. The defaults are RL-Zoo's tuned PPO for CartPole-v1 (8 envs,
    32 steps, 20 epochs of one minibatch, gamma 0.98, lambda 0.8, learning rate 1e-3 and clip
    range 0.2 both decayed linearly to 0): with notebook 05's functions they solve CartPole-v1
    (mean return of 20 episodes >= 475) in about 25-50 thousand steps."""

    total_steps: int = option(100_000, "environment steps in all, counting reset steps")
    num_steps: int = option(32, "T, steps of every environment per rollout")
    num_epochs: int = option(20, "passes over each rollout")
    num_minibatches: int = option(1, "minibatches per pass (each epoch reshuffles)")
    lr: float = option(1e-3, "Adam learning rate of both networks")
    anneal_lr: bool = option(True, "decay the learning rate linearly to 0 over training")
    gamma: float = option(0.98, "discount factor")
    lam: float = option(0.8, "GAE lambda")
    clip_eps: float = option(0.2, "clip range epsilon of the clipped loss (and of clip_fraction)")
    anneal_clip: bool = option(True, "decay the clip range linearly to 0, like the learning rate")
    initial_beta: float = option(1.0, "the KL penalty's first beta (penalty losses only)")
    kl_target: float = option(0.01, "d_targ, the KL per update that beta is adapted towards")
    value_clip_eps: float | None = option(None, "clip range of the value loss; None: unclipped")
    reward_scale: float = option(
        1.0, "rewards are multiplied by this for learning (not for mean_return)"
    )
    value_coef: float = option(0.5, "weight of the value loss in the total loss")
    entropy_coef: float = option(0.0, "weight of the entropy bonus")
    max_grad_norm: float = option(0.5, "clip the gradient norm of both networks together")
    target_kl: float | None = option(
        None, "stop an update's epochs once KL exceeds it; None: never"
    )
    hidden_sizes: tuple[int, ...] = option((64, 64), "hidden layer widths of both networks")
    return_window: int = option(20, "mean_return averages the last this many episodes")
    solved_return: float | None = option(
        None, "stop once mean_return reaches it (None: train for total_steps)"
    )

    @classmethod
    def rl_zoo_cartpole(cls, **changes: Any) -> PPOConfig:
        """RL-Zoo's tuned PPO for CartPole-v1 (rl-baselines3-zoo's hyperparams/ppo.yml), every
        setting written out, over 100,000 steps, stopping once solved (mean return of the last
        20 episodes >= 475): the settings the benchmark against Stable-Baselines3 and the tests
        run. ``changes`` override fields, e.g. ``PPOConfig.rl_zoo_cartpole(seed=3)``."""
        preset = cls(
            env_id="CartPole-v1",
            num_envs=8,
            num_steps=32,
            num_epochs=20,
            num_minibatches=1,  # SB3's batch_size 256 = one minibatch of the 8 x 32 steps
            lr=1e-3,  # "lin_1e-3"
            anneal_lr=True,
            gamma=0.98,
            lam=0.8,
            clip_eps=0.2,  # "lin_0.2"
            anneal_clip=True,
            value_clip_eps=None,
            value_coef=0.5,
            entropy_coef=0.0,
            max_grad_norm=0.5,
            target_kl=None,
            hidden_sizes=(64, 64),
            total_steps=100_000,
            return_window=20,
            solved_return=475.0,
        )
        return dataclasses.replace(preset, **changes)


class RolloutCollector:
    """Steps a vector env in rollouts of T steps, carrying episodes across rollouts.

    Does what ``utils.rollouts.StepCollector`` does, faster: the policy is the only call per
    step, observations go into preallocated tensors, and ``value_network`` is called once per
    rollout, on all its observations and the one after the last step. The result is the same
    ``StepBatch``, (T, N) layout, reset steps marked.
    """

    def __init__(self, envs, policy: Policy, value_network: nn.Module, device: torch.device):
        self.envs = envs
        self.policy = policy
        self.value_network = value_network
        self.device = device
        self.num_envs = envs.num_envs
        self.observation_dim = observation_dim(envs)
        self.action_shape = tuple(envs.single_action_space.shape)
        self.discrete = not self.action_shape
        space = envs.single_action_space
        self.low = None if self.discrete else np.asarray(space.low)
        self.high = None if self.discrete else np.asarray(space.high)
        self._observations: np.ndarray | None = None
        self._is_reset_step = np.zeros(self.num_envs, dtype=bool)
        self._running_returns = np.zeros(self.num_envs)

    def reset(self, seed: int) -> None:
        self._observations, _ = self.envs.reset(seed=seed)
        self._is_reset_step[:] = False
        self._running_returns[:] = 0.0

    @torch.no_grad()
    def collect(self, num_steps: int) -> StepBatch:
        if self._observations is None:
            self.reset(int(torch.randint(0, 2**31 - 1, ()).item()))
        T, N = num_steps, self.num_envs
        observations = np.empty((T, N, self.observation_dim), dtype=np.float32)
        actions = torch.empty(T, N, *self.action_shape, dtype=torch.long if self.discrete else None)
        log_probs = torch.empty(T, N)
        rewards = np.empty((T, N), dtype=np.float32)
        terminations = np.empty((T, N), dtype=bool)
        truncations = np.empty((T, N), dtype=bool)
        reset_steps = np.empty((T, N), dtype=bool)
        completed: list[float] = []
        on_cpu = self.device.type == "cpu"
        for t in range(T):
            observations[t] = self._observations  # the policy reads this row in place
            observation = torch.from_numpy(observations[t])
            action, log_prob = self.policy.act(
                observation if on_cpu else observation.to(self.device)
            )
            actions[t] = action
            log_probs[t] = log_prob
            env_action = action.cpu().numpy()
            if not self.discrete:  # the Gaussian's sample is recorded, the env gets it clipped
                env_action = np.clip(env_action, self.low, self.high)
            self._observations, reward, terminated, truncated, _ = self.envs.step(env_action)
            done = terminated | truncated
            rewards[t], terminations[t], truncations[t] = reward, terminated, truncated
            reset_steps[t] = self._is_reset_step
            self._running_returns += np.where(self._is_reset_step, 0.0, reward)
            if done.any():
                completed.extend(self._running_returns[done].tolist())
                self._running_returns[done] = 0.0
            self._is_reset_step = done
        last = torch.from_numpy(np.asarray(self._observations, dtype=np.float32))
        observations = torch.from_numpy(observations)
        everything = torch.cat([observations.reshape(T * N, -1), last]).to(self.device)
        values = self.value_network(everything).float()
        device = self.device
        return StepBatch(
            observations=observations.to(device),
            actions=actions.to(device),
            log_probs=log_probs.to(device),
            rewards=torch.from_numpy(rewards).to(device),
            terminations=torch.from_numpy(terminations).to(device),
            truncations=torch.from_numpy(truncations).to(device),
            reset_steps=torch.from_numpy(reset_steps).to(device),
            values=values[: T * N].reshape(T, N),
            next_observation=last.to(device),
            next_values=values[T * N :],
            completed_returns=torch.tensor(completed, dtype=torch.float32, device=device),
        )


def make_rollout(
    batch: StepBatch,
    advantage_fn: AdvantageFunction,
    gamma: float,
    lam: float,
    reward_scale: float = 1.0,
) -> Rollout:
    """The (T, N) batch's real steps as a flat ``Rollout``, advantages from ``advantage_fn``
    (on the rewards times ``reward_scale``)."""
    with torch.no_grad():
        advantages = advantage_fn(
            batch.rewards * reward_scale,
            batch.values,
            bootstrap_values(batch),
            batch.terminations,
            batch.truncations,
            gamma,
            lam,
        )
    if not isinstance(advantages, torch.Tensor) or advantages.shape != batch.rewards.shape:
        raise TypeError(
            f"advantage_fn must return a (T, N) = {tuple(batch.rewards.shape)} tensor, got "
            f"{getattr(advantages, 'shape', advantages)!r}"
        )
    advantages = advantages.to(batch.values.dtype)
    mask = batch.mask
    return Rollout(
        observations=batch.observations[mask],
        actions=batch.actions[mask],
        log_probs=batch.log_probs[mask],
        values=batch.values[mask],
        advantages=advantages[mask],
        returns=(advantages + batch.values)[mask],
    )


@contextmanager
def unchecked_distributions() -> Iterator[None]:
    """Skip torch.distributions' argument checks inside the block, then restore the setting.

    The checks (are the probabilities a simplex, is the action in the support) cost about as
    much as the policy's forward pass on a 64-unit network, once per minibatch step; the
    trainers' distributions are built from a network's output, which is valid by construction.
    """
    previous = Distribution._validate_args
    Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        Distribution.set_default_validate_args(previous)


def adam(parameters: list[nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam with eps 1e-5 (Stable-Baselines3's and CleanRL's) over ``parameters``.

    Fused into one kernel per step where torch has one for the parameters' device (CPU from
    torch 2.4, CUDA), else one kernel per operation over all tensors (foreach). For a 64-unit
    MLP the step is all per-call overhead: fused is about 3x faster on a CPU. It rounds in a
    different order than foreach, so the parameters differ from foreach's in the 7th digit.
    """
    try:
        return torch.optim.Adam(parameters, lr=lr, eps=1e-5, fused=True)
    except (RuntimeError, TypeError):  # older torch, or a device without a fused Adam
        return torch.optim.Adam(parameters, lr=lr, eps=1e-5, foreach=True)


def networks_for(
    run: Run,
    hidden_sizes: tuple[int, ...],
    policy: Policy | None = None,
    value_network: nn.Module | None = None,
) -> tuple[Policy, nn.Module]:
    """The given networks, or fresh ones for ``run.envs`` (a categorical or Gaussian policy from
    the action space, a value network), moved to ``run.device``."""
    if policy is None:
        policy = policy_for(run.envs, hidden_sizes)
    if value_network is None:
        value_network = ValueNetwork(observation_dim(run.envs), hidden_sizes)
    return policy.to(run.device), value_network.to(run.device)


def train_ppo(
    update_fn: PPOUpdate,
    policy_loss_fn: Callable[..., torch.Tensor],
    value_loss_fn: Callable[..., torch.Tensor],
    advantage_fn: AdvantageFunction,
    kl_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    clip_fraction_fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor],
    config: PPOConfig = PPOConfig(),
    *,
    adapt_penalty_fn: Callable[[float, float, float], float] | None = None,
    policy: Policy | None = None,
    value_network: nn.Module | None = None,
) -> History:
    """Proximal policy optimisation with the caller's update loop, losses and estimators.

    Every iteration:

    1. collect ``num_steps`` (T) steps of ``num_envs`` (N) environments (``RolloutCollector``);
    2. ``advantage_fn`` on the (T, N) grid, without gradient; ``returns = advantages + values``;
       the reset steps are dropped and the rest flattened into a ``Rollout`` of B samples;
    3. ``update_fn(policy, value_network, optimizer, rollout, policy_loss, value_loss, kl_fn,
       num_epochs=..., num_minibatches=..., value_coef=..., entropy_coef=..., max_grad_norm=...,
       target_kl=...)``, where ``policy_loss(new_log_probs, old_log_probs, advantages)`` is
       ``policy_loss_fn(..., coefficient)`` with the current clip range (clipped loss) or beta
       (penalty loss), and ``value_loss(values, old_values, returns)`` is
       ``value_loss_fn(..., config.value_clip_eps)``;
    4. on the whole rollout, with the updated policy: ``kl_fn(new_log_probs, old_log_probs)``
       and ``clip_fraction_fn(new_log_probs, old_log_probs, clip_eps)`` for the history, and,
       for a penalty loss, ``beta = adapt_penalty_fn(beta, kl, config.kl_target)``.

    Args:
        update_fn: the PPO update loop (notebook 05's ``ppo_update``).
        policy_loss_fn: ``(new_log_probs, old_log_probs, advantages, coefficient) -> scalar``:
            ``ppo_clip_loss`` (coefficient = clip range) or ``ppo_penalty_loss`` (= beta).
        value_loss_fn: ``(values, old_values, returns, clip_eps) -> scalar``.
        advantage_fn: ``gae``, see ``AdvantageFunction``.
        kl_fn: ``(new_log_probs, old_log_probs) -> scalar``, the sample estimate of
            KL(pi_old || pi) (``approx_kl``).
        clip_fraction_fn: ``(new_log_probs, old_log_probs, clip_eps) -> scalar``.
        config: the settings (``PPOConfig``; ``describe(config)`` lists them).
        adapt_penalty_fn: ``(beta, kl, kl_target) -> new beta``; given, the policy loss is a
            penalty loss and gets beta, adapted after every update (``adapt_kl_penalty``).
        policy, value_network: train these (in place) instead of fresh ones.

    Returns:
        A ``History``, one entry per iteration once an episode has finished. ``mean_return`` is
        that of the last ``return_window`` episodes; ``loss`` the policy loss on the rollout
        after the update; ``extra`` holds "approx_kl", "clip_fraction", "epochs" (run by
        ``update_fn``), "beta" (penalty losses), "entropy" and "explained_variance" (of the
        values the rollout was collected with).
    """
    iterations = max(1, config.total_steps // (config.num_envs * config.num_steps))
    penalty = adapt_penalty_fn is not None
    name = "PPO (penalty)" if penalty else "PPO (clip)"
    with Run(config, name=name, total=iterations) as run, unchecked_distributions():
        policy, value_network = networks_for(run, config.hidden_sizes, policy, value_network)
        optimizer = adam([*policy.parameters(), *value_network.parameters()], config.lr)
        collector = RolloutCollector(run.envs, policy, value_network, run.device)
        tracker = ReturnTracker(config.return_window)
        beta = config.initial_beta
        env_steps = 0
        for iteration in run.steps():
            batch = collector.collect(config.num_steps)
            # the share of total_steps left once this rollout's steps are taken: what
            # Stable-Baselines3 anneals by (its progress_remaining, updated after each rollout)
            done = (iteration + 1) * config.num_envs * config.num_steps
            remaining = max(0.0, 1.0 - done / config.total_steps)
            if config.anneal_lr:
                optimizer.param_groups[0]["lr"] = config.lr * remaining
            clip_eps = config.clip_eps * remaining if config.anneal_clip else config.clip_eps
            rollout = make_rollout(
                batch, advantage_fn, config.gamma, config.lam, config.reward_scale
            )
            coefficient = beta if penalty else clip_eps

            def policy_loss(new_log_probs, old_log_probs, advantages, coefficient=coefficient):
                return run.scalar(
                    "policy_loss_fn",
                    policy_loss_fn(new_log_probs, old_log_probs, advantages, coefficient),
                )

            def value_loss(values, old_values, returns):
                return run.scalar(
                    "value_loss_fn",
                    value_loss_fn(values, old_values, returns, config.value_clip_eps),
                )

            epochs = update_fn(
                policy,
                value_network,
                optimizer,
                rollout,
                policy_loss,
                value_loss,
                kl_fn,
                num_epochs=config.num_epochs,
                num_minibatches=config.num_minibatches,
                value_coef=config.value_coef,
                entropy_coef=config.entropy_coef,
                max_grad_norm=config.max_grad_norm,
                target_kl=config.target_kl,
            )

            with torch.no_grad():
                distribution = policy.distribution(rollout.observations)
                new_log_probs = distribution.log_prob(rollout.actions)
                kl = float(kl_fn(new_log_probs, rollout.log_probs))
                clipped = float(clip_fraction_fn(new_log_probs, rollout.log_probs, clip_eps))
                advantages = rollout.advantages
                if advantages.numel() > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                loss = float(
                    policy_loss_fn(new_log_probs, rollout.log_probs, advantages, coefficient)
                )
                entropy = distribution.entropy().mean().item()
            extra = {"approx_kl": kl, "clip_fraction": clipped, "epochs": float(epochs or 0)}
            if penalty:
                extra["beta"] = beta
                beta = float(adapt_penalty_fn(beta, kl, config.kl_target))

            env_steps += batch.num_steps
            tracker.add(batch.completed_returns)
            solved = run.log_returns(
                tracker,
                config.solved_return,
                env_steps=env_steps,
                loss=loss,
                entropy=entropy,
                explained_variance=explained_variance(rollout.values, rollout.returns),
                **extra,
            )
            if solved:
                break
    return run.history
