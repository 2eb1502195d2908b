"""Small finite-horizon tabular MDPs with exact values and exact policy gradients.

Notebooks use these to check gradient estimators against the truth: on a tabular MDP the
expected return J(theta) and its gradient can be computed exactly by dynamic programming, so an
estimator's bias and variance can be measured instead of guessed.

Conventions (S states, A actions, horizon H):

- The policy is a tabular softmax with parameters ``logits`` of shape (S, A), the same at every
  time step: pi(a | s) = softmax(logits[s])[a].
- Every episode has exactly H steps t = 0, ..., H-1: s_0 ~ initial, a_t ~ pi(. | s_t),
  reward r(s_t, a_t), s_{t+1} ~ P(. | s_t, a_t). There is no terminal state.
- J(theta) = E[ sum_{t=0}^{H-1} gamma^t r(s_t, a_t) ].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "TabularEpisodes",
    "TabularMDP",
    "random_mdp",
    "two_armed_bandit",
]


@dataclass(frozen=True)
class TabularEpisodes:
    """N sampled episodes of an H-step tabular MDP.

    Attributes:
        states: (N, H) long, s_t.
        actions: (N, H) long, a_t.
        rewards: (N, H) float64, r(s_t, a_t).
        next_states: (N, H) long, s_{t+1} (so ``next_states[:, -1]`` is the final state s_H).
        gamma: the discount of the MDP that produced them (the default for ``returns``).
    """

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    gamma: float = 1.0

    @property
    def num_episodes(self) -> int:
        return self.states.shape[0]

    @property
    def horizon(self) -> int:
        return self.states.shape[1]

    def returns(self, gamma: float | None = None) -> torch.Tensor:
        """Discounted return of each episode, sum_t gamma^t r_t, shape (N,).

        ``gamma`` defaults to the MDP's own discount, so ``returns().mean()`` estimates
        ``mdp.objective(logits)``.
        """
        gamma = self.gamma if gamma is None else gamma
        discounts = gamma ** torch.arange(self.horizon, dtype=self.rewards.dtype)
        return (self.rewards * discounts).sum(dim=1)


@dataclass(frozen=True)
class TabularMDP:
    """A finite-horizon MDP with S states and A actions.

    Attributes:
        transitions: (S, A, S) float64, ``transitions[s, a, s2]`` = P(s_{t+1}=s2 | s_t=s, a_t=a).
        rewards: (S, A) float64, the deterministic reward r(s, a).
        initial: (S,) float64, the start distribution mu(s_0).
        horizon: H, the number of steps of every episode.
        gamma: discount factor applied as gamma^t to the reward of step t.

    Array-likes (NumPy arrays, lists) are converted to float64 CPU tensors and checked.
    """

    transitions: torch.Tensor
    rewards: torch.Tensor
    initial: torch.Tensor
    horizon: int
    gamma: float = 1.0

    def __post_init__(self) -> None:
        # frozen dataclass: convert the inputs in place through object.__setattr__
        for name in ("transitions", "rewards", "initial"):
            value = torch.as_tensor(getattr(self, name), dtype=torch.float64).cpu()
            object.__setattr__(self, name, value)
        num_states, num_actions = self.rewards.shape
        if self.transitions.shape != (num_states, num_actions, num_states):
            raise ValueError(
                f"transitions must have shape (S, A, S) = {(num_states, num_actions, num_states)}"
                f", got {tuple(self.transitions.shape)}"
            )
        if self.initial.shape != (num_states,):
            raise ValueError(f"initial must have shape ({num_states},), got {self.initial.shape}")
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {self.horizon}")
        for name, probabilities in (("transitions", self.transitions), ("initial", self.initial)):
            if (probabilities < 0).any() or not torch.allclose(
                probabilities.sum(-1), torch.ones((), dtype=torch.float64)
            ):
                raise ValueError(f"{name} must be non-negative and sum to 1 over the last axis")

    @property
    def num_states(self) -> int:
        return self.rewards.shape[0]

    @property
    def num_actions(self) -> int:
        return self.rewards.shape[1]

    # ------------------------------------------------------------------ policy

    def policy(self, logits: torch.Tensor) -> torch.Tensor:
        """Action probabilities pi(a | s) of the softmax policy, shape (S, A)."""
        self._check_logits(logits)
        return torch.softmax(logits, dim=-1)

    def _check_logits(self, logits: torch.Tensor) -> None:
        if logits.shape != (self.num_states, self.num_actions):
            raise ValueError(
                f"logits must have shape (S, A) = {(self.num_states, self.num_actions)}, "
                f"got {tuple(logits.shape)}"
            )

    def _tables(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The MDP's tables in the dtype and on the device of ``logits``."""
        return (
            self.transitions.to(logits),
            self.rewards.to(logits),
            self.initial.to(logits),
        )

    # ------------------------------------------------------------------ exact quantities

    def q_values(self, logits: torch.Tensor) -> torch.Tensor:
        """Time-dependent action values Q_t(s, a), shape (H, S, A). Differentiable.

        Q_t(s, a) = E[ sum_{k=t}^{H-1} gamma^(k-t) r_k | s_t = s, a_t = a ], the discounted
        return from step t on (discounted as seen from t, so Q_{H-1}(s, a) = r(s, a)).
        Computed by backward induction: Q_t = r + gamma * P V_{t+1}, with V_H = 0.
        """
        probabilities = self.policy(logits)
        transitions, rewards, _ = self._tables(logits)
        next_values = torch.zeros(self.num_states, dtype=logits.dtype, device=logits.device)
        q_per_step = []
        for _ in range(self.horizon):
            q = rewards + self.gamma * transitions @ next_values  # (S, A)
            q_per_step.append(q)
            next_values = (probabilities * q).sum(dim=-1)
        # we built Q_{H-1}, ..., Q_0: reverse into time order
        return torch.stack(q_per_step[::-1])

    def values(self, logits: torch.Tensor) -> torch.Tensor:
        """Time-dependent state values V_t(s) = sum_a pi(a|s) Q_t(s, a), shape (H, S)."""
        return (self.policy(logits) * self.q_values(logits)).sum(dim=-1)

    def objective(self, logits: torch.Tensor) -> torch.Tensor:
        """The expected discounted return J(theta) = sum_s mu(s) V_0(s), a scalar tensor.

        Exact (backward induction) and differentiable with autograd.
        """
        _, _, initial = self._tables(logits)
        return initial @ self.values(logits)[0]

    def state_distributions(self, logits: torch.Tensor) -> torch.Tensor:
        """d_t(s) = P(s_t = s) under the policy, shape (H, S); each row sums to 1.

        Computed forward in time: d_0 = mu, d_{t+1}(s') = sum_{s,a} d_t(s) pi(a|s) P(s'|s,a).
        """
        probabilities = self.policy(logits)
        transitions, _, initial = self._tables(logits)
        distributions = [initial]
        for _ in range(self.horizon - 1):
            state_action = distributions[-1][:, None] * probabilities  # (S, A) = P(s_t, a_t)
            distributions.append(torch.einsum("sa,sat->t", state_action, transitions))
        return torch.stack(distributions)

    def exact_gradient(self, logits: torch.Tensor) -> torch.Tensor:
        """The exact policy gradient dJ/dlogits, shape (S, A), computed WITHOUT autograd.

        Policy gradient theorem for a finite horizon:
            grad J = sum_t gamma^t sum_s d_t(s) sum_a pi(a|s) Q_t(s, a) grad log pi(a|s).
        For a softmax, d log pi(a|s) / d logits[s, b] = 1[a = b] - pi(b|s), so the sum over
        actions collapses to pi(b|s) (Q_t(s, b) - V_t(s)): the gradient of each logit is its
        probability times its advantage, weighted by how often (and how early) s is visited.
        This is an independent check on ``objective`` + autograd.
        """
        with torch.no_grad():
            logits = logits.detach()
            probabilities = self.policy(logits)
            q = self.q_values(logits)  # (H, S, A)
            v = (probabilities * q).sum(dim=-1, keepdim=True)  # (H, S, 1)
            visits = self.state_distributions(logits)  # (H, S)
            discounts = self.gamma ** torch.arange(
                self.horizon, dtype=logits.dtype, device=logits.device
            )
            weights = discounts[:, None] * visits  # (H, S)
            return (weights[:, :, None] * probabilities * (q - v)).sum(dim=0)

    # ------------------------------------------------------------------ sampling

    def sample(
        self,
        logits: torch.Tensor,
        num_episodes: int,
        generator: torch.Generator | None = None,
    ) -> TabularEpisodes:
        """Sample ``num_episodes`` episodes of the softmax policy, all at once.

        Args:
            logits: (S, A) policy parameters (not differentiated through).
            num_episodes: N.
            generator: optional CPU ``torch.Generator`` for reproducible samples.

        Returns:
            TabularEpisodes with (N, H) tensors on the CPU.
        """
        probabilities = self.policy(logits.detach()).to("cpu", torch.float64)
        states = torch.empty(num_episodes, self.horizon, dtype=torch.long)
        actions = torch.empty_like(states)
        next_states = torch.empty_like(states)
        state = torch.multinomial(self.initial, num_episodes, replacement=True, generator=generator)
        for t in range(self.horizon):
            action = torch.multinomial(probabilities[state], 1, generator=generator).squeeze(1)
            next_state = torch.multinomial(
                self.transitions[state, action], 1, generator=generator
            ).squeeze(1)
            states[:, t], actions[:, t], next_states[:, t] = state, action, next_state
            state = next_state
        return TabularEpisodes(
            states=states,
            actions=actions,
            rewards=self.rewards[states, actions],
            next_states=next_states,
            gamma=self.gamma,
        )

    def policy_log_probs(self, logits: torch.Tensor, episodes: TabularEpisodes) -> torch.Tensor:
        """log pi(a_t | s_t) for every step, shape (N, H). Differentiable w.r.t. ``logits``."""
        self._check_logits(logits)
        log_probabilities = torch.log_softmax(logits, dim=-1)
        states = episodes.states.to(logits.device)
        actions = episodes.actions.to(logits.device)
        return log_probabilities[states, actions]

    def dynamics_log_probs(self, episodes: TabularEpisodes) -> torch.Tensor:
        """The environment's share of log p(trajectory), shape (N, H), float64.

        Element t is log P(s_{t+1} | s_t, a_t); element 0 also includes log mu(s_0). Hence
            policy_log_probs(...).sum(1) + dynamics_log_probs(...).sum(1)
        is the log-probability of the whole trajectory (s_0, a_0, s_1, ..., a_{H-1}, s_H).
        """
        log_probs = torch.log(
            self.transitions[episodes.states, episodes.actions, episodes.next_states]
        )
        log_probs[:, 0] += torch.log(self.initial[episodes.states[:, 0]])
        return log_probs


