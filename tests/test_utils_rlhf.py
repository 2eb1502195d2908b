"""utils.train.rlhf: the RLHF trainers' contracts with the notebook's functions, and that each
stage does what the capstone claims: SFT lowers the held-out loss, the reward model gets within
2 points of the labeller's Bayes ceiling, PPO and DPO raise the gold reward at a measured KL,
best-of-n's KL follows log n - (n - 1) / n.

The notebook's graded functions are written here once more, independently of the notebook, as
the reference the trainers run with (``benchmarks/rlhf_stages.py`` imports them from here).
"""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import test_utils_lm
import torch
import torch.nn.functional as F
from torch import nn

from utils.history import History
from utils.lm import Labeller, LMConfig, RewardModel, TinyLM, World, collect_comparisons
from utils.train.rlhf import (
    BestOfNConfig,
    DPOConfig,
    PPOFunctions,
    RewardModelConfig,
    RLHFPPOConfig,
    SFTConfig,
    best_of_n,
    evaluate_policy,
    response_scores,
    train_dpo,
    train_reward_model,
    train_rlhf_ppo,
    train_sft,
)
from utils.train.scaffold import Run

# ---------------------------------------------------------------------- reference functions


def response_log_probs(logits, tokens, response_mask):
    """(B, T, V) logits, (B, T) tokens and mask -> (B, T) log p of each response token, 0
    elsewhere; ``logits[:, t]`` predicts ``tokens[:, t + 1]``."""
    log_softmax = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    chosen = log_softmax.gather(2, tokens[:, 1:, None])[..., 0]
    chosen = torch.cat([torch.zeros_like(chosen[:, :1]), chosen], dim=1)
    return torch.where(response_mask.bool(), chosen, torch.zeros_like(chosen))


def ranking_to_pairs(ranks):
    """(K,) ranks, 0 the best, ties allowed -> every (better, worse) pair of indices."""
    better = ranks[:, None] < ranks[None, :]
    chosen, rejected = better.nonzero(as_tuple=True)
    return chosen, rejected


def bradley_terry_loss(chosen_scores, rejected_scores):
    return -F.logsigmoid(chosen_scores - rejected_scores).mean()


def preference_accuracy(chosen_scores, rejected_scores):
    return (chosen_scores > rejected_scores).float().mean()


def last_token_columns(response_mask):
    columns = torch.arange(response_mask.shape[1], device=response_mask.device)
    return (response_mask.long() * (columns + 1)).argmax(dim=1)


def kl_penalized_rewards(rm_score, logp_policy, logp_ref, response_mask, beta):
    """(B, T): -beta (log pi - log pi_ref) on every response token, plus the reward model's
    score on the last one."""
    mask = response_mask.bool()
    rewards = torch.where(mask, -beta * (logp_policy - logp_ref), torch.zeros_like(logp_policy))
    rows = torch.arange(mask.shape[0], device=mask.device)
    rewards[rows, last_token_columns(mask)] += rm_score
    return rewards


def masked_mean(values, mask):
    weights = mask.float()
    return (values * weights).sum() / weights.sum()


def masked_whiten(values, mask, eps=1e-8):
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask)
    whitened = (values - mean) / torch.sqrt(variance + eps)
    return torch.where(mask.bool(), whitened, torch.zeros_like(values))


def ppo_policy_loss(log_probs, old_log_probs, advantages, response_mask, clip_range):
    ratio = torch.exp(log_probs - old_log_probs)
    clipped = ratio.clamp(1 - clip_range, 1 + clip_range)
    objective = torch.minimum(ratio * advantages, clipped * advantages)
    return -masked_mean(objective, response_mask)


def ppo_value_loss(values, old_values, returns, response_mask, clip_range):
    clipped = old_values + (values - old_values).clamp(-clip_range, clip_range)
    squared = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * masked_mean(squared, response_mask)


def token_gae(rewards, values, response_mask, gamma, lam):
    """GAE over the tokens of each response; the value after the last token is 0."""
    mask = response_mask.float()
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    next_value = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
        next_value = values[:, t] * mask[:, t]
    return advantages


