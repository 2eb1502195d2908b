"""Mutants and accepted variants of 03_actor_critic.

Mutants are realistic wrong answers its tests must catch; accepted variants are correct answers
written the ways students write them (``.float()`` masks, ``torch.where``, loops instead of
vectorised code, slow per-environment Python loops like the hidden references, ``gather`` or
indexing, ``F.mse_loss``, ``sum() / n``), which must keep their points. Each function is pasted
into the answer cell of the graded function it names; it may use only the names the notebook's
setup cell defines (torch, F, nn, np, utils, QNetwork, Transitions).
"""

# torch, F and np come from the notebook's setup cell; each entry redefines its function.
# ruff: noqa: F811, F821

from __future__ import annotations

from autograde.mutants import accepted, mutant

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


@mutant("td_targets", "builds the targets in torch.zeros(shape): float32 whatever the inputs")
def td_targets(rewards, next_values, terminations, gamma):
    targets = torch.zeros(rewards.shape)
    targets[:] = rewards + gamma * (~terminations).float() * next_values
    return targets


@accepted("td_targets", "a float32 mask from .float() times float64 values")
def td_targets(rewards, next_values, terminations, gamma):
    return rewards + gamma * (~terminations).float() * next_values


@accepted("td_targets", "1.0 - terminations.float() as the mask")
def td_targets(rewards, next_values, terminations, gamma):
    return rewards + gamma * (1.0 - terminations.float()) * next_values


@accepted("td_targets", "torch.where(terminations, rewards, bootstrapped)")
def td_targets(rewards, next_values, terminations, gamma):
    return torch.where(terminations, rewards, rewards + gamma * next_values)


@accepted("td_targets", "masked_fill of the next values, then r + gamma * V")
def td_targets(rewards, next_values, terminations, gamma):
    return rewards + gamma * next_values.masked_fill(terminations, 0.0)


@accepted("td_targets", "a Python loop over every element")
def td_targets(rewards, next_values, terminations, gamma):
    targets = rewards.clone()
    for index in np.ndindex(*rewards.shape):
        if not terminations[index]:
            targets[index] = rewards[index] + gamma * next_values[index]
    return targets


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


@mutant("q_learning_target", "max over dim 0: over the batch, not over the actions")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    best = next_q_values.max(dim=0).values
    return rewards + gamma * (~terminations).to(best.dtype) * best


@mutant("q_learning_target", "a loop into torch.zeros(B): float32 whatever the inputs")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    targets = torch.zeros(rewards.shape[0])
    for i in range(rewards.shape[0]):
        targets[i] = rewards[i]
        if not terminations[i]:
            targets[i] += gamma * next_q_values[i].max()
    return targets


@accepted("q_learning_target", ".max(dim=1)[0] and a float32 mask from .float()")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    return rewards + gamma * (~terminations).float() * next_q_values.max(dim=1)[0]


@accepted("q_learning_target", "torch.amax over the last axis and torch.where")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    best = torch.amax(next_q_values, dim=-1)
    return torch.where(terminations, rewards, rewards + gamma * best)


@accepted("q_learning_target", "multiplies by the bool tensor ~terminations directly")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    return rewards + gamma * next_q_values.max(-1).values * ~terminations


@accepted("q_learning_target", "a loop over the transitions into torch.zeros_like(rewards)")
def q_learning_target(rewards, next_q_values, terminations, gamma):
    targets = torch.zeros_like(rewards)
    for i in range(len(rewards)):
        if terminations[i]:
            targets[i] = rewards[i]
        else:
            targets[i] = rewards[i] + gamma * max(next_q_values[i])
    return targets


# ------------------------------------------------------------------ expected_sarsa_target


@mutant("expected_sarsa_target", "takes the max over the next actions: the Q-learning target")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    best = next_q_values.max(dim=-1).values
    return rewards + gamma * (~terminations).to(best.dtype) * best


@mutant("expected_sarsa_target", "averages the next Q-values uniformly, ignoring the policy")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    average = next_q_values.mean(dim=-1)
    return rewards + gamma * (~terminations).to(average.dtype) * average


@mutant("expected_sarsa_target", "sums pi * Q over dim 0 (the batch), not over the actions")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    expected = (next_probs * next_q_values).sum(dim=0)
    return rewards + gamma * (~terminations).to(expected.dtype) * expected


@mutant("expected_sarsa_target", "forgets (1 - terminated)")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    return rewards + gamma * (next_probs * next_q_values).sum(dim=-1)


@mutant("expected_sarsa_target", "samples a' ~ pi (a SARSA target) instead of the expectation")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    next_actions = torch.multinomial(next_probs, 1)
    sampled = next_q_values.gather(-1, next_actions).squeeze(-1)
    return rewards + gamma * (~terminations).to(sampled.dtype) * sampled


