"""Mutants of 01_log_derivative_trick: realistic wrong answers its tests must catch.

Each function is pasted into the answer cell of the graded function it names; it may use only
the names the notebook's setup cell defines (torch, F, np, math).
"""

# torch, F, np and math come from the notebook's setup cell; each mutant redefines its function.
# ruff: noqa: F811, F821

from __future__ import annotations

from autograde.mutants import mutant

# ------------------------------------------------------------------ categorical_log_prob


@mutant("categorical_log_prob", "log of softmax: -inf once a probability underflows")
def categorical_log_prob(logits, actions):
    probabilities = torch.softmax(logits, dim=-1)
    return torch.log(probabilities.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1))


@mutant("categorical_log_prob", "log-sum-exp without subtracting the maximum: overflows")
def categorical_log_prob(logits, actions):
    chosen = logits.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    return chosen - torch.log(torch.exp(logits).sum(dim=-1))


@mutant("categorical_log_prob", "normalises over the batch axis instead of the actions")
def categorical_log_prob(logits, actions):
    log_probs = torch.log_softmax(logits, dim=0)
    return log_probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


@mutant("categorical_log_prob", "returns the probability, not its log")
def categorical_log_prob(logits, actions):
    probabilities = torch.softmax(logits, dim=-1)
    return probabilities.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


@mutant("categorical_log_prob", "indexes rows with the action vector: (B, B) instead of (B,)")
def categorical_log_prob(logits, actions):
    return torch.log_softmax(logits, dim=-1)[:, actions]


@mutant("categorical_log_prob", "detaches the result: no gradient reaches the logits")
def categorical_log_prob(logits, actions):
    log_probs = torch.log_softmax(logits.detach(), dim=-1)
    return log_probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


# ------------------------------------------------------------------ softmax_score


@mutant("softmax_score", "sign error: softmax(theta) - onehot(a)")
def softmax_score(theta, action):
    action = torch.as_tensor(action, device=theta.device).long()
    one_hot = F.one_hot(action, num_classes=theta.shape[-1]).to(theta.dtype)
    return torch.softmax(theta, dim=-1) - one_hot


@mutant("softmax_score", "subtracts log_softmax instead of softmax")
def softmax_score(theta, action):
    action = torch.as_tensor(action, device=theta.device).long()
    one_hot = F.one_hot(action, num_classes=theta.shape[-1]).to(theta.dtype)
    return one_hot - torch.log_softmax(theta, dim=-1)


@mutant("softmax_score", "keeps only the chosen logit's derivative, 1 - pi_a")
def softmax_score(theta, action):
    action = torch.as_tensor(action, device=theta.device).long()
    one_hot = F.one_hot(action, num_classes=theta.shape[-1]).to(theta.dtype)
    return one_hot * (1 - torch.softmax(theta, dim=-1))


@mutant("softmax_score", "softmax over the first axis: wrong for a batch of distributions")
def softmax_score(theta, action):
    action = torch.as_tensor(action, device=theta.device).long()
    one_hot = F.one_hot(action, num_classes=theta.shape[-1]).to(theta.dtype)
    return one_hot - torch.softmax(theta, dim=0)


# ------------------------------------------------------------------ score_function_gradient


@mutant("score_function_gradient", "sums over the samples instead of averaging")
def score_function_gradient(f_values, scores):
    return (f_values.unsqueeze(-1) * scores).sum(dim=0)


@mutant("score_function_gradient", "product of the means instead of the mean of the products")
def score_function_gradient(f_values, scores):
    return f_values.mean() * scores.mean(dim=0)


@mutant("score_function_gradient", "averages over the parameter axis: shape (N,)")
def score_function_gradient(f_values, scores):
    return (f_values.unsqueeze(-1) * scores).mean(dim=1)


@mutant("score_function_gradient", "sign error: the gradient of -E[f]")
def score_function_gradient(f_values, scores):
    return -(f_values.unsqueeze(-1) * scores).mean(dim=0)


@mutant("score_function_gradient", "off by one: divides by N - 1")
def score_function_gradient(f_values, scores):
    return (f_values.unsqueeze(-1) * scores).sum(dim=0) / (f_values.shape[0] - 1)


# ------------------------------------------------------------------ trajectory_log_prob


@mutant("trajectory_log_prob", "drops the dynamics term from the log-probability itself")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    return policy_log_probs.sum(dim=-1)


@mutant("trajectory_log_prob", "sums over trajectories instead of time: shape (T,)")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    return policy_log_probs.sum(dim=0) + dynamics_log_probs.sum(dim=0)


@mutant("trajectory_log_prob", "averages over time instead of summing")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    return policy_log_probs.mean(dim=-1) + dynamics_log_probs.mean(dim=-1)


@mutant("trajectory_log_prob", "sums everything into one number for the whole batch")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    return policy_log_probs.sum() + dynamics_log_probs.sum()


@mutant("trajectory_log_prob", "off by one: skips the first step (and log rho(s_0))")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    return policy_log_probs[:, 1:].sum(dim=-1) + dynamics_log_probs[:, 1:].sum(dim=-1)


# ------------------------------------------------------------------ reinforce_loss


@mutant("reinforce_loss", "sign error: minimising it descends J")
def reinforce_loss(log_probs, returns):
    return (log_probs * returns.detach()).mean()


@mutant("reinforce_loss", "does not detach the returns")
def reinforce_loss(log_probs, returns):
    return -(log_probs * returns).mean()


@mutant("reinforce_loss", "sums over trajectories instead of averaging")
def reinforce_loss(log_probs, returns):
    return -(log_probs * returns.detach()).sum()


@mutant("reinforce_loss", "weights probabilities, not log-probabilities, by the return")
def reinforce_loss(log_probs, returns):
    return -(log_probs.exp() * returns.detach()).mean()


@mutant("reinforce_loss", "product of the means: mean(log_probs) * mean(returns)")
def reinforce_loss(log_probs, returns):
    return -(log_probs.mean() * returns.detach().mean())


# ------------------------------------------------------------------ gaussian_log_prob


@mutant("gaussian_log_prob", "uses log_std as the standard deviation")
def gaussian_log_prob(mean, log_std, actions):
    standardised = (actions - mean) / log_std
    per_dimension = -0.5 * standardised**2 - torch.log(log_std) - 0.5 * math.log(2 * math.pi)
    return per_dimension.sum(dim=-1)


@mutant("gaussian_log_prob", "forgets to sum over the action dimensions: shape (B, D)")
def gaussian_log_prob(mean, log_std, actions):
    standardised = (actions - mean) / log_std.exp()
    return -0.5 * standardised**2 - log_std - 0.5 * math.log(2 * math.pi)


@mutant("gaussian_log_prob", "drops the normaliser -log(sigma)")
def gaussian_log_prob(mean, log_std, actions):
    standardised = (actions - mean) / log_std.exp()
    per_dimension = -0.5 * standardised**2 - 0.5 * math.log(2 * math.pi)
    return per_dimension.sum(dim=-1)


@mutant("gaussian_log_prob", "averages over the action dimensions instead of summing")
def gaussian_log_prob(mean, log_std, actions):
    standardised = (actions - mean) / log_std.exp()
    per_dimension = -0.5 * standardised**2 - log_std - 0.5 * math.log(2 * math.pi)
    return per_dimension.mean(dim=-1)


@mutant("gaussian_log_prob", "divides by the standard deviation, not the variance")
def gaussian_log_prob(mean, log_std, actions):
    per_dimension = -0.5 * (actions - mean) ** 2 / log_std.exp() - log_std
    return (per_dimension - 0.5 * math.log(2 * math.pi)).sum(dim=-1)
