"""analyze(): per-trial crossings, per-config estimates, laws, FOM, recommendations on known data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hwscale_tui.analysis import (
    AnalysisSettings,
    NotEnoughData,
    PowerLawFit,
    USLFit,
    analyze,
    pareto_front,
)
from hwscale_tui.analysis.cost import COST_LOGGED_HISTORY, COST_LOGGED_TOTAL, COST_PRICED
from hwscale_tui.errors import UsageError
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.records import HistoryPoint
from tests.analysis.analysis_helpers import GRID, linear_history, trial
from tests.support.synthetic import SyntheticTruth, synthetic_experiment


@pytest.fixture(scope="module")
def synthetic():
    truth = SyntheticTruth()
    pairs = [HardwarePair(g, n) for n in (1, 2) for g in (1, 2, 4, 8)]
    # any seed: 9 of seeds 0-9 cover all four true parameters at once (95% intervals each)
    trials, histories, expected = synthetic_experiment(pairs, 30, 300, truth, seed=1)
    settings = AnalysisSettings(target=truth.target, target_kind="absolute", n_boot=1000, seed=3)
    return truth, trials, histories, expected, analyze(trials, histories, settings)


def test_every_trial_crossing_matches_the_truth_and_censored_trials_stay_censored(synthetic):
    _, _, _, expected, result = synthetic
    merged = result.per_trial.merge(expected, on="run_id", suffixes=("", "_true"))
    assert len(merged) == len(expected)
    assert (merged["reached"] == merged["samples_to_target_true"].notna()).all()
    reached = merged[merged["reached"]]
    # the curve crosses exactly at the true value; linear interpolation on a 300-point grid is close
    assert np.allclose(reached["samples_to_target"], reached["samples_to_target_true"], rtol=2e-3)
    assert np.allclose(reached["time_to_target_s"], reached["time_to_target_s_true"], rtol=2e-3)
    censored = merged[~merged["reached"]]
    assert len(censored) > 0 and censored["samples_to_target"].isna().all()
    assert (censored["censored_at_steps"] > 0).all()


def test_scaling_laws_recover_the_generating_parameters_within_their_intervals(synthetic):
    truth, _, _, _, result = synthetic
    samples = result.laws["samples_to_target"]
    assert isinstance(samples, PowerLawFit)
    assert samples.ci["b"][0] < truth.samples_b < samples.ci["b"][1]
    thr = result.laws["throughput"]
    assert thr.chosen == "usl" and isinstance(thr.usl, USLFit)
    for name, true in (("lam", truth.lam), ("sigma", truth.sigma), ("kappa", truth.kappa)):
        assert thr.usl.ci[name][0] < true < thr.usl.ci[name][1], name


def test_per_config_table_has_km_estimates_with_intervals(synthetic):
    _, _, _, expected, result = synthetic
    pc = result.per_config
    assert (
        list(pc["config"]) == ["g1n1", "g1n2", "g2n1", "g2n2", "g4n1", "g4n2", "g8n1", "g8n2"]
        or pc["total_gpus"].is_monotonic_increasing
    )
    for _, row in pc.iterrows():
        assert row["km_median_steps_lo"] <= row["km_median_steps"] <= row["km_median_steps_hi"]
        assert row["p_reach_lo"] <= row["p_reach"] <= row["p_reach_hi"]
        share = expected[expected["config"] == row["config"]]["samples_to_target"].notna().mean()
        assert row["p_reach"] == pytest.approx(share)  # every trial was followed past its crossing
        assert row["n_trials"] == 30 and row["cost_source"] == COST_PRICED


def test_recommendations_fom_and_pareto_are_consistent(synthetic):
    _, _, _, _, result = synthetic
    assert set(result.fom.columns) >= {
        "research",
        "development",
        "budget",
        "balanced",
        "balanced_geometric",
    }
    for rec in result.recommendations:
        assert rec.config == result.fom[rec.scenario].idxmax()
        assert 0.0 <= rec.bootstrap_agreement <= 1.0
        assert rec.best_params and rec.time_to_target_s > 0 and rec.hardware.startswith(rec.config)
    eff = result.fom[["eff_sample", "eff_time", "eff_cost"]]
    assert (eff.max() == 1.0).all()
    front = [p.config for p in result.pareto.front]
    times = [p.time_s for p in result.pareto.front]
    costs = [p.cost_usd for p in result.pareto.front]
    assert times == sorted(times) and costs == sorted(costs, reverse=True)
    assert result.pareto.knee in front or result.pareto.knee is None
    json.dumps(result.to_json(), allow_nan=False)


def test_never_reached_config_gets_efficiency_zero_and_nothing_invented():
    trials = [trial("a1", 1, 1, 100.0), trial("b1", 2, 1, 40.0)]
    hist = {"a1": linear_history(0.1), "b1": linear_history(0.04)}  # b1 tops out at 40
    result = analyze(
        trials, hist, AnalysisSettings(target=90.0, target_kind="absolute", n_boot=100)
    )
    pc = result.per_config.set_index("config")
    said: list[str] = []
    analyze(
        trials,
        hist,
        AnalysisSettings(target=90.0, target_kind="absolute", n_boot=100),
        progress=said.append,
    )
    assert "bootstrap: Kaplan-Meier for g1n1 (1 trial, 100 resamples)" in said, said  # "1 trials"
    assert not pc.loc["g2n1", "best_reached"] and np.isnan(pc.loc["g2n1", "time_to_target_s"])
    assert pc.loc["g2n1", "best_censored_at_steps"] == pytest.approx(1000.0)
    assert (result.fom.loc["g2n1", ["eff_sample", "eff_time", "eff_cost"]] == 0).all()
    assert all(r.config == "g1n1" for r in result.recommendations)
    assert isinstance(result.laws["samples_to_target"], NotEnoughData)


def test_a_reached_target_with_an_unknown_time_scores_0_and_a_note_says_why():
    """A best trial that reached the target without a wall clock has efficiency 0 on time and
    cost, as one that never reached it: the tables said "unknown" and the recommendations went
    to another pair without a word."""
    no_clock = [HistoryPoint(p.agent_step, math.nan, p.score) for p in linear_history(0.1)]
    trials = [trial("a1", 1, 1, 100.0), trial("b1", 2, 1, 90.0), trial("c1", 4, 1, 90.0)]
    hist = {"a1": no_clock, "b1": linear_history(0.09), "c1": list(no_clock)}
    result = analyze(trials, hist, AnalysisSettings(target=50.0, target_kind="absolute", n_boot=0))
    assert (result.fom.loc["g1n1", ["eff_time", "eff_cost"]] == 0).all()
    assert all(r.config == "g2n1" for r in result.recommendations)
    note = next(n for n in result.notes if n.startswith("The figure of merit counts an unknown"))
    assert "g1n1 (time and cost) and g4n1 (time and cost)" in note, note
    one = analyze(trials[:2], hist, AnalysisSettings(target=50.0, target_kind="absolute", n_boot=0))
    assert (
        "the best trial of g1n1 reached the target, but its time and cost to target are unknown"
        in " ".join(one.notes)
    )
    reached = analyze(trials[1:2], hist, AnalysisSettings(n_boot=0))
    assert not any("counts an unknown" in n for n in reached.notes)


def test_a_pair_whose_trials_end_short_of_the_step_budget_has_its_p_reach_called_a_lower_bound():
    """A pair still running (or whose trials stopped early) was followed to 300 steps of a
    1k-step budget: its P(reach) 0% read as "never within 1k steps" without a word."""
    trials = [
        trial("a1", 1, 1, 100.0),
        trial("a2", 1, 1, 80.0),
        trial("b1", 2, 1, 30.0, state="running"),
        trial("c1", 4, 1, 100.0),
    ]
    hist = {
        "a1": linear_history(0.1),  # steps 0..1000, reaches 50 at 500
        "a2": linear_history(0.04),  # never reaches 50: censored at 1000
        "b1": linear_history(0.1, steps=4),  # steps 0..300: not yet at 50
        "c1": linear_history(0.1, steps=8),  # steps 0..700: reached at 500, so P(reach) is 1
    }
    settings = AnalysisSettings(target=50.0, target_kind="absolute", n_boot=0)
    result = analyze(trials, hist, settings)
    assert result.budget_steps == 1000.0
    assert (
        "P(reach) of g2n1 is the Kaplan-Meier value where its trials end (300 steps), short of "
        "the 1k-step budget: a lower bound (no trial was followed further)."
    ) in result.notes, result.notes
    assert not any("g4n1" in n or "g1n1 is" in n for n in result.notes if n.startswith("P(reach)"))
    # trials one logging interval short of the budget (a batch apart) are not named
    hist["b1"] = linear_history(0.1, steps=10)  # steps 0..900, logged every 100
    assert not any(n.startswith("P(reach)") for n in analyze(trials, hist, settings).notes)
    # a budget past every trial: the one note on all the pairs, not a second one
    past = analyze(trials, hist, settings.with_changes(budget_steps=5000.0))
    assert sum("lower bound" in n for n in past.notes) == 1


def test_no_config_reaching_the_target_recommends_nothing():
    trials = [trial("a1", 1, 1, 10.0), trial("b1", 2, 1, 20.0)]
    hist = {"a1": linear_history(0.01), "b1": linear_history(0.02)}
    result = analyze(
        trials, hist, AnalysisSettings(target=1000.0, target_kind="absolute", n_boot=50)
    )
    assert all(r.config is None and "no config reached" in r.reason for r in result.recommendations)
    assert result.pareto.front == [] and result.pareto.knee is None


def test_fraction_target_and_levels_use_the_best_smoothed_score():
    trials = [trial(f"t{i}", p.gpus, p.nodes, 100.0 * (i + 1)) for i, p in enumerate(GRID)]
    hist = {t.run_id: linear_history(t.score / 1000.0) for t in trials}
    result = analyze(trials, hist, AnalysisSettings(target=0.5, n_boot=50))
    best = max(t.score for t in trials)
    assert result.reference_score == pytest.approx(best) and result.target == pytest.approx(
        0.5 * best
    )
    assert list(result.levels["target"]) == pytest.approx([0.5 * best, 0.75 * best, 0.9 * best])
    assert result.levels["n_configs_reached"].tolist() == [
        4,
        2,
        1,
    ]  # best scores 100..600: >= 300, 450, 540


def test_fraction_target_with_a_negative_best_score_is_a_usage_error():
    hist = {"a": [p.__class__(p.agent_step, p.wall_s, -500 + p.score) for p in linear_history(0.1)]}
    with pytest.raises(UsageError, match="absolute target"):
        analyze([trial("a", 1, 1, -400.0)], hist, AnalysisSettings())
    with pytest.raises(UsageError, match="no trial has a learning curve"):
        analyze([trial("a", 1, 1, 1.0)], {}, AnalysisSettings())


def test_no_curve_at_all_says_what_the_trials_were():
    """Every trial failed (no curve): the refusal said only 'no trial has a learning curve',
    as if nothing had run; it counts the trials per state and says where a failure's reason is."""
    trials = [trial("a", 1, 1, None, "failed"), trial("b", 1, 1, None, "failed")]
    trials.append(trial("c", 2, 1, None, "killed"))
    with pytest.raises(UsageError) as refused:
        analyze(trials, {}, AnalysisSettings())
    said = str(refused.value)
    assert said.startswith(
        "no trial has a learning curve to analyze (of 3 trials: 2 failed, 1 killed;"
    )
    assert "a failed trial's reason is in its pair's log" in said


