"""Mutants and accepted variants of 02_variance_reduction.

Mutants are realistic wrong answers its tests must catch; accepted variants are correct answers
written the ways students write them (loops over tensor elements, vectorised code, NumPy round
trips, float32 arithmetic inside), which must keep their points. Each function is pasted into the
answer cell of the graded function it names; it may use only the names the notebook's setup cell
defines (torch, F, np, math).
"""

# torch, F, np and math come from the notebook's setup cell; each mutant redefines its function.
# ruff: noqa: F811, F821

from __future__ import annotations

from autograde.mutants import accepted, mutant

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


@mutant(
    "discounted_return", "builds the result with torch.tensor(values): float32 for float64 rewards"
)
def discounted_return(rewards, dones, gamma):
    returns = []
    episode_return, discount, episode_length = 0.0, 1.0, 0
    for reward, done in zip(rewards.tolist(), dones.tolist(), strict=True):
        episode_return += discount * reward
        discount *= gamma
        episode_length += 1
        if done:
            returns.extend([episode_return] * episode_length)
            episode_return, discount, episode_length = 0.0, 1.0, 0
    return torch.tensor(returns)


@accepted(
    "discounted_return", "a loop over the tensor's elements, filling torch.zeros_like(rewards)"
)
def discounted_return(rewards, dones, gamma):
    returns = torch.zeros_like(rewards)
    start, total, discount = 0, 0.0, 1.0
    for t in range(len(rewards)):
        total = total + discount * rewards[t]
        discount = discount * gamma
        if dones[t]:
            returns[start : t + 1] = total
            start, total, discount = t + 1, 0.0, 1.0
    return returns


@accepted("discounted_return", "vectorised: episode ids by cumsum, float32 gamma ** t, index_add_")
def discounted_return(rewards, dones, gamma):
    ends = dones.long()
    episode = torch.cumsum(ends, dim=0) - ends  # which episode each step belongs to
    lengths = torch.bincount(episode)
    starts = torch.cumsum(lengths, dim=0) - lengths
    t = torch.arange(len(rewards), device=rewards.device) - starts[episode]
    discounted = gamma ** t.float() * rewards
    totals = torch.zeros(len(lengths), dtype=rewards.dtype, device=rewards.device)
    totals.index_add_(0, episode, discounted)
    return totals[episode]


@accepted("discounted_return", "NumPy: np.split at the dones, back with as_tensor(dtype=...)")
def discounted_return(rewards, dones, gamma):
    values = rewards.cpu().numpy().astype(np.float64)
    ends = np.flatnonzero(dones.cpu().numpy()) + 1
    pieces = []
    for episode in np.split(values, ends[:-1]):
        total = np.sum(gamma ** np.arange(len(episode)) * episode)
        pieces.append(np.full(len(episode), total))
    return torch.as_tensor(np.concatenate(pieces), dtype=rewards.dtype, device=rewards.device)


@accepted(
    "discounted_return", "backward recursion G_t, then G_0 copied; torch.tensor(...).to(rewards)"
)
def discounted_return(rewards, dones, gamma):
    rewards_list, dones_list = rewards.tolist(), dones.tolist()
    to_go = [0.0] * len(rewards_list)
    future = 0.0
    for t in reversed(range(len(rewards_list))):
        if dones_list[t]:
            future = 0.0
        future = rewards_list[t] + gamma * future
        to_go[t] = future
    returns, first_step = [], True
    for t in range(len(rewards_list)):
        if first_step:
            episode_return = to_go[t]  # G_0 of this episode is its whole return
        returns.append(episode_return)
        first_step = dones_list[t]
    return torch.tensor(returns).to(rewards)  # float32 on the way: rounded, then cast back


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


@accepted("policy_gradient_loss", "mean over steps times B / N instead of sum / N")
def policy_gradient_loss(log_probs, weights, num_episodes):
    return -(log_probs * weights.detach()).mean() * log_probs.shape[0] / num_episodes


@accepted("policy_gradient_loss", "torch.dot with the weights cloned under torch.no_grad()")
def policy_gradient_loss(log_probs, weights, num_episodes):
    with torch.no_grad():
        constant_weights = weights.clone()
    return -torch.dot(log_probs, constant_weights) / num_episodes


@accepted("policy_gradient_loss", "einsum, divided by float(num_episodes)")
def policy_gradient_loss(log_probs, weights, num_episodes):
    return -torch.einsum("b,b->", log_probs, weights.detach()) / float(num_episodes)


