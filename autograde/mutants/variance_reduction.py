"""Mutants of 02_variance_reduction: realistic wrong answers its tests must catch.

Each function is pasted into the answer cell of the graded function it names; it may use only
the names the notebook's setup cell defines (torch, F, np, math).
"""

# torch, F, np and math come from the notebook's setup cell; each mutant redefines its function.
# ruff: noqa: F811, F821

from __future__ import annotations

from autograde.mutants import mutant

# ------------------------------------------------------------------ discounted_return


@mutant("discounted_return", "never resets at episode boundaries: sums the whole batch")
def discounted_return(rewards, dones, gamma):
    total, discount = 0.0, 1.0
    for reward in rewards.tolist():
        total += discount * reward
        discount *= gamma
    return torch.full_like(rewards, total)


@mutant("discounted_return", "off by one in the discount: gamma^(k+1) instead of gamma^k")
def discounted_return(rewards, dones, gamma):
    returns = []
    episode_return, discount, episode_length = 0.0, gamma, 0
    for reward, done in zip(rewards.tolist(), dones.tolist(), strict=True):
        episode_return += discount * reward
        discount *= gamma
        episode_length += 1
        if done:
            returns.extend([episode_return] * episode_length)
            episode_return, discount, episode_length = 0.0, gamma, 0
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


@mutant("discounted_return", "resets the sum at a done but not the discount")
def discounted_return(rewards, dones, gamma):
    returns = []
    episode_return, discount, episode_length = 0.0, 1.0, 0
    for reward, done in zip(rewards.tolist(), dones.tolist(), strict=True):
        episode_return += discount * reward
        discount *= gamma
        episode_length += 1
        if done:
            returns.extend([episode_return] * episode_length)
            episode_return, episode_length = 0.0, 0
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


@mutant("discounted_return", "returns the reward-to-go, not the whole episode's return")
def discounted_return(rewards, dones, gamma):
    rewards_list, dones_list = rewards.tolist(), dones.tolist()
    returns = [0.0] * len(rewards_list)
    future = 0.0
    for t in reversed(range(len(rewards_list))):
        if dones_list[t]:
            future = 0.0
        future = rewards_list[t] + gamma * future
        returns[t] = future
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


@mutant("discounted_return", "one return per episode, shape (num_episodes,) instead of (B,)")
def discounted_return(rewards, dones, gamma):
    returns = []
    episode_return, discount = 0.0, 1.0
    for reward, done in zip(rewards.tolist(), dones.tolist(), strict=True):
        episode_return += discount * reward
        discount *= gamma
        if done:
            returns.append(episode_return)
            episode_return, discount = 0.0, 1.0
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


# ------------------------------------------------------------------ policy_gradient_loss


@mutant("policy_gradient_loss", "sign error: minimising it descends J")
def policy_gradient_loss(log_probs, weights, num_episodes):
    return (log_probs * weights.detach()).sum() / num_episodes


@mutant("policy_gradient_loss", "does not detach the weights (a baseline would get gradient)")
def policy_gradient_loss(log_probs, weights, num_episodes):
    return -(log_probs * weights).sum() / num_episodes


@mutant("policy_gradient_loss", "averages over steps instead of episodes")
def policy_gradient_loss(log_probs, weights, num_episodes):
    return -(log_probs * weights.detach()).mean()


@mutant("policy_gradient_loss", "product of the sums instead of the sum of the products")
def policy_gradient_loss(log_probs, weights, num_episodes):
    return -log_probs.sum() * weights.detach().sum() / num_episodes


@mutant("policy_gradient_loss", "weights probabilities, not log-probabilities")
def policy_gradient_loss(log_probs, weights, num_episodes):
    return -(log_probs.exp() * weights.detach()).sum() / num_episodes


# ------------------------------------------------------------------ reward_to_go


@mutant("reward_to_go", "never resets at episode boundaries: rewards leak across episodes")
def reward_to_go(rewards, dones, gamma):
    rewards_list = rewards.tolist()
    returns = [0.0] * len(rewards_list)
    future = 0.0
    for t in reversed(range(len(rewards_list))):
        future = rewards_list[t] + gamma * future
        returns[t] = future
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


@mutant("reward_to_go", "cumsum in the wrong direction: the discounted rewards so far")
def reward_to_go(rewards, dones, gamma):
    returns = []
    so_far = 0.0
    for reward, done in zip(rewards.tolist(), dones.tolist(), strict=True):
        so_far = reward + gamma * so_far
        returns.append(so_far)
        if done:
            so_far = 0.0
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


@mutant("reward_to_go", "gamma^t' from the episode's start instead of gamma^(t' - t)")
def reward_to_go(rewards, dones, gamma):
    rewards_list, dones_list = rewards.tolist(), dones.tolist()
    # the time index of every step within its episode
    steps, t = [], 0
    for done in dones_list:
        steps.append(t)
        t = 0 if done else t + 1
    returns = [0.0] * len(rewards_list)
    future = 0.0
    for b in reversed(range(len(rewards_list))):
        if dones_list[b]:
            future = 0.0
        future = gamma ** steps[b] * rewards_list[b] + future
        returns[b] = future
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


@mutant("reward_to_go", "off by one: leaves out the step's own reward")
def reward_to_go(rewards, dones, gamma):
    rewards_list, dones_list = rewards.tolist(), dones.tolist()
    returns = [0.0] * len(rewards_list)
    future = 0.0
    for t in reversed(range(len(rewards_list))):
        if dones_list[t]:
            future = 0.0
        returns[t] = gamma * future
        future = rewards_list[t] + gamma * future
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