def test_cost_sources_whole_billed_nodes_and_price_overrides():
    same_curve = linear_history(0.5, sps=100.0)
    trials = [
        trial("one", 1, 1, 500.0),
        trial("two", 1, 2, 500.0),
        trial("tot", 2, 1, 500.0, cost_usd=9.0, runtime_s=10.0),
        trial("log", 4, 1, 500.0),
    ]
    hist = {
        "one": same_curve,
        "two": same_curve,
        "tot": same_curve,
        "log": linear_history(0.5, sps=100.0, cost_per_s=0.5),
    }
    settings = AnalysisSettings(
        target=250.0, target_kind="absolute", n_boot=0, price_per_gpu_hour=3.6
    )
    pc = analyze(trials, hist, settings).per_config.set_index("config")
    # 5 s to target at $3.6/GPU-hour: 1 GPU -> $0.005; 1 GPU on each of 2 nodes pays for both
    assert pc.loc["g1n1", "cost_to_target_usd"] == pytest.approx(0.005)
    assert pc.loc["g1n2", "cost_to_target_usd"] == pytest.approx(0.010)
    assert (
        pc.loc["g2n1", "cost_to_target_usd"] == pytest.approx(4.5)
        and pc.loc["g2n1", "cost_source"] == COST_LOGGED_TOTAL
    )
    assert (
        pc.loc["g4n1", "cost_to_target_usd"] == pytest.approx(2.5)
        and pc.loc["g4n1", "cost_source"] == COST_LOGGED_HISTORY
    )
    table = AnalysisSettings(gpu_type="A100", spot=True, price_overrides={"A100:spot": 1.8})
    assert table.price().usd_per_gpu_hour == 1.8 and "override" in table.price().source
    assert AnalysisSettings(gpu_type="A100").price().usd_per_gpu_hour == 2.74


