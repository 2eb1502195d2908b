"""utils.train: the REINFORCE loop's contract with the loss function, and that it learns."""

from __future__ import annotations

import pytest
import torch

from utils.policies import CategoricalPolicy
from utils.rollouts import EpisodeBatch
from utils.train import History, ReinforceConfig, episode_log_probs, train_reinforce


def total_return_loss(log_probs: torch.Tensor, batch: EpisodeBatch) -> torch.Tensor:
    """The notebook's REINFORCE: -(sum_t log pi(a_t|s_t) * R(tau)), averaged over episodes."""
    return -(log_probs.sum(1) * batch.returns).mean()


def test_loss_fn_receives_padded_log_probs_with_grad_and_the_batch():
    seen = []

    def loss_fn(log_probs, batch):
        seen.append((log_probs, batch))
        return total_return_loss(log_probs, batch)

    policy = CategoricalPolicy(4, 2, hidden_sizes=(8,))
    history = train_reinforce(
        loss_fn,
        ReinforceConfig(iterations=2, episodes_per_batch=4, num_envs=2, progress=False),
        policy=policy,
    )
    assert len(seen) == 2
    log_probs, batch = seen[-1]
    assert isinstance(batch, EpisodeBatch) and batch.num_episodes == 4
    assert log_probs.shape == batch.mask.shape and log_probs.requires_grad
    assert (log_probs[~batch.mask] == 0).all()
    # the same values the acting policy recorded (this batch was collected before the last step)
    torch.testing.assert_close(log_probs.detach(), batch.log_probs)
    assert history.env_steps[-1] == sum(b.num_steps for _, b in seen)


def test_tiny_run_returns_a_consistent_history():
    history = train_reinforce(
        total_return_loss,
        ReinforceConfig(iterations=3, episodes_per_batch=4, num_envs=4, progress=False),
    )
    assert isinstance(history, History) and len(history) == 3
    columns = history.as_dict()
    assert set(columns) == {"iteration", "env_steps", "mean_return", "loss", "wall_time"}
    assert all(len(values) == 3 for values in columns.values())
    assert history.iteration == [0, 1, 2]
    assert history.env_steps == sorted(history.env_steps) and history.env_steps[0] > 0
    assert history.wall_time == sorted(history.wall_time)
    # CartPole pays 1 per step, so the mean return is the mean episode length (>= 8)
    assert all(value >= 8 for value in history.mean_return)


def test_training_is_reproducible_for_a_seed():
    def run():
        return train_reinforce(
            total_return_loss,
            ReinforceConfig(iterations=2, episodes_per_batch=2, num_envs=2, progress=False),
        ).mean_return

    assert run() == run()


def test_loss_fn_must_return_a_scalar_tensor():
    with pytest.raises(TypeError, match="scalar tensor"):
        train_reinforce(
            lambda log_probs, batch: log_probs.sum(1),
            ReinforceConfig(iterations=1, episodes_per_batch=2, num_envs=2, progress=False),
        )