@mutant("reward_to_go", "discounts the step's own reward too: gamma * (r_t + G_{t+1})")
def reward_to_go(rewards, dones, gamma):
    rewards_list, dones_list = rewards.tolist(), dones.tolist()
    returns = [0.0] * len(rewards_list)
    future = 0.0
    for t in reversed(range(len(rewards_list))):
        if dones_list[t]:
            future = 0.0
        future = gamma * (rewards_list[t] + future)
        returns[t] = future
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


@mutant("reward_to_go", "resets after the done step, not before it: the next episode leaks in")
def reward_to_go(rewards, dones, gamma):
    rewards_list, dones_list = rewards.tolist(), dones.tolist()
    returns = [0.0] * len(rewards_list)
    future = 0.0
    for t in reversed(range(len(rewards_list))):
        future = rewards_list[t] + gamma * future
        returns[t] = future
        if dones_list[t]:
            future = 0.0
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


# ------------------------------------------------------------------ step_discounts


@mutant("step_discounts", "never resets: t counts from the start of the batch")
def step_discounts(dones, gamma):
    return gamma ** torch.arange(dones.shape[0], dtype=torch.float32, device=dones.device)


@mutant("step_discounts", "off by one: gamma^(t+1), so the first step is discounted")
def step_discounts(dones, gamma):
    discounts = []
    discount = gamma
    for done in dones.tolist():
        discounts.append(discount)
        discount = gamma if done else discount * gamma
    return torch.tensor(discounts, device=dones.device)


@mutant("step_discounts", "resets on the done step itself instead of the step after it")
def step_discounts(dones, gamma):
    discounts = []
    discount = 1.0
    for done in dones.tolist():
        if done:
            discount = 1.0
        discounts.append(discount)
        discount *= gamma
    return torch.tensor(discounts, device=dones.device)


@mutant("step_discounts", "counts down to the end of the episode: gamma^(L-1-t)")
def step_discounts(dones, gamma):
    discounts = [0.0] * dones.shape[0]
    dones_list = dones.tolist()
    discount = 1.0
    for t in reversed(range(len(dones_list))):
        if dones_list[t]:
            discount = 1.0
        discounts[t] = discount
        discount *= gamma
    return torch.tensor(discounts, device=dones.device)


# ------------------------------------------------------------------ mean_baseline


@mutant("mean_baseline", "averages over everything: one number even for (N, H) returns")
def mean_baseline(returns):
    return returns.mean()


@mutant("mean_baseline", "averages over the last axis (time) instead of the episodes")
def mean_baseline(returns):
    return returns.mean(dim=-1)


@mutant("mean_baseline", "returns the centred returns (returns - mean), not the baseline")
def mean_baseline(returns):
    return returns - returns.mean(dim=0)


# ------------------------------------------------------------------ optimal_baseline


@mutant("optimal_baseline", "ignores the score norms: the plain mean")
def optimal_baseline(score_sq_norms, returns):
    return returns.mean(dim=0)


@mutant("optimal_baseline", "weights by the norms, not the squared norms")
def optimal_baseline(score_sq_norms, returns):
    norms = score_sq_norms.sqrt()
    return (norms * returns).sum(dim=0) / norms.sum(dim=0)


@mutant("optimal_baseline", "normalises by the sum of the weights over all entries")
def optimal_baseline(score_sq_norms, returns):
    return (score_sq_norms * returns).sum(dim=0) / score_sq_norms.sum()


@mutant("optimal_baseline", "product of the means: E[|S|^2] E[R] / E[|S|^2]")
def optimal_baseline(score_sq_norms, returns):
    return score_sq_norms.mean(dim=0) * returns.mean(dim=0) / score_sq_norms.mean(dim=0)


@mutant("optimal_baseline", "averages over the last axis instead of the episodes")
def optimal_baseline(score_sq_norms, returns):
    return (score_sq_norms * returns).sum(dim=-1) / score_sq_norms.sum(dim=-1)


# ------------------------------------------------------------------ value_loss


@mutant("value_loss", "detaches the values: the value network never learns")
def value_loss(values, targets):
    return ((values.detach() - targets.detach()) ** 2).mean()


@mutant("value_loss", "does not detach the targets")
def value_loss(values, targets):
    return ((values - targets) ** 2).mean()


@mutant("value_loss", "absolute error instead of squared error")
def value_loss(values, targets):
    return (values - targets.detach()).abs().mean()


@mutant("value_loss", "sums over the batch instead of averaging")
def value_loss(values, targets):
    return ((values - targets.detach()) ** 2).sum()


@mutant("value_loss", "broadcasting bug: (B, 1) values against (B,) targets -> (B, B)")
def value_loss(values, targets):
    return ((values.unsqueeze(-1) - targets.detach()) ** 2).mean()


# ------------------------------------------------------------------ normalize_advantages


@mutant("normalize_advantages", "no epsilon: a constant batch gives 0 / 0 = NaN")
def normalize_advantages(advantages, eps=1e-8):
    return (advantages - advantages.mean()) / advantages.std()


@mutant("normalize_advantages", "normalises each column (dim 0) instead of all entries")
def normalize_advantages(advantages, eps=1e-8):
    return (advantages - advantages.mean(dim=0)) / (advantages.std(dim=0) + eps)


@mutant("normalize_advantages", "forgets to subtract the mean")
def normalize_advantages(advantages, eps=1e-8):
    return advantages / (advantages.std() + eps)


@mutant("normalize_advantages", "divides by the variance instead of the standard deviation")
def normalize_advantages(advantages, eps=1e-8):
    return (advantages - advantages.mean()) / (advantages.var() + eps)


@mutant("normalize_advantages", "normalises each row (last axis) instead of all entries")
def normalize_advantages(advantages, eps=1e-8):
    mean = advantages.mean(dim=-1, keepdim=True)
    return (advantages - mean) / (advantages.std(dim=-1, keepdim=True) + eps)
