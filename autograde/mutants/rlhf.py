"""Mutants and accepted variants of 06_rlhf.

Mutants are realistic wrong answers its tests must catch (the prompt left unmasked, the shift by
one forgotten, the KL sign flipped, the reward on every token, chosen and rejected swapped,
``log(sigmoid(x))`` that overflows, the reference not detached in DPO, ...); accepted variants are
correct answers written the ways students write them (``F.cross_entropy``, ``Categorical``,
``softplus``, loops, ``.float()`` masks, boolean indexing), which must keep their points. Each
function is pasted into the answer cell of the graded function it names; it may use only the
names the notebook's setup cell defines (torch, F, nn, np, math, copy, utils, ...).
"""

# torch, F, nn, np and math come from the notebook's setup cell; each entry redefines its function.
# ruff: noqa: F811, F821

from __future__ import annotations

from autograde.mutants import accepted, mutant

# ------------------------------------------------------------------ response_log_probs


@mutant("response_log_probs", "prompt tokens left unmasked: every position after the first counts")
def response_log_probs(logits, tokens, response_mask):
    log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
    chosen = log_probs.gather(2, tokens[:, 1:, None])[..., 0]
    return torch.cat([torch.zeros_like(chosen[:, :1]), chosen], dim=1)


@mutant("response_log_probs", "no shift: logits[:, t] scores tokens[:, t]")
def response_log_probs(logits, tokens, response_mask):
    log_probs = torch.log_softmax(logits, dim=-1)
    chosen = log_probs.gather(2, tokens[..., None])[..., 0]
    return chosen * response_mask


@mutant("response_log_probs", "log(softmax(x)): -inf for very unlikely tokens")
def response_log_probs(logits, tokens, response_mask):
    log_probs = torch.log(torch.softmax(logits[:, :-1], dim=-1))
    chosen = log_probs.gather(2, tokens[:, 1:, None])[..., 0]
    chosen = torch.cat([torch.zeros_like(chosen[:, :1]), chosen], dim=1)
    return torch.where(response_mask, chosen, torch.zeros_like(chosen))


@mutant("response_log_probs", "log_softmax over the positions (dim=1) instead of the vocabulary")
def response_log_probs(logits, tokens, response_mask):
    log_probs = torch.log_softmax(logits[:, :-1], dim=1)
    chosen = log_probs.gather(2, tokens[:, 1:, None])[..., 0]
    chosen = torch.cat([torch.zeros_like(chosen[:, :1]), chosen], dim=1)
    return torch.where(response_mask, chosen, torch.zeros_like(chosen))


@mutant("response_log_probs", "the mask shifted too: the first response token is dropped")
def response_log_probs(logits, tokens, response_mask):
    log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
    chosen = log_probs.gather(2, tokens[:, 1:, None])[..., 0]
    chosen = chosen * response_mask[:, :-1]
    return torch.cat([torch.zeros_like(chosen[:, :1]), chosen], dim=1)


@accepted("response_log_probs", "F.cross_entropy(reduction='none'), negated")
def response_log_probs(logits, tokens, response_mask):
    batch, length, vocab = logits.shape
    losses = F.cross_entropy(
        logits[:, :-1].reshape(-1, vocab), tokens[:, 1:].reshape(-1), reduction="none"
    ).reshape(batch, length - 1)
    values = F.pad(-losses, (1, 0))
    return values * response_mask.float()


@accepted("response_log_probs", "torch.distributions.Categorical on the shifted logits")
def response_log_probs(logits, tokens, response_mask):
    values = torch.distributions.Categorical(logits=logits[:, :-1]).log_prob(tokens[:, 1:])
    values = torch.cat([values.new_zeros(values.shape[0], 1), values], dim=1)
    return values.masked_fill(~response_mask, 0.0)


@accepted("response_log_probs", "logits minus logsumexp, a loop over the positions")
def response_log_probs(logits, tokens, response_mask):
    columns = [torch.zeros_like(logits[:, 0, 0])]
    for t in range(1, tokens.shape[1]):
        row = logits[:, t - 1]
        picked = row.gather(1, tokens[:, t : t + 1])[:, 0] - torch.logsumexp(row, dim=-1)
        columns.append(torch.where(response_mask[:, t], picked, torch.zeros_like(picked)))
    return torch.stack(columns, dim=1)


# ------------------------------------------------------------------ ranking_to_pairs


@mutant("ranking_to_pairs", "ties give pairs too (<= instead of <), both ways round")
def ranking_to_pairs(ranks):
    better = (ranks[:, None] <= ranks[None, :]) & ~torch.eye(len(ranks), dtype=torch.bool)
    return better.nonzero(as_tuple=True)


@mutant("ranking_to_pairs", "the larger rank taken as the better response")
def ranking_to_pairs(ranks):
    better = ranks[:, None] > ranks[None, :]
    return better.nonzero(as_tuple=True)