def rlhf_ppo_step(models, prompts, optimizer, config, functions):
    """Generate, score, shape the rewards with the KL penalty, GAE over tokens, PPO epochs."""
    samples = models.sample(prompts)
    tokens, mask = samples.tokens, samples.response_mask
    with torch.no_grad():
        old_log_probs = functions.response_log_probs(models.policy(tokens), tokens, mask)
        reference_log_probs = functions.response_log_probs(models.reference(tokens), tokens, mask)
        scores = models.reward_model(tokens, mask)
        old_values = models.critic(tokens) * mask
        rewards = functions.kl_penalized_rewards(
            scores, old_log_probs, reference_log_probs, mask, config.beta
        )
        advantages = token_gae(rewards, old_values, mask, config.gamma, config.lam)
        returns = advantages + old_values
        advantages = functions.masked_whiten(advantages, mask)
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    for _ in range(config.ppo_epochs):
        log_probs = functions.response_log_probs(models.policy(tokens), tokens, mask)
        values = models.critic(tokens)
        policy_loss = functions.ppo_policy_loss(
            log_probs, old_log_probs, advantages, mask, config.clip_range
        )
        value_loss = functions.ppo_value_loss(
            values, old_values, returns, mask, config.value_clip_range
        )
        optimizer.zero_grad()
        (policy_loss + config.value_coef * value_loss).backward()
        nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
    return {
        "score": scores.mean().item(),
        "kl": (old_log_probs - reference_log_probs).sum(1).mean().item(),
        "policy_loss": policy_loss.item(),
        "value_loss": value_loss.item(),
    }


def best_of_n_kl(n):
    return math.log(n) - (n - 1) / n


def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    margin = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected)
    return -F.logsigmoid(beta * margin).mean()


PPO_FUNCTIONS = PPOFunctions(
    response_log_probs=response_log_probs,
    kl_penalized_rewards=kl_penalized_rewards,
    masked_whiten=masked_whiten,
    ppo_policy_loss=ppo_policy_loss,
    ppo_value_loss=ppo_value_loss,
)

# ---------------------------------------------------------------------- the chain's settings


@dataclasses.dataclass(frozen=True)
class ChainSettings:
    """The whole SFT -> reward model -> PPO / best-of-n / DPO chain, as the capstone runs it."""

    demonstrations: int = 4000
    sft: SFTConfig = SFTConfig(progress=False)
    comparison_prompts: int = 4000  # K responses each, all their pairs labelled
    group_size: int = 4
    held_out_fraction: float = 0.25
    labeller_temperature: float = 1.0
    reward_model: RewardModelConfig = RewardModelConfig(progress=False)
    ppo: RLHFPPOConfig = RLHFPPOConfig(progress=False)
    bon: BestOfNConfig = BestOfNConfig(progress=False)
    dpo: DPOConfig = DPOConfig(progress=False)


CHAIN = ChainSettings()


def copy_model(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model)


def build_sft(world: World, settings: ChainSettings = CHAIN) -> TinyLM:
    torch.manual_seed(settings.sft.seed)
    tokenizer = world.tokenizer
    model = TinyLM(
        LMConfig(vocab_size=len(tokenizer)), eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id
    )
    tokens, mask = world.demonstrations(settings.demonstrations, seed=settings.sft.seed)
    train_sft(model, tokens, mask, response_log_probs, settings.sft)
    return model


def build_comparisons(world: World, sft: TinyLM, settings: ChainSettings = CHAIN):
    """(labeller, train, held_out) comparisons of responses sampled from the SFT model."""
    torch.manual_seed(settings.reward_model.seed)
    labeller = Labeller(world, temperature=settings.labeller_temperature)
    comparisons = collect_comparisons(
        sft,
        labeller,
        world.prompts(settings.comparison_prompts, seed=settings.reward_model.seed + 1),
        ranking_to_pairs,
        group_size=settings.group_size,
        generator=torch.Generator().manual_seed(settings.reward_model.seed),
    )
    train, held_out = comparisons.split(settings.held_out_fraction)
    return labeller, train, held_out


def build_reward_model(sft: TinyLM, train, held_out, settings: ChainSettings = CHAIN):
    reward_model = RewardModel(sft)
    train_reward_model(
        reward_model,
        train,
        bradley_terry_loss,
        settings.reward_model,
        held_out=held_out,
        accuracy_fn=preference_accuracy,
    )
    return reward_model


# ---------------------------------------------------------------------- small fixtures


# the fixtures of test_utils_lm: one torch thread per test, the world, small untrained models
one_thread = test_utils_lm.one_thread
world = test_utils_lm.world
tiny_lm = test_utils_lm.tiny_lm


