"""The capstone's world: a tiny language model and a known "human" (notebook 06).

- ``utils.lm.world``: the grammar of requests and answers, the word-level ``Tokenizer``, and the
  gold reward (``World``);
- ``utils.lm.model``: ``TinyLM`` (a small causal transformer with a key-value cache),
  ``RewardModel``, ``ValueModel`` and batched ``sample``;
- ``utils.lm.preferences``: the ``Labeller`` (Plackett-Luce on the gold reward, with its exact
  Bayes ceiling) and the ``Comparisons`` a reward model learns from;
- ``utils.lm.hf`` (optional, needs ``transformers`` only when used): ``HFPolicy``, a Hugging
  Face causal LM and its tokenizer in the place of a ``TinyLM``, and ``tiny_hf_policy``.

Everything is made from seeds by this package: nothing is downloaded.
"""

from utils.lm import hf
from utils.lm.hf import HFPolicy, tiny_hf_policy
from utils.lm.model import LMConfig, RewardModel, Samples, TinyLM, ValueModel, sample
from utils.lm.preferences import Comparisons, Labeller, collect_comparisons
from utils.lm.world import GoldWeights, Tokenizer, World

__all__ = [
    "Comparisons",
    "GoldWeights",
    "HFPolicy",
    "LMConfig",
    "Labeller",
    "RewardModel",
    "Samples",
    "TinyLM",
    "Tokenizer",
    "ValueModel",
    "World",
    "collect_comparisons",
    "hf",
    "sample",
    "tiny_hf_policy",
]
