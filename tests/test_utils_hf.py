"""utils.lm.hf: a Hugging Face causal LM goes wherever a TinyLM goes (notebook 06 on Colab).

Every model here is a tiny, randomly initialised ``transformers`` model over a tokenizer built
from the world's words: nothing is downloaded (HF_HUB_OFFLINE=1 makes any attempt fail).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it: a download would fail
transformers = pytest.importorskip(
    "transformers", reason="the optional extra `hf` (transformers) is not installed"
)

import test_utils_lm  # noqa: E402
import test_utils_rlhf as reference  # noqa: E402
import torch  # noqa: E402

from utils.history import History  # noqa: E402
from utils.lm import Labeller, RewardModel, ValueModel, World, collect_comparisons, sample  # noqa: E402
from utils.lm.hf import HFPolicy, tiny_hf_model, tiny_hf_policy, world_tokenizer  # noqa: E402
from utils.train.rlhf import (  # noqa: E402
    BestOfNConfig,
    DPOConfig,
    RewardModelConfig,
    RLHFPPOConfig,
    SFTConfig,
    best_of_n,
    token_log_probs,
    train_dpo,
    train_reward_model,
    train_rlhf_ppo,
    train_sft,
)
from utils.train.scaffold import Run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

one_thread = test_utils_lm.one_thread
world = test_utils_lm.world


def quiet(config):
    return reference.quiet(config)


def split_word_tokenizer(world: World, pad_token: str = "<pad>"):
    """A WordPiece tokenizer over the world's words in which "discuss" is two tokens
    ("dis", "##cuss"): prompts of different lengths in the model's tokens, words that are not
    one token, and text decoding that has to join them again. ``pad_token="<bos>"`` pads with
    the bos token, as GPT-2 does with its one special token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    words = [w for w in world.tokenizer.words if w != "discuss"] + ["dis", "##cuss"]
    backend = Tokenizer(models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.decoder = decoders.WordPiece(cleanup=False)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=pad_token,
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
    )


# ---------------------------------------------------------------------- tokenizer and words


def test_world_tokenizer_round_trips_the_worlds_text(world):
    tokenizer = world_tokenizer(world)
    policy = tiny_hf_policy(world, width=32)
    tokens, mask = world.demonstrations(40, seed=3)
    for text in world.decode(tokens):
        assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text
    model_tokens, model_mask = policy.sequences_from_world(tokens, mask)
    # the world's own vocabulary, in the world's order: the same ids
    assert torch.equal(model_tokens, tokens) and torch.equal(model_mask, mask)
    back, back_mask = policy.to_world(model_tokens, model_mask)
    assert torch.equal(back, tokens) and torch.equal(back_mask, mask)
    prompts = world.prompts(6, seed=1)
    assert torch.equal(policy.from_world(prompts), prompts)


@pytest.mark.parametrize("pad_token", ["<pad>", "<bos>"])
def test_words_of_several_tokens_round_trip_and_left_padding_changes_nothing(world, pad_token):
    tokenizer = split_word_tokenizer(world, pad_token)
    model = tiny_hf_model(tokenizer, width=32, seed=1)
    policy = HFPolicy(world, model, tokenizer).double()
    prompts = torch.tensor(
        [
            world.tokenizer.encode("<bos> discuss the cat :"),
            world.tokenizer.encode("<bos> rate the tea :"),
        ]
    )
    model_prompts = policy.from_world(prompts)
    split = tokenizer.convert_tokens_to_ids(["dis", "##cuss"])
    assert model_prompts[0].tolist()[:3] == [tokenizer.bos_token_id, *split]
    assert model_prompts[1, 0] == tokenizer.pad_token_id  # left-padded to the same length
    # decoded back to the world's words (the gold reward reads the requested topic there)
    samples = sample(policy, model_prompts, 8, generator=torch.Generator().manual_seed(0))
    world_tokens, world_mask = policy.to_world(samples.tokens, samples.response_mask)
    assert torch.equal(world_tokens[:, :5], prompts)
    for row in range(2):  # the response's text, word by word (unknown words: <unk>)
        response = samples.tokens[row][samples.response_mask[row]].tolist()
        ended = response[-1] == tokenizer.eos_token_id
        text = tokenizer.decode(response[:-1] if ended else response)
        text = text.replace(".", " . ").replace(",", " , ").replace("!", " ! ")
        expected = world.tokenizer.encode(text) + [world.tokenizer.eos_id] * ended
        assert world_tokens[row][world_mask[row]].tolist() == expected
    # the padded row computes what the library computes for it alone, without padding
    logits = policy(model_prompts)
    alone = policy.model(input_ids=model_prompts[1:, 1:]).logits
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(logits[1, 1:], alone[0])
    # demonstrations: right-padded, the response mask follows the split words
    tokens, mask = world.join(prompts, [world.tokenizer.encode("the cat is good . <eos>")] * 2)
    model_tokens, model_mask = policy.sequences_from_world(tokens, mask)
    assert model_mask.sum(1).tolist() == [6, 6] and model_tokens.shape[1] == tokens.shape[1] + 1
    back, back_mask = policy.to_world(model_tokens, model_mask)
    assert torch.equal(back, tokens) and torch.equal(back_mask, mask)


