"""First crossing of a target on smoothed curves, on steps, seconds and dollars; censoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hwscale_tui.analysis import Curve, time_to_target
from hwscale_tui.records import HistoryPoint
from tests.analysis.analysis_helpers import linear_history


def test_crossing_is_interpolated_between_logged_points_on_every_axis():
    hist = linear_history(slope=0.5, sps=100.0, cost_per_s=0.01)  # score 0..500 over steps 0..1000
    steps = time_to_target(hist, 175.0, "agent_step")
    assert steps.reached and steps.value == pytest.approx(350.0) and steps.censored_at is None
    assert time_to_target(hist, 175.0, "wall_s").value == pytest.approx(3.5)
    assert time_to_target(hist, 175.0, "cost_usd").value == pytest.approx(0.035)


def test_a_curve_that_never_crosses_is_censored_at_its_last_point():
    hist = linear_history(slope=0.1)  # best score 100
    tt = time_to_target(hist, 150.0, "agent_step")
    assert not tt.reached and tt.value is None and tt.censored_at == pytest.approx(1000.0)
    assert time_to_target(hist, 150.0, "wall_s").censored_at == pytest.approx(10.0)


def test_a_single_noisy_spike_does_not_count_as_reaching_the_target():
    scores = [0, 1, 10, 2, 3, 4, 5]
    hist = [HistoryPoint(float(i), float(i), float(v)) for i, v in enumerate(scores)]
    assert not time_to_target(hist, 9.0, "agent_step").reached  # isotonic pools the spike
    assert not time_to_target(hist, 9.0, "agent_step", smoothing="median", window=3).reached
    # centered medians: 0.5, 1, 2, 3, 3, 4, 4.5 -> 4.5 is first reached at the last point
    med = time_to_target(hist, 4.5, "agent_step", smoothing="median", window=3)
    assert med.reached and med.value == pytest.approx(6.0)
    assert time_to_target(
        hist, 3.5, "agent_step", smoothing="median", window=3
    ).value == pytest.approx(4.5)


def test_a_single_spike_counts_in_part_as_the_docs_say():
    """docs/analysis.md said isotonic smoothing made a single noisy spike not count: it pools the
    spike with the points after it, so it lifts them to their mean and can reach a target that
    no other point came near (and a spike at the last point counts in full)."""
    from hwscale_tui.analysis.curves import smooth_scores
    from tests.support.cli import REPO

    smoothed = smooth_scores(np.array([10.0, 100.0, 10.0, 10.0, 10.0]))
    assert smoothed.tolist() == [10.0, 32.5, 32.5, 32.5, 32.5]
    hist = [HistoryPoint(float(i), float(i), v) for i, v in enumerate([10.0, 100.0, 10, 10, 10])]
    assert time_to_target(hist, 30.0, "agent_step").reached
    assert smooth_scores(np.array([10.0, 10.0, 100.0]))[-1] == 100.0
    doc = " ".join((REPO / "docs" / "analysis.md").read_text().split())
    assert "single noisy spike does not count" not in doc
    assert "`10, 100, 10, 10, 10` smooths to `10, 32.5, 32.5, 32.5, 32.5`" in doc


def test_first_point_already_at_target_gives_the_first_value():
    hist = [HistoryPoint(10.0, 2.0, 5.0), HistoryPoint(20.0, 4.0, 6.0)]
    assert time_to_target(hist, 5.0, "agent_step").value == pytest.approx(10.0)


def test_dataframe_input_unsorted_and_with_missing_scores():
    df = pd.DataFrame(
        {
            "agent_step": [200, 0, 100, 300],
            "wall_s": [2.0, 0.0, 1.0, 3.0],
            "score": [20, 0, np.nan, 30],
        }
    )
    tt = time_to_target(df, 25.0, "agent_step")
    assert tt.reached and tt.value == pytest.approx(250.0)


def test_dollar_axis_without_logged_cost_needs_a_rate():
    hist = linear_history(slope=1.0, sps=50.0)
    with pytest.raises(ValueError, match="usd_per_second"):
        time_to_target(hist, 300.0, "cost_usd")
    assert time_to_target(hist, 300.0, "cost_usd", usd_per_second=2.0).value == pytest.approx(12.0)


def test_minimize_goal_crosses_downward():
    hist = [HistoryPoint(float(i * 10), float(i), 10.0 - i) for i in range(10)]  # loss 10 -> 1
    tt = time_to_target(hist, 4.5, "agent_step", goal="minimize")
    assert tt.reached and tt.value == pytest.approx(55.0)
    assert Curve.from_history(hist, goal="minimize").best_smoothed == pytest.approx(1.0)


def test_unknown_axis_and_empty_history():
    with pytest.raises(ValueError, match="axis"):
        time_to_target(linear_history(1.0), 1.0, "tokens")
    tt = time_to_target([], 1.0, "agent_step")
    assert not tt.reached and tt.censored_at is None


def test_a_point_that_logged_no_wall_time_is_unknown_there_never_zero(tmp_path):
    from hwscale_tui.store import Store

    store = Store(tmp_path / "s.sqlite")
    no_clock = (0, 2, 5)  # the first, one in the middle, the last
    store.append_history(
        "r",
        [
            {
                "agent_step": k * 100,
                "wall_s": None if k in no_clock else k * 10.0,
                "score": k * 10.0,
            }
            for k in range(6)
        ],
    )
    curve = store.histories(["r"])["r"]
    store.close()
    # the crossing is at the middle point: its time lies between its neighbours' (10 s and 30 s)
    assert time_to_target(curve, 20.0, "wall_s").value == pytest.approx(20.0)
    assert time_to_target(curve, 20.0, "agent_step").value == pytest.approx(200.0)
    # outside the logged clock the time is unknown (None), while the steps are still known
    first = time_to_target(curve, 0.0, "wall_s")
    assert first.reached and first.value is None
    assert time_to_target(curve, 0.0, "agent_step").value == 0.0
    last = time_to_target(curve, 50.0, "wall_s")
    assert last.reached and last.value is None
    assert np.isnan(curve[0].wall_s) and curve[1].wall_s == 10.0  # a point: NaN, not 0.0


def test_every_analyze_flag_is_in_the_docs_options_table():
    """docs/analysis.md's option table had no --experiment-name, which analyze takes."""
    import argparse

    from hwscale_tui.commands import analyze as command
    from tests.support.cli import REPO

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    flags = {
        opt
        for action in parser._actions
        for opt in action.option_strings
        if opt.startswith("--") and opt != "--help"
    }
    doc = (REPO / "docs" / "analysis.md").read_text()
    table = doc[doc.index("## Options") : doc.index("## CSV input")]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    documented = {
        word.strip("`,") for row in rows for word in row.split() if word.startswith("`--")
    }
    assert flags - documented == set()
