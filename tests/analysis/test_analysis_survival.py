"""Kaplan-Meier on censored to-target values: the vectorized bootstrap estimator equals scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import CensoredData, ecdf

from hwscale_tui.analysis.survival import (
    kaplan_meier,
    km_by_counts,
    median_from_survival,
    p_reach_from_survival,
    sort_censored,
)


def test_vectorized_km_equals_scipy_with_ties_and_censoring():
    rng = np.random.default_rng(2)
    values = rng.integers(1, 15, 40).astype(float)  # many ties
    reached = rng.random(40) < 0.6
    times, events = sort_censored(values, reached)
    surv = km_by_counts(times, events, np.ones((1, times.size), dtype=int))[0]
    ref = ecdf(CensoredData(uncensored=values[reached], right=values[~reached])).sf
    last_of_each_time = np.r_[times[1:] != times[:-1], True]  # tied points are processed one by one
    assert surv[last_of_each_time] == pytest.approx(ref.evaluate(times[last_of_each_time]))


def test_median_and_p_reach_by_hand():
    # reached at 1, 2, 3; censored at 2.5 and 10 -> S drops 1/5, 1/4, then 1/2 after the censoring at 2.5
    values = np.array([1.0, 2.0, 3.0, 2.5, 10.0])
    reached = np.array([True, True, True, False, False])
    s = kaplan_meier(
        values,
        reached,
        axis="agent_step",
        budget=2.0,
        n_boot=0,
        rng=np.random.default_rng(0),
        ci_level=0.95,
    )
    assert s.p_reach == pytest.approx(1 - 0.8 * 0.75)
    assert s.median == pytest.approx(3.0)  # P(reached by 3) = 1 - 0.6 * 0.5 = 0.7 >= 0.5 first at 3
    assert s.n == 5 and s.n_reached == 3 and s.followed_to == 10.0


def test_median_not_reached_is_infinite_not_a_placeholder():
    values = np.array([5.0, 6.0, 7.0, 8.0])
    reached = np.array([True, False, False, False])
    s = kaplan_meier(
        values,
        reached,
        axis="wall_s",
        budget=None,
        n_boot=200,
        rng=np.random.default_rng(1),
        ci_level=0.95,
    )
    assert np.isinf(s.median) and s.p_reach is None and np.isinf(s.median_ci[1])
    none = kaplan_meier(
        values,
        np.zeros(4, bool),
        axis="wall_s",
        budget=6.0,
        n_boot=50,
        rng=np.random.default_rng(1),
        ci_level=0.95,
    )
    assert np.isinf(none.median) and none.p_reach == 0.0


def test_bootstrap_interval_brackets_the_estimate_and_shrinks_with_more_trials():
    rng = np.random.default_rng(4)

    def summary(n: int):
        t = rng.lognormal(np.log(100), 0.3, n)
        reached = rng.random(n) < 0.8
        vals = np.where(reached, t, t * 2)
        return kaplan_meier(
            vals, reached, axis="agent_step", budget=120.0, n_boot=1000, rng=rng, ci_level=0.95
        )

    small, large = summary(20), summary(400)
    for s in (small, large):
        assert s.median_ci[0] <= s.median <= s.median_ci[1]
        assert s.p_reach_ci[0] <= s.p_reach <= s.p_reach_ci[1]
    assert (large.median_ci[1] - large.median_ci[0]) < (small.median_ci[1] - small.median_ci[0])


def test_bootstrap_rows_are_resamples():
    times = np.array([1.0, 2.0, 3.0])
    events = np.array([True, True, True])
    counts = np.array([[3, 0, 0], [0, 0, 3], [1, 1, 1]])
    surv = km_by_counts(times, events, counts)
    assert median_from_survival(times, surv).tolist() == [1.0, 3.0, 2.0]
    assert p_reach_from_survival(times, surv, 2.5).tolist() == pytest.approx([1.0, 0.0, 2 / 3])


@pytest.mark.parametrize("n, n_boot", [(3, 0), (1, 500)])
def test_no_resamples_give_no_interval_not_the_estimate_twice(n, n_boot):
    # --bootstrap 0, or a config with one trial (every resample is that trial): an interval
    # [100%, 100%] would read as certainty from nothing
    s = kaplan_meier(
        np.array([5.0, 6.0, 7.0][:n]),
        np.array([True, False, True][:n]),
        axis="agent_step",
        budget=10.0,
        n_boot=n_boot,
        rng=np.random.default_rng(0),
        ci_level=0.95,
    )
    assert np.isfinite(s.median) and s.p_reach is not None
    assert np.isnan(s.median_ci).all() and np.isnan(s.p_reach_ci).all()


def test_cli_report_says_no_interval_for_one_trial_and_for_bootstrap_0(tmp_path, capsys):
    from hwscale_tui import cli

    (tmp_path / "t.csv").write_text("run_id,gpus,nodes,score\na,1,1,100\nb,2,1,100\nc,2,1,90\n")
    (tmp_path / "h.csv").write_text(
        "run_id,agent_step,wall_s,score\na,100,1,10\na,200,2,100\n"
        "b,100,1,90\nb,200,2,100\nc,100,1,10\nc,200,2,90\n"
    )
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--target", "50", "--bootstrap", "200", "--width", "200"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("g1n1"))
    assert "100%" in row and "[100%, 100%]" not in row and "[2 s, 2 s]" not in row, row
    assert cli.main([*argv, "--target", "50", "--bootstrap", "0", "--width", "200"]) == 0
    out = capsys.readouterr().out
    assert "uncertainty: no intervals (0 bootstrap resamples)" in out
    row = next(line for line in out.splitlines() if line.startswith("g2n1"))
    assert "100%" in row and "[100%, 100%]" not in row, row


@pytest.mark.parametrize(
    "reached, expected", [(False, (0.0, 1 - 0.025 ** (1 / 3))), (True, (0.025 ** (1 / 3), 1.0))]
)
def test_p_reach_of_none_or_all_of_three_trials_has_the_exact_binomial_interval(reached, expected):
    # every resample repeats 0% (or 100%): the percentile interval [0%, 0%] read as certainty
    # from three trials
    s = kaplan_meier(
        np.array([100.0, 100.0, 90.0]) if reached else np.array([100.0, 100.0, 100.0]),
        np.full(3, reached),
        axis="agent_step",
        budget=100.0,
        n_boot=500,
        rng=np.random.default_rng(0),
        ci_level=0.95,
    )
    assert s.p_reach == (1.0 if reached else 0.0)
    assert s.p_reach_ci == pytest.approx(expected)


def test_p_reach_interval_covers_a_small_true_probability_at_its_level():
    """Three trials followed to the budget, each reaching the target with probability 0.2:
    the 95% interval must contain 0.2 in about 95% of such experiments or more (it did in 49%:
    0 of 3 reached gave [0%, 0%])."""
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(300):
        reached = rng.random(3) < 0.2
        values = np.where(reached, rng.uniform(10.0, 90.0, 3), 100.0)
        s = kaplan_meier(
            values, reached, axis="agent_step", budget=100.0, n_boot=200, rng=rng, ci_level=0.95
        )
        covered += s.p_reach_ci[0] <= 0.2 <= s.p_reach_ci[1]
    assert covered / 300 >= 0.93


def test_followed_to_is_where_the_trials_ended_not_where_the_last_one_reached_the_target():
    """Every trial reached the target: followed_to (the JSON's, and where the survival plot's
    curve ends) was the last crossing, as if no trial had been followed further."""
    from hwscale_tui.analysis import AnalysisSettings, analyze
    from tests.analysis.analysis_helpers import linear_history, trial

    trials = [trial("a", 1, 1, 100.0), trial("b", 1, 1, 90.0)]
    hist = {"a": linear_history(0.1), "b": linear_history(0.09)}  # steps 0..1000 at 100/s
    result = analyze(trials, hist, AnalysisSettings(target=50.0, target_kind="absolute", n_boot=0))
    km = result.survival["g1n1"]
    assert km["agent_step"].n_reached == 2 and km["agent_step"].times.max() < 600
    assert km["agent_step"].followed_to == 1000.0
    assert km["wall_s"].followed_to == pytest.approx(10.0)
    assert result.to_json()["survival"]["g1n1"]["agent_step"]["followed_to"] == 1000.0