def quiet(config):
    return dataclasses.replace(config, progress=False)


def held_out_loss(model, tokens, mask) -> float:
    with torch.no_grad():
        log_probs = response_log_probs(model(tokens), tokens, mask)
    return (-log_probs.sum() / mask.sum()).item()


# ---------------------------------------------------------------------- contracts (fast)


def test_reference_functions_on_a_hand_made_case():
    ranks = torch.tensor([1, 0, 1, 3])
    chosen, rejected = ranking_to_pairs(ranks)
    assert sorted(zip(chosen.tolist(), rejected.tolist(), strict=True)) == [
        (0, 3), (1, 0), (1, 2), (1, 3), (2, 3)
    ]  # fmt: skip
    mask = torch.tensor([[False, True, True, False], [False, True, True, True]])
    zeros = torch.zeros(2, 4)
    rewards = kl_penalized_rewards(torch.tensor([2.0, -1.0]), zeros + 0.5, zeros, mask, 0.1)
    expected = torch.tensor([[0, -0.05, 1.95, 0], [0, -0.05, -0.05, -1.05]])
    torch.testing.assert_close(rewards, expected)
    assert best_of_n_kl(1) == 0 and best_of_n_kl(4) == pytest.approx(math.log(4) - 0.75)


def test_sft_calls_log_prob_fn_with_logits_tokens_and_mask_and_learns(world):
    model = tiny_lm(world)
    tokens, mask = world.demonstrations(400, seed=0)
    held, held_mask = world.demonstrations(200, seed=1)
    seen = []

    def log_prob_fn(logits, batch, batch_mask):
        seen.append((logits.shape, batch.shape, batch_mask.dtype, logits.requires_grad))
        return response_log_probs(logits, batch, batch_mask)

    before = held_out_loss(model, held, held_mask)
    history = train_sft(model, tokens, mask, log_prob_fn, quiet(SFTConfig(steps=40, lr=1e-2)))
    after = held_out_loss(model, held, held_mask)
    assert isinstance(history, History) and len(history) == 40
    logits_shape, batch_shape, mask_dtype, requires_grad = seen[0]
    assert logits_shape == (*batch_shape, len(world.tokenizer))
    assert mask_dtype == torch.bool and requires_grad
    assert after < before - 1.0, (before, after)


def test_trainers_stop_on_a_student_function_that_returns_a_non_scalar(world):
    model = tiny_lm(world)
    tokens, mask = world.demonstrations(64, seed=0)
    with pytest.raises(TypeError, match="log_prob_fn"):
        train_sft(model, tokens, mask, lambda *a: torch.ones(3, 2), quiet(SFTConfig(steps=1)))
    with pytest.raises(TypeError, match="ranking_to_pairs"):
        collect_comparisons(
            model, Labeller(world), world.prompts(2, seed=0), lambda r: [0, 1], max_new_tokens=6
        )