# ---------------------------------------------------------------------- the model


@pytest.mark.parametrize("architecture", ["gpt2", "llama"])
def test_log_probs_equal_a_direct_computation_with_the_hugging_face_model(world, architecture):
    policy = tiny_hf_policy(world, architecture=architecture, width=32, seed=2)
    tokens, mask = world.demonstrations(6, seed=0)
    with torch.no_grad():
        direct = policy.model(input_ids=tokens).logits  # the library's own forward
        logits = policy(tokens)
        log_probs = token_log_probs(policy, tokens, mask)
    torch.testing.assert_close(logits, direct)
    log_softmax = torch.log_softmax(direct[:, :-1], dim=-1)
    expected = log_softmax.gather(2, tokens[:, 1:, None])[..., 0] * mask[:, 1:]
    torch.testing.assert_close(log_probs[:, 1:], expected)
    assert (log_probs[:, 0] == 0).all() and (log_probs[~mask] == 0).all()
    # the heads read the hidden width from the Hugging Face config
    assert RewardModel(policy)(tokens, mask).shape == (6,)
    assert ValueModel(policy)(tokens).shape == tokens.shape


@pytest.mark.parametrize("architecture", ["gpt2", "llama"])
def test_sampling_with_the_cache_equals_sampling_without(world, architecture):
    policy = tiny_hf_policy(world, architecture=architecture, width=32, seed=1).double()
    prompts = policy.from_world(world.prompts(16, seed=2))
    cached = sample(policy, prompts, 12, generator=torch.Generator().manual_seed(5))
    expected = test_utils_lm.naive_sample(policy, prompts, 12, torch.Generator().manual_seed(5))
    width = cached.tokens.shape[1] - prompts.shape[1]
    assert torch.equal(cached.tokens[:, prompts.shape[1] :], expected[:, :width])
    assert (expected[:, width:] == policy.pad_id).all()
    lengths = cached.response_mask.sum(1)
    ended = (cached.tokens == policy.eos_id).any(1)
    # rows were dropped from the cache on the way: some ended early, some ran to the end
    assert ended.any() and (lengths < 12).any()