@mutant("ranking_to_pairs", "only neighbouring responses in the ranking are paired")
def ranking_to_pairs(ranks):
    order = torch.argsort(ranks)
    chosen, rejected = [], []
    for a, b in zip(order[:-1].tolist(), order[1:].tolist(), strict=True):
        if ranks[a] < ranks[b]:
            chosen.append(a)
            rejected.append(b)
    return torch.tensor(chosen, dtype=torch.long), torch.tensor(rejected, dtype=torch.long)


@mutant("ranking_to_pairs", "pairs (i, j) with i < j by index, ignoring which ranks better")
def ranking_to_pairs(ranks):
    chosen, rejected = torch.triu_indices(len(ranks), len(ranks), offset=1)
    keep = ranks[chosen] != ranks[rejected]
    return chosen[keep], rejected[keep]


@accepted("ranking_to_pairs", "itertools-style double loop with both orders checked")
def ranking_to_pairs(ranks):
    chosen, rejected = [], []
    for i in range(len(ranks)):
        for j in range(i + 1, len(ranks)):
            if ranks[i] < ranks[j]:
                chosen.append(i)
                rejected.append(j)
            elif ranks[j] < ranks[i]:
                chosen.append(j)
                rejected.append(i)
    return torch.tensor(chosen, dtype=torch.long), torch.tensor(rejected, dtype=torch.long)


@accepted("ranking_to_pairs", "torch.where on the comparison matrix")
def ranking_to_pairs(ranks):
    rows, columns = torch.where(ranks.unsqueeze(1) < ranks.unsqueeze(0))
    return rows, columns


@accepted("ranking_to_pairs", "sorted by rank, then every later response with a larger rank")
def ranking_to_pairs(ranks):
    order = torch.argsort(ranks).tolist()
    pairs = [(a, b) for k, a in enumerate(order) for b in order[k + 1 :] if ranks[a] < ranks[b]]
    chosen = torch.tensor([a for a, _ in pairs], dtype=torch.long)
    rejected = torch.tensor([b for _, b in pairs], dtype=torch.long)
    return chosen, rejected


# ------------------------------------------------------------------ bradley_terry_loss


@mutant("bradley_terry_loss", "chosen and rejected swapped")
def bradley_terry_loss(chosen_scores, rejected_scores):
    return -F.logsigmoid(rejected_scores - chosen_scores).mean()


@mutant("bradley_terry_loss", "log(sigmoid(x)): infinite for a very negative margin")
def bradley_terry_loss(chosen_scores, rejected_scores):
    return -torch.log(torch.sigmoid(chosen_scores - rejected_scores)).mean()


@mutant("bradley_terry_loss", "sum over the pairs instead of the mean")
def bradley_terry_loss(chosen_scores, rejected_scores):
    return -F.logsigmoid(chosen_scores - rejected_scores).sum()


@mutant("bradley_terry_loss", "minus the margin itself (no sigmoid): unbounded below")
def bradley_terry_loss(chosen_scores, rejected_scores):
    return -(chosen_scores - rejected_scores).mean()


@accepted("bradley_terry_loss", "softplus of minus the margin")
def bradley_terry_loss(chosen_scores, rejected_scores):
    return F.softplus(rejected_scores - chosen_scores).mean()


@accepted("bradley_terry_loss", "binary cross-entropy with logits against all-ones labels")
def bradley_terry_loss(chosen_scores, rejected_scores):
    margin = chosen_scores - rejected_scores
    return F.binary_cross_entropy_with_logits(margin, torch.ones_like(margin))


@accepted("bradley_terry_loss", "logaddexp(0, -margin)")
def bradley_terry_loss(chosen_scores, rejected_scores):
    margin = chosen_scores - rejected_scores
    return torch.logaddexp(torch.zeros_like(margin), -margin).mean()


# ------------------------------------------------------------------ preference_accuracy


@mutant("preference_accuracy", "ties count as wrong (strict > only)")
def preference_accuracy(chosen_scores, rejected_scores):
    return (chosen_scores > rejected_scores).float().mean()


@mutant("preference_accuracy", "ties count as right (>=)")
def preference_accuracy(chosen_scores, rejected_scores):
    return (chosen_scores >= rejected_scores).float().mean()


@mutant("preference_accuracy", "the rejected response scoring higher counted as right")
def preference_accuracy(chosen_scores, rejected_scores):
    right = (chosen_scores < rejected_scores).float()
    return (right + 0.5 * (chosen_scores == rejected_scores).float()).mean()


@mutant("preference_accuracy", "a count instead of a fraction")
def preference_accuracy(chosen_scores, rejected_scores):
    right = (chosen_scores > rejected_scores).float()
    return (right + 0.5 * (chosen_scores == rejected_scores).float()).sum()


@accepted("preference_accuracy", "(sign(c - r) + 1) / 2, averaged")
def preference_accuracy(chosen_scores, rejected_scores):
    return ((torch.sign(chosen_scores - rejected_scores) + 1) / 2).mean()


