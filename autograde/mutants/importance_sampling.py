"""Mutants and accepted variants of 04_importance_sampling.

Mutants are realistic wrong answers its tests must catch; accepted variants are correct answers
written the ways students write them (another formula for the same quantity, loops, F.kl_div,
expm1, a stable ratio by hand), which must keep their points. Each function is pasted into the
answer cell of the graded function it names; it may use only the names the notebook's setup cell
defines (torch, F, np, math), and a graded function of the notebook that it calls gets the
solution's version.
"""

# torch, F, np and math come from the notebook's setup cell; each entry redefines its function.
# ruff: noqa: F811, F821

from __future__ import annotations

from autograde.mutants import accepted, mutant

# ------------------------------------------------------------------ importance_weights


@mutant("importance_weights", "exp(logp_target) / exp(logp_behaviour): 0 / 0 for trajectories")
def importance_weights(logp_target, logp_behaviour):
    return torch.exp(logp_target) / torch.exp(logp_behaviour)


@mutant("importance_weights", "target and behaviour swapped: q / p")
def importance_weights(logp_target, logp_behaviour):
    return torch.exp(logp_behaviour - logp_target)


@mutant("importance_weights", "returns the log-weights, forgets the exp")
def importance_weights(logp_target, logp_behaviour):
    return logp_target - logp_behaviour


@mutant("importance_weights", "normalises the weights over the samples with a softmax")
def importance_weights(logp_target, logp_behaviour):
    return torch.softmax(logp_target - logp_behaviour, dim=-1)


@mutant("importance_weights", "detaches the behaviour's log-probabilities inside")
def importance_weights(logp_target, logp_behaviour):
    return torch.exp(logp_target - logp_behaviour.detach())


@mutant("importance_weights", "computes in float32 whatever the dtype of the inputs")
def importance_weights(logp_target, logp_behaviour):
    return torch.exp(logp_target.float() - logp_behaviour.float())


@accepted("importance_weights", "(logp_target - logp_behaviour).exp()")
def importance_weights(logp_target, logp_behaviour):
    return (logp_target - logp_behaviour).exp()


@accepted("importance_weights", "math.e ** (difference)")
def importance_weights(logp_target, logp_behaviour):
    return math.e ** (logp_target - logp_behaviour)


@accepted("importance_weights", "a stable ratio by hand: both shifted by the larger log-prob")
def importance_weights(logp_target, logp_behaviour):
    largest = torch.maximum(logp_target, logp_behaviour)
    return torch.exp(logp_target - largest) / torch.exp(logp_behaviour - largest)


@accepted("importance_weights", "a Python loop over the flattened samples, stacked and reshaped")
def importance_weights(logp_target, logp_behaviour):
    pairs = zip(logp_target.reshape(-1), logp_behaviour.reshape(-1), strict=True)
    weights = [torch.exp(target - behaviour) for target, behaviour in pairs]
    return torch.stack(weights).reshape(logp_target.shape)


# ------------------------------------------------------------------ is_estimate


@mutant("is_estimate", "sum over the samples instead of the mean")
def is_estimate(f_values, weights):
    return (weights * f_values).sum(dim=-1)


@mutant("is_estimate", "mean over all entries: one number for several batches")
def is_estimate(f_values, weights):
    return (weights * f_values).mean()


@mutant("is_estimate", "mean over the first axis instead of the samples")
def is_estimate(f_values, weights):
    return (weights * f_values).mean(dim=0)


@mutant("is_estimate", "divides by the sum of the weights (that is the self-normalised one)")
def is_estimate(f_values, weights):
    return (weights * f_values).sum(dim=-1) / weights.sum(dim=-1)


@mutant("is_estimate", "divides by the weights instead of multiplying")
def is_estimate(f_values, weights):
    return (f_values / weights).mean(dim=-1)


@accepted("is_estimate", "sum over the last axis divided by its length")
def is_estimate(f_values, weights):
    return (f_values * weights).sum(-1) / f_values.shape[-1]


@accepted("is_estimate", "torch.einsum over the sample axis, divided by N")
def is_estimate(f_values, weights):
    return torch.einsum("...n,...n->...", weights, f_values) / weights.shape[-1]