def test_device_selection_picks_a_gpu_and_the_policy_moves_whole(monkeypatch, world):
    monkeypatch.delenv("WORKBOOK_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with Run(quiet(SFTConfig()), name="probe", total=1, make_envs=False) as run:
        assert run.device == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with Run(quiet(SFTConfig()), name="probe", total=1, make_envs=False) as run:
        assert run.device == torch.device("cpu")
    # what the trainers do with run.device: policy.to(device) moves every parameter there
    policy = tiny_hf_policy(world, width=32).to(torch.device("meta"))
    assert policy.device.type == "meta"
    assert {p.device.type for p in policy.parameters()} == {"meta"}


# ---------------------------------------------------------------------- the trainers


@pytest.fixture(scope="module")
def sft_policy(world):
    policy = tiny_hf_policy(world, width=32, seed=0)
    tokens, mask = world.demonstrations(400, seed=0)
    held, held_mask = world.demonstrations(100, seed=1)
    before = reference.held_out_loss(policy, held, held_mask)
    history = train_sft(
        policy, tokens, mask, reference.response_log_probs, quiet(SFTConfig(steps=40, lr=1e-2))
    )
    after = reference.held_out_loss(policy, held, held_mask)
    return policy, history, before, after


@pytest.fixture(scope="module")
def comparisons(world, sft_policy):
    torch.manual_seed(0)
    comparisons = collect_comparisons(
        sft_policy[0],
        Labeller(world),
        world.prompts(32, seed=1),
        reference.ranking_to_pairs,
        max_new_tokens=12,
        generator=torch.Generator().manual_seed(0),
    )
    return comparisons.split(0.25)


@pytest.fixture(scope="module")
def reward_model(sft_policy, comparisons):
    reward_model = RewardModel(sft_policy[0])
    history = train_reward_model(
        reward_model,
        comparisons[0],
        reference.bradley_terry_loss,
        quiet(RewardModelConfig(epochs=2, groups_per_batch=8)),
        held_out=comparisons[1],
        accuracy_fn=reference.preference_accuracy,
    )
    return reward_model, history


def test_sft_trains_a_hugging_face_model(sft_policy):
    policy, history, before, after = sft_policy
    assert isinstance(history, History) and len(history) == 40
    assert after < before - 1.0, (before, after)


def test_reward_model_on_a_hugging_face_body(world, comparisons, reward_model):
    model, history = reward_model
    assert isinstance(model.body, HFPolicy)
    assert 0 <= history.extra["held_out_accuracy"][-1] <= 1
    train = comparisons[0]
    # the comparisons' gold reward is the world's, of the decoded responses
    policy_tokens, policy_mask = train.tokens, train.response_mask
    assert policy_mask.any(1).all() and torch.isfinite(train.gold).all()
    assert torch.isfinite(model(policy_tokens, policy_mask)).all()


def test_rlhf_ppo_trains_a_hugging_face_policy(world, sft_policy, reward_model):
    policy = reference.copy_model(sft_policy[0])
    config = quiet(RLHFPPOConfig(iterations=2, batch_size=8, max_new_tokens=12, ppo_epochs=1))
    before = [p.detach().clone() for p in policy.parameters()]
    history = train_rlhf_ppo(
        reference.rlhf_ppo_step, policy, reward_model[0], reference.PPO_FUNCTIONS, world, config
    )
    assert len(history) == 2 and all(math.isfinite(g) for g in history.extra["gold"])
    assert all(math.isfinite(k) for k in history.extra["kl"])
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))


def test_best_of_n_with_a_hugging_face_policy(world, sft_policy, reward_model):
    result = best_of_n(
        sft_policy[0],
        reward_model[0],
        world,
        world.prompts(2, seed=3),
        [1, 2, 4],
        reference.best_of_n_kl,
        quiet(BestOfNConfig(pool_size=8, max_new_tokens=12)),
    )
    assert result.kl.tolist() == [reference.best_of_n_kl(n) for n in (1, 2, 4)]
    assert result.pool_kl[0] == pytest.approx(0, abs=1e-9) and len(result.gold) == 3
    assert all(math.isfinite(g) for g in result.gold)


def test_dpo_trains_a_hugging_face_policy(world, sft_policy, comparisons):
    policy = reference.copy_model(sft_policy[0])
    config = quiet(DPOConfig(epochs=1, groups_per_batch=8, eval_prompts=8, max_new_tokens=12))
    history = train_dpo(
        reference.dpo_loss, reference.response_log_probs, policy, comparisons[0], world, config
    )
    assert math.isfinite(history.extra["gold"][-1]) and math.isfinite(history.extra["kl"][-1])
    assert history.extra["kl"][-1] != 0  # the policy moved away from its reference


# ---------------------------------------------------------------------- without transformers


def test_utils_imports_without_transformers():
    """Students install only what utils needs: utils, utils.lm (hf included) and utils.train
    import with transformers and tokenizers hidden, and the Hugging Face helpers then say what
    to install."""
    script = textwrap.dedent(
        """
        import sys

        class Hide:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("transformers", "tokenizers"):
                    raise ImportError(f"{name} is hidden")

        sys.meta_path.insert(0, Hide())
        import utils, utils.lm, utils.train, utils.train.rlhf
        import utils.lm.hf
        assert "transformers" not in sys.modules and "tokenizers" not in sys.modules
        try:
            utils.lm.hf.tiny_hf_policy(utils.lm.World())
        except ImportError as error:
            assert "pg-rlhf-workbook[hf]" in str(error), error
        else:
            raise AssertionError("tiny_hf_policy worked without transformers")
        print("imports without transformers")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "imports without transformers" in result.stdout
