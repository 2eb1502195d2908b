"""A small world of requests and answers whose "human" is a known function.

Everything here is made by the project, deterministically: a grammar of short requests
("describe the cat :") and answers ("thanks ! the cat is very lovely .") in which the answers'
features vary (politeness, sentiment, relevance to the request, length, repetition), a
word-level tokenizer, and the **gold reward**, a hand-written function of those features that
plays the human whose preferences RLHF tries to learn. Because the gold reward is known, every
claim about a reward model or a fine-tuned policy can be measured against the truth.

A sequence is one row of token ids: the prompt (``<bos>``, a verb, ``the``, a topic, ``:``),
then the response, which ends with ``<eos>``, then ``<pad>`` up to the batch's width. The
``response_mask`` of a batch is True on the response's tokens, ``<eos>`` included.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

__all__ = ["GoldWeights", "Tokenizer", "World"]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"

VERBS = ("describe", "review", "discuss", "rate")
TOPICS = (
    "cat", "dog", "park", "city", "river", "song", "book", "film", "cake", "tea", "garden",
    "train",
)  # fmt: skip
OPENERS = (("thanks", "!"), ("sure", ","), ("well", ","), ("hmm", ","))
POSITIVE = ("good", "nice", "lovely", "great", "bright", "warm", "calm", "fun")
NEGATIVE = ("bad", "dull", "cold", "noisy", "sad", "awful", "dark", "boring")
INTENSIFIERS = ("very", "really", "so")
PROMPT_LENGTH = 5  # <bos> verb the topic :


@dataclass(frozen=True)
class GoldWeights:
    """How the gold reward weighs each feature of a response (see ``World.features``).

    The features a reward model learns slowest (relevance, repetition, grammar: each compares
    one token with another) weigh least, so that the capstone's 2-layer reward model gets within
    2 points of the labeller's Bayes ceiling in under a minute of CPU; what it still misses is
    what PPO learns to exploit.
    """

    on_topic: float = 0.3  # the response mentions the requested topic
    off_topic: float = -0.2  # per mention of another topic
    sentiment: float = 2.0  # times tanh(sentiment / 2): kind words help, with diminishing returns
    thanks: float = 0.5  # opens with "thanks !"
    sure: float = 0.2  # opens with "sure ,"
    hmm: float = -0.3  # opens with "hmm ,"
    repetition: float = -0.3  # per adjective or topic word already used earlier in the response
    too_long: float = -0.2  # per word beyond `long_after`
    long_after: int = 14
    ungrammatical: float = -0.3  # per word that cannot follow the previous one in the grammar
    unfinished: float = -1.0  # the response never said <eos>


@dataclass(frozen=True)
class Tokenizer:
    """Word-level: a token is a word or a punctuation mark, separated by spaces in text."""

    words: tuple[str, ...]
    ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", {word: i for i, word in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    @property
    def pad_id(self) -> int:
        return self.ids[PAD]

    @property
    def bos_id(self) -> int:
        return self.ids[BOS]

    @property
    def eos_id(self) -> int:
        return self.ids[EOS]

    @property
    def unk_id(self) -> int:
        return self.ids[UNK]

    def encode(self, text: str) -> list[int]:
        """``"describe the cat :"`` -> token ids; unknown words become ``<unk>``."""
        unknown = self.unk_id
        return [self.ids.get(word, unknown) for word in text.split()]

    def decode(self, ids: Sequence[int] | torch.Tensor, *, skip_special: bool = True) -> str:
        """Token ids -> text; ``<pad>`` (and with ``skip_special`` ``<bos>``/``<eos>``) dropped."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        hidden = {self.pad_id} | ({self.bos_id, self.eos_id} if skip_special else set())
        return " ".join(self.words[i] for i in ids if i not in hidden)