@accepted("is_estimate", "a Python loop over the batches, stacked and reshaped")
def is_estimate(f_values, weights):
    num_samples = f_values.shape[-1]
    rows_f, rows_w = f_values.reshape(-1, num_samples), weights.reshape(-1, num_samples)
    estimates = [torch.mean(rows_w[i] * rows_f[i]) for i in range(rows_f.shape[0])]
    return torch.stack(estimates).reshape(f_values.shape[:-1])


# ------------------------------------------------------------------ self_normalised_is_estimate


@mutant("self_normalised_is_estimate", "divides by N: the plain IS estimate")
def self_normalised_is_estimate(f_values, weights):
    return (weights * f_values).mean(dim=-1)


@mutant("self_normalised_is_estimate", "normalises the weights with a softmax")
def self_normalised_is_estimate(f_values, weights):
    return (torch.softmax(weights, dim=-1) * f_values).sum(dim=-1)


@mutant("self_normalised_is_estimate", "normalises by the sum of ALL weights, over every batch")
def self_normalised_is_estimate(f_values, weights):
    return (weights * f_values).sum(dim=-1) / weights.sum()


@mutant("self_normalised_is_estimate", "mean of w * f over the sum of w: off by a factor N")
def self_normalised_is_estimate(f_values, weights):
    return (weights * f_values).mean(dim=-1) / weights.sum(dim=-1)


@accepted("self_normalised_is_estimate", "weights normalised first, then a weighted sum")
def self_normalised_is_estimate(f_values, weights):
    normalised = weights / weights.sum(dim=-1, keepdim=True)
    return (normalised * f_values).sum(dim=-1)


@accepted("self_normalised_is_estimate", "mean(w * f) / mean(w)")
def self_normalised_is_estimate(f_values, weights):
    return torch.mean(weights * f_values, dim=-1) / torch.mean(weights, dim=-1)


@accepted("self_normalised_is_estimate", "einsum for the numerator, a sum for the denominator")
def self_normalised_is_estimate(f_values, weights):
    return torch.einsum("...n,...n->...", weights, f_values) / weights.sum(-1)


@accepted("self_normalised_is_estimate", "softmax of the log-weights (log 0 = -inf is fine)")
def self_normalised_is_estimate(f_values, weights):
    return (torch.softmax(torch.log(weights), dim=-1) * f_values).sum(dim=-1)


@accepted("self_normalised_is_estimate", "weights divided by their largest first, for safety")
def self_normalised_is_estimate(f_values, weights):
    scaled = weights / weights.amax(dim=-1, keepdim=True)
    return (scaled * f_values).sum(dim=-1) / scaled.sum(dim=-1)


# ------------------------------------------------------------------ effective_sample_size


@mutant("effective_sample_size", "inverted: sum w^2 / (sum w)^2")
def effective_sample_size(weights):
    return (weights**2).sum(dim=-1) / weights.sum(dim=-1) ** 2


@mutant("effective_sample_size", "the fraction N_eff / N: mean(w)^2 / mean(w^2)")
def effective_sample_size(weights):
    return weights.mean(dim=-1) ** 2 / (weights**2).mean(dim=-1)


@mutant("effective_sample_size", "1 / sum w^2, which assumes weights that sum to one")
def effective_sample_size(weights):
    return 1.0 / (weights**2).sum(dim=-1)


@mutant("effective_sample_size", "sums over all entries: one number for several batches")
def effective_sample_size(weights):
    return weights.sum() ** 2 / (weights**2).sum()


@mutant("effective_sample_size", "N / (1 + var(w)), the variance not relative to the mean")
def effective_sample_size(weights):
    return weights.shape[-1] / (1.0 + weights.var(dim=-1, unbiased=False))


@accepted("effective_sample_size", "N * mean(w)^2 / mean(w^2)")
def effective_sample_size(weights):
    n = weights.shape[-1]
    return weights.mean(dim=-1) ** 2 / (weights**2).mean(dim=-1) * n


@accepted("effective_sample_size", "1 / sum of the squared normalised weights")
def effective_sample_size(weights):
    normalised = weights / weights.sum(dim=-1, keepdim=True)
    return 1.0 / (normalised**2).sum(dim=-1)


@accepted("effective_sample_size", "vector norms: |w|_1^2 / |w|_2^2")
def effective_sample_size(weights):
    l1 = torch.linalg.vector_norm(weights, ord=1, dim=-1)
    l2 = torch.linalg.vector_norm(weights, ord=2, dim=-1)
    return (l1 / l2) ** 2


