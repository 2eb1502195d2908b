"""Training loops that take the student's functions: one scaffold, one config per trainer.

Every trainer is only its algorithm: the plumbing they share (seeding, device, vector
environments, progress bar, clock, NaN checks, ``History``) is ``scaffold.Run``, and each has a
frozen config dataclass with a help string per field (``describe(config)`` prints them)::

    from utils.train import A2CConfig, describe, train_a2c
    history = train_a2c(actor_critic_loss, gae, A2CConfig(total_steps=50_000, seed=1))

The student's functions come in as arguments; ``utils`` never imports a notebook.
"""

from utils.history import History
from utils.train.actor_critic import (
    A2CConfig,
    QActorCriticConfig,
    train_a2c,
    train_q_actor_critic,
)
from utils.train.config import RunConfig, describe, option
from utils.train.policy_gradient import PolicyGradientConfig, train_policy_gradient
from utils.train.ppo import PPOConfig, Rollout, RolloutCollector, train_ppo
from utils.train.reinforce import (
    LogProbFunction,
    ReinforceConfig,
    ReinforceLoss,
    episode_log_probs,
    train_reinforce,
)
from utils.train.rlhf import (
    BestOfN,
    BestOfNConfig,
    DPOConfig,
    LMRunConfig,
    PPOFunctions,
    PPOStep,
    RewardModelConfig,
    RLHFModels,
    RLHFPPOConfig,
    SFTConfig,
    best_of_n,
    evaluate_policy,
    response_scores,
    reward_model_scores,
    token_log_probs,
    train_dpo,
    train_reward_model,
    train_rlhf_ppo,
    train_sft,
)
from utils.train.scaffold import ReturnTracker, Run, explained_variance
from utils.train.trpo import TRPOConfig, train_trpo

__all__ = [
    "A2CConfig",
    "History",
    "LogProbFunction",
    "PolicyGradientConfig",
    "QActorCriticConfig",
    "ReinforceConfig",
    "ReinforceLoss",
    "ReturnTracker",
    "Run",
    "RunConfig",
    "describe",
    "episode_log_probs",
    "explained_variance",
    "option",
    "train_a2c",
    "train_policy_gradient",
    "train_q_actor_critic",
    "train_reinforce",
    # the RLHF capstone (notebook 06)
    "BestOfN",
    "BestOfNConfig",
    "DPOConfig",
    "LMRunConfig",
    "PPOFunctions",
    "PPOStep",
    "RLHFModels",
    "RLHFPPOConfig",
    "RewardModelConfig",
    "SFTConfig",
    "best_of_n",
    "evaluate_policy",
    "response_scores",
    "reward_model_scores",
    "token_log_probs",
    "train_dpo",
    "train_reward_model",
    "train_rlhf_ppo",
    "train_sft",
    # PPO and TRPO (notebook 05)
    "PPOConfig",
    "Rollout",
    "RolloutCollector",
    "TRPOConfig",
    "train_ppo",
    "train_trpo",
]