@accepted("preference_accuracy", "a Python loop returning a float")
def preference_accuracy(chosen_scores, rejected_scores):
    total = 0.0
    for c, r in zip(chosen_scores.tolist(), rejected_scores.tolist(), strict=True):
        total += 1.0 if c > r else 0.5 if c == r else 0.0
    return total / len(chosen_scores)


@accepted("preference_accuracy", "torch.where with 1, 0.5 and 0")
def preference_accuracy(chosen_scores, rejected_scores):
    score = torch.where(chosen_scores > rejected_scores, 1.0, 0.0)
    score = torch.where(chosen_scores == rejected_scores, 0.5, score)
    return score.mean()


# ------------------------------------------------------------------ kl_penalized_rewards


@mutant("kl_penalized_rewards", "the KL sign flipped: a bonus for straying from the reference")
def kl_penalized_rewards(rm_score, logp_policy, logp_ref, response_mask, beta):
    rewards = torch.where(response_mask, beta * (logp_policy - logp_ref), 0.0).to(logp_policy.dtype)
    columns = torch.arange(response_mask.shape[1])
    last = torch.where(response_mask, columns, -1).max(dim=1).values
    rewards[torch.arange(len(rm_score)), last] += rm_score.to(rewards.dtype)
    return rewards


@mutant("kl_penalized_rewards", "the reward model's score on every response token")
def kl_penalized_rewards(rm_score, logp_policy, logp_ref, response_mask, beta):
    rewards = -beta * (logp_policy - logp_ref) + rm_score[:, None]
    return torch.where(response_mask, rewards, torch.zeros_like(rewards))


@mutant("kl_penalized_rewards", "the score on the last column, T - 1, whatever the padding")
def kl_penalized_rewards(rm_score, logp_policy, logp_ref, response_mask, beta):
    rewards = torch.where(response_mask, -beta * (logp_policy - logp_ref), 0.0)
    rewards = rewards.to(logp_policy.dtype)
    rewards[:, -1] += rm_score.to(rewards.dtype)
    return rewards


@mutant("kl_penalized_rewards", "the penalty on the prompt and padding positions too")
def kl_penalized_rewards(rm_score, logp_policy, logp_ref, response_mask, beta):
    rewards = -beta * (logp_policy - logp_ref)
    columns = torch.arange(response_mask.shape[1])
    last = torch.where(response_mask, columns, -1).max(dim=1).values
    rewards[torch.arange(len(rm_score)), last] += rm_score.to(rewards.dtype)
    return rewards


@mutant("kl_penalized_rewards", "the score on the first response token")
def kl_penalized_rewards(rm_score, logp_policy, logp_ref, response_mask, beta):
    rewards = torch.where(response_mask, -beta * (logp_policy - logp_ref), 0.0)
    rewards = rewards.to(logp_policy.dtype)
    first = response_mask.long().argmax(dim=1)
    rewards[torch.arange(len(rm_score)), first] += rm_score.to(rewards.dtype)
    return rewards


@accepted("kl_penalized_rewards", "a loop over the rows, nonzero()[-1] for the last token")
def kl_penalized_rewards(rm_score, logp_policy, logp_ref, response_mask, beta):
    rewards = -beta * (logp_policy - logp_ref) * response_mask.float()
    rewards = rewards.to(logp_policy.dtype)
    for b in range(rewards.shape[0]):
        last = response_mask[b].nonzero()[-1, 0]
        rewards[b, last] = rewards[b, last] + rm_score[b]
    return rewards


@accepted("kl_penalized_rewards", "the last index from the prompt length plus the response length")
def kl_penalized_rewards(rm_score, logp_policy, logp_ref, response_mask, beta):
    mask = response_mask.to(logp_policy.dtype)
    rewards = -beta * (logp_policy - logp_ref) * mask
    first = response_mask.long().argmax(dim=1)
    last = first + response_mask.long().sum(dim=1) - 1
    bonus = F.one_hot(last, response_mask.shape[1]).to(rewards.dtype) * rm_score[:, None]
    return rewards + bonus


@accepted("kl_penalized_rewards", "scatter_add at the argmax of the cumulative mask")
def kl_penalized_rewards(rm_score, logp_policy, logp_ref, response_mask, beta):
    kl = logp_policy - logp_ref
    rewards = (-beta * kl).masked_fill(~response_mask, 0.0)
    last = response_mask.long().cumsum(dim=1).argmax(dim=1, keepdim=True)
    return rewards.scatter_add(1, last, rm_score[:, None].to(rewards.dtype))


# ------------------------------------------------------------------ masked_whiten


@mutant("masked_whiten", "statistics over every entry, padding zeros included")
def masked_whiten(values, mask, eps=1e-8):
    whitened = (values - values.mean()) / torch.sqrt(values.var(unbiased=False) + eps)
    return whitened * mask


