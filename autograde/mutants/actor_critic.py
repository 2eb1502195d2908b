"""Mutants of 03_actor_critic: realistic wrong answers its tests must catch.

Each function is pasted into the answer cell of the graded function it names; it may use only
the names the notebook's setup cell defines (torch, F, nn, np, utils, QNetwork, Transitions).
"""

# torch comes from the notebook's setup cell; each mutant redefines its function.
# ruff: noqa: F811, F821

from __future__ import annotations

from autograde.mutants import mutant

# ------------------------------------------------------------------ td_targets


@mutant("td_targets", "forgets (1 - terminated): bootstraps past the end of the episode")
def td_targets(rewards, next_values, terminations, gamma):
    return rewards + gamma * next_values


@mutant("td_targets", "masks the whole target: a terminated step gets 0 instead of its reward")
def td_targets(rewards, next_values, terminations, gamma):
    return (rewards + gamma * next_values) * (~terminations).to(next_values.dtype)


@mutant("td_targets", "inverted mask: bootstraps only where the episode terminated")
def td_targets(rewards, next_values, terminations, gamma):
    return rewards + gamma * terminations.to(next_values.dtype) * next_values


@mutant("td_targets", "discounts the reward instead of the next value")
def td_targets(rewards, next_values, terminations, gamma):
    return gamma * rewards + (~terminations).to(next_values.dtype) * next_values


# ------------------------------------------------------------------ q_learning_target


@mutant("q_learning_target", "min instead of max over the next actions")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    worst = next_q_values.min(dim=-1).values
    return rewards + gamma * (~terminations).to(worst.dtype) * worst


@mutant("q_learning_target", "averages the next actions (a uniform-policy SARSA target)")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    average = next_q_values.mean(dim=-1)
    return rewards + gamma * (~terminations).to(average.dtype) * average


@mutant("q_learning_target", "max without dim: one maximum over the whole batch")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    best = next_q_values.max()
    return rewards + gamma * (~terminations).to(best.dtype) * best


@mutant("q_learning_target", "forgets (1 - terminated)")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    return rewards + gamma * next_q_values.max(dim=-1).values


@mutant("q_learning_target", "max of the absolute values: a large negative Q-value wins")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    best = next_q_values.abs().max(dim=-1).values
    return rewards + gamma * (~terminations).to(best.dtype) * best


# ------------------------------------------------------------------ q_actor_critic_update


@mutant("q_actor_critic_update", "does not detach Q(s, a) in the actor loss: it trains the critic")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    q_values = critic(transitions.observations)
    q_taken = q_values.gather(1, transitions.actions.unsqueeze(1)).squeeze(1)
    log_probs = policy.log_prob(transitions.observations, transitions.actions)
    actor_loss = -(log_probs * q_taken).mean()
    with torch.no_grad():
        next_q_values = critic(transitions.next_observations)
        targets = target_fn(transitions.rewards, next_q_values, transitions.terminations, gamma)
    critic_loss = ((q_taken - targets) ** 2).mean()
    optimizer.zero_grad()
    (actor_loss + critic_loss).backward()
    optimizer.step()
    return actor_loss.detach(), critic_loss.detach()


@mutant("q_actor_critic_update", "lets the gradient flow through the TD target")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    q_values = critic(transitions.observations)
    q_taken = q_values.gather(1, transitions.actions.unsqueeze(1)).squeeze(1)
    log_probs = policy.log_prob(transitions.observations, transitions.actions)
    actor_loss = -(log_probs * q_taken.detach()).mean()
    next_q_values = critic(transitions.next_observations)
    targets = target_fn(transitions.rewards, next_q_values, transitions.terminations, gamma)
    critic_loss = ((q_taken - targets) ** 2).mean()
    optimizer.zero_grad()
    (actor_loss + critic_loss).backward()
    optimizer.step()
    return actor_loss.detach(), critic_loss.detach()


@mutant("q_actor_critic_update", "forgets optimizer.zero_grad(): gradients pile up")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    q_values = critic(transitions.observations)
    q_taken = q_values.gather(1, transitions.actions.unsqueeze(1)).squeeze(1)
    log_probs = policy.log_prob(transitions.observations, transitions.actions)
    actor_loss = -(log_probs * q_taken.detach()).mean()
    with torch.no_grad():
        next_q_values = critic(transitions.next_observations)
        targets = target_fn(transitions.rewards, next_q_values, transitions.terminations, gamma)
    critic_loss = ((q_taken - targets) ** 2).mean()
    (actor_loss + critic_loss).backward()
    optimizer.step()
    return actor_loss.detach(), critic_loss.detach()


