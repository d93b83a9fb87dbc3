"""The separable transfer kernel and the mixture over splits (``search/context.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from hwscale_tui.search import protein
from hwscale_tui.search.context import (
    ALIGN_MIN_ROWS,
    ALIGN_PENALTY,
    MAX_SPLITS,
    Split,
    aligned_parameters,
    alignment_offsets,
    fit_separable,
    pair_peaks,
    private_context_length_scales,
    private_sets,
    scaling_shear,
    separable_kernel,
    split_weights,
)
from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.surrogate import MAX_LENGTH_SCALE, Mixture, Surrogate
from tests.search.test_search_transfer import random_results, shifting_score, space

FLOORS = np.array([0.05, 0.05, 0.05, 0.05, 0.5])  # 4 parameters, then one context feature


def kernel(private: tuple[int, ...]):
    return separable_kernel(FLOORS, 4, 1, private)


def test_far_apart_pairs_correlate_through_the_shared_parameters_only():
    signal = kernel((2, 3)).k1  # without the noise term
    here = np.array([[0.1, -0.2, 0.3, -0.4, 0.0]])
    there = np.array([[0.1, -0.2, 0.3, -0.4, 40.0]])  # 40 doublings away: the private part is 0
    base = float(signal(here, there)[0, 0])
    moved_private = there.copy()
    moved_private[0, 2:4] = [-0.9, 0.9]
    moved_shared = there.copy()
    moved_shared[0, 0] = 0.9
    assert base > 0.1
    # (an ignored input has length scale 1e5: a change of 1 moves the covariance by 1e-10)
    assert abs(float(signal(here, moved_private)[0, 0]) - base) < 1e-8
    assert float(signal(here, moved_shared)[0, 0]) < 0.5 * base
    # within one pair the private parameters matter
    near = here.copy()
    near[0, 3] = 0.9
    assert float(signal(here, near)[0, 0]) < float(signal(here, here)[0, 0]) - 0.1


def test_with_nothing_private_the_pairs_share_every_parameter():
    signal = kernel(()).k1
    here = np.zeros((1, 5))
    there = np.array([[0.0, 0.0, 0.9, 0.0, 40.0]])
    assert float(signal(here, there)[0, 0]) < 0.5 * float(
        signal(here, there * [1, 1, 0, 1, 1])[0, 0]
    )


def test_the_fit_keeps_ignored_inputs_ignored_and_reports_the_context_length_scale():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (20, 5))
    x[:, 4] = rng.integers(0, 3, 20)  # contexts 0, 1 and 2 doublings away
    y = np.sin(3 * x[:, 0]) + 0.5 * x[:, 2] * (x[:, 4] == 0)
    y = (y - y.mean()) / y.std()
    fitted = fit_separable(kernel((2,)), x, y, 4, seed=0)
    shared = np.atleast_1d(fitted.k1.k1.k2.length_scale)
    private = np.atleast_1d(fitted.k1.k2.k2.length_scale)
    assert shared[2] == pytest.approx(1e5) and shared[4] == pytest.approx(1e5)  # P and context
    assert all(private[j] == pytest.approx(1e5) for j in (0, 1, 3))
    assert shared[0] < 2.0  # the shared part learned the shared parameter's wave
    scales = private_context_length_scales(fitted, 4)
    assert len(scales) == 1 and 0.5 <= scales[0] <= MAX_LENGTH_SCALE


def test_split_weights_follow_the_likelihoods():
    splits = [Split((), np.zeros((4, 1)), kernel(()), v) for v in (-10.0, -10.0 - np.log(3))]
    np.testing.assert_allclose(split_weights(splits), [0.75, 0.25])


def test_the_mixture_is_its_parts_weighted_mean_and_spread():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, (8, 5)), rng.normal(size=8)
    a = Surrogate.condition(kernel(()), x, y)
    b = Surrogate.condition(kernel((0,)), x, y)
    at = rng.uniform(-1, 1, (5, 5))
    only_a = Mixture([a, b], np.array([1.0, 0.0])).predict(at)
    np.testing.assert_allclose(only_a[0], a.predict(at)[0])
    np.testing.assert_allclose(only_a[1], a.predict(at)[1], rtol=1e-6, atol=1e-6)
    mean, sd = Mixture([a, b], np.array([0.5, 0.5])).predict(at)
    (ma, sa), (mb, sb) = a.predict(at), b.predict(at)
    np.testing.assert_allclose(mean, (ma + mb) / 2)
    # the spread includes the parts' disagreement
    np.testing.assert_allclose(sd**2, (sa**2 + ma**2 + sb**2 + mb**2) / 2 - mean**2, rtol=1e-6)


def test_fantasies_condition_every_part():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-1, 1, (8, 5)), rng.normal(size=8)
    a = Surrogate.condition(kernel(()), x, y)
    b = Surrogate.condition(kernel((1,)), x, y)
    extra = np.array([[0.3, 0.3, 0.3, 0.3, 0.0]])
    mixture = Mixture([a, b], np.array([0.5, 0.5])).with_points(extra, np.array([2.5]))
    direct = Surrogate.condition(kernel(()), np.vstack([x, extra]), np.append(y, 2.5))
    np.testing.assert_allclose(mixture.parts[0].predict(extra)[0], direct.predict(extra)[0])
    # the fantasy pulls the prediction there toward its value in every part
    for before, after in zip((a, b), mixture.parts):
        assert abs(after.predict(extra)[0][0] - 2.5) < abs(before.predict(extra)[0][0] - 2.5)


def _pairs_optimizer(own: int):
    opt = ProteinOptimizer(space(2), seed=0)
    for g in (1, 4):
        for p, y in random_results(g, 6, seed=7):
            opt.observe(p, y, 60.0, context={"total_gpus": g}, space=space(g))
    for p, _ in random_results(2, own, seed=8):
        opt.observe(p, shifting_score(p, 2), 60.0, context={"total_gpus": 2})
    return opt


@pytest.fixture
def fit_splits_calls(monkeypatch) -> list[tuple[int, list[float]]]:
    """Each call of ``protein.fit_splits``: how many results it was given, and the fitted
    splits' log likelihoods."""
    calls: list[tuple[int, list[float]]] = []
    real = protein.fit_splits

    def recording(*args, **kwargs):
        splits = real(*args, **kwargs)
        calls.append((len(args[1]), [s.log_likelihood for s in splits]))
        return splits

    monkeypatch.setattr(protein, "fit_splits", recording)
    return calls


