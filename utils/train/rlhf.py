"""RLHF's steps on a tiny language model: SFT, a reward model, PPO with a KL penalty,
best-of-n sampling and DPO (notebook 06).

Each trainer is only its algorithm, on the shared scaffold (``scaffold.Run``, without
environments), with a frozen config dataclass; the notebook's functions come in as arguments:

    history = train_sft(model, tokens, response_mask, response_log_probs, SFTConfig(steps=300))

Models are ``utils.lm`` models (or a Hugging Face causal LM wrapped by ``utils.lm.hf.HFPolicy``:
prompts and demonstrations come in the world's words, and each model translates them with its
``from_world``/``sequences_from_world``, its samples back with ``to_world``); every
model, batch and generator goes to ``run.device``, a GPU when there is one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from utils.history import History
from utils.lm.model import Samples, ValueModel, sample, trim_padding
from utils.lm.preferences import Comparisons
from utils.lm.world import World
from utils.runtime import limit_cpu_threads
from utils.train.config import option
from utils.train.scaffold import Run

__all__ = [
    "BestOfN",
    "BestOfNConfig",
    "DPOConfig",
    "LMRunConfig",
    "PPOFunctions",
    "PPOStep",
    "RLHFModels",
    "RLHFPPOConfig",
    "RewardModelConfig",
    "SFTConfig",
    "best_of_n",
    "evaluate_policy",
    "response_scores",
    "reward_model_scores",
    "token_log_probs",
    "train_dpo",
    "train_reward_model",
    "train_rlhf_ppo",
    "train_sft",
]

LogProbFunction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``log_prob_fn(logits (B, T, V), tokens (B, T), response_mask (B, T)) -> (B, T)``: the
log-probability of each response token, 0 elsewhere, with gradient (the notebook's
``response_log_probs``)."""


@dataclass(frozen=True)
class LMRunConfig:
    """What every language-model run has (no environments: the prompts are the environment)."""

    seed: int = option(0, "seeds torch, NumPy and Python: the same seed, the same run")
    device: str | None = option(None, "where the models run; None: a GPU when there is one")
    progress: bool = option(True, "show a progress bar (never shown while nbgrader grades)")


