"""utils.lm: the capstone's world (grammar, tokenizer, gold reward), the tiny LM's cached
sampling, and the labeller's noise and exact Bayes ceiling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from utils.lm import Labeller, LMConfig, RewardModel, Samples, TinyLM, ValueModel, World, sample
from utils.lm.model import last_response_index
from utils.runtime import limit_cpu_threads
from utils.train.rlhf import _best_of_n_weights, _pool_kl


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as the trainers use: tiny models run slower on several."""
    with limit_cpu_threads(1):
        yield


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def tiny_lm(world: World, seed: int = 0, **shape) -> TinyLM:
    torch.manual_seed(seed)
    tokenizer = world.tokenizer
    config = LMConfig(vocab_size=len(tokenizer), **{"d_model": 32, "num_layers": 2, **shape})
    return TinyLM(config, eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id)


# ---------------------------------------------------------------------- world and tokenizer


def test_tokenizer_round_trips_text_and_ids(world):
    tokens, mask = world.demonstrations(50, seed=3)
    tokenizer = world.tokenizer
    for row in tokens:
        ids = [i for i in row.tolist() if i != tokenizer.pad_id]
        text = tokenizer.decode(ids, skip_special=False)
        assert tokenizer.encode(text) == ids
        assert tokenizer.decode(tokenizer.encode(text), skip_special=False) == text
    assert tokenizer.encode("describe the spaceship :")[2] == tokenizer.unk_id


def test_demonstrations_are_grammatical_finished_and_masked_on_the_response(world):
    tokens, mask = world.demonstrations(300, seed=1)
    assert tokens.dtype == torch.long and mask.dtype == torch.bool
    assert not mask[:, :5].any(), "the prompt is not part of the response"
    ends = tokens[torch.arange(len(tokens)), last_response_index(mask)]
    assert (ends == world.tokenizer.eos_id).all(), "every response ends with <eos>"
    assert (tokens[~mask][:, None] != world.tokenizer.eos_id).all()
    features = world.features(tokens, mask)
    assert (features["ungrammatical"] == 0).all() and (features["finished"] == 1).all()
    # the demonstrators are of mixed quality: the gold reward spreads
    gold = world.gold_reward(tokens, mask)
    assert gold.std() > 0.8 and gold.min() < -1 and gold.max() > 1.5


def test_demonstrations_are_repeatable_from_their_seed(world):
    first, _ = world.demonstrations(20, seed=7)
    again, _ = world.demonstrations(20, seed=7)
    other, _ = world.demonstrations(20, seed=8)
    assert torch.equal(first, again) and not torch.equal(first, other)


def score(world: World, prompt: str, response: str) -> float:
    tokenizer = world.tokenizer
    prompts = torch.tensor([tokenizer.encode("<bos> " + prompt)])
    tokens, mask = world.join(prompts, [tokenizer.encode(response)])
    return world.gold_reward(tokens, mask).item()


def test_gold_reward_of_hand_written_answers(world):
    w = world.weights
    kind = score(world, "describe the cat :", "thanks ! the cat is very lovely . <eos>")
    assert kind == pytest.approx(w.thanks + w.on_topic + w.sentiment * math.tanh(1.5 / 2))
    rude = score(world, "describe the cat :", "hmm , the dog is bad . <eos>")
    assert rude == pytest.approx(w.hmm + w.off_topic + w.sentiment * math.tanh(-1 / 2))
    repeated = score(world, "rate the tea :", "the tea is good . the tea is good . <eos>")
    # the second "tea" and the second "good" are repetitions; sentiment +2
    assert repeated == pytest.approx(w.on_topic + w.sentiment * math.tanh(1) + 2 * w.repetition)
    unfinished = score(world, "rate the tea :", "the tea is good")
    assert unfinished == pytest.approx(w.on_topic + w.sentiment * math.tanh(0.5) + w.unfinished)
    broken = score(world, "rate the tea :", "the tea good is . <eos>")
    w_broken = 3 * world.weights.ungrammatical  # "tea good", "good is", "is ."
    assert broken == pytest.approx(
        score(world, "rate the tea :", "the tea is good . <eos>") + w_broken
    )


# ---------------------------------------------------------------------- the model and sampling


def test_model_shapes_and_heads_line_up_with_the_tokens(world):
    model = tiny_lm(world)
    tokens, mask = world.demonstrations(6, seed=0)
    assert model(tokens).shape == (*tokens.shape, len(world.tokenizer))
    rewards = RewardModel(model)(tokens, mask)
    values = ValueModel(model)(tokens)
    assert rewards.shape == (6,) and values.shape == tokens.shape
    assert (values[:, 0] == 0).all()
    # causal: changing a later token changes nothing before it
    changed = tokens.clone()
    changed[:, 8] = world.tokenizer.ids["cat"]
    torch.testing.assert_close(model(changed)[:, :8], model(tokens)[:, :8])


def naive_sample(model, prompts, max_new_tokens, generator):
    """Sampling without a cache: the whole prefix again for every token, with the same row
    dropping (and so the same draws from the generator) as ``sample``."""
    batch = prompts.shape[0]
    responses = torch.full((batch, max_new_tokens), model.pad_id, dtype=torch.long)
    finished = torch.zeros(batch, dtype=torch.bool)
    for step in range(max_new_tokens):
        going = (~finished).nonzero()[:, 0]
        prefix = torch.cat([prompts[going], responses[going, :step]], dim=1)
        probabilities = torch.softmax(model(prefix)[:, -1], dim=-1)
        token = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
        responses[going, step] = token
        finished[going[token == model.eos_id]] = True
        if finished.all():
            break
    return responses