@mutant("expected_sarsa_target", "a loop into torch.zeros(B): float32 whatever the inputs")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    targets = torch.zeros(rewards.shape[0])
    for i in range(rewards.shape[0]):
        targets[i] = rewards[i]
        if not terminations[i]:
            targets[i] += gamma * (next_probs[i] * next_q_values[i]).sum()
    return targets


@accepted("expected_sarsa_target", "(pi * Q).sum(dim=1) and a float32 mask from .float()")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    expected = (next_probs * next_q_values).sum(dim=1)
    return rewards + gamma * (~terminations).float() * expected


@accepted("expected_sarsa_target", "torch.einsum and torch.where")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    expected = torch.einsum("ba,ba->b", next_probs, next_q_values)
    return torch.where(terminations, rewards, rewards + gamma * expected)


@accepted("expected_sarsa_target", "a batched matrix product (B, 1, A) @ (B, A, 1)")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    expected = (next_probs.unsqueeze(1) @ next_q_values.unsqueeze(2)).squeeze(2).squeeze(1)
    return rewards + gamma * (1.0 - terminations.float()) * expected


@accepted("expected_sarsa_target", "a loop over the actions")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    expected = torch.zeros_like(rewards)
    for action in range(next_q_values.shape[1]):
        expected = expected + next_probs[:, action] * next_q_values[:, action]
    return rewards + gamma * expected * ~terminations


@accepted("expected_sarsa_target", "a loop over the transitions with torch.dot")
def expected_sarsa_target(rewards, next_q_values, next_probs, terminations, gamma):
    targets = rewards.clone()
    for i in range(len(rewards)):
        if not terminations[i]:
            targets[i] = rewards[i] + gamma * torch.dot(next_probs[i], next_q_values[i])
    return targets


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


@mutant("q_actor_critic_update", "returns the losses still attached to the graph, not detached")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    q_values = critic(transitions.observations)
    q_taken = q_values.gather(1, transitions.actions.unsqueeze(1)).squeeze(1)
    log_probs = policy.log_prob(transitions.observations, transitions.actions)
    actor_loss = -(log_probs * q_taken.detach()).mean()
    with torch.no_grad():
        next_q_values = critic(transitions.next_observations)
        targets = target_fn(transitions.rewards, next_q_values, transitions.terminations, gamma)
    critic_loss = ((q_taken - targets) ** 2).mean()
    optimizer.zero_grad()
    (actor_loss + critic_loss).backward()
    optimizer.step()
    return actor_loss, critic_loss


@accepted("q_actor_critic_update", "advanced indexing for Q(s, a), F.mse_loss, .detach() target")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    rows = torch.arange(len(transitions.actions))
    q_taken = critic(transitions.observations)[rows, transitions.actions]
    log_probs = policy.log_prob(transitions.observations, transitions.actions)
    actor_loss = -torch.mean(log_probs * q_taken.detach())
    next_q_values = critic(transitions.next_observations).detach()
    targets = target_fn(transitions.rewards, next_q_values, transitions.terminations, gamma)
    critic_loss = F.mse_loss(q_taken, targets.detach())
    optimizer.zero_grad()
    loss = actor_loss + critic_loss
    loss.backward()
    optimizer.step()
    return actor_loss.detach(), critic_loss.detach()


@accepted("q_actor_critic_update", "two backward calls (one per loss), then one optimiser step")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    optimizer.zero_grad()
    q_values = critic(transitions.observations)
    q_taken = q_values.gather(1, transitions.actions.unsqueeze(1)).squeeze(1)
    log_probs = policy.log_prob(transitions.observations, transitions.actions)
    actor_loss = -(log_probs * q_taken.detach()).mean()
    actor_loss.backward()
    with torch.no_grad():
        targets = target_fn(
            transitions.rewards,
            critic(transitions.next_observations),
            transitions.terminations,
            gamma,
        )
    critic_loss = ((q_taken - targets) ** 2).mean()
    critic_loss.backward()
    optimizer.step()
    return actor_loss.detach(), critic_loss.detach()


@accepted("q_actor_critic_update", "log_softmax of the logits, sums over n, Q copied under no_grad")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    n = transitions.actions.shape[0]
    actions = transitions.actions.unsqueeze(-1)
    log_probs = torch.log_softmax(policy(transitions.observations), dim=-1)
    log_probs = log_probs.gather(-1, actions).squeeze(-1)
    q_taken = critic(transitions.observations).gather(-1, actions).squeeze(-1)
    with torch.no_grad():
        next_q_values = critic(transitions.next_observations)
        targets = target_fn(transitions.rewards, next_q_values, transitions.terminations, gamma)
        weights = q_taken.clone()
    actor_loss = -(log_probs * weights).sum() / n
    critic_loss = ((q_taken - targets) ** 2).sum() / n
    optimizer.zero_grad()
    (actor_loss + critic_loss).backward()
    optimizer.step()
    return actor_loss.detach().clone(), critic_loss.detach().clone()