class World:
    """The grammar, the tokenizer and the gold reward, made from nothing but this file.

    Args:
        weights: the gold reward's weights (the default is the course's human).
        demonstration_style: probabilities of the demonstrators' choices (see ``_STYLE``).
    """

    _STYLE = dict(
        opener=0.5,  # the response opens with a phrase, each of OPENERS equally likely
        second_sentence=0.4,
        subject_topic=0.6,  # "the <requested topic>"; else "it" or "the <another topic>"
        subject_it=0.2,
        positive=0.5,  # an adjective is positive (else negative)
        intensifier=0.3,
        second_adjective=0.4,  # "... is nice and warm"
    )

    def __init__(self, weights: GoldWeights = GoldWeights(), **demonstration_style: float):
        unknown = set(demonstration_style) - set(self._STYLE)
        if unknown:
            raise TypeError(f"unknown demonstration style {sorted(unknown)}")
        self.weights = weights
        self.style = {**self._STYLE, **demonstration_style}
        words = [PAD, BOS, EOS, UNK, *VERBS, "the", ":", *TOPICS]
        words += [w for opener in OPENERS for w in opener if w not in words]
        words += ["it", "is", *INTENSIFIERS, *POSITIVE, *NEGATIVE, "and", "but", "."]
        self.tokenizer = Tokenizer(tuple(dict.fromkeys(words)))
        ids = self.tokenizer.ids
        size = len(self.tokenizer)

        def table(members) -> torch.Tensor:
            flags = torch.zeros(size, dtype=torch.bool)
            flags[[ids[w] for w in members]] = True
            return flags

        self._topic = table(TOPICS)
        self._adjective = table(POSITIVE + NEGATIVE)
        self._intensifier = table(INTENSIFIERS)
        self._polarity = torch.zeros(size)
        self._polarity[[ids[w] for w in POSITIVE]] = 1.0
        self._polarity[[ids[w] for w in NEGATIVE]] = -1.0
        self._content = self._adjective | self._topic
        self._allowed = self._grammar_bigrams()
        self._tables: dict[torch.device, tuple[torch.Tensor, ...]] = {}

    # ------------------------------------------------------------------ the grammar

    def _grammar_bigrams(self) -> torch.Tensor:
        """allowed[a, b]: word b may follow word a in a demonstration (prompt end included)."""
        ids = self.tokenizer.ids
        follows = {
            ":": ["thanks", "sure", "well", "hmm", "the", "it"],
            "thanks": ["!"],
            "sure": [","],
            "well": [","],
            "hmm": [","],
            ",": ["the", "it"],
            "!": ["the", "it", EOS],
            ".": ["the", "it", EOS],
            "the": list(TOPICS),
            "it": ["is"],
            "is": [*INTENSIFIERS, *POSITIVE, *NEGATIVE],
            "and": [*INTENSIFIERS, *POSITIVE, *NEGATIVE],
            "but": [*INTENSIFIERS, *POSITIVE, *NEGATIVE],
        }
        for topic in TOPICS:
            follows[topic] = ["is"]
        for word in INTENSIFIERS:
            follows[word] = [*POSITIVE, *NEGATIVE]
        for word in POSITIVE + NEGATIVE:
            follows[word] = ["and", "but", ".", "!"]
        allowed = torch.zeros(len(self.tokenizer), len(self.tokenizer), dtype=torch.bool)
        for first, nexts in follows.items():
            allowed[ids[first], [ids[w] for w in nexts]] = True
        return allowed

    def _response_words(self, rng: random.Random, topic: str) -> list[str]:
        style = self.style
        words: list[str] = []
        if rng.random() < style["opener"]:
            words += rng.choice(OPENERS)
        for _ in range(2 if rng.random() < style["second_sentence"] else 1):
            roll = rng.random()
            if roll < style["subject_topic"]:
                words += ["the", topic]
            elif roll < style["subject_topic"] + style["subject_it"]:
                words += ["it"]
            else:
                words += ["the", rng.choice([t for t in TOPICS if t != topic])]
            words += ["is", *self._adjective_phrase(rng)]
            if rng.random() < style["second_adjective"]:
                words += ["and" if rng.random() < 0.7 else "but", *self._adjective_phrase(rng)]
            words += ["." if rng.random() < 0.7 else "!"]
        return words + [EOS]

    def _adjective_phrase(self, rng: random.Random) -> list[str]:
        phrase = [rng.choice(INTENSIFIERS)] if rng.random() < self.style["intensifier"] else []
        return phrase + [
            rng.choice(POSITIVE if rng.random() < self.style["positive"] else NEGATIVE)
        ]

    # ------------------------------------------------------------------ data

    def prompts(self, count: int, *, seed: int) -> torch.Tensor:
        """``count`` requests ``<bos> <verb> the <topic> :``, uniformly drawn: (count, 5) long."""
        rng = random.Random(seed)
        ids = self.tokenizer.ids
        rows = [
            [ids[BOS], ids[rng.choice(VERBS)], ids["the"], ids[rng.choice(TOPICS)], ids[":"]]
            for _ in range(count)
        ]
        return torch.tensor(rows, dtype=torch.long).reshape(count, PROMPT_LENGTH)

    def demonstrations(self, count: int, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` requests with a demonstrator's answer, for supervised fine-tuning.

        The demonstrators follow the grammar with the probabilities of ``self.style``: their
        answers are fluent but of mixed quality (rude or kind, on topic or not), as real
        demonstrations are.

        Returns:
            tokens (count, T) long, right-padded with ``<pad>``, and response_mask (count, T)
            bool, True on the answer's tokens (its ``<eos>`` included).
        """
        rng = random.Random(seed)
        prompts = self.prompts(count, seed=rng.getrandbits(31))
        topics = [self.tokenizer.words[i] for i in prompts[:, 3].tolist()]
        responses = [self.tokenizer.encode(" ".join(self._response_words(rng, t))) for t in topics]
        return self.join(prompts, responses)

    def join(
        self, prompts: torch.Tensor, responses: Sequence[Sequence[int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompts (B, P) and B responses (token id lists) -> right-padded tokens and mask."""
        longest = max(len(r) for r in responses)
        pad = self.tokenizer.pad_id
        padded = torch.tensor([list(r) + [pad] * (longest - len(r)) for r in responses])
        lengths = torch.tensor([len(r) for r in responses])
        tokens = torch.cat([prompts.to(padded.device), padded.reshape(len(responses), longest)], 1)
        mask = torch.zeros_like(tokens, dtype=torch.bool)
        mask[:, prompts.shape[1] :] = torch.arange(longest)[None, :] < lengths[:, None]
        return tokens, mask

    def decode(self, tokens: torch.Tensor, response_mask: torch.Tensor | None = None) -> list[str]:
        """Each row as text; with ``response_mask``, the response only."""
        rows = []
        for row in range(tokens.shape[0]):
            ids = tokens[row] if response_mask is None else tokens[row][response_mask[row]]
            rows.append(self.tokenizer.decode(ids))
        return rows

    # ------------------------------------------------------------------ the gold reward

    def _on(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        if device not in self._tables:
            self._tables[device] = tuple(
                t.to(device)
                for t in (
                    self._topic,
                    self._adjective,
                    self._intensifier,
                    self._polarity,
                    self._content,
                    self._allowed,
                )
            )
        return self._tables[device]

    @torch.no_grad()
    def features(
        self, tokens: torch.Tensor, response_mask: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """What the gold reward looks at, per response (each (B,) float, on the tokens' device).

        on_topic (0/1), off_topic (mentions of other topics), sentiment (+1 per positive and -1
        per negative adjective, 1.5 times with an intensifier before it), thanks/sure/hmm (0/1:
        the opening phrase), repetition (adjective or topic words used before in the same
        response), length (words before ``<eos>``), ungrammatical (words that cannot follow the
        previous word), finished (0/1: the response ended with ``<eos>``).
        """
        topic, adjective, intensifier, polarity, content, allowed = self._on(tokens.device)
        ids = self.tokenizer.ids
        mask = response_mask.bool()
        maskf = mask.float()
        tokens = tokens.long().clamp(0, len(self.tokenizer) - 1)
        # the requested topic: the topic word of the prompt (before the response)
        prompt_topics = topic[tokens] & ~mask & (tokens != self.tokenizer.pad_id)
        requested = torch.where(
            prompt_topics.any(1),
            tokens.gather(1, prompt_topics.float().argmax(1, keepdim=True))[:, 0],
            -1,
        )
        is_topic = topic[tokens] & mask
        mentions_requested = is_topic & (tokens == requested[:, None])
        previous = torch.cat([tokens[:, :1], tokens[:, :-1]], dim=1)
        boost = torch.where(intensifier[previous] & mask, 1.5, 1.0)
        first = mask.float().argmax(1, keepdim=True)  # column of the response's first token
        first_word = tokens.gather(1, first)[:, 0]
        # repetition: every use of a content word after its first one in the response
        is_content = (content[tokens] & mask).float()
        counts = torch.zeros(tokens.shape[0], len(self.tokenizer), device=tokens.device)
        counts.scatter_add_(1, tokens, is_content)
        eos = (tokens == ids[EOS]) & mask
        return {
            "on_topic": mentions_requested.any(1).float(),
            "off_topic": (is_topic & ~mentions_requested).float().sum(1),
            "sentiment": (polarity[tokens] * boost * maskf).sum(1),
            "thanks": (first_word == ids["thanks"]).float(),
            "sure": (first_word == ids["sure"]).float(),
            "hmm": (first_word == ids["hmm"]).float(),
            "repetition": (counts - 1).clamp(min=0).sum(1),
            "length": (mask & ~eos).float().sum(1),
            "ungrammatical": (~allowed[previous, tokens] & mask).float().sum(1),
            "finished": eos.any(1).float(),
        }

    @torch.no_grad()
    def gold_reward(self, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
        """The human's score of each response to its request: (B, T) tokens and mask -> (B,).

        A weighted sum of ``features`` (weights in ``self.weights``); float32, no gradient.
        """
        f = self.features(tokens, response_mask)
        w = self.weights
        return (
            w.on_topic * f["on_topic"]
            + w.off_topic * f["off_topic"]
            + w.sentiment * torch.tanh(f["sentiment"] / 2)
            + w.thanks * f["thanks"]
            + w.sure * f["sure"]
            + w.hmm * f["hmm"]
            + w.repetition * f["repetition"]
            + w.too_long * (f["length"] - w.long_after).clamp(min=0)
            + w.ungrammatical * f["ungrammatical"]
            + w.unfinished * (1 - f["finished"])
        )
