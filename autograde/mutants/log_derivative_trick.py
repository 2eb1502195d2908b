"""Mutants and accepted variants of 01_log_derivative_trick.

Mutants are realistic wrong answers its tests must catch; accepted variants are correct answers
written the ways students write them, which must keep their points. Each function is pasted into
the answer cell of the graded function it names; it may use only the names the notebook's setup
cell defines (torch, F, np, math, Callable).
"""

# torch, F, np and math come from the notebook's setup cell; each entry redefines its function.
# ruff: noqa: F811, F821

from __future__ import annotations

from autograde.mutants import accepted, mutant

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


@mutant("categorical_log_prob", "uses torch.distributions.Categorical, which the exercise forbids")
def categorical_log_prob(logits, actions):
    return torch.distributions.Categorical(logits=logits).log_prob(actions)


@mutant("categorical_log_prob", "patches log(softmax)'s -inf with torch.where: the gradient is nan")
def categorical_log_prob(logits, actions):
    log_probs = torch.log(torch.softmax(logits, dim=-1))
    stable = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    log_probs = torch.where(torch.isfinite(log_probs), log_probs, stable)
    return log_probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


@mutant("categorical_log_prob", "computes in float32 whatever the dtype of the logits")
def categorical_log_prob(logits, actions):
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    return log_probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


@accepted("categorical_log_prob", "logits - logsumexp, then advanced indexing x[arange(B), a]")
def categorical_log_prob(logits, actions):
    log_probs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    return log_probs[torch.arange(logits.shape[0]), actions]


@accepted("categorical_log_prob", "log-sum-exp by hand, subtracting the row maximum")
def categorical_log_prob(logits, actions):
    largest = logits.max(dim=-1, keepdim=True).values
    log_normaliser = largest + torch.log(torch.exp(logits - largest).sum(dim=-1, keepdim=True))
    chosen = logits.gather(1, actions.view(-1, 1))
    return (chosen - log_normaliser).squeeze(1)


@accepted("categorical_log_prob", "a one-hot from torch.eye(A)[actions] times F.log_softmax")
def categorical_log_prob(logits, actions):
    one_hot = torch.eye(logits.shape[-1], device=logits.device)[actions]
    return (one_hot * F.log_softmax(logits, dim=1)).sum(dim=1)


@accepted("categorical_log_prob", "a Python loop over the rows")
def categorical_log_prob(logits, actions):
    rows = []
    for i in range(len(actions)):
        rows.append(logits[i, actions[i]] - torch.logsumexp(logits[i], dim=0))
    return torch.stack(rows)


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


@mutant("softmax_score", "uses autograd on log_softmax instead of the closed form")
def softmax_score(theta, action):
    theta = theta.detach().clone().requires_grad_(True)
    action = torch.as_tensor(action).long()
    chosen = torch.log_softmax(theta, dim=-1).gather(-1, action.unsqueeze(-1)).sum()
    (gradient,) = torch.autograd.grad(chosen, theta)
    return gradient


@mutant("softmax_score", "naive softmax exp(theta) / sum exp(theta): nan for logits of 1000")
def softmax_score(theta, action):
    action = torch.as_tensor(action, device=theta.device).long()
    one_hot = F.one_hot(action, num_classes=theta.shape[-1]).to(theta.dtype)
    exponentials = torch.exp(theta)
    return one_hot - exponentials / exponentials.sum(dim=-1, keepdim=True)


@accepted("softmax_score", "a one-hot from torch.eye(A)[action] (float32) minus the softmax")
def softmax_score(theta, action):
    return torch.eye(theta.shape[-1])[action] - torch.softmax(theta, dim=-1)


@accepted("softmax_score", "minus the softmax, then += 1 at the chosen entries (in place)")
def softmax_score(theta, action):
    score = -torch.softmax(theta, dim=-1)
    if theta.dim() == 1:
        score[int(action)] += 1
    else:
        score[torch.arange(theta.shape[0]), action] += 1
    return score