def token_log_probs(model: nn.Module, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log p(tokens[:, t] | tokens[:, :t]) on the masked tokens, 0 elsewhere: (B, T).

    The trainers' own measurement (KL, evaluation), so that a bug in the notebook's function
    shows in the curves instead of hiding in the yardstick.
    """
    logits = model(tokens).float()
    chosen = torch.distributions.Categorical(logits=logits[:, :-1]).log_prob(tokens[:, 1:])
    values = torch.cat([torch.zeros_like(chosen[:, :1]), chosen], dim=1)
    return values * mask


def _checked_log_probs(value: object, tokens: torch.Tensor) -> torch.Tensor:
    """``log_prob_fn``'s result, once it is known to be a (B, T) tensor with a graph."""
    if not isinstance(value, torch.Tensor) or value.shape != tokens.shape:
        raise TypeError(
            f"log_prob_fn must return a (B, T) = {tuple(tokens.shape)} tensor, "
            f"got {getattr(value, 'shape', value)!r}"
        )
    if not value.requires_grad:
        raise TypeError("log_prob_fn returned a tensor without gradient: do not detach it")
    return value


def _frozen_copy(model: nn.Module) -> nn.Module:
    copy_ = copy.deepcopy(model).eval()
    copy_.requires_grad_(False)
    return copy_


# ---------------------------------------------------------------------- evaluation


@torch.no_grad()
@limit_cpu_threads()
def evaluate_policy(
    policy: nn.Module,
    world: World,
    prompts: torch.Tensor,
    *,
    reference: nn.Module | None = None,
    reward_model: nn.Module | None = None,
    max_new_tokens: int = 24,
    samples: Samples | None = None,
) -> dict[str, float]:
    """Sample one response per prompt (``prompts`` (G, P), in the world's vocabulary) and
    measure it.

    Returns a dict of floats: ``gold`` (the mean gold reward), ``proxy`` (the mean reward-model
    score, with ``reward_model``), ``kl`` (with ``reference``: the mean over responses of
    sum_t log pi(y_t | ...) - log pi_ref(y_t | ...), an unbiased estimate of the sequence-level
    KL(pi || pi_ref)), ``length`` (the mean response length in tokens).
    ``samples``: measure these responses instead of sampling new ones.
    """
    if samples is None:
        samples = sample(policy, policy.from_world(prompts).to(policy.device), max_new_tokens)
    tokens, mask = samples.tokens, samples.response_mask
    world_tokens, world_mask = policy.to_world(tokens, mask)
    result = {
        "gold": world.gold_reward(world_tokens, world_mask).mean().item(),
        "length": mask.float().sum(1).mean().item(),
    }
    if reward_model is not None:
        result["proxy"] = reward_model(tokens, mask).mean().item()
    if reference is not None:
        difference = token_log_probs(policy, tokens, mask) - token_log_probs(
            reference, tokens, mask
        )
        result["kl"] = difference.sum(1).mean().item()
    return result


# ---------------------------------------------------------------------- SFT


@dataclass(frozen=True)
class SFTConfig(LMRunConfig):
    """Settings of ``train_sft``: with the defaults a 2-layer TinyLM learns the demonstrations'
    grammar (held-out loss within a few percent of the demonstrators' entropy)."""

    steps: int = option(300, "gradient steps, each on one batch of demonstrations")
    batch_size: int = option(64, "demonstrations per batch")
    lr: float = option(3e-3, "Adam learning rate, decayed linearly to a tenth")


def train_sft(
    model: nn.Module,
    tokens: torch.Tensor,
    response_mask: torch.Tensor,
    log_prob_fn: LogProbFunction,
    config: SFTConfig = SFTConfig(),
) -> History:
    """Supervised fine-tuning: maximise the log-likelihood of the demonstrations' responses.

    The loss of a batch is minus the mean, over all its response tokens, of ``log_prob_fn``'s
    log-probabilities (prompt tokens are context, not targets). ``model`` is trained in place.

    Args:
        model: a ``TinyLM`` (or a Hugging Face model wrapped by ``utils.lm.hf.HFPolicy``).
        tokens, response_mask: (N, T) demonstrations and their response masks, in the world's
            vocabulary (the model's ``sequences_from_world`` translates them).
        log_prob_fn: the notebook's ``response_log_probs``.
        config: the settings.

    Returns:
        A ``History``, one entry per step: ``loss`` the batch's loss, ``mean_return`` minus it
        (the mean log-likelihood per response token), ``env_steps`` demonstrations seen.
    """
    with Run(config, name="SFT", total=config.steps, make_envs=False) as run:
        model.to(run.device).train()
        tokens, response_mask = model.sequences_from_world(tokens, response_mask)
        tokens, response_mask = tokens.to(run.device), response_mask.to(run.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 1 - 0.9 * step / max(1, config.steps)
        )
        for step in run.steps():
            index = torch.randint(tokens.shape[0], (config.batch_size,), device=run.device)
            batch, mask = trim_padding(tokens[index], response_mask[index])
            log_probs = _checked_log_probs(log_prob_fn(model(batch), batch, mask), batch)
            loss = run.scalar("the SFT loss", -log_probs.sum() / mask.sum())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            run.log(
                env_steps=(step + 1) * config.batch_size,
                mean_return=-loss.item(),
                loss=loss.item(),
            )
    model.eval()
    return run.history


# ---------------------------------------------------------------------- the reward model


@dataclass(frozen=True)
class RewardModelConfig(LMRunConfig):
    """Settings of ``train_reward_model``."""

    epochs: int = option(3, "passes over the training comparisons")
    groups_per_batch: int = option(32, "prompts per gradient step, with all their pairs")
    lr: float = option(1e-3, "Adam learning rate, decayed linearly to a tenth")
    eval_every: int = option(25, "steps between two held-out evaluations")


def _group_batches(comparisons: Comparisons, size: int, epochs: int) -> list[torch.Tensor]:
    groups = comparisons.group.unique()
    return [
        groups[order[i : i + size]]
        for _ in range(epochs)
        for order in [torch.randperm(len(groups), device=groups.device)]
        for i in range(0, len(groups), size)
    ]


def train_reward_model(
    reward_model: nn.Module,
    train: Comparisons,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    config: RewardModelConfig = RewardModelConfig(),
    *,
    held_out: Comparisons | None = None,
    accuracy_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> History:
    """Fit a reward model to labelled comparisons with the notebook's Bradley-Terry loss.

    Every step scores all the responses of ``groups_per_batch`` prompts once and takes one Adam
    step on ``loss_fn(scores[chosen], scores[rejected])`` over all their pairs (InstructGPT's
    way: the K responses of a prompt are read once for their K (K - 1) / 2 pairs).

    Args:
        reward_model: trained in place (e.g. ``RewardModel(sft_model)``).
        train: the training comparisons.
        loss_fn: ``(chosen_scores (M,), rejected_scores (M,)) -> scalar``, the notebook's
            ``bradley_terry_loss``.
        config: the settings.
        held_out: comparisons to measure on every ``eval_every`` steps and at the end.
        accuracy_fn: ``(chosen_scores, rejected_scores) -> fraction``, the notebook's
            ``preference_accuracy``; default: the fraction with chosen > rejected.

    Returns:
        A ``History`` per step: ``loss``; ``mean_return`` the batch's accuracy on its labels;
        ``extra["held_out_accuracy"]`` where measured, NaN elsewhere; ``env_steps`` pairs seen.
    """
    if accuracy_fn is None:
        accuracy_fn = _default_accuracy
    total = config.epochs * math.ceil(train.num_groups / config.groups_per_batch)
    with Run(config, name="reward model", total=total, make_envs=False) as run:
        reward_model.to(run.device).train()
        train = train.to(run.device)
        batches = _group_batches(train, config.groups_per_batch, config.epochs)
        optimizer = torch.optim.Adam(reward_model.parameters(), lr=config.lr)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 1 - 0.9 * step / max(1, len(batches))
        )
        seen = 0
        for step in run.steps():
            part = train.select_groups(batches[step])
            scores = reward_model(part.tokens, part.response_mask)
            chosen, rejected = scores[part.chosen], scores[part.rejected]
            loss = run.scalar("loss_fn", loss_fn(chosen, rejected))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            seen += len(part)
            extra = {}
            if held_out is not None:
                extra["held_out_accuracy"] = math.nan
                if (step + 1) % config.eval_every == 0 or step + 1 == len(batches):
                    reward_model.eval()
                    extra["held_out_accuracy"] = float(
                        accuracy_fn(*reward_model_scores(reward_model, held_out))
                    )
                    reward_model.train()
            batch_accuracy = float(accuracy_fn(chosen.detach(), rejected.detach()))
            run.log(env_steps=seen, mean_return=batch_accuracy, loss=loss.item(), **extra)
    reward_model.eval()
    return run.history


def _default_accuracy(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    return (chosen > rejected).float().mean()


@torch.no_grad()
@limit_cpu_threads()
def response_scores(
    reward_model: nn.Module,
    tokens: torch.Tensor,
    response_mask: torch.Tensor,
    batch_size: int = 1024,
) -> torch.Tensor:
    """(N,) reward-model scores of N responses, a batch at a time, on the model's device."""
    device = next(reward_model.parameters()).device
    return torch.cat(
        [
            reward_model(
                tokens[i : i + batch_size].to(device), response_mask[i : i + batch_size].to(device)
            )
            for i in range(0, tokens.shape[0], batch_size)
        ]
    )


def reward_model_scores(
    reward_model: nn.Module, comparisons: Comparisons
) -> tuple[torch.Tensor, torch.Tensor]:
    """(chosen_scores (M,), rejected_scores (M,)) of a reward model on all the labelled pairs."""
    scores = response_scores(reward_model, comparisons.tokens, comparisons.response_mask)
    return scores[comparisons.chosen.to(scores.device)], scores[
        comparisons.rejected.to(scores.device)
    ]


# ---------------------------------------------------------------------- PPO with a KL penalty


@dataclass(frozen=True)
class RLHFPPOConfig(LMRunConfig):
    """Settings of ``train_rlhf_ppo``; the PPO step reads the algorithm's from here too."""

    iterations: int = option(60, "PPO steps, each on a fresh batch of prompts")
    batch_size: int = option(64, "prompts per step, one response each")
    max_new_tokens: int = option(24, "the longest response")
    temperature: float = option(1.0, "sampling temperature of the policy")
    beta: float = option(0.05, "weight of the per-token KL penalty to the reference model")
    gamma: float = option(1.0, "discount over the tokens of a response")
    lam: float = option(0.95, "GAE lambda over the tokens of a response")
    clip_range: float = option(0.2, "PPO's clip of the probability ratio, 1 +- clip_range")
    value_clip_range: float = option(0.2, "how far a value may move from its old value per step")
    value_coef: float = option(0.5, "weight of the value loss in the total loss")
    ppo_epochs: int = option(4, "gradient steps on each batch (the whole batch each time)")
    lr: float = option(3e-4, "Adam learning rate of the policy")
    critic_lr: float = option(1e-3, "Adam learning rate of the critic")


@dataclass(frozen=True)
class PPOFunctions:
    """The pieces a PPO step is built from (the notebook's graded functions)."""

    response_log_probs: LogProbFunction
    kl_penalized_rewards: Callable[..., torch.Tensor]
    masked_whiten: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    ppo_policy_loss: Callable[..., torch.Tensor]
    ppo_value_loss: Callable[..., torch.Tensor]


class RLHFModels:
    """The four models of RLHF's PPO, and how to sample from the policy.

    policy: the language model being trained; reference: the frozen SFT model the KL penalty
    holds it to; critic: a ``ValueModel``, trained alongside; reward_model: the frozen proxy.
    ``sample(prompts)`` draws one response per prompt from the policy (no gradient).
    """

    def __init__(
        self,
        policy: nn.Module,
        reference: nn.Module,
        critic: nn.Module,
        reward_model: nn.Module,
        *,
        max_new_tokens: int = 24,
        temperature: float = 1.0,
    ):
        self.policy, self.reference, self.critic = policy, reference, critic
        self.reward_model = reward_model
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.last_samples: Samples | None = None

    def sample(self, prompts: torch.Tensor) -> Samples:
        """One response per prompt (B, P) from the policy: ``Samples(tokens, response_mask)``."""
        self.last_samples = sample(
            self.policy, prompts, self.max_new_tokens, temperature=self.temperature
        )
        return self.last_samples


PPOStep = Callable[
    [RLHFModels, torch.Tensor, torch.optim.Optimizer, RLHFPPOConfig, PPOFunctions],
    dict[str, float],
]
"""``ppo_step(models, prompts, optimizer, settings, functions) -> stats``: the notebook's
``rlhf_ppo_step``; stats holds at least ``score`` and ``kl`` (floats)."""


def train_rlhf_ppo(
    ppo_step: PPOStep,
    policy: nn.Module,
    reward_model: nn.Module,
    functions: PPOFunctions,
    world: World,
    config: RLHFPPOConfig = RLHFPPOConfig(),
    *,
    reference: nn.Module | None = None,
    critic: nn.Module | None = None,
) -> History:
    """RLHF: PPO on the reward model's score with a per-token KL penalty to the SFT model.

    Every iteration draws ``batch_size`` prompts and calls ``ppo_step`` (the notebook's), which
    samples, scores, shapes the rewards, estimates advantages and updates the policy and the
    critic; then the gold reward of the very responses it sampled is measured.

    Args:
        ppo_step: ``ppo_step(models, prompts, optimizer, config, functions) -> stats``.
        policy: trained in place (start from the SFT model).
        reward_model: the proxy the policy is trained on (frozen here).
        functions: the pieces ``ppo_step`` calls.
        world: gives the prompts and the gold reward.
        config: the settings (``ppo_step`` reads beta, gamma, lam, ... from it).
        reference: the KL anchor; default a frozen copy of ``policy`` as it is now.
        critic: default ``ValueModel(reward_model.body)`` (a copy; InstructGPT starts the
            value function from the reward model).

    Returns:
        A ``History`` per iteration: ``mean_return`` the reward model's mean score (the proxy)
        and ``extra``: ``gold`` (mean gold reward), ``kl`` (the step's KL estimate, mean over
        responses of sum_t log pi - log pi_ref), ``policy_loss``, ``value_loss`` (from the
        step's stats, NaN if absent), ``length`` (mean response tokens); ``env_steps`` counts
        responses, ``loss`` is the policy loss.
    """
    with Run(config, name="RLHF PPO", total=config.iterations, make_envs=False) as run:
        policy.to(run.device).train()
        reference = _frozen_copy(policy if reference is None else reference).to(run.device)
        reward_model = _frozen_copy(reward_model).to(run.device)
        if critic is None:
            critic = ValueModel(reward_model.body)
        critic.to(run.device).train()
        critic.requires_grad_(True)
        optimizer = torch.optim.Adam(
            [
                {"params": list(policy.parameters()), "lr": config.lr},
                {"params": list(critic.parameters()), "lr": config.critic_lr},
            ]
        )
        models = RLHFModels(
            policy,
            reference,
            critic,
            reward_model,
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
        )
        prompt_seeds = torch.randint(2**31 - 1, (config.iterations,)).tolist()
        for iteration in run.steps():
            prompts = policy.from_world(
                world.prompts(config.batch_size, seed=prompt_seeds[iteration])
            )
            stats = ppo_step(models, prompts.to(run.device), optimizer, config, functions)
            if not isinstance(stats, dict) or "score" not in stats or "kl" not in stats:
                raise TypeError(f"ppo_step must return a dict with 'score' and 'kl', got {stats!r}")
            samples = models.last_samples
            world_tokens, world_mask = policy.to_world(samples.tokens, samples.response_mask)
            gold = world.gold_reward(world_tokens, world_mask).mean().item()
            values = {
                k: float(stats.get(k, math.nan))
                for k in ("score", "kl", "policy_loss", "value_loss")
            }
            for name in ("score", "kl"):
                if not math.isfinite(values[name]):
                    raise FloatingPointError(
                        f"ppo_step returned {name} = {values[name]}: training diverged"
                    )
            run.log(
                env_steps=(iteration + 1) * config.batch_size,
                mean_return=values["score"],
                loss=values["policy_loss"],
                gold=gold,
                kl=values["kl"],
                policy_loss=values["policy_loss"],
                value_loss=values["value_loss"],
                length=samples.response_mask.float().sum(1).mean().item(),
            )
    policy.eval()
    return run.history


# ---------------------------------------------------------------------- best-of-n


@dataclass(frozen=True)
class BestOfNConfig(LMRunConfig):
    """Settings of ``best_of_n``."""

    pool_size: int = option(256, "responses sampled per prompt; best-of-n is computed from them")
    max_new_tokens: int = option(24, "the longest response")


@dataclass
class BestOfN:
    """What ``best_of_n`` measured, one entry per n (NumPy arrays of the same length).

    n; kl (the notebook's best_of_n_kl(n)); pool_kl (the exact KL between best-of-n from the
    pool and the pool itself, identical responses merged); gold and proxy (the expected gold
    reward and reward-model score of best-of-n, averaged over the prompts); duplicates (the
    fraction of sampled responses identical to another of the same prompt).
    """

    n: np.ndarray
    kl: np.ndarray
    pool_kl: np.ndarray
    gold: np.ndarray
    proxy: np.ndarray
    duplicates: float


def best_of_n(
    policy: nn.Module,
    reward_model: nn.Module,
    world: World,
    prompts: torch.Tensor,
    ns: Sequence[int],
    kl_fn: Callable[[int], float],
    config: BestOfNConfig = BestOfNConfig(),
) -> BestOfN:
    """Best-of-n sampling for every n at once, measured exactly on a pool of samples.

    For each prompt, ``pool_size`` responses are sampled from ``policy`` and scored by the
    reward model. Best-of-n draws n responses and keeps the highest-scoring one; its expected
    gold reward is computed without further sampling, with the unbiased estimator: sorted by
    score, the i-th of M responses (1-based) is the best of n drawn without replacement with
    probability C(i - 1, n - 1) / C(M, n).

    Args:
        policy: the model to sample from (the SFT model).
        reward_model: the proxy that picks the best.
        world: gives the gold reward.
        prompts: (G, P) prompts, in the world's vocabulary.
        ns: the values of n (each at most ``pool_size``).
        kl_fn: the notebook's ``best_of_n_kl``.
        config: the settings.
    """
    ns = [int(n) for n in ns]
    if max(ns) > config.pool_size:
        raise ValueError(f"n = {max(ns)} is larger than the pool ({config.pool_size})")
    size = config.pool_size
    weights = _best_of_n_weights(size, ns)  # (len(ns), M)
    gold_by_n, proxy_by_n, pool_kl, duplicates = [], [], [], []
    with Run(config, name="best-of-n", total=len(prompts), make_envs=False) as run:
        policy.to(run.device).eval()
        reward_model.to(run.device).eval()
        repeated = policy.from_world(prompts).to(run.device).repeat_interleave(size, dim=0)
        samples = sample(policy, repeated, config.max_new_tokens)
        scores = response_scores(reward_model, samples.tokens, samples.response_mask)
        world_tokens, world_mask = policy.to_world(samples.tokens, samples.response_mask)
        gold = world.gold_reward(world_tokens, world_mask)
        for group in run.steps():
            rows = slice(group * size, (group + 1) * size)
            order = torch.argsort(scores[rows]).cpu()
            gold_by_n.append(weights @ gold[rows].cpu().double()[order].numpy())
            proxy_by_n.append(weights @ scores[rows].cpu().double()[order].numpy())
            kl, copies = _pool_kl(world_tokens[rows].cpu()[order], ns)
            pool_kl.append(kl)
            duplicates.append(copies)
    return BestOfN(
        n=np.array(ns),
        kl=np.array([float(kl_fn(n)) for n in ns]),
        pool_kl=np.mean(pool_kl, axis=0),
        gold=np.mean(gold_by_n, axis=0),
        proxy=np.mean(proxy_by_n, axis=0),
        duplicates=float(np.mean(duplicates)),
    )


def _best_of_n_weights(pool: int, ns: Sequence[int]) -> np.ndarray:
    """(len(ns), pool): probability that the i-th lowest of the pool is the best of n drawn
    without replacement, C(i - 1, n - 1) / C(pool, n)."""
    i = np.arange(1, pool + 1)
    rows = []
    for n in ns:
        with np.errstate(divide="ignore"):
            log_weight = _log_choose(i - 1, n - 1) - _log_choose(np.array([pool]), n)[0]
        rows.append(np.where(i >= n, np.exp(log_weight), 0.0))
    return np.array(rows)


def _log_choose(n: np.ndarray, k: int) -> np.ndarray:
    from math import lgamma

    return np.array(
        [lgamma(a + 1) - lgamma(k + 1) - lgamma(a - k + 1) if a >= k else -np.inf for a in n]
    )


def _pool_kl(sorted_tokens: torch.Tensor, ns: Sequence[int]) -> tuple[np.ndarray, float]:
    """KL(best-of-n from the pool || the pool) for each n, with the pool sorted by score.

    Identical responses are one outcome of the pool's distribution (probability count / M);
    best-of-n picks outcome j with probability F_j^n - F_{j-1}^n, F the cumulative probability
    in score order.
    """
    size = sorted_tokens.shape[0]
    _, inverse, counts = torch.unique(sorted_tokens, dim=0, return_inverse=True, return_counts=True)
    # outcomes in score order (identical responses have identical scores, hence are adjacent)
    first_seen: dict[int, int] = {}
    for position, outcome in enumerate(inverse.tolist()):
        first_seen.setdefault(outcome, position)
    order = sorted(first_seen, key=first_seen.get)
    p = counts[order].double().numpy() / size
    cumulative = np.cumsum(p)
    previous = np.concatenate([[0.0], cumulative[:-1]])
    kls = []
    for n in ns:
        q = cumulative**n - previous**n
        positive = q > 0
        kls.append(float((q[positive] * np.log(q[positive] / p[positive])).sum()))
    duplicates = 1.0 - len(order) / size
    return np.array(kls), duplicates


# ---------------------------------------------------------------------- DPO


@dataclass(frozen=True)
class DPOConfig(LMRunConfig):
    """Settings of ``train_dpo``."""

    epochs: int = option(2, "passes over the comparisons")
    groups_per_batch: int = option(32, "prompts per gradient step, with all their pairs")
    lr: float = option(5e-4, "Adam learning rate, decayed linearly to a tenth")
    beta: float = option(
        0.5,
        "DPO's beta, the strength of the implicit KL penalty (0.1, common for large models, "
        "drifts to a KL of 9 nats here for less gold than 0.5 gets at 1.2)",
    )
    eval_every: int = option(20, "steps between two evaluations of the policy")
    eval_prompts: int = option(256, "prompts (one response each) per evaluation")
    max_new_tokens: int = option(24, "the longest response when evaluating")


def train_dpo(
    dpo_loss_fn: Callable[..., torch.Tensor],
    log_prob_fn: LogProbFunction,
    policy: nn.Module,
    comparisons: Comparisons,
    world: World,
    config: DPOConfig = DPOConfig(),
    *,
    reference: nn.Module | None = None,
    reward_model: nn.Module | None = None,
) -> History:
    """Direct preference optimisation on labelled comparisons: no reward model, no sampling.

    Every step computes the sequence log-probabilities (sums over the response of
    ``log_prob_fn``'s per-token values) of all the responses of ``groups_per_batch`` prompts
    under the policy (with gradient) and the reference (without), and takes one Adam step on
    ``dpo_loss_fn(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)``
    over all their pairs. Every ``eval_every`` steps the policy answers fresh prompts and is
    measured (``evaluate_policy``: gold, KL, proxy).

    Args:
        dpo_loss_fn: the notebook's ``dpo_loss``.
        log_prob_fn: the notebook's ``response_log_probs``.
        policy: trained in place (start from the SFT model).
        comparisons: the labelled pairs (the reward model's training data).
        world: gives the evaluation prompts and the gold reward.
        config: the settings.
        reference: default a frozen copy of ``policy`` as it is now.
        reward_model: to measure the proxy score too (not used for training).

    Returns:
        A ``History`` per step: ``loss``; ``mean_return`` the fraction of the batch's pairs
        whose implicit reward beta * (log pi - log pi_ref) is higher for the chosen response;
        ``extra``: ``gold``, ``kl``, ``length`` (and ``proxy``) where evaluated, NaN elsewhere.
    """
    total = config.epochs * math.ceil(comparisons.num_groups / config.groups_per_batch)
    with Run(config, name="DPO", total=total, make_envs=False) as run:
        policy.to(run.device).train()
        reference = _frozen_copy(policy if reference is None else reference).to(run.device)
        if reward_model is not None:
            reward_model = _frozen_copy(reward_model).to(run.device)
        comparisons = comparisons.to(run.device)
        batches = _group_batches(comparisons, config.groups_per_batch, config.epochs)
        optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 1 - 0.9 * step / max(1, total)
        )
        eval_prompts = world.prompts(config.eval_prompts, seed=config.seed + 1)
        seen = 0
        for step in run.steps():
            part = comparisons.select_groups(batches[step])
            tokens, mask = part.tokens, part.response_mask
            policy_log_probs = _checked_log_probs(log_prob_fn(policy(tokens), tokens, mask), tokens)
            policy_log_probs = policy_log_probs.sum(dim=1)
            with torch.no_grad():
                reference_log_probs = log_prob_fn(reference(tokens), tokens, mask).sum(dim=1)
            loss = run.scalar(
                "dpo_loss_fn",
                dpo_loss_fn(
                    policy_log_probs[part.chosen],
                    policy_log_probs[part.rejected],
                    reference_log_probs[part.chosen],
                    reference_log_probs[part.rejected],
                    config.beta,
                ),
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            seen += len(part)
            margins = (policy_log_probs - reference_log_probs).detach()
            agreement = (margins[part.chosen] > margins[part.rejected]).float().mean().item()
            extra = {name: math.nan for name in ("gold", "kl", "length")}
            if reward_model is not None:
                extra["proxy"] = math.nan
            if (step + 1) % config.eval_every == 0 or step + 1 == total:
                policy.eval()
                extra.update(
                    evaluate_policy(
                        policy,
                        world,
                        eval_prompts,
                        reference=reference,
                        reward_model=reward_model,
                        max_new_tokens=config.max_new_tokens,
                    )
                )
                policy.train()
            run.log(env_steps=seen, mean_return=agreement, loss=loss.item(), **extra)
    policy.eval()
    return run.history