def test_sampling_with_the_cache_equals_sampling_without(world):
    model = tiny_lm(world, seed=1).double()  # float64: no rounding can flip a draw
    prompts = world.prompts(16, seed=2)
    cached = sample(model, prompts, 12, generator=torch.Generator().manual_seed(5))
    expected = naive_sample(model, prompts, 12, torch.Generator().manual_seed(5))
    width = cached.tokens.shape[1] - 5
    assert torch.equal(cached.tokens[:, 5:], expected[:, :width])
    assert (expected[:, width:] == model.pad_id).all()
    lengths = cached.response_mask.sum(1)
    ended = (cached.tokens == model.eos_id).any(1)
    assert ((lengths == 12) | ended).all() and ended.any() and (lengths < 12).any()


def test_sample_splits_large_batches_into_chunks_consistently(world):
    model = tiny_lm(world, seed=2)
    prompts = world.prompts(30, seed=4)
    samples = sample(model, prompts, 10, chunk_size=7)
    assert isinstance(samples, Samples) and len(samples) == 30
    assert torch.equal(samples.tokens[:, :5], prompts)
    after_prompt = samples.tokens[:, 5:]
    padding = ~samples.response_mask[:, 5:]
    assert (after_prompt[padding] == model.pad_id).all()


# ---------------------------------------------------------------------- the labeller


def test_bayes_ceiling_matches_a_monte_carlo_estimate(world):
    model = tiny_lm(world, seed=3)
    labeller = Labeller(world, temperature=0.7)
    group_size, groups = 4, 60
    samples = sample(model, world.prompts(groups, seed=1).repeat_interleave(group_size, 0), 10)
    gold = world.gold_reward(samples.tokens, samples.response_mask).view(groups, group_size)
    first, second = torch.triu_indices(group_size, group_size, offset=1)
    gap = gold[:, first] - gold[:, second]
    distinct = gap != 0
    exact = labeller.agreement(gap[distinct]).mean().item()
    draws = 150
    generator = torch.Generator().manual_seed(0)
    agree = torch.zeros_like(gap)
    for _ in range(draws):
        ranks = labeller.rank(samples, group_size, generator=generator)
        agree += ((ranks[:, first] < ranks[:, second]) == (gap > 0)).float()
    estimate = (agree[distinct] / draws).mean().item()
    standard_error = 0.5 / math.sqrt(draws * distinct.sum().item())
    assert abs(estimate - exact) < 5 * standard_error + 1e-3, (estimate, exact)


def test_identical_responses_tie_and_ranks_follow_the_gold_without_noise(world):
    tokenizer = world.tokenizer
    prompts = torch.tensor([tokenizer.encode("<bos> describe the cat :")] * 4)
    answers = [
        "hmm , the dog is bad . <eos>",
        "thanks ! the cat is lovely . <eos>",
        "hmm , the dog is bad . <eos>",
        "the cat is good . <eos>",
    ]
    tokens, mask = world.join(prompts, [tokenizer.encode(a) for a in answers])
    labeller = Labeller(world, temperature=1e-4)
    ranks = labeller.rank(Samples(tokens, mask), 4)
    assert ranks.tolist() == [[2, 0, 2, 1]]


def test_expected_accuracy_of_the_gold_reward_is_the_ceiling(world):
    gold_gap = torch.tensor([1.0, -0.5, 2.0, 0.0])

    class Pairs:  # the only attribute the labeller reads
        pass

    pairs = Pairs()
    pairs.gold_gap = gold_gap
    labeller = Labeller(world)
    ceiling = labeller.bayes_ceiling(pairs)
    assert labeller.expected_accuracy(pairs, gold_gap) == pytest.approx(ceiling)
    assert labeller.expected_accuracy(pairs, -gold_gap) == pytest.approx(1 - ceiling)


# ---------------------------------------------------------------------- best-of-n bookkeeping


def test_best_of_n_weights_are_the_distribution_of_the_maximum():
    weights = _best_of_n_weights(10, [1, 3, 10])
    np.testing.assert_allclose(weights.sum(1), 1.0)
    np.testing.assert_allclose(weights[0], 0.1)
    assert weights[2, -1] == pytest.approx(1.0)
    # best of 3 out of 10: the top one is chosen when it is among the 3 drawn
    assert weights[1, -1] == pytest.approx(3 / 10)


@pytest.mark.parametrize("n", [1, 2, 8, 32])
def test_pool_kl_of_distinct_responses_approaches_log_n_minus_n_minus_1_over_n(n):
    pool = torch.arange(4096)[:, None]  # 4096 distinct "responses", sorted by score
    kl, duplicates = _pool_kl(pool, [n])
    assert duplicates == 0
    assert kl[0] == pytest.approx(math.log(n) - (n - 1) / n, abs=2e-3)


def test_pool_kl_merges_identical_responses():
    pool = torch.tensor([[0], [0], [1], [2]])  # the lowest-scored response drawn twice
    kl, duplicates = _pool_kl(pool, [2])
    p = np.array([0.5, 0.25, 0.25])
    cumulative = np.cumsum(p)
    q = cumulative**2 - np.concatenate([[0], cumulative[:-1]]) ** 2
    assert duplicates == 0.25
    assert kl[0] == pytest.approx(float((q * np.log(q / p)).sum()))