@mutant("masked_whiten", "the masked entries whitened, but the others not set to 0")
def masked_whiten(values, mask, eps=1e-8):
    chosen = values[mask]
    return (values - chosen.mean()) / torch.sqrt(chosen.var(unbiased=False) + eps)


@mutant("masked_whiten", "per-row statistics (dim=1) instead of the whole batch")
def masked_whiten(values, mask, eps=1e-8):
    weights = mask.to(values.dtype)
    count = weights.sum(dim=1, keepdim=True).clamp(min=1)
    mean = (values * weights).sum(dim=1, keepdim=True) / count
    variance = ((values - mean) ** 2 * weights).sum(dim=1, keepdim=True) / count
    return (values - mean) / torch.sqrt(variance + eps) * weights


@mutant("masked_whiten", "centred only, not divided by the standard deviation")
def masked_whiten(values, mask, eps=1e-8):
    chosen = values[mask]
    return (values - chosen.mean()) * mask


@accepted("masked_whiten", "boolean indexing and std(unbiased=False)")
def masked_whiten(values, mask, eps=1e-8):
    chosen = values[mask]
    mean, variance = chosen.mean(), chosen.var(unbiased=False)
    result = torch.zeros_like(values)
    result[mask] = (chosen - mean) / torch.sqrt(variance + eps)
    return result


@accepted("masked_whiten", "a float mask, E[x^2] - E[x]^2")
def masked_whiten(values, mask, eps=1e-8):
    m = mask.float()
    count = m.sum()
    mean = (values * m).sum() / count
    variance = (values**2 * m).sum() / count - mean**2
    return (values - mean) * torch.rsqrt(variance + eps) * m


@accepted("masked_whiten", "torch.var_mean on the masked entries, masked_fill")
def masked_whiten(values, mask, eps=1e-8):
    variance, mean = torch.var_mean(values.masked_select(mask), correction=0)
    return ((values - mean) / (variance + eps).sqrt()).masked_fill(~mask, 0)


# ------------------------------------------------------------------ ppo_policy_loss


@mutant("ppo_policy_loss", "max instead of min: the optimistic bound")
def ppo_policy_loss(log_probs, old_log_probs, advantages, response_mask, clip_range):
    ratio = torch.exp(log_probs - old_log_probs)
    clipped = ratio.clamp(1 - clip_range, 1 + clip_range)
    objective = torch.maximum(ratio * advantages, clipped * advantages)
    m = response_mask.float()
    return -(objective * m).sum() / m.sum()


@mutant("ppo_policy_loss", "the mean over every position, prompt and padding included")
def ppo_policy_loss(log_probs, old_log_probs, advantages, response_mask, clip_range):
    ratio = torch.exp(log_probs - old_log_probs)
    clipped = ratio.clamp(1 - clip_range, 1 + clip_range)
    objective = torch.minimum(ratio * advantages, clipped * advantages)
    return -(objective * response_mask).mean()


@mutant("ppo_policy_loss", "the clipped term only, without the min")
def ppo_policy_loss(log_probs, old_log_probs, advantages, response_mask, clip_range):
    ratio = torch.exp(log_probs - old_log_probs)
    objective = ratio.clamp(1 - clip_range, 1 + clip_range) * advantages
    m = response_mask.float()
    return -(objective * m).sum() / m.sum()


@mutant("ppo_policy_loss", "the ratio the wrong way round, old over new")
def ppo_policy_loss(log_probs, old_log_probs, advantages, response_mask, clip_range):
    ratio = torch.exp(old_log_probs - log_probs)
    clipped = ratio.clamp(1 - clip_range, 1 + clip_range)
    objective = torch.minimum(ratio * advantages, clipped * advantages)
    m = response_mask.float()
    return -(objective * m).sum() / m.sum()


@mutant("ppo_policy_loss", "the objective itself, without the minus sign")
def ppo_policy_loss(log_probs, old_log_probs, advantages, response_mask, clip_range):
    ratio = torch.exp(log_probs - old_log_probs)
    clipped = ratio.clamp(1 - clip_range, 1 + clip_range)
    objective = torch.minimum(ratio * advantages, clipped * advantages)
    m = response_mask.float()
    return (objective * m).sum() / m.sum()


@accepted("ppo_policy_loss", "the max of the two negated terms, boolean indexing")
def ppo_policy_loss(log_probs, old_log_probs, advantages, response_mask, clip_range):
    ratio = (log_probs - old_log_probs).exp()
    losses = torch.max(
        -advantages * ratio, -advantages * torch.clamp(ratio, 1 - clip_range, 1 + clip_range)
    )
    return losses[response_mask].mean()