@accepted(
    "policy_gradient_loss", "weights.detach().float(): float32 weights times float64 log-probs"
)
def policy_gradient_loss(log_probs, weights, num_episodes):
    return -torch.sum(log_probs * weights.detach().float()) / num_episodes


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


@mutant("reward_to_go", "fills torch.zeros(B): float32 whatever the dtype of the rewards")
def reward_to_go(rewards, dones, gamma):
    rewards_list, dones_list = rewards.tolist(), dones.tolist()
    returns = torch.zeros(len(rewards_list))
    future = 0.0
    for t in reversed(range(len(rewards_list))):
        if dones_list[t]:
            future = 0.0
        future = rewards_list[t] + gamma * future
        returns[t] = future
    return returns


@accepted("reward_to_go", "a backward loop over the tensor's elements, filling zeros_like(rewards)")
def reward_to_go(rewards, dones, gamma):
    returns = torch.zeros_like(rewards)
    future = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        if dones[t]:
            future = 0.0
        future = rewards[t] + gamma * future
        returns[t] = future
    return returns


@accepted("reward_to_go", "forward loops: for every step, a running discount over the rest")
def reward_to_go(rewards, dones, gamma):
    rewards_list, dones_list = rewards.tolist(), dones.tolist()
    returns, start = [], 0
    for end, done in enumerate(dones_list):
        if not done:
            continue
        for t in range(start, end + 1):
            total, discount = 0.0, 1.0
            for reward in rewards_list[t : end + 1]:
                total += discount * reward
                discount *= gamma
            returns.append(total)
        start = end + 1
    return torch.tensor(returns, dtype=rewards.dtype, device=rewards.device)


@accepted("reward_to_go", "per episode, a triangular matrix of float32 gamma^(t' - t) times r")
def reward_to_go(rewards, dones, gamma):
    pieces, start = [], 0
    for end in torch.nonzero(dones).flatten().tolist():
        episode = rewards[start : end + 1]
        steps = torch.arange(len(episode), device=rewards.device)
        exponents = steps[None, :] - steps[:, None]  # t' - t
        discounts = torch.where(exponents >= 0, gamma ** exponents.clamp(min=0).float(), 0.0)
        pieces.append(discounts.to(rewards.dtype) @ episode)
        start = end + 1
    return torch.cat(pieces)


@accepted("reward_to_go", "NumPy arrays in a backward loop, then torch.from_numpy(...).to(...)")
def reward_to_go(rewards, dones, gamma):
    values, ends = rewards.cpu().numpy(), dones.cpu().numpy()
    returns = np.zeros_like(values)
    future = 0.0
    for t in range(len(values) - 1, -1, -1):
        future = values[t] + (0.0 if ends[t] else gamma * future)
        returns[t] = future
    return torch.from_numpy(returns).to(device=rewards.device, dtype=rewards.dtype)


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


@mutant("step_discounts", "NumPy float64 powers through torch.from_numpy: not the default dtype")
def step_discounts(dones, gamma):
    steps, t = [], 0
    for done in dones.tolist():
        steps.append(t)
        t = 0 if done else t + 1
    return torch.from_numpy(gamma ** np.array(steps, dtype=np.float64)).to(dones.device)


@accepted("step_discounts", "vectorised: index within the episode by cumsum/bincount, gamma ** t")
def step_discounts(dones, gamma):
    ends = dones.long()
    episode = torch.cumsum(ends, dim=0) - ends
    lengths = torch.bincount(episode)
    starts = torch.cumsum(lengths, dim=0) - lengths
    t = torch.arange(len(dones), device=dones.device) - starts[episode]
    return gamma ** t.to(torch.get_default_dtype())


@accepted("step_discounts", "a loop over the bool tensor's elements, filling torch.ones(B)")
def step_discounts(dones, gamma):
    discounts = torch.ones(len(dones), device=dones.device)
    for i in range(1, len(dones)):
        if not dones[i - 1]:
            discounts[i] = discounts[i - 1] * gamma
    return discounts


@accepted("step_discounts", "t counted in Python, then gamma ** torch.tensor(t) (an int tensor)")
def step_discounts(dones, gamma):
    steps, t = [], 0
    for done in dones.tolist():
        steps.append(t)
        t = 0 if done else t + 1
    return gamma ** torch.tensor(steps, device=dones.device)


@accepted("step_discounts", "NumPy float64 powers, converted with .float()")
def step_discounts(dones, gamma):
    ends = dones.cpu().numpy()
    t = np.zeros(len(ends))
    for i in range(1, len(ends)):
        t[i] = 0 if ends[i - 1] else t[i - 1] + 1
    return torch.from_numpy(gamma**t).float().to(dones.device)


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


