"""Pieces of the optimizer: Pareto front, acquisition functions, the refit schedule, the GP."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from hwscale_tui.search.acquisition import (
    log_expected_improvement,
    naive_cost_weighted,
    upper_confidence_bound,
)
from hwscale_tui.search.pareto import pareto_front
from hwscale_tui.search.surrogate import (
    MAX_FIT_POINTS,
    REFIT_GROWTH_TRANSFER,
    Surrogate,
    fit_kernel,
    fit_prefix,
    fit_subset,
)


def test_pareto_front_keeps_points_no_other_beats_on_score_and_cost():
    scores = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 5.0])
    costs = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    # 2 is beaten by 1 (higher score, cheaper); 4 and 5 by 3
    assert pareto_front(scores, costs).tolist() == [0, 1, 3]
    # equal cost: only the better one; unknown cost (inf) only if it is the best score
    assert pareto_front(np.array([1.0, 2.0, 9.0]), np.array([5.0, 5.0, np.inf])).tolist() == [1, 2]


def test_log_expected_improvement_matches_the_closed_form_and_stays_finite_far_below():
    mean = np.array([0.0, 0.5, 1.0, 2.0])
    std = np.array([1.0, 0.2, 0.5, 0.1])
    z = (mean - 1.0) / std
    closed = std * (norm.pdf(z) + z * norm.cdf(z))
    assert np.allclose(np.exp(log_expected_improvement(mean, std, 1.0)), closed)
    far = log_expected_improvement(
        np.array([-50.0, -60.0, -1 + 1e-7, -1 - 1e-7, -8.0]), np.ones(5), 0.0
    )
    assert np.all(np.isfinite(far)) and far[0] > far[1]
    assert abs(far[2] - far[3]) < 1e-5  # no jump where the other form takes over
    # at z = -8 the closed form still has digits left: the two agree
    assert far[4] == pytest.approx(np.log(norm.pdf(-8.0) - 8.0 * norm.cdf(-8.0)), rel=1e-6)


def test_ucb_and_naive():
    assert upper_confidence_bound(np.array([1.0]), np.array([0.5]), 2.0)[0] == 2.0
    score01 = np.array([1.0, 1.0])
    cost01 = np.array([0.1, 0.9])
    weighted = naive_cost_weighted(score01, cost01, target=1.0)
    assert weighted[1] > weighted[0]  # the cost level closer to the drawn target wins
    assert naive_cost_weighted(score01, None, 0.3).tolist() == [1.0, 1.0]


def test_hyperparameters_are_refitted_on_a_geometric_schedule_and_a_capped_subset():
    prefixes = [fit_prefix(n) for n in range(0, 40)]
    assert prefixes[:6] == [0, 1, 2, 3, 4, 5]
    assert all(a <= b <= n for n, (a, b) in enumerate(zip(prefixes, prefixes[1:]), start=1))
    assert len(set(prefixes)) < 20  # far fewer fits than observations
    # with other pairs' results (transfer) the schedule is finer: every 10%, at least one more
    transfer = [fit_prefix(n, REFIT_GROWTH_TRANSFER) for n in range(0, 40)]
    assert transfer[:12] == list(range(12))
    assert transfer[12:40:4] == [11, 15, 19, 24, 27, 30, 33]
    assert all(a <= b <= n for n, (a, b) in enumerate(zip(transfer, transfer[1:]), start=1))
    assert len(set(prefixes)) < len(set(transfer)) < 30
    assert fit_subset(10).tolist() == list(range(10))
    sub = fit_subset(500)
    assert len(sub) == MAX_FIT_POINTS and sub[0] == 0 and sub[-1] == 499


def test_fitted_gp_learns_a_smooth_function_and_is_deterministic():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 2))
    y = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1]
    y = (y - y.mean()) / y.std()
    floors = np.array([0.05, 0.05])
    kernel = fit_kernel(x, y, seed=0, min_length_scales=floors, trend=False)
    assert repr(kernel) == repr(fit_kernel(x, y, seed=0, min_length_scales=floors, trend=False))
    model = Surrogate.condition(kernel, x, y)
    test = rng.uniform(-0.9, 0.9, (50, 2))
    truth = np.sin(2 * test[:, 0]) + 0.5 * test[:, 1]
    mean, std = model.predict(test)
    assert np.corrcoef(mean, truth)[0, 1] > 0.95
    assert np.all(std >= 0)
    # measured points are known: latent uncertainty there is small next to far away
    assert model.predict(x[:5])[1].max() < model.predict(np.array([[3.0, 3.0]]))[1][0]


def test_min_length_scales_bound_the_fit():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.choice([-1.0, 0.0, 1.0], 30), rng.uniform(-1, 1, 30)])
    y = rng.normal(size=30)  # noise: the likelihood would like tiny length scales
    kernel = fit_kernel(x, y, seed=0, min_length_scales=np.array([0.5, 0.05]), trend=True)
    length_scales = kernel.k1.k1.k2.length_scale
    assert length_scales[0] >= 0.5 - 1e-9 and length_scales[1] >= 0.05 - 1e-9


@pytest.mark.parametrize("n", [1, 2])
def test_below_three_points_the_default_hyperparameters_are_used(n):
    x = np.zeros((n, 2))
    kernel = fit_kernel(
        x, np.zeros(n), seed=0, min_length_scales=np.array([0.05, 0.05]), trend=False
    )
    assert kernel.k1.k2.length_scale.tolist() == [0.7, 0.7]
