"""A synthetic labeller that ranks responses the way the gold reward says, noisily, and the
comparison data a reward model (or DPO) learns from.

The labeller is Plackett-Luce on the gold reward: shown K responses to one prompt, it picks
the best with probability proportional to exp(gold / temperature), then the best of the rest,
and so on. Every pair inside such a ranking then follows Bradley-Terry,

    P(y_i ranked above y_j) = sigmoid((gold_i - gold_j) / temperature),

so labels are noisy exactly the way the lecture says human judgements are, and how often they
agree with the gold ordering is known in closed form: no reward model can predict a held-out
label better than the **Bayes ceiling**, the mean of sigmoid(|gold_i - gold_j| / temperature)
over the held-out pairs. Identical responses get the same rank (a tie).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import torch

from utils.lm.model import Samples, sample, trim_padding
from utils.lm.world import World
from utils.runtime import limit_cpu_threads

__all__ = ["Comparisons", "Labeller", "RankingToPairs", "collect_comparisons"]

RankingToPairs = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""``ranking_to_pairs(ranks (K,)) -> (chosen (M,), rejected (M,))`` indices into the K responses."""


class Labeller:
    """Ranks groups of responses by Plackett-Luce on ``world``'s gold reward.

    Args:
        world: whose gold reward the labeller follows.
        temperature: the noise; labels agree with the gold ordering of a pair with probability
            sigmoid(|gold gap| / temperature) (0 would be a perfect labeller).
    """

    def __init__(self, world: World, temperature: float = 1.0):
        self.world = world
        self.temperature = temperature

    @torch.no_grad()
    def rank(
        self, samples: Samples, group_size: int, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Rank every group of ``group_size`` consecutive responses.

        Args:
            samples: G * K responses (K = ``group_size``), the K responses of each prompt next to
                each other.
            generator: for the labeller's noise (on any device); None: torch's global one.

        Returns:
            (G, K) long ranks: 0 for the best response of a group, 1 for the next, ...; identical
            responses share a rank (the one of the best place they could take), so ranks can
            repeat and skip, e.g. ``[0, 1, 1, 3]``.
        """
        tokens, mask = samples.tokens, samples.response_mask
        gold = self.world.gold_reward(tokens, mask).view(-1, group_size)
        # drawn where the generator lives (a CPU generator works for samples on a GPU too)
        where = gold.device if generator is None else generator.device
        uniform = torch.rand(gold.shape, generator=generator, device=where).to(gold.device)
        gumbel = -torch.log(-torch.log(uniform.clamp(1e-12, 1 - 1e-12)))
        # identical responses must share their noise, so that they tie
        groups = tokens.view(-1, group_size, tokens.shape[1])
        identical = (groups[:, :, None, :] == groups[:, None, :, :]).all(-1)  # (G, K, K)
        first_copy = identical.long().argmax(dim=2)  # the first identical response of each
        gumbel = gumbel.gather(1, first_copy)
        utility = gold / self.temperature + gumbel
        return (utility[:, None, :] > utility[:, :, None]).sum(dim=2)

    def agreement(self, gold_gap: torch.Tensor) -> torch.Tensor:
        """(M,) gold gaps of pairs -> (M,) probability that a label follows the gold ordering."""
        return torch.sigmoid(gold_gap.abs() / self.temperature)

    def bayes_ceiling(self, comparisons: Comparisons) -> float:
        """The expected held-out accuracy of a perfect reward model (one that orders by gold)."""
        return self.agreement(comparisons.gold_gap).mean().item()

    def expected_accuracy(self, comparisons: Comparisons, scores_gap: torch.Tensor) -> float:
        """A reward model's accuracy on ``comparisons``, in expectation over the labels' noise.

        ``scores_gap`` (M,) is the model's score of the chosen minus the rejected response. A
        pair counts sigmoid(|gold gap|) when the model orders it like the gold reward, one
        minus that when it orders it the other way, and one half for a tie: the noise-free
        version of the accuracy measured on the labels, to compare with ``bayes_ceiling``.
        """
        agree = self.agreement(comparisons.gold_gap)
        same_order = torch.sign(scores_gap.to(agree.device)) * torch.sign(comparisons.gold_gap)
        value = torch.where(same_order > 0, agree, 1 - agree)
        return torch.where(same_order == 0, 0.5, value).mean().item()


@dataclass
class Comparisons:
    """Responses to prompts, in groups of K per prompt, and the labelled pairs among them.

    Stored the way InstructGPT trains on them: each response once, and the pairs as indices, so
    that a reward model scores the K responses of a prompt once for all their K (K - 1) / 2
    pairs.

    tokens: (N, T) every response with its prompt, right-padded.
    response_mask: (N, T) bool, True on the response tokens.
    gold: (N,) the gold reward of each response.
    group: (N,) the index of the prompt each response answers.
    chosen, rejected: (M,) long, the preferred and the other response of each labelled pair
        (indices into the N responses).
    """

    tokens: torch.Tensor
    response_mask: torch.Tensor
    gold: torch.Tensor
    group: torch.Tensor
    chosen: torch.Tensor
    rejected: torch.Tensor

    def __len__(self) -> int:
        """The number of labelled pairs."""
        return self.chosen.shape[0]

    @property
    def num_groups(self) -> int:
        return int(self.group.unique().numel())

    @property
    def gold_gap(self) -> torch.Tensor:
        """(M,) gold(chosen) - gold(rejected): negative where the labeller's noise went against
        the gold reward."""
        return self.gold[self.chosen] - self.gold[self.rejected]

    def select_groups(self, groups: torch.Tensor) -> Comparisons:
        """The responses and pairs of the prompts ``groups`` (indices), renumbered."""
        keep = torch.isin(self.group, groups.to(self.group.device))
        new_index = torch.cumsum(keep.long(), dim=0) - 1
        pairs = keep[self.chosen]
        tokens, mask = trim_padding(self.tokens[keep], self.response_mask[keep])
        return Comparisons(
            tokens=tokens,
            response_mask=mask,
            gold=self.gold[keep],
            group=self.group[keep],
            chosen=new_index[self.chosen[pairs]],
            rejected=new_index[self.rejected[pairs]],
        )

    def split(self, held_out_fraction: float) -> tuple[Comparisons, Comparisons]:
        """(train, held_out), by prompt: the pairs of one prompt all land on the same side."""
        groups = self.group.unique()
        cut = len(groups) - max(1, round(held_out_fraction * len(groups)))
        return self.select_groups(groups[:cut]), self.select_groups(groups[cut:])

    def to(self, device: torch.device | str) -> Comparisons:
        return Comparisons(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


@torch.no_grad()
@limit_cpu_threads()
def collect_comparisons(
    policy: torch.nn.Module,
    labeller: Labeller,
    prompts: torch.Tensor,
    ranking_to_pairs: RankingToPairs,
    *,
    group_size: int = 4,
    max_new_tokens: int = 24,
    generator: torch.Generator | None = None,
) -> Comparisons:
    """Sample ``group_size`` responses per prompt from ``policy``, have them ranked, make pairs.

    As in InstructGPT, every ranking of K responses gives all its ordered pairs (up to
    K (K - 1) / 2; fewer with ties), found by ``ranking_to_pairs`` (the notebook's).

    Args:
        policy: the model that writes the responses (the SFT model).
        labeller: ranks each group.
        prompts: (G, P) prompts in the world's vocabulary, one group each.
        ranking_to_pairs: ``ranks (K,) -> (chosen (M,), rejected (M,))`` indices.
        group_size: K, responses per prompt.
        max_new_tokens: the longest response.
        generator: for the labeller's noise; sampling uses torch's global generator.

    Returns:
        ``Comparisons`` on the policy's device, in the policy's vocabulary.
    """
    device = policy.device
    model_prompts = policy.from_world(prompts).to(device)
    samples = sample(policy, model_prompts.repeat_interleave(group_size, dim=0), max_new_tokens)
    world_tokens, world_mask = policy.to_world(samples.tokens, samples.response_mask)
    ranks = labeller.rank(Samples(world_tokens, world_mask), group_size, generator=generator)
    chosen_rows, rejected_rows = [], []
    for group, group_ranks in enumerate(ranks.cpu()):
        chosen, rejected = ranking_to_pairs(group_ranks.clone())
        if not isinstance(chosen, torch.Tensor) or not isinstance(rejected, torch.Tensor):
            raise TypeError(
                "ranking_to_pairs must return two tensors (chosen, rejected), got "
                f"{type(chosen).__name__} and {type(rejected).__name__}"
            )
        if chosen.shape != rejected.shape or chosen.dim() != 1:
            raise ValueError(
                "ranking_to_pairs must return two index tensors of the same shape (M,), got "
                f"{tuple(chosen.shape)} and {tuple(rejected.shape)}"
            )
        chosen_rows.append(chosen.long().cpu() + group * group_size)
        rejected_rows.append(rejected.long().cpu() + group * group_size)
    groups = torch.arange(len(prompts), device=device).repeat_interleave(group_size)
    return Comparisons(
        tokens=samples.tokens,
        response_mask=samples.response_mask,
        gold=labeller.world.gold_reward(world_tokens, world_mask),
        group=groups,
        chosen=torch.cat(chosen_rows).to(device),
        rejected=torch.cat(rejected_rows).to(device),
    )
