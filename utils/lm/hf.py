"""A Hugging Face causal language model in the capstone, where a ``TinyLM`` is (optional).

``HFPolicy(world, model, tokenizer)`` wraps any ``transformers`` causal LM (a
``PreTrainedModel`` with a language-model head: GPT-2, Llama, Qwen, ...) and its tokenizer so
that every trainer of ``utils.train.rlhf``, ``sample``, ``RewardModel`` and ``ValueModel`` take
it exactly where they take a ``TinyLM``: the same protocol (``forward`` to logits,
``hidden_states`` for the reward and value heads, ``start``/``extend``/``keep`` for sampling with
the model's key-value cache, ``device``, ``eos_id``/``pad_id``) and the same translation between
vocabularies (``from_world``, ``sequences_from_world``, ``to_world``): the world speaks words;
the model reads and writes its own tokens; the gold reward and the labeller read words again.

Notebook 06 on a Hugging Face model changes only the line that makes the SFT model::

    from transformers import AutoModelForCausalLM, AutoTokenizer
    name = "gpt2"  # or a local folder
    sft_model = utils.lm.hf.HFPolicy(
        WORLD, AutoModelForCausalLM.from_pretrained(name), AutoTokenizer.from_pretrained(name)
    )

or, with no model at hand, ``sft_model = utils.lm.hf.tiny_hf_policy(WORLD)`` (a GPT-2 in
miniature, randomly initialised, over the world's own vocabulary).

Nothing in this module downloads anything: loading a pretrained model is the caller's own
``from_pretrained`` call; ``world_tokenizer`` and ``tiny_hf_model`` build everything from the
world and a seed. ``transformers`` (the ``hf`` extra: ``pip install "pg-rlhf-workbook[hf]"``) is
imported only when one of them is called, so ``import utils.lm`` works without it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from utils.lm.world import BOS, EOS, PAD, UNK, World

__all__ = ["HFPolicy", "tiny_hf_model", "tiny_hf_policy", "world_tokenizer"]

_WORDS = re.compile(r"<\w+>|\w+|[^\w\s]")  # <special>, a word, or one punctuation mark


def _transformers():
    try:
        import transformers
    except ImportError:  # say what to install, not just what is missing
        raise ImportError(
            "utils.lm.hf needs the Hugging Face `transformers` package: "
            'pip install "pg-rlhf-workbook[hf]" (or pip install transformers)'
        ) from None
    return transformers


class _Vocabulary:
    """How the world's words are written in a model's tokens, and read back.

    A word is the tokens the tokenizer gives it after another word (``": " + word`` less
    ``":"``), so that the leading-space conventions of BPE (GPT-2's ``" cat"``) and
    SentencePiece (``"▁cat"``) both come out as they would in running text. Immutable: copies
    of a policy share it.
    """

    def __init__(self, world: World, tokenizer):
        self.world, self.tokenizer = world, tokenizer
        eos = tokenizer.eos_token_id
        if eos is None:
            raise ValueError("the tokenizer has no eos token: a response could never end")
        self.eos_id = int(eos)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos)
        bos = tokenizer.bos_token_id
        self.bos_id = None if bos is None else int(bos)
        specials = {PAD: [self.pad_id], BOS: [] if bos is None else [self.bos_id], EOS: [eos]}
        unk = tokenizer.unk_token_id
        if unk is not None and int(unk) not in (self.eos_id, self.pad_id, self.bos_id):
            specials[UNK] = [int(unk)]  # (GPT-2's unk is its eos: <unk> is then spelled out)
        prefix = tokenizer.encode(":", add_special_tokens=False)
        self.words: list[tuple[int, ...]] = []
        for word in world.tokenizer.words:
            if word in specials:
                ids = specials[word]
            else:
                ids = tokenizer.encode(": " + word, add_special_tokens=False)
                if ids[: len(prefix)] == prefix and len(ids) > len(prefix):
                    ids = ids[len(prefix) :]
                else:  # a tokenizer that merges across the space: the word alone
                    ids = tokenizer.encode(word, add_special_tokens=False)
            self.words.append(tuple(int(i) for i in ids))

    def __deepcopy__(self, memo) -> _Vocabulary:
        return self

    def encode(self, world_ids: Sequence[int]) -> list[int]:
        return [i for word in world_ids for i in self.words[word]]

    def decode(self, rows: list[list[int]]) -> list[list[int]]:
        """Rows of model ids -> world ids: the text, split into words and punctuation marks
        (``"good."``, as a pretrained model writes it, is ``good .``); a word the world does not
        know is ``<unk>``."""
        texts = self.tokenizer.batch_decode(rows, clean_up_tokenization_spaces=False)
        ids, unknown = self.world.tokenizer.ids, self.world.tokenizer.unk_id
        return [[ids.get(word, unknown) for word in _WORDS.findall(text)] for text in texts]


@dataclass
class _Cache:
    """The state of a batch being sampled: the model's cache, the attention mask (0 on left
    padding) and the position of the next token of each row."""

    past: object
    attention: torch.Tensor
    position: torch.Tensor


class HFPolicy(nn.Module):
    """A Hugging Face causal LM and its tokenizer, usable wherever a ``TinyLM`` is.

    Args:
        world: the capstone's world (its words are encoded with ``tokenizer``).
        model: a causal LM (``AutoModelForCausalLM.from_pretrained(...)``, or any
            ``PreTrainedModel`` with ``base_model`` and ``get_output_embeddings()``); trained in
            place by the trainers, like a ``TinyLM``.
        tokenizer: its tokenizer; without a pad token, the eos token pads (after a response's
            eos, never attended to).
        disable_dropout: set every dropout of the model to 0 (default), as RLHF's PPO needs:
            its probability ratios and KL compare the policy with itself and its reference, and
            dropout would make the same model look different from itself.

    The logits are ``get_output_embeddings()`` applied to the base model's last features (one
    computation for training, the reward and value heads and sampling), so a model that
    post-processes its logits (e.g. soft-capping) is used without that step.

    Prompts of different lengths in the model's tokens (a word that is two tokens in one prompt
    and one in another) are padded on the left; those positions are masked from attention and
    the positions after them count from the prompt's first real token, so padding changes
    nothing the model computes.
    """

    def __init__(self, world: World, model: nn.Module, tokenizer, *, disable_dropout: bool = True):
        super().__init__()
        self.model = model
        self.config = model.config  # RewardModel and ValueModel read the width from here
        self.vocabulary = _Vocabulary(world, tokenizer)
        self.eos_id, self.pad_id = self.vocabulary.eos_id, self.vocabulary.pad_id
        if disable_dropout:
            for module in model.modules():
                if isinstance(module, nn.Dropout):
                    module.p = 0.0
        parameters = inspect.signature(model.base_model.forward).parameters
        # transformers 5 calls the key-value cache `cache`; 4.x called it `past_key_values`
        self._cache_name = "cache" if "cache" in parameters else "past_key_values"

    @property
    def tokenizer(self):
        return self.vocabulary.tokenizer

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ------------------------------------------------------------------ the model

    def _attention(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) -> the attention mask (0 on left padding) and the position ids.

        Left padding is the leading run of ``pad_id``; when the pad id is also the bos id (GPT-2
        pads with its one special token), the run's last token is the prompt's bos.
        """
        leading = (tokens == self.pad_id).long().cumprod(dim=1).bool()
        if self.vocabulary.bos_id == self.pad_id:
            run = leading.sum(dim=1, keepdim=True)
            columns = torch.arange(tokens.shape[1], device=tokens.device)
            leading = leading & (columns[None, :] < run - 1)
        attention = (~leading).long()
        return attention, (attention.cumsum(dim=1) - 1).clamp(min=0)

    def _body(self, tokens, attention, positions, past=None, use_cache=False):
        kwargs = {self._cache_name: past} if past is not None else {}
        return self.model.base_model(
            input_ids=tokens,
            attention_mask=attention,
            position_ids=positions,
            use_cache=use_cache,
            **kwargs,
        )

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) tokens -> (B, T, d) the base model's last features."""
        attention, positions = self._attention(tokens)
        return self._body(tokens, attention, positions).last_hidden_state

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, V) logits; ``logits[:, t]`` predicts ``tokens[:, t + 1]``."""
        return self.model.get_output_embeddings()(self.hidden_states(tokens))

    # ------------------------------------------------------------------ sampling (utils.lm.sample)

    def start(self, prompts: torch.Tensor) -> tuple[torch.Tensor, _Cache]:
        """Read the prompts: the logits (B, V) of the first response token, and the cache."""
        attention, positions = self._attention(prompts)
        output = self._body(prompts, attention, positions, use_cache=True)
        logits = self.model.get_output_embeddings()(output.last_hidden_state[:, -1])
        return logits, _Cache(output[self._cache_name], attention, positions[:, -1] + 1)

    def extend(self, tokens: torch.Tensor, cache: _Cache) -> tuple[torch.Tensor, _Cache]:
        """Read one more token per row (B,): the logits (B, V) of the next one, and the cache."""
        new_column = torch.ones_like(cache.attention[:, :1])
        cache.attention = torch.cat([cache.attention, new_column], dim=1)
        output = self._body(
            tokens[:, None], cache.attention, cache.position[:, None], cache.past, use_cache=True
        )
        cache.past, cache.position = output[self._cache_name], cache.position + 1
        return self.model.get_output_embeddings()(output.last_hidden_state[:, -1]), cache

    def keep(self, cache: _Cache, index: torch.Tensor) -> _Cache:
        """The cache of the rows ``index`` only (rows that finished are dropped while sampling)."""
        if hasattr(cache.past, "batch_select_indices"):
            cache.past.batch_select_indices(index)
        else:  # the tuple of (keys, values) per layer of older models
            cache.past = tuple(tuple(t[index] for t in layer) for layer in cache.past)
        cache.attention = cache.attention[index]
        cache.position = cache.position[index]
        return cache

    # ------------------------------------------------------------------ the world's words

    def from_world(self, prompts: torch.Tensor) -> torch.Tensor:
        """World prompts (B, P) -> the same prompts in the model's tokens (B, P'), left-padded
        where their lengths differ (on the prompts' device)."""
        rows = [self.vocabulary.encode(row) for row in prompts.tolist()]
        width = max(len(row) for row in rows)
        padded = [[self.pad_id] * (width - len(row)) + row for row in rows]
        return torch.tensor(padded, dtype=torch.long, device=prompts.device)

    def sequences_from_world(
        self, tokens: torch.Tensor, response_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """World rows (prompt, response, padding) and their response mask -> the same in the
        model's tokens, right-padded (e.g. the demonstrations of SFT)."""
        world_pad = self.vocabulary.world.tokenizer.pad_id
        rows, masks = [], []
        for row, row_mask in zip(tokens.tolist(), response_mask.tolist(), strict=True):
            ids, flags = [], []
            for word, in_response in zip(row, row_mask, strict=True):
                if word == world_pad:
                    continue
                encoded = self.vocabulary.words[word]
                ids += encoded
                flags += [bool(in_response)] * len(encoded)
            rows.append(ids)
            masks.append(flags)
        return self._pad_right(rows, masks, self.pad_id, tokens.device)

    def to_world(
        self, tokens: torch.Tensor, response_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The model's rows and response mask -> the world's words (for the gold reward and the
        labeller): prompt and response decoded to text and split into words and punctuation
        marks; a response that
        ends with the model's eos ends with ``<eos>``; words the world does not know become
        ``<unk>`` (ungrammatical for the gold reward)."""
        vocabulary = self.vocabulary
        words = vocabulary.world.tokenizer
        skip = {self.pad_id, vocabulary.bos_id}
        prompts, responses, finished = [], [], []
        for row, row_mask in zip(tokens.tolist(), response_mask.tolist(), strict=True):
            first = row_mask.index(True) if True in row_mask else len(row)
            prompts.append([i for i in row[:first] if i not in skip])
            response = [i for i, keep in zip(row, row_mask, strict=True) if keep]
            ended = bool(response) and response[-1] == self.eos_id
            responses.append(response[:-1] if ended else response)
            finished.append(ended)
        prompt_words = vocabulary.decode(prompts) if prompts else []
        response_words = vocabulary.decode(responses) if responses else []
        rows, masks = [], []
        for prompt, response, ended in zip(prompt_words, response_words, finished, strict=True):
            response = response + [words.eos_id] * ended
            rows.append([words.bos_id, *prompt, *response])
            masks.append([False] * (1 + len(prompt)) + [True] * len(response))
        return self._pad_right(rows, masks, words.pad_id, tokens.device)

    @staticmethod
    def _pad_right(rows, masks, pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        width = max((len(row) for row in rows), default=0)
        tokens = torch.tensor([row + [pad] * (width - len(row)) for row in rows], dtype=torch.long)
        mask = torch.tensor([m + [False] * (width - len(m)) for m in masks], dtype=torch.bool)
        shape = (len(rows), width)
        return tokens.reshape(shape).to(device), mask.reshape(shape).to(device)


# ---------------------------------------------------------------------- no-download helpers


def world_tokenizer(world: World):
    """A Hugging Face fast tokenizer over the world's own words (``tokenizers``' WordLevel
    model, split on spaces), with the world's ids: ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``
    are its special tokens. Built from the world alone: nothing is downloaded."""
    transformers = _transformers()
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = world.tokenizer.words
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=PAD, bos_token=BOS, eos_token=EOS, unk_token=UNK
    )


def tiny_hf_model(
    tokenizer,
    *,
    architecture: str = "gpt2",
    width: int = 64,
    layers: int = 2,
    heads: int = 4,
    max_length: int = 128,
    seed: int = 0,
) -> nn.Module:
    """A randomly initialised Hugging Face causal LM (``"gpt2"`` or ``"llama"``) sized for the
    tokenizer's vocabulary: the shape of a ``TinyLM`` (2 layers, width 64), no dropout, made
    from ``seed`` with no download."""
    transformers = _transformers()
    special = dict(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    if architecture == "gpt2":
        config = transformers.GPT2Config(
            vocab_size=len(tokenizer),
            n_embd=width,
            n_layer=layers,
            n_head=heads,
            n_positions=max_length,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            **special,
        )
        make = transformers.GPT2LMHeadModel
    elif architecture == "llama":
        config = transformers.LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=width,
            intermediate_size=4 * width,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            max_position_embeddings=max_length,
            tie_word_embeddings=True,
            **special,
        )
        make = transformers.LlamaForCausalLM
    else:
        raise ValueError(f"architecture must be 'gpt2' or 'llama', got {architecture!r}")
    torch.manual_seed(seed)
    return make(config).eval()


def tiny_hf_policy(world: World, *, architecture: str = "gpt2", seed: int = 0, **shape) -> HFPolicy:
    """``HFPolicy`` of a tiny random model over the world's words (``world_tokenizer``): the
    Hugging Face path of notebook 06 without a model to download. ``shape``: ``width``,
    ``layers``, ``heads``, ``max_length`` of ``tiny_hf_model``."""
    tokenizer = world_tokenizer(world)
    model = tiny_hf_model(tokenizer, architecture=architecture, seed=seed, **shape)
    return HFPolicy(world, model, tokenizer)