@mutant("q_actor_critic_update", "sign error: the actor descends Q")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    q_values = critic(transitions.observations)
    q_taken = q_values.gather(1, transitions.actions.unsqueeze(1)).squeeze(1)
    log_probs = policy.log_prob(transitions.observations, transitions.actions)
    actor_loss = (log_probs * q_taken.detach()).mean()
    with torch.no_grad():
        next_q_values = critic(transitions.next_observations)
        targets = target_fn(transitions.rewards, next_q_values, transitions.terminations, gamma)
    critic_loss = ((q_taken - targets) ** 2).mean()
    optimizer.zero_grad()
    (actor_loss + critic_loss).backward()
    optimizer.step()
    return actor_loss.detach(), critic_loss.detach()


@mutant("q_actor_critic_update", "bootstraps from Q(s, .) instead of Q(s', .)")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    q_values = critic(transitions.observations)
    q_taken = q_values.gather(1, transitions.actions.unsqueeze(1)).squeeze(1)
    log_probs = policy.log_prob(transitions.observations, transitions.actions)
    actor_loss = -(log_probs * q_taken.detach()).mean()
    with torch.no_grad():
        targets = target_fn(transitions.rewards, q_values.detach(), transitions.terminations, gamma)
    critic_loss = ((q_taken - targets) ** 2).mean()
    optimizer.zero_grad()
    (actor_loss + critic_loss).backward()
    optimizer.step()
    return actor_loss.detach(), critic_loss.detach()


@mutant("q_actor_critic_update", "weights the actor by max_a Q(s, a) instead of the taken action")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    q_values = critic(transitions.observations)
    q_taken = q_values.gather(1, transitions.actions.unsqueeze(1)).squeeze(1)
    log_probs = policy.log_prob(transitions.observations, transitions.actions)
    actor_loss = -(log_probs * q_values.max(dim=1).values.detach()).mean()
    with torch.no_grad():
        next_q_values = critic(transitions.next_observations)
        targets = target_fn(transitions.rewards, next_q_values, transitions.terminations, gamma)
    critic_loss = ((q_taken - targets) ** 2).mean()
    optimizer.zero_grad()
    (actor_loss + critic_loss).backward()
    optimizer.step()
    return actor_loss.detach(), critic_loss.detach()


# ------------------------------------------------------------------ n_step_returns


@mutant("n_step_returns", "treats a truncation like a termination: no bootstrap")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps = rewards.shape[0]
    ends = terminations | truncations
    not_ended = (~ends).to(next_values.dtype)
    returns = torch.zeros_like(next_values)
    for t in range(num_steps):
        total = torch.zeros_like(next_values[t])
        discount = torch.ones_like(next_values[t])
        num_rewards = min(n, num_steps - t)
        for k in range(num_rewards):
            step = t + k
            total = total + discount * rewards[step]
            stops = ends[step] | (k == num_rewards - 1)
            total = total + stops * discount * gamma * not_ended[step] * next_values[step]
            discount = discount * gamma * ~ends[step]
        returns[t] = total
    return returns


@mutant("n_step_returns", "keeps summing after an episode ends, into the next episode")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps = rewards.shape[0]
    returns = torch.zeros_like(next_values)
    for t in range(num_steps):
        num_rewards = min(n, num_steps - t)
        total = torch.zeros_like(next_values[t])
        for k in range(num_rewards):
            total = total + gamma**k * rewards[t + k]
        last = t + num_rewards - 1
        not_terminal = (~terminations[last]).to(next_values.dtype)
        total = total + gamma**num_rewards * not_terminal * next_values[last]
        returns[t] = total
    return returns


@mutant("n_step_returns", "off by one: bootstraps with gamma^(m-1) instead of gamma^m")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps = rewards.shape[0]
    ends = terminations | truncations
    not_terminal = (~terminations).to(next_values.dtype)
    returns = torch.zeros_like(next_values)
    for t in range(num_steps):
        total = torch.zeros_like(next_values[t])
        discount = torch.ones_like(next_values[t])
        num_rewards = min(n, num_steps - t)
        for k in range(num_rewards):
            step = t + k
            total = total + discount * rewards[step]
            stops = ends[step] | (k == num_rewards - 1)
            total = total + stops * discount * not_terminal[step] * next_values[step]
            discount = discount * gamma * ~ends[step]
        returns[t] = total
    return returns


@mutant("n_step_returns", "no bootstrap where the batch cuts the sum short")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps = rewards.shape[0]
    ends = terminations | truncations
    not_terminal = (~terminations).to(next_values.dtype)
    returns = torch.zeros_like(next_values)
    for t in range(num_steps):
        total = torch.zeros_like(next_values[t])
        discount = torch.ones_like(next_values[t])
        for k in range(n):
            step = t + k
            if step >= num_steps:
                break
            total = total + discount * rewards[step]
            stops = ends[step] | (k == n - 1)
            total = total + stops * discount * gamma * not_terminal[step] * next_values[step]
            discount = discount * gamma * ~ends[step]
        returns[t] = total
    return returns


