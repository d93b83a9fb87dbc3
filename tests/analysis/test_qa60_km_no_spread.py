"""QA 60: a Kaplan-Meier median that every bootstrap resample repeats gets no interval.

Three trials that reached the target at one value (the same logged step) had a median interval
"[20k, 20k]": zero width, read as a certain median from three trials. As a law whose points lie
exactly on it (CHANGELOG: "zero-residual"), it gets no interval now, and a note says why."""

from __future__ import annotations

import math

import numpy as np

from hwscale_tui.analysis.survival import kaplan_meier


def _km(values, reached, n_boot=200):
    return kaplan_meier(
        np.asarray(values, float),
        np.asarray(reached, bool),
        axis="agent_step",
        budget=1e5,
        n_boot=n_boot,
        rng=np.random.default_rng(0),
        ci_level=0.95,
    )


def test_equal_values_give_no_median_interval_and_say_so():
    s = _km([2e4, 2e4, 2e4], [True, True, True])
    assert s.median == 2e4
    assert all(math.isnan(v) for v in s.median_ci), s.median_ci  # it was (20000.0, 20000.0)
    assert s.median_no_spread and s.to_json()["median_no_spread"] is True
    # P(reach) keeps its exact interval (all reached: Clopper-Pearson, not [100%, 100%])
    assert s.p_reach == 1.0 and s.p_reach_ci[0] < 1.0


def test_values_that_differ_keep_their_bootstrap_interval():
    s = _km([1e4, 2e4, 3e4, 4e4], [True] * 4)
    lo, hi = s.median_ci
    assert lo < hi and not s.median_no_spread


def test_the_analysis_notes_it_and_the_report_shows_no_interval():
    from hwscale_tui.analysis import AnalysisSettings, analyze, render_text
    from tests.analysis.analysis_helpers import linear_history, trial

    # three trials of g1n1 on the same curve: each reaches the target at the same step and time
    trials = [trial(r, 1, 1, 100.0) for r in ("a", "b", "c")]
    hist = {r: linear_history(0.1) for r in ("a", "b", "c")}
    result = analyze(
        trials, hist, AnalysisSettings(target=50.0, target_kind="absolute", n_boot=200)
    )
    row = result.per_config.iloc[0]
    assert math.isnan(row["km_median_time_s_lo"]) and math.isnan(row["km_median_steps_hi"])
    note = next(n for n in result.notes if n.startswith("Kaplan-Meier medians of"))
    assert "g1n1 (samples, time" in note and "no interval" in note, note
    text = render_text(result, width=200)
    assert "[no interval]" in text
