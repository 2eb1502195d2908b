"""A tiny causal transformer language model, its reward and value heads, and batched sampling.

``TinyLM`` is a GPT in miniature (token and position embeddings, pre-norm blocks of causal
self-attention and an MLP, tied output embedding). Every model here takes right-padded token
rows (B, T) and lines its outputs up with the tokens:

- ``TinyLM(tokens)`` -> logits (B, T, V); ``logits[:, t]`` is the distribution of the NEXT token,
  ``tokens[:, t + 1]``;
- ``RewardModel(tokens, response_mask)`` -> (B,), one score per response, read at its last token;
- ``ValueModel(tokens)`` -> (B, T); ``values[:, t]`` is the value of the prefix
  ``tokens[:, :t]``, i.e. of the state in which ``tokens[:, t]`` is about to be chosen, so that
  values, log-probabilities and rewards of token ``t`` share the index ``t``.

``sample`` generates responses for a batch of prompts with a key-value cache, so a token costs
one pass over one position instead of the whole prefix.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from utils.runtime import limit_cpu_threads

__all__ = ["LMConfig", "RewardModel", "Samples", "TinyLM", "ValueModel", "sample"]


@dataclass(frozen=True)
class LMConfig:
    """The shape of a ``TinyLM``."""

    vocab_size: int
    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    max_length: int = 40  # the longest sequence (prompt + response) it can read


class _Block(nn.Module):
    def __init__(self, config: LMConfig):
        super().__init__()
        self.num_heads = config.num_heads
        self.norm1 = nn.LayerNorm(config.d_model)
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.out = nn.Linear(config.d_model, config.d_model)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(config.d_model, 4 * config.d_model),
            nn.GELU(),
            nn.Linear(4 * config.d_model, config.d_model),
        )

    def forward(self, x: torch.Tensor, cache: _LayerCache | None = None) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(width, dim=2)
        q, k, v = (z.view(batch, length, self.num_heads, -1).transpose(1, 2) for z in (q, k, v))
        causal = length > 1  # one new position may attend to everything before it
        if cache is not None:  # write this step's keys and values after the earlier ones
            k, v = cache.append(k, v)
            causal = causal and k.shape[2] == length
        attention = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        x = x + self.out(attention.transpose(1, 2).reshape(batch, length, width))
        return x + self.mlp(self.norm2(x))


class _LayerCache:
    """One layer's keys and values, in buffers allocated once for the longest sequence."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor):
        self.keys, self.values, self.length = keys, values, 0

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        end = self.length + k.shape[2]
        self.keys[:, :, self.length : end] = k
        self.values[:, :, self.length : end] = v
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]