@mutant("n_step_returns", "stops the sum at terminations only: runs through truncations")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps = rewards.shape[0]
    not_terminal = (~terminations).to(next_values.dtype)
    returns = torch.zeros_like(next_values)
    for t in range(num_steps):
        total = torch.zeros_like(next_values[t])
        discount = torch.ones_like(next_values[t])
        num_rewards = min(n, num_steps - t)
        for k in range(num_rewards):
            step = t + k
            total = total + discount * rewards[step]
            stops = terminations[step] | (k == num_rewards - 1)
            total = total + stops * discount * gamma * not_terminal[step] * next_values[step]
            discount = discount * gamma * ~terminations[step]
        returns[t] = total
    return returns


# ------------------------------------------------------------------ gae


@mutant("gae", "does not reset at episode ends: advantages leak across episodes")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    not_terminal = (~terminations).to(values.dtype)
    deltas = rewards + gamma * not_terminal * next_values - values
    advantages = torch.zeros_like(values)
    carried = torch.zeros_like(values[0])
    for t in reversed(range(rewards.shape[0])):
        carried = deltas[t] + gamma * lam * carried
        advantages[t] = carried
    return advantages


@mutant("gae", "loops forwards in time instead of backwards")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    not_terminal = (~terminations).to(values.dtype)
    continues = (~(terminations | truncations)).to(values.dtype)
    deltas = rewards + gamma * not_terminal * next_values - values
    advantages = torch.zeros_like(values)
    carried = torch.zeros_like(values[0])
    for t in range(rewards.shape[0]):
        carried = deltas[t] + gamma * lam * continues[t] * carried
        advantages[t] = carried
    return advantages


@mutant("gae", "no bootstrap at truncations: deltas masked with done, not terminated")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    continues = (~(terminations | truncations)).to(values.dtype)
    deltas = rewards + gamma * continues * next_values - values
    advantages = torch.zeros_like(values)
    carried = torch.zeros_like(values[0])
    for t in reversed(range(rewards.shape[0])):
        carried = deltas[t] + gamma * lam * continues[t] * carried
        advantages[t] = carried
    return advantages


@mutant("gae", "cuts the chain at terminations only: runs through truncations")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    not_terminal = (~terminations).to(values.dtype)
    deltas = rewards + gamma * not_terminal * next_values - values
    advantages = torch.zeros_like(values)
    carried = torch.zeros_like(values[0])
    for t in reversed(range(rewards.shape[0])):
        carried = deltas[t] + gamma * lam * not_terminal[t] * carried
        advantages[t] = carried
    return advantages


@mutant("gae", "forgets (1 - terminated) in the TD error")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    continues = (~(terminations | truncations)).to(values.dtype)
    deltas = rewards + gamma * next_values - values
    advantages = torch.zeros_like(values)
    carried = torch.zeros_like(values[0])
    for t in reversed(range(rewards.shape[0])):
        carried = deltas[t] + gamma * lam * continues[t] * carried
        advantages[t] = carried
    return advantages


@mutant("gae", "decays the carried advantage by lam only, not gamma * lam")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    not_terminal = (~terminations).to(values.dtype)
    continues = (~(terminations | truncations)).to(values.dtype)
    deltas = rewards + gamma * not_terminal * next_values - values
    advantages = torch.zeros_like(values)
    carried = torch.zeros_like(values[0])
    for t in reversed(range(rewards.shape[0])):
        carried = deltas[t] + lam * continues[t] * carried
        advantages[t] = carried
    return advantages


# ------------------------------------------------------------------ actor_critic_loss


@mutant("actor_critic_loss", "does not detach the advantages: the actor's term trains the critic")
def actor_critic_loss(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
    policy_loss = -(log_probs * advantages).mean()
    value_loss = ((values - returns.detach()) ** 2).mean()
    return policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


@mutant("actor_critic_loss", "wrong sign of the entropy bonus: rewards certainty")
def actor_critic_loss(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
    policy_loss = -(log_probs * advantages.detach()).mean()
    value_loss = ((values - returns.detach()) ** 2).mean()
    return policy_loss + value_coef * value_loss + entropy_coef * entropy.mean()


@mutant("actor_critic_loss", "does not detach the returns (the critic's targets)")
def actor_critic_loss(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
    policy_loss = -(log_probs * advantages.detach()).mean()
    value_loss = ((values - returns) ** 2).mean()
    return policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


@mutant("actor_critic_loss", "sign error on the policy term")
def actor_critic_loss(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
    policy_loss = (log_probs * advantages.detach()).mean()
    value_loss = ((values - returns.detach()) ** 2).mean()
    return policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


@mutant("actor_critic_loss", "forgets value_coef")
def actor_critic_loss(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
    policy_loss = -(log_probs * advantages.detach()).mean()
    value_loss = ((values - returns.detach()) ** 2).mean()
    return policy_loss + value_loss - entropy_coef * entropy.mean()


@mutant("actor_critic_loss", "sums over the batch instead of averaging")
def actor_critic_loss(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
    policy_loss = -(log_probs * advantages.detach()).sum()
    value_loss = ((values - returns.detach()) ** 2).sum()
    return policy_loss + value_coef * value_loss - entropy_coef * entropy.sum()