def categorical_log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The notebook's exercise, written with the same operations as torch's Categorical."""
    log_probs = logits - logits.logsumexp(dim=-1, keepdim=True)
    return log_probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


def test_a_log_prob_fn_equal_to_the_policys_gives_the_same_training():
    def run(**kwargs):
        policy = CategoricalPolicy(4, 2, hidden_sizes=(8,))
        history = train_reinforce(
            total_return_loss,
            ReinforceConfig(iterations=3, episodes_per_batch=4, num_envs=4, progress=False),
            policy=policy,
            **kwargs,
        )
        return history, torch.cat([p.detach().flatten() for p in policy.parameters()])

    torch.manual_seed(0)  # the same initial policy for both runs (train_reinforce seeds after)
    default, default_parameters = run()
    torch.manual_seed(0)
    supplied, supplied_parameters = run(log_prob_fn=categorical_log_prob)
    assert supplied.mean_return == default.mean_return
    assert supplied.loss == default.loss
    torch.testing.assert_close(supplied_parameters, default_parameters)


def test_the_log_prob_fn_is_what_the_loss_sees():
    calls = []

    def halved(logits, actions):  # wrong on purpose, so its use is visible
        calls.append((logits.shape, actions.shape))
        return 0.5 * categorical_log_prob(logits, actions)

    seen = []

    def loss_fn(log_probs, batch):
        seen.append((log_probs, batch))
        return total_return_loss(log_probs, batch)

    train_reinforce(
        loss_fn,
        ReinforceConfig(iterations=1, episodes_per_batch=4, num_envs=4, progress=False),
        policy=CategoricalPolicy(4, 2, hidden_sizes=(8,)),
        log_prob_fn=halved,
    )
    log_probs, batch = seen[0]
    # one call on the real steps only: logits (steps, A), actions (steps,)
    assert calls == [((batch.num_steps, 2), (batch.num_steps,))]
    assert log_probs.requires_grad and (log_probs[~batch.mask] == 0).all()
    # the acting policy recorded the true log-probabilities; the loss saw half of them
    torch.testing.assert_close(log_probs.detach(), 0.5 * batch.log_probs)


def test_log_prob_fn_must_return_one_value_per_step_and_needs_logits():
    policy = CategoricalPolicy(4, 2, hidden_sizes=(8,))
    with pytest.raises(TypeError, match="one log-probability per step"):
        train_reinforce(
            total_return_loss,
            ReinforceConfig(iterations=1, episodes_per_batch=2, num_envs=2, progress=False),
            policy=policy,
            log_prob_fn=lambda logits, actions: torch.log_softmax(logits, dim=-1),
        )
    with pytest.raises(TypeError, match="categorical policy"):
        train_reinforce(
            total_return_loss,
            ReinforceConfig(
                env_id="Pendulum-v1", iterations=1, episodes_per_batch=2, num_envs=2, progress=False
            ),
            log_prob_fn=categorical_log_prob,
        )


def test_episode_log_probs_with_a_log_prob_fn_matches_the_policy():
    from utils.envs import make_vector_env
    from utils.rollouts import collect_episodes

    policy = CategoricalPolicy(4, 2, hidden_sizes=(8,))
    envs = make_vector_env(num_envs=2, seed=3)
    try:
        batch = collect_episodes(envs, policy, 2)
    finally:
        envs.close()
    supplied = episode_log_probs(policy, batch, categorical_log_prob)
    assert supplied.shape == batch.mask.shape and supplied.requires_grad
    torch.testing.assert_close(supplied, episode_log_probs(policy, batch))


def test_gaussian_policy_trains_on_pendulum():
    history = train_reinforce(
        total_return_loss,
        ReinforceConfig(
            env_id="Pendulum-v1", iterations=1, episodes_per_batch=2, num_envs=2, progress=False
        ),
    )
    assert history.env_steps == [400]


@pytest.mark.slow
def test_reinforce_with_total_return_learns_cartpole():
    history = train_reinforce(total_return_loss, ReinforceConfig(progress=False))
    returns = history.mean_return
    best_window = max(sum(returns[i : i + 10]) / 10 for i in range(len(returns) - 9))
    # a uniform policy scores ~22; vanilla REINFORCE is noisy, so judge its best stretch
    assert best_window > 300, returns
    assert sum(returns[-10:]) / 10 > 150, returns


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_training_and_step_collection_run_on_cuda():
    from utils.envs import make_vector_env
    from utils.policies import ValueNetwork
    from utils.rollouts import collect_steps

    policy = CategoricalPolicy(4, 2)
    train_reinforce(
        total_return_loss,
        ReinforceConfig(
            iterations=2, num_envs=2, episodes_per_batch=2, progress=False, device="cuda"
        ),
        policy=policy,
    )
    assert next(policy.parameters()).is_cuda
    value_network = ValueNetwork(4).cuda()
    batch = collect_steps(make_vector_env(num_envs=2), policy, 5, value_fn=value_network)
    assert batch.values.is_cuda and batch.rewards.is_cuda and batch.reset_steps.is_cuda