class TinyLM(nn.Module):
    """A small GPT. ``TinyLM(LMConfig(vocab_size=52))`` has about 100k parameters.

    The token ids ``eos_id`` and ``pad_id`` are remembered so that ``sample`` knows when a
    response ends and what to pad with.
    """

    def __init__(self, config: LMConfig, *, eos_id: int = 2, pad_id: int = 0):
        super().__init__()
        self.config = config
        self.eos_id, self.pad_id = eos_id, pad_id
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.position = nn.Embedding(config.max_length, config.d_model)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.num_layers))
        self.norm = nn.LayerNorm(config.d_model)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @property
    def device(self) -> torch.device:
        return self.embed.weight.device

    def hidden_states(
        self, tokens: torch.Tensor, cache: list[_LayerCache] | None = None
    ) -> torch.Tensor:
        """(B, T) tokens -> (B, T, d) last-layer features (after the cached positions, if any)."""
        start = 0 if cache is None else cache[0].length
        if start + tokens.shape[1] > self.config.max_length:
            raise ValueError(
                f"sequence of length {start + tokens.shape[1]} is longer than the model's "
                f"max_length {self.config.max_length}"
            )
        positions = torch.arange(start, start + tokens.shape[1], device=tokens.device)
        x = self.embed(tokens) + self.position(positions)
        for layer, block in enumerate(self.blocks):
            x = block(x, None if cache is None else cache[layer])
        return self.norm(x)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, V) logits; ``logits[:, t]`` predicts ``tokens[:, t + 1]``."""
        return self.hidden_states(tokens) @ self.embed.weight.T

    def start(self, prompts: torch.Tensor) -> tuple[torch.Tensor, object]:
        """Read the prompts: the logits (B, V) of the first response token, and the cache."""
        config = self.config
        shape = (
            prompts.shape[0],
            config.num_heads,
            config.max_length,
            config.d_model // config.num_heads,
        )
        dtype = self.embed.weight.dtype
        cache = [
            _LayerCache(
                torch.empty(shape, dtype=dtype, device=prompts.device),
                torch.empty(shape, dtype=dtype, device=prompts.device),
            )
            for _ in self.blocks
        ]
        hidden = self.hidden_states(prompts, cache)
        return hidden[:, -1] @ self.embed.weight.T, cache

    def extend(self, tokens: torch.Tensor, cache: object) -> tuple[torch.Tensor, object]:
        """Read one more token per row (B,): the logits (B, V) of the next one, and the cache."""
        hidden = self.hidden_states(tokens[:, None], cache)
        return hidden[:, -1] @ self.embed.weight.T, cache

    def keep(self, cache: object, index: torch.Tensor) -> object:
        """The cache of the rows ``index`` only (rows that finished are dropped while sampling)."""
        for layer in cache:
            layer.keys, layer.values = layer.keys[index], layer.values[index]
        return cache

    def to_world(self, tokens: torch.Tensor, response_mask: torch.Tensor):
        """Tokens in the world's vocabulary (the same ids for a TinyLM)."""
        return tokens, response_mask

    def from_world(self, prompts: torch.Tensor) -> torch.Tensor:
        """World prompts in this model's vocabulary (the same ids for a TinyLM)."""
        return prompts

    def sequences_from_world(self, tokens: torch.Tensor, response_mask: torch.Tensor):
        """World rows and their response mask in this model's vocabulary (the same for a
        TinyLM)."""
        return tokens, response_mask


def pad_columns(rows: torch.Tensor, width: int, value: int | bool) -> torch.Tensor:
    """(B, T) -> (B, width), filling the new columns on the right with ``value``."""
    if rows.shape[1] >= width:
        return rows
    padding = rows.new_full((rows.shape[0], width - rows.shape[1]), value)
    return torch.cat([rows, padding], dim=1)


def trim_padding(tokens: torch.Tensor, response_mask: torch.Tensor):
    """Drop the columns after the last response token of every row (padding only)."""
    if response_mask.shape[0] == 0:
        return tokens, response_mask
    width = int(last_response_index(response_mask).max().item()) + 1
    return tokens[:, :width], response_mask[:, :width]


def last_response_index(response_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) mask -> (B,) the column of each row's last response token (0 if none)."""
    columns = torch.arange(response_mask.shape[1], device=response_mask.device)
    return (response_mask.long() * (columns + 1)).argmax(dim=1)