@accepted("effective_sample_size", "a Python loop over the batches, stacked and reshaped")
def effective_sample_size(weights):
    rows = weights.reshape(-1, weights.shape[-1])
    sizes = [row.sum() ** 2 / (row * row).sum() for row in rows]
    return torch.stack(sizes).reshape(weights.shape[:-1])


# ------------------------------------------------------------------ surrogate_objective


@mutant("surrogate_objective", "old log-probs not detached: the gradient vanishes at theta_old")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    ratio = torch.exp(new_log_probs - old_log_probs)
    return (ratio * advantages.detach()).mean()


@mutant("surrogate_objective", "advantages not detached")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    ratio = torch.exp(new_log_probs - old_log_probs.detach())
    return (ratio * advantages).mean()


@mutant("surrogate_objective", "sum over the samples instead of the mean")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    ratio = torch.exp(new_log_probs - old_log_probs.detach())
    return (ratio * advantages.detach()).sum()


@mutant("surrogate_objective", "ratio inverted: pi_old / pi_new")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    ratio = torch.exp(old_log_probs.detach() - new_log_probs)
    return (ratio * advantages.detach()).mean()


@mutant("surrogate_objective", "log-ratio times advantage: right gradient at theta_old only")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    return ((new_log_probs - old_log_probs.detach()) * advantages.detach()).mean()


@mutant("surrogate_objective", "exp(new) / exp(old): 0 / 0 for log-probabilities near -1000")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    ratio = torch.exp(new_log_probs) / torch.exp(old_log_probs.detach())
    return (ratio * advantages.detach()).mean()


@mutant("surrogate_objective", "returns the loss (minus the objective)")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    ratio = torch.exp(new_log_probs - old_log_probs.detach())
    return -(ratio * advantages.detach()).mean()


@accepted("surrogate_objective", "constants cloned under torch.no_grad(), sum / B")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    with torch.no_grad():
        old = old_log_probs.clone()
        weights = advantages.clone()
    ratio = (new_log_probs - old).exp()
    return (ratio * weights).sum() / new_log_probs.shape[0]


@accepted("surrogate_objective", "calls importance_weights(new, old.detach())")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    ratio = importance_weights(new_log_probs, old_log_probs.detach())
    return torch.mean(ratio * advantages.detach())


@accepted("surrogate_objective", "torch.dot of the ratio with the detached advantages")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    ratio = torch.exp(new_log_probs - old_log_probs.detach())
    return torch.dot(ratio, advantages.detach()) / len(ratio)


@accepted("surrogate_objective", "a Python loop over the samples, one ratio at a time")
def surrogate_objective(new_log_probs, old_log_probs, advantages):
    total = 0.0
    for new, old, advantage in zip(new_log_probs, old_log_probs, advantages, strict=True):
        total = total + torch.exp(new - old.detach()) * advantage.detach()
    return total / len(new_log_probs)


# ------------------------------------------------------------------ kl_categorical


@mutant("kl_categorical", "direction reversed: KL(q || p)")
def kl_categorical(p_logits, q_logits):
    log_p = torch.log_softmax(p_logits, dim=-1)
    log_q = torch.log_softmax(q_logits, dim=-1)
    return (log_q.exp() * (log_q - log_p)).sum(dim=-1)


@mutant("kl_categorical", "F.kl_div with its arguments swapped: KL(q || p)")
def kl_categorical(p_logits, q_logits):
    log_p = F.log_softmax(p_logits, dim=-1)
    log_q = F.log_softmax(q_logits, dim=-1)
    return F.kl_div(log_p, log_q, reduction="none", log_target=True).sum(dim=-1)


@mutant("kl_categorical", "log of softmax: 0 * log 0 = nan for large logits")
def kl_categorical(p_logits, q_logits):
    p = torch.softmax(p_logits, dim=-1)
    q = torch.softmax(q_logits, dim=-1)
    return (p * (torch.log(p) - torch.log(q))).sum(dim=-1)


@mutant("kl_categorical", "raw logits used as log-probabilities (no log-sum-exp)")
def kl_categorical(p_logits, q_logits):
    p = torch.softmax(p_logits, dim=-1)
    return (p * (p_logits - q_logits)).sum(dim=-1)


