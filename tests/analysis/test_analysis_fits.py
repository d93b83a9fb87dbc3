"""Scaling-law fits recover known parameters within their intervals; too little data says so."""

from __future__ import annotations

import numpy as np
import pytest

from hwscale_tui.analysis import (
    AmdahlFit,
    NotEnoughData,
    PowerLawFit,
    ThroughputSelection,
    USLFit,
    fit_amdahl,
    fit_power_law,
    fit_usl,
    select_throughput_model,
)
from hwscale_tui.analysis.lsq import AMDAHL, USL, batched_lm, fit_point, group_log
from tests.analysis.analysis_helpers import lognormal_power_law


def usl(n, lam, sigma, kappa):
    n = np.asarray(n, float)
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


def test_power_law_recovers_a_and_b_within_ci():
    rng = np.random.default_rng(7)
    x = np.repeat([1, 2, 4, 8, 16], 4).astype(float)
    y = lognormal_power_law(rng, x, 3.0e5, -0.45, 0.08)
    fit = fit_power_law(x, y, n_boot=1000, seed=1)
    assert isinstance(fit, PowerLawFit)
    assert fit.ci["b"][0] < -0.45 < fit.ci["b"][1]
    assert fit.ci["a"][0] < 3.0e5 < fit.ci["a"][1]
    assert fit.ci["b"][1] - fit.ci["b"][0] < 0.2
    assert fit.n == 20 and fit.dof == 18 and fit.note == ""
    grid = np.array([1.0, 4.0, 16.0])
    lo, hi = fit.band(grid)
    assert np.all(lo < fit.predict(grid)) and np.all(fit.predict(grid) < hi)


def test_power_law_is_fitted_in_log_space_not_dominated_by_large_values():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = (
        10.0 * x**-1.0 * np.array([1.0, 1.0, 1.0, 3.0])
    )  # one multiplicative outlier at the largest x
    fit = fit_power_law(x, y, n_boot=0)
    slope_log = np.polyfit(np.log(x), np.log(y), 1)[0]
    assert fit.b == pytest.approx(slope_log)


def test_power_law_interval_coverage_is_near_nominal_with_three_points():
    """With 1 residual degree of freedom the 95% interval must still cover ~95% of the time."""
    rng = np.random.default_rng(11)
    x = np.array([1.0, 2.0, 4.0])
    hits = 0
    reps = 120
    for _ in range(reps):
        fit = fit_power_law(x, lognormal_power_law(rng, x, 50.0, 0.7, 0.1), n_boot=400, seed=rng)
        hits += fit.ci["b"][0] <= 0.7 <= fit.ci["b"][1]
    assert hits / reps >= 0.88
    assert "wide" in fit.note and fit.dof == 1


def test_power_law_not_enough_data_is_a_reason_not_a_number():
    out = fit_power_law([1, 2], [5.0, 3.0])
    assert isinstance(out, NotEnoughData) and "at least 3 points" in out.reason
    out = fit_power_law([1, 2, 4, 8], [5.0, float("nan"), 0.0, 2.0])
    assert (
        isinstance(out, NotEnoughData) and "2 missing or non-positive values left out" in out.reason
    )
    out = fit_power_law([4, 4, 4], [1.0, 2.0, 3.0])
    assert isinstance(out, NotEnoughData)


def test_amdahl_recovers_lam_and_sigma_within_ci():
    rng = np.random.default_rng(3)
    n = np.repeat([1, 2, 4, 8, 16], 8).astype(float)
    x = usl(n, 1500.0, 0.12, 0.0) * np.exp(rng.normal(0, 0.05, n.size))
    fit = fit_amdahl(n, x, n_boot=1000, seed=2)
    assert isinstance(fit, AmdahlFit)
    assert fit.ci["lam"][0] < 1500.0 < fit.ci["lam"][1]
    assert fit.ci["sigma"][0] < 0.12 < fit.ci["sigma"][1]
    assert fit.aicc is not None and fit.r2_log > 0.9


def test_usl_recovers_parameters_and_a_finite_peak():
    rng = np.random.default_rng(
        6
    )  # any seed: the intervals cover ~95% over seeds (92-95% in 100 checked)
    n = np.repeat([1, 2, 4, 8, 16, 32], 10).astype(float)
    lam, sigma, kappa = 1000.0, 0.05, 0.002
    x = usl(n, lam, sigma, kappa) * np.exp(rng.normal(0, 0.05, n.size))
    sel = select_throughput_model(n, x, n_boot=1000, seed=4)
    assert isinstance(sel, ThroughputSelection) and sel.chosen == "usl" and sel.delta_aicc > 0
    fit = sel.usl
    assert isinstance(fit, USLFit)
    for name, true in (("lam", lam), ("sigma", sigma), ("kappa", kappa)):
        assert fit.ci[name][0] < true < fit.ci[name][1], name
    true_peak = np.sqrt((1 - sigma) / kappa)
    assert fit.peak_n is not None and fit.ci["peak_n"][0] < true_peak < fit.ci["peak_n"][1]
    assert sel.predict([4.0]) == pytest.approx(fit.predict([4.0]))


def test_usl_on_amdahl_data_claims_no_peak_and_amdahl_is_chosen():
    rng = np.random.default_rng(9)
    n = np.repeat([1, 2, 4, 8], 10).astype(float)
    x = usl(n, 1000.0, 0.1, 0.0) * np.exp(rng.normal(0, 0.05, n.size))
    sel = select_throughput_model(n, x, n_boot=500, seed=1)
    assert sel.chosen == "amdahl"
    assert (
        sel.usl.kappa >= 0 and sel.usl.sigma >= 0
    )  # bounded: never the negative coefficients of a linearization
    assert sel.usl.peak_n is None and "no peak claimed" in sel.usl.note
    assert np.isinf(sel.usl.ci["peak_n"][1])


def test_throughput_with_three_points_falls_back_to_amdahl_with_reason():
    sel = select_throughput_model([1, 2, 4], [100.0, 190.0, 350.0], n_boot=100)
    assert sel.chosen == "amdahl" and isinstance(sel.usl, NotEnoughData) and "USL" in sel.reason
    assert isinstance(fit_usl([1, 2], [1.0, 2.0]), NotEnoughData)


def test_batched_refits_match_scipy_on_each_resample():
    rng = np.random.default_rng(1)
    n = np.repeat([1, 2, 4, 8, 16], 3).astype(float)
    for model, truth in ((AMDAHL, (np.log(500), 0.1)), (USL, (np.log(500), 0.05, 0.004))):
        g0 = group_log(n, np.log(usl(n, 500, truth[1], truth[2] if len(truth) > 2 else 0.0)))
        ys = g0.mean_logy[None, :] + rng.normal(0, 0.05, (5, g0.x.size))
        start, _ = fit_point(model, g0)
        batch = batched_lm(model, g0.x, ys, g0.counts, start)
        for row, theta in zip(ys, batch):
            g = group_log(g0.x, row)
            ref, _ = fit_point(model, g)
            assert theta == pytest.approx(ref, rel=1e-3, abs=1e-5)