@accepted("q_actor_critic_update", "torch.distributions.Categorical for log pi(a | s)")
def q_actor_critic_update(policy, critic, optimizer, transitions, gamma, target_fn):
    distribution = torch.distributions.Categorical(logits=policy(transitions.observations))
    log_probs = distribution.log_prob(transitions.actions)
    q_values = critic(transitions.observations)
    q_taken = q_values[range(len(transitions.actions)), transitions.actions]
    with torch.no_grad():
        next_q_values = critic(transitions.next_observations)
    targets = target_fn(transitions.rewards, next_q_values, transitions.terminations, gamma)
    actor_loss = -(log_probs * q_taken.detach()).mean()
    critic_loss = (q_taken - targets).pow(2).mean()
    optimizer.zero_grad(set_to_none=True)
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


@mutant("n_step_returns", "builds the returns in torch.zeros(T, N): float32 whatever the inputs")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps, num_envs = rewards.shape
    ends = terminations | truncations
    returns = torch.zeros(num_steps, num_envs)
    for t in range(num_steps):
        total = torch.zeros_like(next_values[t])
        discount = torch.ones_like(next_values[t])
        num_rewards = min(n, num_steps - t)
        for k in range(num_rewards):
            step = t + k
            total = total + discount * rewards[step]
            stops = ends[step] | (k == num_rewards - 1)
            total = total + stops * discount * gamma * ~terminations[step] * next_values[step]
            discount = discount * gamma * ~ends[step]
        returns[t] = total
    return returns


@mutant("n_step_returns", "writes the returns into the rewards tensor (returns = rewards)")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps = rewards.shape[0]
    ends = terminations | truncations
    not_terminal = (~terminations).to(next_values.dtype)
    returns = rewards  # an alias, not a copy: every write below changes the caller's rewards
    for t in range(num_steps):
        total = torch.zeros_like(next_values[t])
        discount = torch.ones_like(next_values[t])
        num_rewards = min(n, num_steps - t)
        for k in range(num_rewards):
            step = t + k
            total = total + discount * rewards[step]
            stops = ends[step] | (k == num_rewards - 1)
            total = total + stops * discount * gamma * not_terminal[step] * next_values[step]
            discount = discount * gamma * ~ends[step]
        returns[t] = total
    return returns


@accepted("n_step_returns", "a plain Python loop over every (env, t, k): slow but right")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps, num_envs = rewards.shape
    returns = torch.zeros_like(rewards)
    for env in range(num_envs):
        for t in range(num_steps):
            total = 0.0
            for k in range(n):
                step = t + k
                total += gamma**k * rewards[step, env]
                if terminations[step, env]:
                    break  # nothing follows a terminal state
                if truncations[step, env] or k == n - 1 or step == num_steps - 1:
                    total += gamma ** (k + 1) * next_values[step, env]
                    break
            returns[t, env] = total
    return returns


@accepted("n_step_returns", "the solution's double loop with float32 masks from .float()")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps = rewards.shape[0]
    ends = (terminations | truncations).float()
    not_terminal = (~terminations).float()
    returns = torch.zeros_like(next_values)
    for t in range(num_steps):
        total = torch.zeros_like(next_values[t])
        discount = torch.ones_like(next_values[t])
        num_rewards = min(n, num_steps - t)
        for k in range(num_rewards):
            step = t + k
            total = total + discount * rewards[step]
            stops = ends[step] if k < num_rewards - 1 else torch.ones_like(ends[step])
            total = total + stops * discount * gamma * not_terminal[step] * next_values[step]
            discount = discount * gamma * (1.0 - ends[step])
        returns[t] = total
    return returns


@accepted("n_step_returns", "vectorised over (t, env): one pass per k over shifted slices")
def n_step_returns(rewards, next_values, terminations, truncations, gamma, n):
    num_steps = rewards.shape[0]
    ends = terminations | truncations
    returns = torch.zeros_like(rewards)
    alive = torch.ones_like(rewards)  # 1 while the sum that started at t is still running
    for k in range(min(n, num_steps)):
        rows = num_steps - k  # the sums starting at t = 0 .. T - k - 1 reach step t + k
        running = alive[:rows]
        returns[:rows] += running * gamma**k * rewards[k:]
        stops = ends[k:].clone()
        stops[-1] = True  # step T - 1 is the end of the batch
        if k == n - 1:
            stops[:] = True
        bootstrap = torch.where(terminations[k:], 0.0, next_values[k:])
        returns[:rows] += running * stops * gamma ** (k + 1) * bootstrap
        alive[:rows] = running * ~stops
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


