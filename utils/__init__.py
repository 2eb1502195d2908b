"""Helper package of the policy-gradients-to-RLHF workbook.

Notebooks import from here; students call these helpers with their own graded functions and
never need to read this code. One module per job:

- ``utils.runtime``: device, seeding, grading/Colab detection
- ``utils.tabular``: small MDPs with exact values and exact policy gradients
- ``utils.envs``: vectorised gymnasium environments with episode statistics
- ``utils.policies``: MLP categorical/Gaussian policies and value networks
- ``utils.rollouts``: collect whole episodes (N, T) or fixed-length steps (T, N) as tensors
- ``utils.history``: ``History``, what a training run measured
- ``utils.train``: training loops that take the student's functions, one scaffold for all of
  them and a config dataclass per trainer
- ``utils.reinforce``: per-step weights on tabular episodes, and the bias and variance of estimators
- ``utils.actor_critic``: the Q critic, transitions and bootstrapped values of notebook 03
- ``utils.importance``: the bonus-room MDP and trust-region constant of notebook 04
- ``utils.lm``: the capstone's world: prompts and responses, a word tokenizer, a tiny
  transformer LM, the hidden gold reward and a noisy labeller (notebook 06)
- ``utils.plots``: learning curves and variance plots
"""

from utils.envs import make_vector_env, observation_dim
from utils.history import History
from utils.plots import plot_learning_curves, plot_variance_bars, plot_variance_vs_samples
from utils.policies import CategoricalPolicy, GaussianPolicy, Policy, ValueNetwork, mlp, policy_for
from utils.rollouts import (
    EpisodeBatch,
    StepBatch,
    StepCollector,
    collect_episodes,
    collect_steps,
)
from utils.runtime import device, is_grading, limit_cpu_threads, on_colab, seed_everything
from utils.tabular import TabularEpisodes, TabularMDP, random_mdp, two_armed_bandit
from utils.train import episode_log_probs, train_reinforce

__all__ = [
    "CategoricalPolicy",
    "EpisodeBatch",
    "GaussianPolicy",
    "History",
    "Policy",
    "StepBatch",
    "StepCollector",
    "TabularEpisodes",
    "TabularMDP",
    "ValueNetwork",
    "collect_episodes",
    "collect_steps",
    "device",
    "episode_log_probs",
    "is_grading",
    "limit_cpu_threads",
    "make_vector_env",
    "mlp",
    "observation_dim",
    "on_colab",
    "plot_learning_curves",
    "plot_variance_bars",
    "plot_variance_vs_samples",
    "policy_for",
    "random_mdp",
    "seed_everything",
    "train_reinforce",
    "two_armed_bandit",
]