@accepted("softmax_score", "softmax by hand with the maximum subtracted, F.one_hot(...).float()")
def softmax_score(theta, action):
    action = torch.as_tensor(action)
    shifted = torch.exp(theta - theta.max(dim=-1, keepdim=True).values)
    probabilities = shifted / shifted.sum(dim=-1, keepdim=True)
    return F.one_hot(action, theta.shape[-1]).float() - probabilities


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


@mutant("score_function_gradient", "broadcasts f over the parameter axis: scores * f_values")
def score_function_gradient(f_values, scores):
    return (scores * f_values).mean(dim=0)


@accepted("score_function_gradient", "sum over the samples divided by N")
def score_function_gradient(f_values, scores):
    return (f_values[:, None] * scores).sum(dim=0) / len(f_values)


@accepted("score_function_gradient", "a matrix-vector product f_values @ scores / N")
def score_function_gradient(f_values, scores):
    return f_values @ scores / f_values.shape[0]


@accepted("score_function_gradient", "torch.einsum")
def score_function_gradient(f_values, scores):
    return torch.einsum("n,nd->d", f_values, scores) / scores.shape[0]


@accepted("score_function_gradient", "a Python loop over the samples")
def score_function_gradient(f_values, scores):
    total = torch.zeros_like(scores[0])
    for f, score in zip(f_values, scores, strict=True):
        total = total + f * score
    return total / len(f_values)


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


@mutant("trajectory_log_prob", "rebuilds the result with torch.tensor(...): no gradient")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    totals = [
        policy.sum().item() + dynamics.sum().item()
        for policy, dynamics in zip(policy_log_probs, dynamics_log_probs, strict=True)
    ]
    return torch.tensor(totals, dtype=policy_log_probs.dtype)


@mutant("trajectory_log_prob", "accumulates in place in a float32 torch.zeros(N): float32 result")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    total = torch.zeros(policy_log_probs.shape[0])
    for t in range(policy_log_probs.shape[1]):
        total += policy_log_probs[:, t] + dynamics_log_probs[:, t]
    return total


@accepted("trajectory_log_prob", "adds the tables first, then sums over time with dim=1")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    return (policy_log_probs + dynamics_log_probs).sum(dim=1)


@accepted("trajectory_log_prob", "a Python loop over the time steps")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    total = 0
    for t in range(policy_log_probs.shape[1]):
        total = total + policy_log_probs[:, t] + dynamics_log_probs[:, t]
    return total


@accepted("trajectory_log_prob", "torch.einsum over time on the concatenated tables")
def trajectory_log_prob(policy_log_probs, dynamics_log_probs):
    return torch.einsum("nt->n", torch.cat([policy_log_probs, dynamics_log_probs], dim=1))


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


@accepted("reinforce_loss", "sum divided by the batch size instead of mean()")
def reinforce_loss(log_probs, returns):
    return -(log_probs * returns.detach()).sum() / log_probs.shape[0]


@accepted("reinforce_loss", "a dot product, with the returns copied under torch.no_grad()")
def reinforce_loss(log_probs, returns):
    with torch.no_grad():
        weights = returns.clone()
    return -torch.dot(log_probs, weights) / len(log_probs)


@accepted("reinforce_loss", "torch.mean of the negated products")
def reinforce_loss(log_probs, returns):
    return torch.mean(-returns.detach() * log_probs)


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


@mutant("gaussian_log_prob", "uses torch.distributions.Normal, which the exercise forbids")
def gaussian_log_prob(mean, log_std, actions):
    return torch.distributions.Normal(mean, log_std.exp()).log_prob(actions).sum(dim=-1)