def test_device_selection_picks_a_gpu_when_there_is_one(monkeypatch):
    monkeypatch.delenv("WORKBOOK_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with Run(quiet(SFTConfig()), name="probe", total=1, make_envs=False) as run:
        assert run.device == torch.device("cuda")
    with Run(quiet(SFTConfig(device="cpu")), name="probe", total=1, make_envs=False) as run:
        assert run.device == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with Run(quiet(SFTConfig()), name="probe", total=1, make_envs=False) as run:
        assert run.device == torch.device("cpu")


def test_every_stage_runs_on_the_default_device_end_to_end(world):
    """A miniature chain on ``utils.runtime.device()`` (the GPU where there is one): the models
    move there with no change to the calling code."""
    from utils.runtime import device

    policy = tiny_lm(world)
    tokens, mask = world.demonstrations(128, seed=0)
    train_sft(policy, tokens, mask, response_log_probs, quiet(SFTConfig(steps=5)))
    assert policy.device.type == device().type
    comparisons = collect_comparisons(
        policy, Labeller(world), world.prompts(24, seed=1), ranking_to_pairs, max_new_tokens=12
    )
    train, held_out = comparisons.split(0.25)
    reward_model = RewardModel(policy)
    history = train_reward_model(
        reward_model,
        train,
        bradley_terry_loss,
        quiet(RewardModelConfig(epochs=1, groups_per_batch=8)),
        held_out=held_out,
        accuracy_fn=preference_accuracy,
    )
    assert 0 <= history.extra["held_out_accuracy"][-1] <= 1
    config = quiet(RLHFPPOConfig(iterations=2, batch_size=8, max_new_tokens=12, ppo_epochs=1))
    history = train_rlhf_ppo(rlhf_ppo_step, policy, reward_model, PPO_FUNCTIONS, world, config)
    assert len(history) == 2 and {"gold", "kl", "length"} <= set(history.extra)
    result = best_of_n(
        policy,
        reward_model,
        world,
        world.prompts(2, seed=3),
        [1, 2, 4],
        best_of_n_kl,
        quiet(BestOfNConfig(pool_size=8, max_new_tokens=12)),
    )
    assert result.kl.tolist() == [best_of_n_kl(n) for n in (1, 2, 4)]
    assert result.pool_kl[0] == pytest.approx(0, abs=1e-9) and len(result.gold) == 3
    config = quiet(DPOConfig(epochs=1, groups_per_batch=8, eval_prompts=8, max_new_tokens=12))
    history = train_dpo(dpo_loss, response_log_probs, policy, train, world, config)
    assert math.isfinite(history.extra["gold"][-1]) and math.isfinite(history.extra["kl"][-1])


# ---------------------------------------------------------------------- the stages (slow)


@pytest.fixture(scope="module")
def chain(world):
    """The SFT model, the labeller and comparisons sampled from the SFT model, built once."""
    sft = build_sft(world, CHAIN)
    labeller, train, held_out = build_comparisons(world, sft, CHAIN)
    return sft, labeller, train, held_out


@pytest.mark.slow
def test_sft_lowers_held_out_loss_to_near_the_demonstrators_entropy(world, chain):
    sft = chain[0]
    held, held_mask = world.demonstrations(1000, seed=12345)
    untrained = tiny_lm(world, d_model=sft.config.d_model, num_layers=sft.config.num_layers)
    assert held_out_loss(sft, held, held_mask) < 0.5 * held_out_loss(untrained, held, held_mask)
    samples = evaluate_policy(sft, world, world.prompts(512, seed=5))
    assert samples["length"] > 4


@pytest.fixture(scope="module")
def reward_model(chain):
    sft, labeller, train, held_out = chain
    return build_reward_model(sft, train, held_out, CHAIN)


@pytest.mark.slow
def test_reward_model_gets_within_two_points_of_the_bayes_ceiling(chain, reward_model):
    _, labeller, _, held_out = chain
    scores = response_scores(reward_model, held_out.tokens, held_out.response_mask)
    gap = scores[held_out.chosen] - scores[held_out.rejected]
    ceiling = labeller.bayes_ceiling(held_out)
    expected = labeller.expected_accuracy(held_out, gap)
    assert expected > ceiling - 0.02, (expected, ceiling)


@pytest.mark.slow
def test_ppo_raises_the_gold_reward_at_a_reported_kl(world, chain, reward_model):
    sft = chain[0]
    policy = copy_model(sft)
    history = train_rlhf_ppo(rlhf_ppo_step, policy, reward_model, PPO_FUNCTIONS, world, CHAIN.ppo)
    prompts = world.prompts(1024, seed=99)
    before = evaluate_policy(sft, world, prompts)
    after = evaluate_policy(policy, world, prompts, reference=sft)
    assert after["gold"] > before["gold"] + 0.3, (before, after)
    assert 0 < after["kl"] < 20 and all(math.isfinite(k) for k in history.extra["kl"])


@pytest.mark.slow
def test_dpo_raises_the_gold_reward(world, chain):
    sft, _, train, _ = chain
    policy = copy_model(sft)
    train_dpo(dpo_loss, response_log_probs, policy, train, world, CHAIN.dpo)
    prompts = world.prompts(1024, seed=99)
    before = evaluate_policy(sft, world, prompts)
    after = evaluate_policy(policy, world, prompts, reference=sft)
    assert after["gold"] > before["gold"] + 0.2, (before, after)
    assert after["kl"] > 0


@pytest.mark.slow
def test_best_of_n_gold_rises_and_its_kl_follows_the_formula(world, chain, reward_model):
    sft = chain[0]
    result = best_of_n(
        sft, reward_model, world, world.prompts(16, seed=7), [1, 4, 16], best_of_n_kl, CHAIN.bon
    )
    assert result.gold[2] > result.gold[0] + 0.3
    # duplicates lower the pool's KL below the formula, never above it
    assert (result.pool_kl <= result.kl + 1e-6).all()