@mutant("kl_categorical", "normalises over the first axis: wrong for a batch")
def kl_categorical(p_logits, q_logits):
    log_p = torch.log_softmax(p_logits, dim=0)
    log_q = torch.log_softmax(q_logits, dim=0)
    return (log_p.exp() * (log_p - log_q)).sum(dim=-1)


@mutant("kl_categorical", "mean over the actions instead of the sum")
def kl_categorical(p_logits, q_logits):
    log_p = torch.log_softmax(p_logits, dim=-1)
    log_q = torch.log_softmax(q_logits, dim=-1)
    return (log_p.exp() * (log_p - log_q)).mean(dim=-1)


@mutant("kl_categorical", "torch.distributions.kl_divergence, which the exercise forbids")
def kl_categorical(p_logits, q_logits):
    p = torch.distributions.Categorical(logits=p_logits)
    q = torch.distributions.Categorical(logits=q_logits)
    return torch.distributions.kl_divergence(p, q)


@accepted("kl_categorical", "F.kl_div(log q, log p, log_target=True), summed over actions")
def kl_categorical(p_logits, q_logits):
    log_p = F.log_softmax(p_logits, dim=-1)
    log_q = F.log_softmax(q_logits, dim=-1)
    return F.kl_div(log_q, log_p, reduction="none", log_target=True).sum(dim=-1)


@accepted("kl_categorical", "cross-entropy minus entropy, p from torch.softmax")
def kl_categorical(p_logits, q_logits):
    p = torch.softmax(p_logits, dim=-1)
    cross_entropy = -(p * torch.log_softmax(q_logits, dim=-1)).sum(dim=-1)
    entropy = -(p * torch.log_softmax(p_logits, dim=-1)).sum(dim=-1)
    return cross_entropy - entropy


@accepted("kl_categorical", "logits and logsumexp: sum p (z_p - z_q) - lse(z_p) + lse(z_q)")
def kl_categorical(p_logits, q_logits):
    p = torch.softmax(p_logits, dim=-1)
    difference = (p * (p_logits - q_logits)).sum(dim=-1)
    return difference - torch.logsumexp(p_logits, dim=-1) + torch.logsumexp(q_logits, dim=-1)


@accepted("kl_categorical", "a loop over the actions, log-probabilities from log_softmax")
def kl_categorical(p_logits, q_logits):
    log_p = torch.log_softmax(p_logits, dim=-1)
    log_q = torch.log_softmax(q_logits, dim=-1)
    total = torch.zeros_like(log_p[..., 0])
    for action in range(log_p.shape[-1]):
        total += torch.exp(log_p[..., action]) * (log_p[..., action] - log_q[..., action])
    return total


# ------------------------------------------------------------------ kl_estimators


@mutant("kl_estimators", "returns (k3, k1): the order swapped")
def kl_estimators(log_ratio):
    return torch.expm1(log_ratio) - log_ratio, -log_ratio


@mutant("kl_estimators", "k1 = log r: the sign of the log-ratio wrong")
def kl_estimators(log_ratio):
    return log_ratio, torch.expm1(log_ratio) - log_ratio


@mutant("kl_estimators", "k3 = (r - 1) + log r")
def kl_estimators(log_ratio):
    return -log_ratio, torch.expm1(log_ratio) + log_ratio


@mutant("kl_estimators", "k3 with the ratio inverted: r = pi_old / pi_new")
def kl_estimators(log_ratio):
    return -log_ratio, torch.expm1(-log_ratio) + log_ratio


@mutant("kl_estimators", "k2 = (log r)^2 / 2 instead of k3")
def kl_estimators(log_ratio):
    return -log_ratio, 0.5 * log_ratio**2


@mutant("kl_estimators", "returns the means, not one value per sample")
def kl_estimators(log_ratio):
    return (-log_ratio).mean(), (torch.expm1(log_ratio) - log_ratio).mean()


@accepted("kl_estimators", "ratio = exp(log_ratio); k3 = (ratio - 1) - log_ratio")
def kl_estimators(log_ratio):
    ratio = log_ratio.exp()
    return -log_ratio, (ratio - 1) - log_ratio


@accepted("kl_estimators", "k3 built from k1, returned as a list")
def kl_estimators(log_ratio):
    k1 = -log_ratio
    return [k1, torch.exp(log_ratio) - 1 + k1]


@accepted("kl_estimators", "ratio = exp(log_ratio), k3 = (ratio - 1) - log(ratio)")
def kl_estimators(log_ratio):
    ratio = torch.exp(log_ratio)
    return -log_ratio, ratio - 1 - torch.log(ratio)