def test_critical_batch_from_trials_spanning_batch_sizes():
    trials, hist = [], {}
    e_min, s_min = 1.0e5, 20.0
    for i, batch in enumerate([512, 1024, 2048, 4096, 8192, 16384]):
        samples = (s_min + e_min / batch) * batch  # E = E_min (1 + B / B_crit)
        t = trial(f"b{i}", 1, 1, 500.0, params={"trainer.batch_size": batch})
        trials.append(t)
        hist[t.run_id] = [
            type(p)(p.agent_step * samples / 500.0, p.wall_s, p.score) for p in linear_history(0.5)
        ]
    result = analyze(
        trials, hist, AnalysisSettings(target=250.0, target_kind="absolute", n_boot=200)
    )
    cbs = result.laws["critical_batch"]
    assert cbs.b_crit == pytest.approx(e_min / s_min, rel=1e-3) and cbs.straddled


def test_the_composite_model_says_when_its_critical_batch_is_not_claimed():
    """The critical-batch law claims no B_crit outside the tested batch sizes, but the
    composite model was built on it and printed without a word."""
    from hwscale_tui.analysis import CompositeModel, render_text

    trials, hist = [], {}
    e_min, s_min = 1.0e5, 20.0  # B_crit 5000, past every batch tested
    for g in (1, 2, 4):
        for k, batch in enumerate((64 * g, 96 * g)):
            samples = (s_min + e_min / batch) * batch
            t = trial(f"g{g}b{k}", g, 1, 500.0, params={"trainer.batch_size": batch}, sps=100.0 * g)
            trials.append(t)
            hist[t.run_id] = [
                type(p)(p.agent_step * samples / 500.0, p.wall_s * samples / 500.0 / g, p.score)
                for p in linear_history(0.5)
            ]
    result = analyze(
        trials, hist, AnalysisSettings(target=250.0, target_kind="absolute", n_boot=50)
    )
    cbs, composite = result.laws["critical_batch"], result.laws["composite"]
    assert not cbs.straddled and isinstance(composite, CompositeModel)
    assert composite.note.startswith("built on B_crit 5k, outside the tested batch sizes [64, 384]")
    assert f"note: {composite.note}" in render_text(result, width=300)
    assert result.to_json()["laws"]["composite"]["note"] == composite.note