@accepted("ppo_policy_loss", "torch.where on the sign of the advantage")
def ppo_policy_loss(log_probs, old_log_probs, advantages, response_mask, clip_range):
    ratio = torch.exp(log_probs - old_log_probs)
    bounded = torch.where(
        advantages >= 0, ratio.clamp(max=1 + clip_range), ratio.clamp(min=1 - clip_range)
    )
    objective = bounded * advantages
    return -objective.masked_select(response_mask).mean()


# ------------------------------------------------------------------ ppo_value_loss


@mutant("ppo_value_loss", "min instead of max of the two squared errors")
def ppo_value_loss(values, old_values, returns, response_mask, clip_range):
    clipped = old_values + (values - old_values).clamp(-clip_range, clip_range)
    squared = torch.minimum((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * squared[response_mask].mean()


@mutant("ppo_value_loss", "the value clipped around the returns instead of the old values")
def ppo_value_loss(values, old_values, returns, response_mask, clip_range):
    clipped = returns + (values - returns).clamp(-clip_range, clip_range)
    squared = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * squared[response_mask].mean()


@mutant("ppo_value_loss", "no clip at all")
def ppo_value_loss(values, old_values, returns, response_mask, clip_range):
    return 0.5 * ((values - returns) ** 2)[response_mask].mean()


@mutant("ppo_value_loss", "the mean over every position, padding included")
def ppo_value_loss(values, old_values, returns, response_mask, clip_range):
    clipped = old_values + (values - old_values).clamp(-clip_range, clip_range)
    squared = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * (squared * response_mask).mean()


@mutant("ppo_value_loss", "without the factor 1/2")
def ppo_value_loss(values, old_values, returns, response_mask, clip_range):
    clipped = old_values + (values - old_values).clamp(-clip_range, clip_range)
    squared = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    return squared[response_mask].mean()


@accepted("ppo_value_loss", "F.mse_loss(reduction='none') and a float mask")
def ppo_value_loss(values, old_values, returns, response_mask, clip_range):
    clipped = torch.clamp(values, old_values - clip_range, old_values + clip_range)
    unclipped_loss = F.mse_loss(values, returns, reduction="none")
    clipped_loss = F.mse_loss(clipped, returns, reduction="none")
    m = response_mask.float()
    return 0.5 * (torch.max(unclipped_loss, clipped_loss) * m).sum() / m.sum()


@accepted("ppo_value_loss", "torch.where for the clip, masked_select")
def ppo_value_loss(values, old_values, returns, response_mask, clip_range):
    change = values - old_values
    clipped = torch.where(
        change.abs() > clip_range, old_values + clip_range * change.sign(), values
    )
    squared = torch.max((values - returns).pow(2), (clipped - returns).pow(2))
    return squared.masked_select(response_mask).mean() / 2


# ------------------------------------------------------------------ rlhf_ppo_step


@mutant("rlhf_ppo_step", "no KL penalty: the rewards shaped with beta = 0")
def rlhf_ppo_step(models, prompts, optimizer, config, functions):
    samples = models.sample(prompts)
    tokens, mask = samples.tokens, samples.response_mask
    with torch.no_grad():
        old = functions.response_log_probs(models.policy(tokens), tokens, mask)
        ref = functions.response_log_probs(models.reference(tokens), tokens, mask)
        scores = models.reward_model(tokens, mask)
        old_values = models.critic(tokens) * mask
        rewards = functions.kl_penalized_rewards(scores, old, ref, mask, 0.0)
        advantages = torch.zeros_like(rewards)
        running = torch.zeros_like(rewards[:, 0])
        next_value = torch.zeros_like(rewards[:, 0])
        for t in reversed(range(tokens.shape[1])):
            delta = rewards[:, t] + config.gamma * next_value - old_values[:, t]
            running = (delta + config.gamma * config.lam * running) * mask[:, t]
            advantages[:, t] = running
            next_value = old_values[:, t]
        returns = advantages + old_values
        advantages = functions.masked_whiten(advantages, mask)
    for _ in range(config.ppo_epochs):
        log_probs = functions.response_log_probs(models.policy(tokens), tokens, mask)
        values = models.critic(tokens)
        policy_loss = functions.ppo_policy_loss(log_probs, old, advantages, mask, config.clip_range)
        value_loss = functions.ppo_value_loss(
            values, old_values, returns, mask, config.value_clip_range
        )
        optimizer.zero_grad()
        (policy_loss + config.value_coef * value_loss).backward()
        optimizer.step()
    return {"score": scores.mean().item(), "kl": (old - ref).sum(1).mean().item()}


@mutant("rlhf_ppo_step", "old log-probs recomputed in every epoch: the ratio is always 1")
def rlhf_ppo_step(models, prompts, optimizer, config, functions):
    samples = models.sample(prompts)
    tokens, mask = samples.tokens, samples.response_mask
    with torch.no_grad():
        first = functions.response_log_probs(models.policy(tokens), tokens, mask)
        ref = functions.response_log_probs(models.reference(tokens), tokens, mask)
        scores = models.reward_model(tokens, mask)
        old_values = models.critic(tokens) * mask
        rewards = functions.kl_penalized_rewards(scores, first, ref, mask, config.beta)
        advantages = torch.zeros_like(rewards)
        running = torch.zeros_like(rewards[:, 0])
        next_value = torch.zeros_like(rewards[:, 0])
        for t in reversed(range(tokens.shape[1])):
            delta = rewards[:, t] + config.gamma * next_value - old_values[:, t]
            running = (delta + config.gamma * config.lam * running) * mask[:, t]
            advantages[:, t] = running
            next_value = old_values[:, t]
        returns = advantages + old_values
        advantages = functions.masked_whiten(advantages, mask)
    for _ in range(config.ppo_epochs):
        log_probs = functions.response_log_probs(models.policy(tokens), tokens, mask)
        old = log_probs.detach()
        values = models.critic(tokens)
        policy_loss = functions.ppo_policy_loss(log_probs, old, advantages, mask, config.clip_range)
        value_loss = functions.ppo_value_loss(
            values, old_values, returns, mask, config.value_clip_range
        )
        optimizer.zero_grad()
        (policy_loss + config.value_coef * value_loss).backward()
        optimizer.step()
    return {"score": scores.mean().item(), "kl": (first - ref).sum(1).mean().item()}


@mutant("rlhf_ppo_step", "GAE bootstraps from the critic's value of the padding after a response")
def rlhf_ppo_step(models, prompts, optimizer, config, functions):
    samples = models.sample(prompts)
    tokens, mask = samples.tokens, samples.response_mask
    with torch.no_grad():
        old = functions.response_log_probs(models.policy(tokens), tokens, mask)
        ref = functions.response_log_probs(models.reference(tokens), tokens, mask)
        scores = models.reward_model(tokens, mask)
        old_values = models.critic(tokens)
        rewards = functions.kl_penalized_rewards(scores, old, ref, mask, config.beta)
        advantages = torch.zeros_like(rewards)
        running = torch.zeros_like(rewards[:, 0])
        next_value = torch.zeros_like(rewards[:, 0])
        for t in reversed(range(tokens.shape[1])):
            delta = rewards[:, t] + config.gamma * next_value - old_values[:, t]
            running = (delta + config.gamma * config.lam * running) * mask[:, t]
            advantages[:, t] = running
            next_value = old_values[:, t]
        returns = advantages + old_values
        advantages = functions.masked_whiten(advantages, mask)
    for _ in range(config.ppo_epochs):
        log_probs = functions.response_log_probs(models.policy(tokens), tokens, mask)
        values = models.critic(tokens)
        policy_loss = functions.ppo_policy_loss(log_probs, old, advantages, mask, config.clip_range)
        value_loss = functions.ppo_value_loss(
            values, old_values, returns, mask, config.value_clip_range
        )
        optimizer.zero_grad()
        (policy_loss + config.value_coef * value_loss).backward()
        optimizer.step()
    return {"score": scores.mean().item(), "kl": (old - ref).sum(1).mean().item()}


@mutant("rlhf_ppo_step", "the returns built from the whitened advantages")
def rlhf_ppo_step(models, prompts, optimizer, config, functions):
    samples = models.sample(prompts)
    tokens, mask = samples.tokens, samples.response_mask
    with torch.no_grad():
        old = functions.response_log_probs(models.policy(tokens), tokens, mask)
        ref = functions.response_log_probs(models.reference(tokens), tokens, mask)
        scores = models.reward_model(tokens, mask)
        old_values = models.critic(tokens) * mask
        rewards = functions.kl_penalized_rewards(scores, old, ref, mask, config.beta)
        advantages = torch.zeros_like(rewards)
        running = torch.zeros_like(rewards[:, 0])
        next_value = torch.zeros_like(rewards[:, 0])
        for t in reversed(range(tokens.shape[1])):
            delta = rewards[:, t] + config.gamma * next_value - old_values[:, t]
            running = (delta + config.gamma * config.lam * running) * mask[:, t]
            advantages[:, t] = running
            next_value = old_values[:, t]
        advantages = functions.masked_whiten(advantages, mask)
        returns = advantages + old_values
    for _ in range(config.ppo_epochs):
        log_probs = functions.response_log_probs(models.policy(tokens), tokens, mask)
        values = models.critic(tokens)
        policy_loss = functions.ppo_policy_loss(log_probs, old, advantages, mask, config.clip_range)
        value_loss = functions.ppo_value_loss(
            values, old_values, returns, mask, config.value_clip_range
        )
        optimizer.zero_grad()
        (policy_loss + config.value_coef * value_loss).backward()
        optimizer.step()
    return {"score": scores.mean().item(), "kl": (old - ref).sum(1).mean().item()}


@mutant("rlhf_ppo_step", "lambda forgotten: the advantages are Monte-Carlo returns minus values")
def rlhf_ppo_step(models, prompts, optimizer, config, functions):
    samples = models.sample(prompts)
    tokens, mask = samples.tokens, samples.response_mask
    with torch.no_grad():
        old = functions.response_log_probs(models.policy(tokens), tokens, mask)
        ref = functions.response_log_probs(models.reference(tokens), tokens, mask)
        scores = models.reward_model(tokens, mask)
        old_values = models.critic(tokens) * mask
        rewards = functions.kl_penalized_rewards(scores, old, ref, mask, config.beta)
        advantages = torch.zeros_like(rewards)
        running = torch.zeros_like(rewards[:, 0])
        next_value = torch.zeros_like(rewards[:, 0])
        for t in reversed(range(tokens.shape[1])):
            delta = rewards[:, t] + config.gamma * next_value - old_values[:, t]
            running = (delta + config.gamma * running) * mask[:, t]
            advantages[:, t] = running
            next_value = old_values[:, t]
        returns = advantages + old_values
        advantages = functions.masked_whiten(advantages, mask)
    for _ in range(config.ppo_epochs):
        log_probs = functions.response_log_probs(models.policy(tokens), tokens, mask)
        values = models.critic(tokens)
        policy_loss = functions.ppo_policy_loss(log_probs, old, advantages, mask, config.clip_range)
        value_loss = functions.ppo_value_loss(
            values, old_values, returns, mask, config.value_clip_range
        )
        optimizer.zero_grad()
        (policy_loss + config.value_coef * value_loss).backward()
        optimizer.step()
    return {"score": scores.mean().item(), "kl": (old - ref).sum(1).mean().item()}


@mutant("rlhf_ppo_step", "the reference log-probs taken from the policy: the KL is always 0")
def rlhf_ppo_step(models, prompts, optimizer, config, functions):
    samples = models.sample(prompts)
    tokens, mask = samples.tokens, samples.response_mask
    with torch.no_grad():
        old = functions.response_log_probs(models.policy(tokens), tokens, mask)
        ref = functions.response_log_probs(models.policy(tokens), tokens, mask)
        scores = models.reward_model(tokens, mask)
        old_values = models.critic(tokens) * mask
        rewards = functions.kl_penalized_rewards(scores, old, ref, mask, config.beta)
        advantages = torch.zeros_like(rewards)
        running = torch.zeros_like(rewards[:, 0])
        next_value = torch.zeros_like(rewards[:, 0])
        for t in reversed(range(tokens.shape[1])):
            delta = rewards[:, t] + config.gamma * next_value - old_values[:, t]
            running = (delta + config.gamma * config.lam * running) * mask[:, t]
            advantages[:, t] = running
            next_value = old_values[:, t]
        returns = advantages + old_values
        advantages = functions.masked_whiten(advantages, mask)
    for _ in range(config.ppo_epochs):
        log_probs = functions.response_log_probs(models.policy(tokens), tokens, mask)
        values = models.critic(tokens)
        policy_loss = functions.ppo_policy_loss(log_probs, old, advantages, mask, config.clip_range)
        value_loss = functions.ppo_value_loss(
            values, old_values, returns, mask, config.value_clip_range
        )
        optimizer.zero_grad()
        (policy_loss + config.value_coef * value_loss).backward()
        optimizer.step()
    return {"score": scores.mean().item(), "kl": (old - ref).sum(1).mean().item()}


@accepted("rlhf_ppo_step", "GAE row by row over the response positions; no gradient clipping")
def rlhf_ppo_step(models, prompts, optimizer, config, functions):
    samples = models.sample(prompts)
    tokens, mask = samples.tokens, samples.response_mask
    with torch.no_grad():
        old = functions.response_log_probs(models.policy(tokens), tokens, mask)
        ref = functions.response_log_probs(models.reference(tokens), tokens, mask)
        scores = models.reward_model(tokens, mask)
        old_values = models.critic(tokens)
        rewards = functions.kl_penalized_rewards(scores, old, ref, mask, config.beta)
        advantages = torch.zeros_like(rewards)
        for b in range(tokens.shape[0]):
            positions = mask[b].nonzero()[:, 0].tolist()
            running, next_value = 0.0, 0.0
            for t in reversed(positions):
                delta = rewards[b, t] + config.gamma * next_value - old_values[b, t]
                running = delta + config.gamma * config.lam * running
                advantages[b, t] = running
                next_value = old_values[b, t]
        returns = advantages + old_values
        whitened = functions.masked_whiten(advantages, mask)
    for _ in range(config.ppo_epochs):
        new = functions.response_log_probs(models.policy(tokens), tokens, mask)
        policy_loss = functions.ppo_policy_loss(new, old, whitened, mask, config.clip_range)
        value_loss = functions.ppo_value_loss(
            models.critic(tokens), old_values, returns, mask, config.value_clip_range
        )
        loss = policy_loss + config.value_coef * value_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    kl = (old - ref).sum(dim=1).mean()
    return {"score": float(scores.mean()), "kl": float(kl), "policy_loss": float(policy_loss)}


@accepted("rlhf_ppo_step", "the library's token_log_probs for the fixed log-probs; detach()")
def rlhf_ppo_step(models, prompts, optimizer, config, functions):
    samples = models.sample(prompts)
    tokens, mask = samples.tokens, samples.response_mask
    old = utils.train.rlhf.token_log_probs(models.policy, tokens, mask).detach()
    ref = utils.train.rlhf.token_log_probs(models.reference, tokens, mask).detach()
    scores = models.reward_model(tokens, mask).detach()
    old_values = (models.critic(tokens) * mask).detach()
    rewards = functions.kl_penalized_rewards(scores, old, ref, mask, config.beta).detach()
    gamma, lam = config.gamma, config.lam
    deltas = rewards.clone()
    deltas[:, :-1] += gamma * old_values[:, 1:]
    deltas = (deltas - old_values) * mask
    advantages = torch.zeros_like(deltas)
    running = torch.zeros_like(deltas[:, 0])
    for t in range(tokens.shape[1] - 1, -1, -1):
        running = deltas[:, t] + gamma * lam * running * mask[:, t]
        advantages[:, t] = running
    returns = (advantages + old_values).detach()
    advantages = functions.masked_whiten(advantages, mask).detach()
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    for _ in range(config.ppo_epochs):
        log_probs = functions.response_log_probs(models.policy(tokens), tokens, mask)
        policy_loss = functions.ppo_policy_loss(log_probs, old, advantages, mask, config.clip_range)
        value_loss = functions.ppo_value_loss(
            models.critic(tokens), old_values, returns, mask, config.value_clip_range
        )
        optimizer.zero_grad()
        (policy_loss + config.value_coef * value_loss).backward()
        torch.nn.utils.clip_grad_norm_(parameters, 0.5)
        optimizer.step()
    return {"score": scores.mean().item(), "kl": (old - ref).sum(-1).mean().item()}


# ------------------------------------------------------------------ best_of_n_kl


@mutant("best_of_n_kl", "log n alone")
def best_of_n_kl(n):
    return math.log(n)


@mutant("best_of_n_kl", "log n - 1: the large-n limit, wrong for small n")
def best_of_n_kl(n):
    return math.log(n) - 1


@mutant("best_of_n_kl", "the sign flipped")
def best_of_n_kl(n):
    return (n - 1) / n - math.log(n)


@mutant("best_of_n_kl", "log base 2")
def best_of_n_kl(n):
    return math.log2(n) - (n - 1) / n


@accepted("best_of_n_kl", "log n - 1 + 1 / n")
def best_of_n_kl(n):
    return math.log(n) - 1 + 1 / n


@accepted("best_of_n_kl", "NumPy, returning a NumPy float")
def best_of_n_kl(n):
    return np.log(n) - (n - 1) / n


@accepted("best_of_n_kl", "torch, returned as a 0-d tensor")
def best_of_n_kl(n):
    n = torch.tensor(float(n), dtype=torch.float64)
    return torch.log(n) - (n - 1) / n


# ------------------------------------------------------------------ dpo_loss


@mutant("dpo_loss", "chosen and rejected swapped")
def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    margin = (policy_rejected - reference_rejected.detach()) - (
        policy_chosen - reference_chosen.detach()
    )
    return -F.logsigmoid(beta * margin).mean()


@mutant("dpo_loss", "log(sigmoid(x)): infinite for a very negative margin")
def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    margin = (policy_chosen - reference_chosen.detach()) - (
        policy_rejected - reference_rejected.detach()
    )
    return -torch.log(torch.sigmoid(beta * margin)).mean()


@mutant("dpo_loss", "the reference's log-probabilities not detached")
def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    margin = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected)
    return -F.logsigmoid(beta * margin).mean()


@mutant("dpo_loss", "beta outside the sigmoid")
def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    margin = (policy_chosen - reference_chosen.detach()) - (
        policy_rejected - reference_rejected.detach()
    )
    return -beta * F.logsigmoid(margin).mean()


@mutant("dpo_loss", "no reference: the policy's own margin")
def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    return -F.logsigmoid(beta * (policy_chosen - policy_rejected)).mean()


@accepted("dpo_loss", "softplus of minus the logits, the reference margin under no_grad")
def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    with torch.no_grad():
        reference_margin = reference_chosen - reference_rejected
    logits = beta * (policy_chosen - policy_rejected - reference_margin)
    return F.softplus(-logits).mean()


@accepted("dpo_loss", "binary cross-entropy with logits, implicit rewards detached one by one")
def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    chosen_reward = beta * (policy_chosen - reference_chosen.detach())
    rejected_reward = beta * (policy_rejected - reference_rejected.detach())
    logits = chosen_reward - rejected_reward
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