@mutant("gae", "builds the advantages in torch.zeros(T, N): float32 whatever the inputs")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    not_terminal = (~terminations).to(values.dtype)
    continues = (~(terminations | truncations)).to(values.dtype)
    deltas = rewards + gamma * not_terminal * next_values - values
    advantages = torch.zeros(rewards.shape)
    carried = torch.zeros_like(values[0])
    for t in reversed(range(rewards.shape[0])):
        carried = deltas[t] + gamma * lam * continues[t] * carried
        advantages[t] = carried
    return advantages


@mutant("gae", "computes the TD errors in place in the caller's rewards (rewards += ...)")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    deltas = rewards  # an alias: the in-place updates below change the caller's rewards
    deltas += gamma * (~terminations).to(values.dtype) * next_values
    deltas -= values
    continues = (~(terminations | truncations)).to(values.dtype)
    advantages = torch.zeros_like(values)
    carried = torch.zeros_like(values[0])
    for t in reversed(range(rewards.shape[0])):
        carried = deltas[t] + gamma * lam * continues[t] * carried
        advantages[t] = carried
    return advantages


@accepted("gae", "float32 masks from (~terminations).float(), as the notebook's text suggests")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    not_terminal = (~terminations).float()
    not_done = (~(terminations | truncations)).float()
    deltas = rewards + gamma * not_terminal * next_values - values
    advantages = torch.zeros_like(values)
    last_advantage = 0.0
    for t in reversed(range(rewards.shape[0])):
        last_advantage = deltas[t] + gamma * lam * not_done[t] * last_advantage
        advantages[t] = last_advantage
    return advantages


@accepted("gae", "1.0 - flag.float() masks, torch.where for the bootstrap, list + torch.stack")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    dones = torch.logical_or(terminations, truncations)
    deltas = rewards + gamma * torch.where(terminations, 0, next_values) - values
    advantages = []
    running = torch.zeros_like(values[-1])
    for t in range(len(rewards) - 1, -1, -1):
        running = deltas[t] + gamma * lam * (1.0 - dones[t].float()) * running
        advantages.append(running)
    return torch.stack(advantages[::-1])


@accepted("gae", "forward double loop: A_t = sum_k (gamma lam)^k delta_{t+k} until the end")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    num_steps = rewards.shape[0]
    dones = terminations | truncations
    deltas = rewards + gamma * (~terminations) * next_values - values
    advantages = torch.zeros_like(deltas)
    for t in range(num_steps):
        weight = torch.ones_like(deltas[t])  # (gamma lam)^k while step t's episode goes on
        for k in range(num_steps - t):
            advantages[t] += weight * deltas[t + k]
            weight = weight * gamma * lam * ~dones[t + k]
    return advantages


@accepted("gae", "a plain Python loop over every (env, t): slow but right")
def gae(rewards, values, next_values, terminations, truncations, gamma, lam):
    num_steps, num_envs = rewards.shape
    advantages = torch.zeros_like(values)
    for env in range(num_envs):
        next_advantage = 0.0
        for t in reversed(range(num_steps)):
            if terminations[t, env]:
                delta = rewards[t, env] - values[t, env]
            else:
                delta = rewards[t, env] + gamma * next_values[t, env] - values[t, env]
            if terminations[t, env] or truncations[t, env]:
                next_advantage = 0.0
            advantages[t, env] = delta + gamma * lam * next_advantage
            next_advantage = advantages[t, env]
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


@accepted("actor_critic_loss", "F.mse_loss for the value term")
def actor_critic_loss(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
    policy_loss = -torch.mean(log_probs * advantages.detach())
    value_loss = F.mse_loss(values, returns.detach())
    return policy_loss + value_coef * value_loss - entropy_coef * torch.mean(entropy)


@accepted("actor_critic_loss", "sums divided by the batch size instead of mean()")
def actor_critic_loss(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
    batch_size = log_probs.shape[0]
    policy_loss = -(log_probs * advantages.detach()).sum() / batch_size
    value_loss = (values - returns.detach()).pow(2).sum() / batch_size
    entropy_bonus = entropy.sum() / batch_size
    return policy_loss + value_coef * value_loss - entropy_coef * entropy_bonus


@accepted("actor_critic_loss", "copies advantages and returns under torch.no_grad()")
def actor_critic_loss(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef):
    with torch.no_grad():
        weights, targets = advantages.clone(), returns.clone()
    loss = -(log_probs * weights).mean()
    loss = loss + value_coef * ((targets - values) ** 2).mean()
    loss = loss - entropy_coef * entropy.mean()
    return loss