@pytest.mark.parametrize("total, runtime", [(math.inf, 10.0), (9.0, math.inf)])
def test_an_infinite_logged_total_or_runtime_is_no_cost_rate(total, runtime):
    """A trial total of $inf (or a runtime of inf s) spread over the wall time made the cost to
    target $inf, printed "not reached" beside a reached target (or $0, the best of all)."""
    trials = [trial("t", 2, 1, 500.0, cost_usd=total, runtime_s=runtime)]
    hist = {"t": linear_history(0.5, sps=100.0)}
    settings = AnalysisSettings(
        target=250.0, target_kind="absolute", n_boot=0, price_per_gpu_hour=3.6
    )
    row = analyze(trials, hist, settings).per_config.iloc[0]
    assert row["cost_source"] == COST_PRICED
    assert row["cost_to_target_usd"] == pytest.approx(0.01)  # 5 s x 2 GPUs x $3.6/GPU-hour


def test_a_cost_logged_at_some_points_is_interpolated_between_them_and_unknown_past_them():
    """np.interp held the last logged cost after it: a trial that logged $4 at 4 s and reached
    the target at 4.5 s cost $4 to target. And a cost logged where no wall time was, was lost."""
    from hwscale_tui.analysis.cost import attach_cost_axis
    from hwscale_tui.analysis.curves import Curve

    costs = [0.5, None, 2.0, None, 4.0, None]
    walls = [math.nan, 1.0, 2.0, 3.0, 4.0, 5.0]
    hist = [HistoryPoint(100.0 * i, w, 10.0 * i, c) for i, (w, c) in enumerate(zip(walls, costs))]
    curve = Curve.from_history(hist)
    source = attach_cost_axis(
        curve, trial("t", 1, 1, 50.0), HardwarePair(1, 1), AnalysisSettings().price()
    )
    assert source == COST_LOGGED_HISTORY
    assert curve.cost_usd[[0, 2, 3, 4]].tolist() == [0.5, 2.0, 3.0, 4.0]  # 3.0: interpolated
    assert np.isnan(curve.cost_usd[[1, 5]]).all()  # no wall time to interpolate over; past the last
    settings = AnalysisSettings(target=45.0, target_kind="absolute", n_boot=0)
    row = analyze([trial("t", 1, 1, 50.0)], {"t": hist}, settings).per_config.iloc[0]
    assert row["best_reached"] and row["time_to_target_s"] == pytest.approx(4.5)
    assert math.isnan(row["cost_to_target_usd"])  # past the last logged cost: unknown, not $4