def test_splits_are_fitted_on_the_refit_schedule_only_and_the_same_results_give_the_same_model(
    fit_splits_calls,
):
    def calls() -> list[int]:
        return [n for n, _ in fit_splits_calls]

    opt = _pairs_optimizer(3)  # 15 results: fit_prefix(15) = 15
    first = opt.suggest(1, context={"total_gpus": 2})
    assert calls() == [15, 15]  # on the results as they are, and moved by the pairs' alignment
    info = opt.last_info[0]["transfer"]
    opt.observe(first[0], 0.0, 60.0)  # 16 results: still fitted on the first 15
    opt.suggest(1)
    assert calls() == [15, 15]
    assert opt.last_info[0]["transfer"]["splits"] == info["splits"]
    assert opt.last_info[0]["transfer"]["alignment"] == info["alignment"]
    for p in opt.suggest(3):  # 19 results: the schedule's next point, a refit
        opt.observe(p, 0.0, 60.0)
    opt.suggest(1)
    assert calls() == [15, 15, 19, 19]
    # a rebuilt optimizer fed the same results suggests the same (a resumed sweep)
    again = _pairs_optimizer(3)
    assert again.suggest(1, context={"total_gpus": 2}) == first
    assert again.last_info[0]["transfer"]["splits"] == info["splits"]
    assert again.last_info[0]["transfer"]["alignment"] == info["alignment"]


def test_a_sweep_without_other_pairs_results_keeps_the_25_percent_refit_schedule(monkeypatch):
    sizes: list[int] = []
    real = protein.fit_kernel

    def recording(x, *args, **kwargs):
        sizes.append(len(x))
        return real(x, *args, **kwargs)

    monkeypatch.setattr(protein, "fit_kernel", recording)
    opt = ProteinOptimizer(space(2), seed=0)
    for p, y in random_results(2, 14, seed=3):  # its own results only, no context
        opt.observe(p, y, 60.0)
    opt.suggest(1)
    # fit_prefix(14): 12 on the 25% schedule (the transfer schedule's would be 13)
    assert sizes and set(sizes) == {12}


def test_splits_are_fitted_once_when_the_alignment_moves_nothing(fit_splits_calls):
    opt = ProteinOptimizer(space(2), seed=0)
    for p, _ in random_results(2, 2, seed=8):  # this pair's 2 results cannot place its peak
        opt.observe(p, shifting_score(p, 2), 60.0, context={"total_gpus": 2})
    for g in (1, 4):
        for p, y in random_results(g, 6, seed=7):
            opt.observe(p, y, 60.0, context={"total_gpus": g}, space=space(g))
    opt.suggest(1, context={"total_gpus": 2})
    # fit_prefix(14) on the transfer schedule (3, 4, ..., 11, 13, 15, ...): 2 own, 11 others'
    assert [n for n, _ in fit_splits_calls] == [13]
    info = opt.last_info[0]["transfer"]
    assert "alignment" not in info and not any(s["aligned"] for s in info["splits"])
    assert len({tuple(s["private"]) for s in info["splits"]}) == len(info["splits"])


def test_an_aligned_split_pays_for_the_offsets_fitted_to_the_same_results(
    fit_splits_calls, monkeypatch
):
    monkeypatch.setattr(protein, "SPLITS_IN_MIXTURE", 100)  # keep every split
    opt = _pairs_optimizer(3)
    opt.suggest(1, context={"total_gpus": 2})
    fitted = [lls for _, lls in fit_splits_calls]  # as they are, and moved
    placed = sum(np.count_nonzero(o) for o in opt._offsets[(15, opt._target)].values())
    assert placed > 0
    kept = opt._splits[(15, opt._target)]
    assert len(kept) == 2 * len(fitted[0]) and sum(s.aligned for s in kept) == len(fitted[1])
    for s in kept:
        if s.aligned:
            assert any(
                abs(s.log_likelihood - (ll - ALIGN_PENALTY * placed)) < 1e-9 for ll in fitted[1]
            )
        else:
            assert s.log_likelihood in fitted[0]