# ---------------------------------------------------------------------- ready-made MDPs


def random_mdp(
    num_states: int = 4,
    num_actions: int = 3,
    horizon: int = 5,
    gamma: float = 1.0,
    seed: int = 0,
) -> TabularMDP:
    """A random but well-behaved MDP, the same for the same arguments.

    Transitions and the start distribution are Dirichlet(1) draws mixed with a little uniform
    mass, so every transition has probability at least ~0.05 / S (log-probabilities stay finite
    and every state is reachable). Rewards are standard normal per (s, a), so different actions
    clearly differ and the policy gradient is far from zero.
    """
    rng = np.random.default_rng(seed)
    uniform_mass = 0.05
    transitions = rng.dirichlet(np.ones(num_states), size=(num_states, num_actions))
    transitions = (1 - uniform_mass) * transitions + uniform_mass / num_states
    initial = (1 - uniform_mass) * rng.dirichlet(np.ones(num_states)) + uniform_mass / num_states
    rewards = rng.standard_normal((num_states, num_actions))
    return TabularMDP(
        transitions=torch.from_numpy(transitions),
        rewards=torch.from_numpy(rewards),
        initial=torch.from_numpy(initial),
        horizon=horizon,
        gamma=gamma,
    )


def two_armed_bandit(reward_left: float = 1.0, reward_right: float = 0.0) -> TabularMDP:
    """One state, two actions, one step: J = pi(left) * reward_left + pi(right) * reward_right.

    The smallest case with a known answer: with logits (l, r) the gradient is
    pi_left * pi_right * (reward_left - reward_right) * (+1, -1).
    """
    return TabularMDP(
        transitions=torch.ones(1, 2, 1, dtype=torch.float64),
        rewards=torch.tensor([[reward_left, reward_right]], dtype=torch.float64),
        initial=torch.ones(1, dtype=torch.float64),
        horizon=1,
    )