def test_settings_reject_bad_values_with_one_sentence():
    for kwargs, match in (
        ({"target": 1.5}, "not a fraction"),
        ({"levels": (0.5, 2.0)}, "levels"),
        ({"scenarios": {"x": {"sample": 0.5}}}, "sum to"),
        ({"n_boot": -1}, "negative"),
        ({"smoothing": "lowess"}, "smoothing"),
    ):
        with pytest.raises(UsageError, match=match):
            AnalysisSettings(**kwargs)


def test_pareto_knee_is_the_point_farthest_from_the_chord():
    front = pareto_front(
        ["fast", "knee", "slow", "dominated"],
        np.array([1.0, 2.0, 100.0, 50.0]),
        np.array([100.0, 2.0, 1.0, 50.0]),
    )
    assert [p.config for p in front.front] == ["fast", "knee", "slow"] and front.knee == "knee"
    assert not next(p for p in front.points if p.config == "dominated").on_front


def test_a_config_equal_to_a_front_point_is_on_the_front_not_dominated():
    """Identical pairs: the second of two configs with the same time and cost was drawn and
    listed as dominated by its twin; and two twins and one more point are no 3 for a knee."""
    twins = pareto_front(["a", "b"], np.array([9.0, 9.0]), np.array([0.5, 0.5]))
    assert [p.config for p in twins.front] == ["a", "b"] and all(p.on_front for p in twins.points)
    assert twins.knee is None and twins.note == "1 distinct point on the front: a knee needs 3"
    three = pareto_front(
        ["fast", "knee", "twin", "slow"],
        np.array([1.0, 2.0, 2.0, 100.0]),
        np.array([100.0, 2.0, 2.0, 1.0]),
    )
    assert [p.config for p in three.front] == ["fast", "knee", "twin", "slow"]
    assert three.knee == "knee"
    two = pareto_front(["a", "b", "c"], np.array([1.0, 1.0, 5.0]), np.array([5.0, 5.0, 1.0]))
    assert two.knee is None and two.note == "2 distinct points on the front: a knee needs 3"