def test_the_splits_tried_stay_within_the_refit_budget():
    # 4 parameters (the transfer benchmark's): none, each one, each pair
    assert len(private_sets(4)) == 11 and private_sets(4)[:2] == [(), (0,)]
    assert (2, 3) in private_sets(4)
    # 8 (the built-in space): the 28 pairs would exceed the budget, so singles only
    eight = private_sets(8)
    assert len(eight) == 9 and all(len(p) <= 1 for p in eight)
    for d in range(1, 12):
        assert len(private_sets(d)) <= max(MAX_SPLITS, 1 + d)
        assert private_sets(d)[0] == ()


def test_candidates_step_the_shared_parameters_less_than_the_private_ones():
    rng = np.random.default_rng(0)
    before = protein.transfer_steps(rng, (20000, 4), None)  # no splits yet: every one alike
    np.testing.assert_allclose(before.std(axis=0), protein.TRANSFER_TRUST, rtol=0.05)
    steps = protein.transfer_steps(rng, (20000, 4), (3,))
    sd = steps.std(axis=0)
    np.testing.assert_allclose(sd[3], protein.TRANSFER_TRUST, rtol=0.05)
    np.testing.assert_allclose(
        sd[:3], protein.TRANSFER_TRUST * protein.TRANSFER_SHARED_STEP, rtol=0.05
    )


def test_the_suggestion_uses_the_most_likely_splits_private_parameters(monkeypatch):
    seen: list[tuple[int, ...] | None] = []
    real = protein.transfer_steps

    def recording(rng, shape, private):
        seen.append(private)
        return real(rng, shape, private)

    monkeypatch.setattr(protein, "transfer_steps", recording)
    opt = _pairs_optimizer(3)
    opt.suggest(1, context={"total_gpus": 2})
    best = opt._splits[(15, opt._target)][0].private
    assert seen == [best]
    assert opt.last_info[0]["transfer"]["splits"][0]["private"] == [opt.space.keys[j] for j in best]


def _peaked_results(peaks: list[float], n: int, seed: int) -> tuple[np.ndarray, ...]:
    """``n`` results per pair of one bump over a floor (curvature 1 and 2) whose peak in
    parameter 1 is the pair's, in parameter 0 at 0.2 for all; a context column after the
    parameters."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(len(peaks)), n)
    x = np.hstack([rng.uniform(-1, 1, (len(group), 2)), group[:, None].astype(float)])
    y = (
        -1.0
        + 2.0 * np.exp(-((x[:, 0] - 0.2) ** 2) - 2.0 * (x[:, 1] - np.array(peaks)[group]) ** 2)
        + rng.normal(0, 0.02, len(group))
    )
    return x, y, group


def test_each_pairs_peak_is_placed_by_a_curvature_all_pairs_share():
    truth = [-0.5, 0.1, 0.6]
    x, y, group = _peaked_results(truth, 8, seed=3)
    peaks, counts = pair_peaks(x, y, 2, group, 3, None, aligned=(1,))
    assert counts.tolist() == [8, 8, 8]  # every result
    assert np.abs(peaks[:, 1] - truth).max() < 0.1, peaks
    # parameter 0 is not aligned: one peak for all the pairs
    assert np.ptp(peaks[:, 0]) < 0.05 and abs(peaks[0, 0] - 0.2) < 0.15, peaks
    offsets = alignment_offsets(x, y, 2, group, 3, None, aligned=(1,))
    assert offsets.shape == (2, 2) and not offsets[:, 0].any()
    assert np.abs(offsets[:, 1] - [0.6, 1.0]).max() < 0.15, offsets  # 1.1: bounded at 1


def test_a_pair_with_too_few_results_is_not_moved():
    x, y, group = _peaked_results([-0.5, 0.6], 8, seed=4)
    keep = (group == 0) | (np.cumsum(group == 1) < ALIGN_MIN_ROWS)  # pair 1: 2 results
    offsets = alignment_offsets(x[keep], y[keep], 2, group[keep], 2, None, aligned=(1,))
    assert not offsets.any()
    assert alignment_offsets(x, y, 2, group, 2, None, aligned=(1,))[0, 1] > 0.9


def test_results_that_all_score_the_same_move_nothing():
    x, _, group = _peaked_results([-0.5, 0.6], 8, seed=5)
    flat = np.zeros(len(group))  # standardized scores of trials that all scored the same
    assert not alignment_offsets(x, flat, 2, group, 2, None, aligned=(0, 1)).any()


def test_the_learning_rate_and_batch_are_left_to_the_shift_when_the_scaling_rule_links_them():
    params = space(1).params  # lr, batch, clip
    assert aligned_parameters(3, scaling_shear(params)) == (2,)
    assert aligned_parameters(3, None) == (0, 1, 2)
