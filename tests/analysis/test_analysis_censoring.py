"""Censored trials stay in the estimates on every axis, and crossings that were never seen are
said to be so."""

from __future__ import annotations

import math

import pytest

from hwscale_tui.analysis import AnalysisSettings, analyze, time_to_target
from hwscale_tui.records import HistoryPoint
from tests.analysis.analysis_helpers import trial


def test_a_censored_trial_whose_last_point_logged_no_time_is_censored_at_its_last_time():
    """A trial that never reached the target and whose last point logged no wall time (an
    empty ``wall_s`` cell, a NULL in the store) was left out of the Kaplan-Meier time and cost
    estimates as if it had never run: a pair where 1 of 3 trials reached the target got that
    trial's time as its median time, beside P(reach) 33%."""
    reached = [HistoryPoint(100.0, 1.0, 10.0), HistoryPoint(200.0, 2.0, 100.0)]
    stalled = [
        HistoryPoint(100.0, 1.0, 10.0),
        HistoryPoint(200.0, 2.0, 40.0),
        HistoryPoint(300.0, math.nan, 50.0),
    ]
    tt = time_to_target(stalled, 90.0, "wall_s")
    assert not tt.reached and tt.censored_at == pytest.approx(2.0)

    trials = [trial("a", 1, 1, 100.0), trial("b", 1, 1, 50.0), trial("c", 1, 1, 50.0)]
    result = analyze(
        trials,
        {"a": reached, "b": stalled, "c": stalled},
        AnalysisSettings(target=90.0, target_kind="absolute", n_boot=0),
    )
    row = result.per_config.iloc[0]
    assert row["p_reach"] == pytest.approx(1 / 3)
    assert math.isinf(row["km_median_steps"])
    assert math.isinf(row["km_median_time_s"])  # was 1.89 s, from trial a alone
    assert result.survival["g1n1"]["wall_s"].n == 3  # was 1
    assert result.survival["g1n1"]["cost_usd"].n == 3
    by = result.per_trial.set_index("run_id")
    assert by.loc["b", "censored_at_s"] == pytest.approx(2.0)


def _start_at(first: float, score: float) -> list[HistoryPoint]:
    return [HistoryPoint(first * k, float(k), score + 30.0 * k) for k in range(1, 4)]


def test_a_target_every_curve_starts_past_is_said_to_be_no_measured_crossing():
    """A target below where the curves start (``--target 20`` on CartPole, whose first point
    scores more) was "reached" at each trial's first logged point: the samples to target were
    the pairs' first logging steps (their batch sizes) and the laws and the figure of merit
    ranked those, with no word that no crossing had been seen."""
    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 100.0), trial("c", 2, 1, 100.0)]
    histories = {
        "a": _start_at(1024, 50.0),
        "b": _start_at(2048, 50.0),
        "c": _start_at(2048, -20.0),
    }
    settings = AnalysisSettings(target=20.0, target_kind="absolute", n_boot=0)
    result = analyze(trials, histories, settings)
    assert result.per_config.set_index("config").loc["g1n1", "samples_to_target"] == 1024.0
    said = [n for n in result.notes if "first logged point" in n]
    assert said == [
        "2 of 3 trials (g1n1, g2n1) were already at or past the target at their first logged "
        "point, past step 0: their samples, time and cost to target are where logging began (an "
        "upper bound; the crossing itself was not logged), not a measured crossing; a target "
        "above where the curves start measures one."
    ]
    # a curve logged from step 0 that starts past the target reached it at step 0: measured
    from_zero = {k: [HistoryPoint(0.0, 0.0, 50.0), *h] for k, h in histories.items()}
    result = analyze(trials, from_zero, settings)
    assert not [n for n in result.notes if "first logged point" in n]
    # a target the curves cross: nothing to say
    result = analyze(trials, histories, AnalysisSettings(n_boot=0))
    assert not [n for n in result.notes if "first logged point" in n]


def test_a_csv_nan_is_unknown_as_an_empty_cell_is_and_inf_is_refused(tmp_path, capsys):
    """docs/analysis.md said every non-finite number in a number column is refused, while a
    `nan` (what a diverged trial logs) is read as unknown, like an empty cell: the docs now say
    so, and this holds them to it."""
    import json

    from hwscale_tui import cli

    (tmp_path / "t.csv").write_text("run_id,gpus,nodes,score\na,1,1,NA\nb,2,1,90\n")
    history = "run_id,agent_step,wall_s,score\na,100,1,10\na,200,2,nan\na,300,3,100\nb,100,1,90\n"
    (tmp_path / "h.csv").write_text(history)
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--target", "50", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    a = next(r for r in data["per_trial"] if r["run_id"] == "a")
    assert a["n_points"] == 2 and a["final_score"] == 100.0  # the curve's last point's
    assert a["samples_to_target"] == pytest.approx(100 + 200 * 40 / 90)
    (tmp_path / "h.csv").write_text(history.replace(",nan", ",inf"))
    assert cli.main([*argv, "--bootstrap", "0"]) == 2
    assert "run a has score inf; accepted: a finite number." in capsys.readouterr().err


def test_a_law_the_points_lie_exactly_on_has_no_interval_not_a_zero_width_one():
    """Three points exactly on a power law (costs proportional to GPUs at one time to target)
    printed "a [0.001911, 0.001911], b [1.000, 1.000]" beside "note: 1 residual degree of
    freedom: the interval is wide": no residual gave the bootstrap no noise to resample."""
    from hwscale_tui.analysis import fit_critical_batch, fit_power_law

    law = fit_power_law([1, 2, 4], [0.5, 1.0, 2.0], n_boot=200)
    assert law.b == pytest.approx(1.0) and law.ci == {}
    assert "exactly on the law" in law.note and "wide" not in law.note
    lo, hi = law.band([1.0, 4.0])
    assert list(lo) == list(hi) == pytest.approx([0.5, 2.0])  # no band either

    batches = [256.0, 512.0, 1024.0, 2048.0]
    cbs = fit_critical_batch(batches, [100.0 * (1 + 1000.0 / b) for b in batches], n_boot=200)
    assert cbs.b_crit == pytest.approx(1000.0, rel=1e-4) and cbs.ci == {}
    assert "exactly on the law" in cbs.note

    noisy = fit_power_law([1, 2, 4], [0.5, 1.1, 2.0], n_boot=200)  # a residual: an interval
    assert noisy.ci["b"][0] < noisy.b < noisy.ci["b"][1] and "wide" in noisy.note