class RewardModel(nn.Module):
    """A language model's body with a scalar head: one score per (prompt, response).

    The score is read from the features at the response's last token (its ``<eos>``), which has
    seen the whole prompt and response. InstructGPT starts the reward model from the SFT
    model; so does ``RewardModel(sft_model)`` (a copy: the SFT model is not changed).
    """

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = copy.deepcopy(body)
        width = _width(self.body)
        self.head = nn.Linear(width, 1)
        nn.init.normal_(self.head.weight, std=1 / math.sqrt(width))
        nn.init.zeros_(self.head.bias)

    def forward(self, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
        """(B, T) tokens and response mask -> (B,) scores."""
        hidden = self.body.hidden_states(tokens)
        last = last_response_index(response_mask)
        return self.head(hidden[torch.arange(tokens.shape[0], device=tokens.device), last])[:, 0]


class ValueModel(nn.Module):
    """The critic of RLHF's PPO: a body with a scalar head, one value per token position.

    ``values[:, t]`` estimates the return that follows once ``tokens[:, :t]`` has been read,
    before ``tokens[:, t]`` is chosen (it is computed from the features at position ``t - 1``);
    ``values[:, 0]`` is 0, as the first token is never a response token.
    """

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = copy.deepcopy(body)
        self.head = nn.Linear(_width(self.body), 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) tokens -> (B, T) values, aligned with the tokens."""
        hidden = self.body.hidden_states(tokens)
        values = self.head(hidden[:, :-1])[..., 0]
        return torch.cat([torch.zeros_like(values[:, :1]), values], dim=1)


def _width(body: nn.Module) -> int:
    config = getattr(body, "config", None)
    for name in ("d_model", "hidden_size", "n_embd"):
        if hasattr(config, name):
            return int(getattr(config, name))
    raise TypeError(f"cannot tell the feature width of {type(body).__name__}")


@dataclass
class Samples:
    """Prompts and the responses sampled for them.

    tokens: (B, T) long, each row the prompt, the response (ending with the model's eos id
        unless it hit ``max_new_tokens``) and padding.
    response_mask: (B, T) bool, True on the response's tokens (the eos included).
    """

    tokens: torch.Tensor
    response_mask: torch.Tensor

    def __len__(self) -> int:
        return self.tokens.shape[0]


@torch.no_grad()
@limit_cpu_threads()  # one thread: a tiny model's many small steps run slower on several
def sample(
    model: nn.Module,
    prompts: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    chunk_size: int = 1024,
) -> Samples:
    """Sample one response per prompt, all rows at once, with a key-value cache.

    Rows that have finished (said the eos) are dropped from the batch as they go, so a batch
    costs about as much as its responses are long on average, not as its longest one.

    Args:
        model: a ``TinyLM`` (or anything with ``start``, ``extend``, ``keep``, ``eos_id`` and
            ``pad_id``, such as ``utils.lm.hf.HFPolicy``).
        prompts: (B, P) token ids, every row a whole prompt of the same length P.
        max_new_tokens: the longest response; a response that reaches it without the eos id is
            cut there (and counts as unfinished for the gold reward).
        temperature: divides the logits before sampling (1: the model's own distribution).
        generator: the random generator (on the model's device); None: torch's global one.
        chunk_size: at most this many rows are sampled at once (larger batches are split,
            which is faster on a CPU and bounds the cache's memory).

    Returns:
        ``Samples``: tokens (B, P + L) with L <= max_new_tokens the longest response, and the
        response mask.
    """
    batch = prompts.shape[0]
    if batch > chunk_size:
        parts = [
            sample(
                model,
                prompts[start : start + chunk_size],
                max_new_tokens,
                temperature=temperature,
                generator=generator,
                chunk_size=chunk_size,
            )
            for start in range(0, batch, chunk_size)
        ]
        width = max(part.tokens.shape[1] for part in parts)
        return Samples(
            torch.cat([pad_columns(part.tokens, width, model.pad_id) for part in parts]),
            torch.cat([pad_columns(part.response_mask, width, False) for part in parts]),
        )
    device = prompts.device
    responses = torch.full((batch, max_new_tokens), model.pad_id, dtype=torch.long, device=device)
    lengths = torch.full((batch,), max_new_tokens, dtype=torch.long, device=device)
    rows = torch.arange(batch, device=device)  # the original row of each row still going
    logits, cache = model.start(prompts)
    longest = 0
    for step in range(max_new_tokens):
        probabilities = torch.softmax(logits.float() / temperature, dim=-1)
        token = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
        responses[rows, step] = token
        longest = step + 1
        ended = token == model.eos_id
        lengths[rows[ended]] = step + 1
        going = ~ended
        if not bool(going.any()) or step + 1 == max_new_tokens:
            break
        if bool(ended.any()):  # drop the rows that are done
            index = going.nonzero()[:, 0]
            rows, token, cache = rows[index], token[index], model.keep(cache, index)
        logits, cache = model.extend(token, cache)
    responses = responses[:, :longest]
    response_part = torch.arange(longest, device=device)[None, :] < lengths[:, None]
    responses = responses.masked_fill(~response_part, model.pad_id)
    tokens = torch.cat([prompts, responses], dim=1)
    mask = torch.cat([torch.zeros_like(prompts, dtype=torch.bool), response_part], dim=1)
    return Samples(tokens, mask)