@mutant("gaussian_log_prob", "computes sigma through NumPy: no gradient reaches log_std")
def gaussian_log_prob(mean, log_std, actions):
    sigma = torch.as_tensor(np.exp(log_std.detach().numpy()))
    per_dimension = -0.5 * ((actions - mean) / sigma) ** 2 - torch.log(sigma)
    return (per_dimension - 0.5 * math.log(2 * math.pi)).sum(dim=-1)


@mutant("gaussian_log_prob", "accumulates over dimensions in a float32 torch.zeros(B)")
def gaussian_log_prob(mean, log_std, actions):
    total = torch.zeros(actions.shape[0])
    log_std = log_std.expand_as(actions)
    for d in range(actions.shape[1]):
        z = (actions[:, d] - mean[:, d]) / log_std[:, d].exp()
        total += -0.5 * z**2 - log_std[:, d] - 0.5 * math.log(2 * math.pi)
    return total


@accepted("gaussian_log_prob", "variance exp(2 log_std) and -0.5 log(2 pi variance) per dimension")
def gaussian_log_prob(mean, log_std, actions):
    variance = torch.exp(2 * log_std)
    log_density = -((actions - mean) ** 2) / (2 * variance) - 0.5 * torch.log(
        2 * math.pi * variance
    )
    return log_density.sum(dim=1)


@accepted("gaussian_log_prob", "constants pulled out of the sum, log(2 pi) as a float32 tensor")
def gaussian_log_prob(mean, log_std, actions):
    dims = actions.shape[-1]
    squares = (((actions - mean) / torch.exp(log_std)) ** 2).sum(dim=-1)
    log_two_pi = torch.log(torch.tensor(2 * math.pi))
    return -0.5 * squares - log_std.sum(dim=-1) - 0.5 * dims * log_two_pi


@accepted("gaussian_log_prob", "a Python loop over the dimensions, from a Python 0 accumulator")
def gaussian_log_prob(mean, log_std, actions):
    log_std = log_std.expand_as(actions)
    total = 0
    for d in range(actions.shape[1]):
        sigma = log_std[:, d].exp()
        total = total - (actions[:, d] - mean[:, d]) ** 2 / (2 * sigma**2) - torch.log(sigma)
    return total - actions.shape[1] * 0.5 * np.log(2 * np.pi)


# ------------------------------------------------------------------ train_gaussian_bandit


@mutant("train_gaussian_bandit", "samples with gradient: the score of the mean vanishes")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    mean_rewards = []
    for _ in range(num_updates):
        actions = mean + log_std.exp() * torch.randn(batch_size, mean.shape[-1])
        rewards = reward_fn(actions)
        loss = loss_fn(log_prob_fn(mean.expand(batch_size, -1), log_std, actions), rewards)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mean_rewards.append(rewards.mean().item())
    return mean_rewards


@mutant("train_gaussian_bandit", "forgets optimizer.zero_grad(): gradients pile up")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    mean_rewards = []
    for _ in range(num_updates):
        with torch.no_grad():
            actions = mean + log_std.exp() * torch.randn(batch_size, mean.shape[-1])
        rewards = reward_fn(actions)
        loss = loss_fn(log_prob_fn(mean.expand(batch_size, -1), log_std, actions), rewards)
        loss.backward()
        optimizer.step()
        mean_rewards.append(rewards.mean().item())
    return mean_rewards


@mutant("train_gaussian_bandit", "optimizer.step() before loss.backward(): a stale gradient")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    mean_rewards = []
    for _ in range(num_updates):
        with torch.no_grad():
            actions = mean + log_std.exp() * torch.randn(batch_size, mean.shape[-1])
        rewards = reward_fn(actions)
        loss = loss_fn(log_prob_fn(mean.expand(batch_size, -1), log_std, actions), rewards)
        optimizer.step()
        optimizer.zero_grad()
        loss.backward()
        mean_rewards.append(rewards.mean().item())
    return mean_rewards