def test_minimizing_target_rule_reads_as_the_division_it_is():
    # 0.9 / 2 would be 0.45: the rule names the best score first, then divides
    hist = [HistoryPoint(100.0 * s, 10.0 * s, 10 - 0.8 * s, None) for s in range(1, 11)]
    res = analyze(
        [trial("a", 1, 1, 2.0)],
        {"a": hist},
        AnalysisSettings(n_boot=0, goal="minimize", price_per_gpu_hour=3.6),
    )
    assert res.target == pytest.approx(2 / 0.9)
    assert res.target_rule == "best smoothed score 2 (a) / 0.9 = 2.22222"
    row = res.per_config.iloc[0]
    assert row["samples_to_target"] == pytest.approx(100 * (10 - 2 / 0.9) / 0.8)
    assert row["cost_to_target_usd"] == pytest.approx(row["time_to_target_s"] / 1000)


def test_minimized_target_levels_say_they_divide_the_best_score():
    """The level table said "fractions of the best smoothed score" over a loss: level 0.5 of a
    best loss of 2 read 4, twice the best, under a heading that promised half of it."""
    from hwscale_tui.analysis import render_text

    hist = [HistoryPoint(100.0 * s, 10.0 * s, 10 - 0.8 * s, None) for s in range(1, 11)]
    res = analyze([trial("a", 1, 1, 2.0)], {"a": hist}, AnalysisSettings(n_boot=0, goal="minimize"))
    assert res.levels["target"].tolist() == pytest.approx([4.0, 2 / 0.75, 2 / 0.9])
    text = " ".join(render_text(res, width=200).split())
    assert (
        "Target levels (the best smoothed score divided by each level, as the metric is minimized)"
        in text
    )
    assert "fractions of the best smoothed score" not in text


def test_identical_pairs_are_a_tie_not_a_winner_the_bootstrap_agrees_with():
    """Two pairs with the same trials tie on every FOM: the first listed was recommended for
    "highest FOM" with "bootstrap agrees 80%", since argmax gives a tied resample to the first."""
    trials = [
        trial(f"{p}{k}", g, n, 100.0 - k)
        for p, g, n in (("a", 2, 1), ("b", 1, 2))
        for k in range(3)
    ]
    hist = {t.run_id: linear_history(0.1 - 0.01 * int(t.run_id[1])) for t in trials}
    result = analyze(trials, hist, AnalysisSettings(n_boot=400))
    assert (result.fom.loc["g2n1"] == result.fom.loc["g1n2"]).all()
    for rec in result.recommendations:
        assert rec.config == "g2n1" and rec.tied_with == ["g1n2"] and rec.runner_up == "g1n2"
        # it wins a resample only where its resampled best trial beats the other pair's: about
        # 22% of them (56% are ties, which argmax gave it)
        assert rec.bootstrap_agreement is not None and rec.bootstrap_agreement < 0.5
    assert (
        "Tied on the figure of merit (research, development, budget, balanced: g2n1 ties g1n2): "
        "the recommendation shows the config listed first (fewest GPUs in all, then fewest "
        "nodes), not a better one."
    ) in result.notes
    assert result.to_json()["recommendations"][0]["tied_with"] == ["g1n2"]
    # no tie, no note, and agreement as before
    hist["b0"] = linear_history(0.05)
    untied = analyze(trials, hist, AnalysisSettings(n_boot=400))
    assert not any(n.startswith("Tied") for n in untied.notes)
    assert all(not r.tied_with for r in untied.recommendations)