# ------------------------------------------------------------------ kl_gaussian


@mutant("kl_gaussian", "uses log_std as the standard deviation")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    per_dimension = (
        torch.log(log_std_q / log_std_p)
        + (log_std_p**2 + (mean_p - mean_q) ** 2) / (2 * log_std_q**2)
        - 0.5
    )
    return per_dimension.sum(dim=-1)


@mutant("kl_gaussian", "direction reversed: KL(q || p)")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    variance_ratio = torch.exp(2 * (log_std_q - log_std_p))
    shift = (mean_q - mean_p) / torch.exp(log_std_p)
    per_dimension = (log_std_p - log_std_q) + 0.5 * (variance_ratio + shift**2) - 0.5
    return per_dimension.sum(dim=-1)


@mutant("kl_gaussian", "forgets the -1/2 of every dimension")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    variance_ratio = torch.exp(2 * (log_std_p - log_std_q))
    shift = (mean_p - mean_q) / torch.exp(log_std_q)
    per_dimension = (log_std_q - log_std_p) + 0.5 * (variance_ratio + shift**2)
    return per_dimension.sum(dim=-1)


@mutant("kl_gaussian", "divides the squared mean difference by sigma_q, not sigma_q^2")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    variance_ratio = torch.exp(2 * (log_std_p - log_std_q))
    mean_term = (mean_p - mean_q) ** 2 / torch.exp(log_std_q)
    per_dimension = (log_std_q - log_std_p) + 0.5 * (variance_ratio + mean_term) - 0.5
    return per_dimension.sum(dim=-1)


@mutant("kl_gaussian", "treats log_std as the log-variance")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    variance_p, variance_q = log_std_p.exp(), log_std_q.exp()
    per_dimension = 0.5 * (
        log_std_q - log_std_p + (variance_p + (mean_p - mean_q) ** 2) / variance_q - 1
    )
    return per_dimension.sum(dim=-1)


@mutant("kl_gaussian", "averages over the action dimensions instead of summing")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    variance_ratio = torch.exp(2 * (log_std_p - log_std_q))
    shift = (mean_p - mean_q) / torch.exp(log_std_q)
    per_dimension = (log_std_q - log_std_p) + 0.5 * (variance_ratio + shift**2) - 0.5
    return per_dimension.mean(dim=-1)


@mutant("kl_gaussian", "torch.distributions.kl_divergence, which the exercise forbids")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    p = torch.distributions.Normal(mean_p, log_std_p.exp())
    q = torch.distributions.Normal(mean_q, log_std_q.exp())
    return torch.distributions.kl_divergence(p, q).sum(dim=-1)


@accepted("kl_gaussian", "the variance form: 0.5 (var ratio + diff^2 / var_q - 1 + log var ratio)")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    variance_p, variance_q = torch.exp(2 * log_std_p), torch.exp(2 * log_std_q)
    per_dimension = 0.5 * (
        variance_p / variance_q
        + (mean_p - mean_q) ** 2 / variance_q
        - 1
        + torch.log(variance_q)
        - torch.log(variance_p)
    )
    return per_dimension.sum(dim=-1)


@accepted("kl_gaussian", "standard deviations, log(sigma_q / sigma_p), a loop over dimensions")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    sigma_p = torch.exp(log_std_p).expand_as(mean_p)
    sigma_q = torch.exp(log_std_q).expand_as(mean_p)
    total = 0
    for d in range(mean_p.shape[-1]):
        term = torch.log(sigma_q[:, d] / sigma_p[:, d])
        term = term + (sigma_p[:, d] ** 2 + (mean_p[:, d] - mean_q[:, d]) ** 2) / (
            2 * sigma_q[:, d] ** 2
        )
        total = total + term - 0.5
    return total


@accepted("kl_gaussian", "per dimension with torch.square and exp(-2 log_std_q), then .sum(-1)")
def kl_gaussian(mean_p, log_std_p, mean_q, log_std_q):
    inverse_variance_q = torch.exp(-2 * log_std_q)
    kl = (
        log_std_q
        - log_std_p
        + 0.5 * (torch.exp(2 * log_std_p) + torch.square(mean_p - mean_q)) * inverse_variance_q
        - 0.5
    )
    return kl.sum(-1)
