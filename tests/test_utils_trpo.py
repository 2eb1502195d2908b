"""utils.train.trpo: the pieces the notebook's functions receive, and that the updates keep the
trust region (with the solution's functions, loaded from the notebooks)."""

from __future__ import annotations

import pytest
import torch

from autograde.reference import solution_functions
from utils.train import TRPOConfig, train_trpo


@pytest.fixture(scope="module")
def trpo():
    return solution_functions("05_trpo_ppo")


@pytest.fixture(scope="module")
def gae():
    return solution_functions("03_actor_critic").gae


def functions(trpo, gae, **replaced):
    chosen = dict(
        flat_grad_fn=trpo.flat_grad,
        fisher_vector_product_fn=trpo.fisher_vector_product,
        conjugate_gradient_fn=trpo.conjugate_gradient,
        natural_step_fn=trpo.natural_step,
        line_search_fn=trpo.line_search,
        advantage_fn=gae,
    )
    chosen.update(replaced)
    return chosen


def test_every_update_stays_in_the_trust_region(trpo, gae):
    config = TRPOConfig(total_steps=4 * 1024, max_kl=0.005, progress=False)
    history = train_trpo(**functions(trpo, gae), config=config)
    assert len(history) == 4
    assert all(0 < kl <= 0.005 for kl in history.extra["approx_kl"])
    assert all(0 <= f <= 1 + 1e-6 for f in history.extra["step_fraction"])
    assert all(loss < 0 for loss in history.loss)  # the surrogate improved


def test_the_line_search_gets_the_settings_and_its_result_is_kept(trpo, gae):
    seen = []

    def recording_line_search(surrogate_fn, kl_fn, parameters, full_step, max_kl, shrink, tries):
        seen.append((max_kl, shrink, tries))
        assert kl_fn(parameters).item() == pytest.approx(0.0, abs=1e-9)
        return parameters  # reject every step: the policy must not move

    config = TRPOConfig(total_steps=2 * 1024, shrink=0.7, max_backtracks=3, progress=False)
    history = train_trpo(
        **functions(trpo, gae, line_search_fn=recording_line_search), config=config
    )
    assert seen == [(0.01, 0.7, 3)] * 2
    assert history.extra["step_fraction"] == [0.0, 0.0]
    assert all(kl == pytest.approx(0.0, abs=1e-9) for kl in history.extra["approx_kl"])


def test_the_natural_step_receives_the_damped_fisher_product(trpo, gae):
    curvatures = []

    def natural_step(direction, fisher_vector_product_fn, max_kl):
        product = fisher_vector_product_fn(direction)
        curvatures.append(((direction @ product) / (direction @ direction)).item())
        return trpo.natural_step(direction, fisher_vector_product_fn, max_kl)

    config = TRPOConfig(total_steps=1024, damping=5.0, progress=False)
    train_trpo(**functions(trpo, gae, natural_step_fn=natural_step), config=config)
    assert curvatures and curvatures[0] >= 5.0  # s^T (F + 5 I) s / s^T s, F positive


@pytest.mark.slow
def test_trpo_learns_cartpole(trpo, gae):
    torch.manual_seed(0)
    history = train_trpo(
        **functions(trpo, gae), config=TRPOConfig(total_steps=60_000, progress=False)
    )
    assert max(history.mean_return) > 300