@accepted("mean_baseline", "sum over dim 0 divided by the number of episodes")
def mean_baseline(returns):
    return returns.sum(dim=0) / returns.shape[0]


@accepted("mean_baseline", "torch.mean(returns, axis=0), NumPy-style keyword")
def mean_baseline(returns):
    return torch.mean(returns, axis=0)


@accepted("mean_baseline", "a loop over the episodes, adding up rows from zeros_like(returns[0])")
def mean_baseline(returns):
    total = torch.zeros_like(returns[0])
    for episode_returns in returns:
        total = total + episode_returns
    return total / len(returns)


@accepted("mean_baseline", "NumPy mean(axis=0) back through torch.as_tensor")
def mean_baseline(returns):
    return torch.as_tensor(returns.cpu().numpy().mean(axis=0), device=returns.device)


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


@accepted("optimal_baseline", "a ratio of means instead of a ratio of sums")
def optimal_baseline(score_sq_norms, returns):
    return (score_sq_norms * returns).mean(dim=0) / score_sq_norms.mean(dim=0)


@accepted("optimal_baseline", "normalised weights first (keepdim=True), then a weighted sum")
def optimal_baseline(score_sq_norms, returns):
    weights = score_sq_norms / score_sq_norms.sum(dim=0, keepdim=True)
    return (weights * returns).sum(dim=0)


@accepted("optimal_baseline", "a loop over the episodes accumulating numerator and denominator")
def optimal_baseline(score_sq_norms, returns):
    numerator = torch.zeros_like(returns[0])
    denominator = torch.zeros_like(score_sq_norms[0])
    for norm, episode_returns in zip(score_sq_norms, returns, strict=True):
        numerator = numerator + norm * episode_returns
        denominator = denominator + norm
    return numerator / denominator


@accepted("optimal_baseline", "np.average(returns, axis=0, weights=score_sq_norms)")
def optimal_baseline(score_sq_norms, returns):
    average = np.average(returns.cpu().numpy(), axis=0, weights=score_sq_norms.cpu().numpy())
    return torch.as_tensor(average, device=returns.device)


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


@accepted("value_loss", "F.mse_loss with the targets detached")
def value_loss(values, targets):
    return F.mse_loss(values, targets.detach())


@accepted("value_loss", "torch.nn.MSELoss() module")
def value_loss(values, targets):
    return torch.nn.MSELoss()(values, targets.detach())


@accepted("value_loss", "sum of squares divided by numel()")
def value_loss(values, targets):
    difference = values - targets.detach()
    return (difference * difference).sum() / difference.numel()


@accepted("value_loss", "torch.mean(torch.square(...)), targets cloned under torch.no_grad()")
def value_loss(values, targets):
    with torch.no_grad():
        constant_targets = targets.clone()
    return torch.mean(torch.square(values - constant_targets))


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


@mutant(
    "normalize_advantages", "NumPy round trip without detach: fails on advantages with gradient"
)
def normalize_advantages(advantages, eps=1e-8):
    values = advantages.cpu().numpy()
    normalized = (values - values.mean()) / (values.std() + eps)
    return torch.as_tensor(normalized, device=advantages.device)


@accepted("normalize_advantages", "the population standard deviation, std(unbiased=False)")
def normalize_advantages(advantages, eps=1e-8):
    return (advantages - advantages.mean()) / (advantages.std(unbiased=False) + eps)


@accepted("normalize_advantages", "torch.var(...).sqrt() for the standard deviation")
def normalize_advantages(advantages, eps=1e-8):
    centred = advantages - torch.mean(advantages)
    return centred / (torch.var(advantages).sqrt() + eps)


@accepted("normalize_advantages", "by hand on a flat view: sum() / n, sum of squares / (n - 1)")
def normalize_advantages(advantages, eps=1e-8):
    flat = advantages.reshape(-1)
    n = flat.numel()
    mean = flat.sum() / n
    std = (((flat - mean) ** 2).sum() / (n - 1)).sqrt()
    return ((flat - mean) / (std + eps)).reshape(advantages.shape)


@accepted("normalize_advantages", "torch.std_mean")
def normalize_advantages(advantages, eps=1e-8):
    std, mean = torch.std_mean(advantages)
    return (advantages - mean) / (std + eps)


@accepted("normalize_advantages", "NumPy on the detached values (np.std: ddof=0), dtype kept")
def normalize_advantages(advantages, eps=1e-8):
    values = advantages.detach().cpu().numpy()
    normalized = (values - values.mean()) / (values.std() + eps)
    return torch.as_tensor(normalized, dtype=advantages.dtype, device=advantages.device)