@mutant("train_gaussian_bandit", "rewards the mean action itself, without sampling")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    mean_rewards = []
    for _ in range(num_updates):
        actions = mean.detach().expand(batch_size, -1)
        rewards = reward_fn(actions)
        loss = loss_fn(log_prob_fn(mean.expand(batch_size, -1), log_std, actions), rewards)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mean_rewards.append(rewards.mean().item())
    return mean_rewards


@mutant("train_gaussian_bandit", "scores a second, independent batch, not the rewarded one")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    mean_rewards = []
    for _ in range(num_updates):
        with torch.no_grad():
            std = log_std.exp()
            rewards = reward_fn(mean + std * torch.randn(batch_size, mean.shape[-1]))
            actions = mean + std * torch.randn(batch_size, mean.shape[-1])
        loss = loss_fn(log_prob_fn(mean.expand(batch_size, -1), log_std, actions), rewards)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mean_rewards.append(rewards.mean().item())
    return mean_rewards


@mutant("train_gaussian_bandit", "one noise draw per action shared by all dimensions")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    mean_rewards = []
    for _ in range(num_updates):
        with torch.no_grad():
            actions = mean + log_std.exp() * torch.randn(batch_size, 1)
        rewards = reward_fn(actions)
        loss = loss_fn(log_prob_fn(mean.expand(batch_size, -1), log_std, actions), rewards)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mean_rewards.append(rewards.mean().item())
    return mean_rewards


@mutant("train_gaussian_bandit", "scales the noise by the variance exp(log_std)^2")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    mean_rewards = []
    for _ in range(num_updates):
        with torch.no_grad():
            actions = mean + log_std.exp() ** 2 * torch.randn(batch_size, mean.shape[-1])
        rewards = reward_fn(actions)
        loss = loss_fn(log_prob_fn(mean.expand(batch_size, -1), log_std, actions), rewards)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mean_rewards.append(rewards.mean().item())
    return mean_rewards


@mutant("train_gaussian_bandit", "returns the losses instead of the mean rewards")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    losses = []
    for _ in range(num_updates):
        with torch.no_grad():
            actions = mean + log_std.exp() * torch.randn(batch_size, mean.shape[-1])
        loss = loss_fn(
            log_prob_fn(mean.expand(batch_size, -1), log_std, actions), reward_fn(actions)
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@accepted("train_gaussian_bandit", ".detach() instead of torch.no_grad(); zero_grad at the end")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    history = []
    for _ in range(num_updates):
        noise = torch.randn(batch_size, len(mean))
        actions = (mean + torch.exp(log_std) * noise).detach()
        rewards = reward_fn(actions)
        log_probs = log_prob_fn(mean.repeat(batch_size, 1), log_std, actions)
        loss_fn(log_probs, rewards).backward()
        optimizer.step()
        optimizer.zero_grad()
        history.append(float(rewards.mean()))
    return history


@accepted("train_gaussian_bandit", "torch.normal on detached, expanded parameters")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    mean_rewards = []
    for _ in range(num_updates):
        means = mean.expand(batch_size, -1)
        stds = log_std.exp().expand(batch_size, -1)
        actions = torch.normal(means.detach(), stds.detach())
        rewards = reward_fn(actions)
        loss = loss_fn(log_prob_fn(means, log_std, actions), rewards)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mean_rewards.append(rewards.mean().item())
    return mean_rewards


@accepted("train_gaussian_bandit", "torch.distributions.Normal(...).sample(); mean not expanded")
def train_gaussian_bandit(
    mean, log_std, optimizer, reward_fn, num_updates, batch_size, log_prob_fn, loss_fn
):
    mean_rewards = []
    for _ in range(num_updates):
        policy = torch.distributions.Normal(mean, log_std.exp())
        actions = policy.sample((batch_size,))
        rewards = reward_fn(actions)
        loss = loss_fn(log_prob_fn(mean, log_std, actions), rewards)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()
        mean_rewards.append(rewards.mean().item())
    return mean_rewards
