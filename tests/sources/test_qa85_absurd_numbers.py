"""QA 85: W&B run summaries and history rows holding absurd numbers, with the real wandb client
against the loopback server.

A whole number too large for a float (W&B keeps what a run logs: ``10**400`` as JSON) raised
OverflowError while the run was read: the run became an unreadable ``stale`` trial with no pair,
score or cost ("could not read run (OverflowError: int too large to convert to float)"), and in
a history row it failed the run's whole curve ("W&B query failed (OverflowError ...)"), which
``trials --csv --history`` refused to print and ``analyze`` analyzed without.

And a finite but absurd number (1.7e308, -1e300, an int beyond 2**63) was taken as it came: a
score of 1.7e308 was its pair's best score in ``analyze`` (and the trials table's), a cost of
2**64 dollars and an SPS of 1e308 went into the cost and throughput estimates, and the table
printed them 300 digits wide. A number beyond 2**53 (``base.NUMBER_LIMIT``) is now flagged
"out of range" and unknown, as NaN is, and such a history row is skipped."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.sources import SourceSettings, make_source
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs

HUGE_INT = 10**400  # valid JSON; no float holds it


@pytest.fixture
def runs():
    return experiment_runs("hardware_scaling", ["g1n1"], 3, history_points=10)


@pytest.fixture
def serve(tmp_path, monkeypatch):
    servers = []

    def start(runs):
        server = WandbLoopback(runs).start()
        servers.append(server)
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        return server

    yield start
    for server in servers:
        server.stop()
        assert server.unknown == [], "the client sent requests the loopback server does not know"


def wandb_source():
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta"),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [1], "grid.node_counts": [1]},
    )
    settings = SourceSettings(retry_sleep_s=0.01, stale_after_s=1e9)
    return make_source(cfg, "wandb", settings=settings)


def test_a_whole_number_too_large_for_a_float_in_a_summary_is_one_flagged_value(runs, serve):
    runs[0].summary["metric/agent_step"] = HUGE_INT
    serve(runs)
    trials = {t.run_id: t for t in wandb_source().poll().trials}
    t = trials[runs[0].name]
    # the run is read: only the bad value is unknown, and said
    assert (t.sweep, t.gpus, t.nodes, t.state) == ("hardware_scaling.g1n1", 1, 1, "finished")
    assert t.score == runs[0].summary["sweep/score"]
    assert t.agent_steps is None
    assert len(t.flags) == 2
    assert t.flags[0].startswith("metric/agent_step is out of range: a 401-digit whole number")
    assert t.flags[1] == "finished without agent steps"
    assert all(not other.flags for other in trials.values() if other is not t)


def test_a_whole_number_too_large_for_a_float_in_a_history_row_skips_that_row(runs, serve):
    runs[0].history[3]["overview/reward"] = HUGE_INT
    runs[1].history[5]["metric/agent_step"] = HUGE_INT
    serve(runs)
    src = wandb_source()
    ids = [t.run_id for t in src.poll().trials]
    curves = src.histories(ids)
    assert src.history_error is None and src.history_unread == []
    lengths = {run_id: len(curves[run_id]) for run_id in ids}
    assert lengths == {runs[0].name: 9, runs[1].name: 9, runs[2].name: 10}


ABSURD = {
    "sweep/score": 1.7e308,
    "evaluator/eval_sweep/score": 1.7e308,
    "monitor/cost/accrued_total": 2**64,
    "sweep/cost": 2**64,
    "metric/agent_step": 2**70,
    "metric/total_time": 1e308,
    "overview/sps": -1e300,
}


def test_finite_but_absurd_summary_values_are_flagged_and_unknown(runs, serve):
    runs[0].summary.update(ABSURD)
    serve(runs)
    trials = {t.run_id: t for t in wandb_source().poll().trials}
    t = trials[runs[0].name]
    assert (t.score, t.cost_usd, t.agent_steps, t.sps) == (None,) * 4
    assert t.runtime_s == runs[0].summary["_runtime"]  # the next runtime key, as for a NaN
    assert t.state == "finished"
    out_of_range = "is out of range: {} (a trial's numbers are within ±2**53, 9.0e15)".format
    assert t.flags == [
        f"monitor/cost/accrued_total {out_of_range('1.84e+19')}",
        f"sweep/cost {out_of_range('1.84e+19')}",
        f"sweep/score {out_of_range('1.7e+308')}",
        f"evaluator/eval_sweep/score {out_of_range('1.7e+308')}",
        f"metric/agent_step {out_of_range('1.18e+21')}",
        f"metric/total_time {out_of_range('1e+308')}",
        f"overview/sps {out_of_range('-1e+300')}",
        "finished without a score",
        "finished without agent steps",
    ]
    # the other runs' values stand: the best score is a real one
    best = max(trials.values(), key=lambda t: -1 if t.score is None else t.score)
    assert best is not t and best.score == max(r.summary["sweep/score"] for r in runs[1:])


def test_an_absurd_value_in_a_history_row_skips_that_row(runs, serve):
    runs[0].history[4]["overview/reward"] = 1.7e308
    runs[1].history[6]["_runtime"] = -1e300
    serve(runs)
    src = wandb_source()
    ids = [t.run_id for t in src.poll().trials]
    curves = src.histories(ids)
    assert src.history_error is None
    assert max(p.score for points in curves.values() for p in points) < 1
    lengths = {run_id: len(curves[run_id]) for run_id in ids}
    assert lengths == {runs[0].name: 9, runs[1].name: 9, runs[2].name: 10}


def test_an_absurd_number_in_the_local_store_is_flagged_and_unknown():
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        for i, score in enumerate((1.7e308, 0.8), 1):
            store.insert_trial(
                f"hardware_scaling.g1n1_trial_{i:04d}_aaaaaa",
                "hardware_scaling.g1n1",
                idx=i,
                state="finished",
                score=score,
                cost_usd=-1e300,
            )
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(), {"grid.gpu_counts": [1], "grid.node_counts": [1]}
    )
    first, second = make_source(cfg, "local").poll().trials
    assert (first.score, first.cost_usd, second.score, second.cost_usd) == (None, None, 0.8, None)
    assert first.flags == [
        "score is out of range: 1.7e+308 (a trial's numbers are within ±2**53, 9.0e15)",
        "cost_usd is out of range: -1e+300 (a trial's numbers are within ±2**53, 9.0e15)",
    ]


def test_a_negative_cost_step_count_runtime_or_sps_is_flagged_and_unknown(runs, serve):
    """They were shown as they came ("-100.00" dollars, "-50s", "-1G" steps, "-1M" SPS in the
    table, the same in --json and --csv) with no flag; a negative score stays a score."""
    runs[0].summary.update(
        {
            "monitor/cost/accrued_total": -100.0,
            "metric/agent_step": -1e9,
            "metric/total_time": -50.0,
            "overview/sps": -1e6,
            "sweep/score": -0.5,
            "evaluator/eval_sweep/score": -0.5,
        }
    )
    serve(runs)
    trials = {t.run_id: t for t in wandb_source().poll().trials}
    t = trials[runs[0].name]
    assert t.score == -0.5
    assert t.cost_usd == runs[0].summary["sweep/cost"]  # the next cost key, as for a NaN
    assert t.runtime_s == runs[0].summary["_runtime"]  # likewise
    assert (t.agent_steps, t.sps) == (None, None)
    negative = "is negative: {} (a cost, step count, runtime or SPS is 0 or more)".format
    assert t.flags == [
        f"monitor/cost/accrued_total {negative('-100')}",
        f"metric/agent_step {negative('-1e+09')}",
        f"metric/total_time {negative('-50')}",
        f"overview/sps {negative('-1e+06')}",
        "finished without agent steps",
    ]


def test_a_negative_cost_in_the_local_store_is_flagged_and_unknown():
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        store.insert_trial(
            "hardware_scaling.g1n1_trial_0001_aaaaaa",
            "hardware_scaling.g1n1",
            idx=1,
            state="finished",
            score=-0.25,
            cost_usd=-3.0,
            runtime_s=-1.0,
            agent_steps=0.0,
            sps=-2.0,
        )
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(), {"grid.gpu_counts": [1], "grid.node_counts": [1]}
    )
    (t,) = make_source(cfg, "local").poll().trials
    assert (t.score, t.cost_usd, t.agent_steps, t.runtime_s, t.sps) == (
        -0.25,
        None,
        0.0,
        None,
        None,
    )
    negative = "is negative: {} (a cost, step count, runtime or SPS is 0 or more)".format
    assert t.flags == [
        f"cost_usd {negative('-3')}",
        f"runtime_s {negative('-1')}",
        f"sps {negative('-2')}",
    ]


def test_a_histogram_where_a_number_belongs_is_named_as_one(runs, serve):
    """The flag showed the dict's text cut at 40 characters: 'sweep/score is not a finite
    number: "{\\'_type\\': \\'histogram\\', \\'values\\': [1, 2],"'."""
    histogram = {"_type": "histogram", "values": [1, 2, 3], "bins": [0.0, 0.5, 1.0, 1.5]}
    runs[0].summary.update(
        {
            "sweep/score": histogram,
            "evaluator/eval_sweep/score": histogram,
            "overview/sps": {"mean": 5.0, "max": 7.0},
        }
    )
    serve(runs)
    t = next(t for t in wandb_source().poll().trials if t.run_id == runs[0].name)
    assert (t.score, t.sps) == (None, None)
    assert t.flags == [
        "sweep/score is not a finite number: a W&B histogram",
        "evaluator/eval_sweep/score is not a finite number: a W&B histogram",
        "overview/sps is not a finite number: a dict (keys 'mean', 'max')",
        "finished without a score",
    ]


def test_a_hyperparameter_too_large_for_a_float_is_flagged_and_analyze_runs(
    runs, serve, tmp_path, capsys
):
    """A sweep/suggestion holding trainer.batch_size = 10**400 was kept as it came: analyze
    ended with a traceback (OverflowError: int too large to convert to float, in the critical
    batch size's reading of the batch size), and trials printed the 401 digits."""
    from hwscale_tui.cli import main

    runs[0].summary["sweep/suggestion"]["trainer.batch_size"] = HUGE_INT
    serve(runs)
    t = next(t for t in wandb_source().poll().trials if t.run_id == runs[0].name)
    assert t.params["trainer.batch_size"] is None
    assert (
        t.params["trainer.minibatch_size"]
        == runs[0].summary["sweep/suggestion"]["trainer.minibatch_size"]
    )
    assert t.flags == [
        "sweep/suggestion.trainer.batch_size is a 401-digit whole number, too large for a float"
    ]
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta"),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [1], "grid.node_counts": [1]},
    )
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    rc = main(["analyze", "--experiment", str(experiment_file), "--bootstrap", "20"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Traceback" not in err and "1 of 3 trials" in out


def test_a_hyperparameter_too_large_for_a_float_in_the_store_is_flagged():
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        store.insert_trial(
            "hardware_scaling.g1n1_trial_0001_aaaaaa",
            "hardware_scaling.g1n1",
            idx=1,
            state="finished",
            score=0.5,
            params={"trainer.batch_size": HUGE_INT, "seed": 2**64 - 1},
        )
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(), {"grid.gpu_counts": [1], "grid.node_counts": [1]}
    )
    (t,) = make_source(cfg, "local").poll().trials
    assert t.params == {"trainer.batch_size": None, "seed": 2**64 - 1}  # a 64-bit seed stays
    assert t.flags == [
        "params_json.trainer.batch_size is a 401-digit whole number, too large for a float"
    ]


def test_a_curve_cached_with_an_absurd_point_before_is_served_without_it(runs, serve):
    """A curve fetched before absurd values were skipped was cached with its 1.7e308 point,
    under the run's last step: a finished run's curve is never fetched again, so the point
    kept setting the analysis target after the fix. Points read from the cache are checked
    as W&B's rows are."""
    from hwscale_tui.paths import app_paths
    from hwscale_tui.records import HistoryPoint
    from hwscale_tui.sources.history_cache import HistoryCache

    server = serve(runs)
    run = runs[0]
    good = [HistoryPoint(float(i), 10.0 * i, 0.1 * i) for i in range(1, 5)]
    cache = HistoryCache(app_paths().state / "cache" / "wandb" / DEFAULT_ENTITY / server.project)
    cache.put(
        run.name,
        "overview/reward",
        f"step={run.last_step()}",
        [*good, HistoryPoint(5.0, 50.0, 1.7e308)],
    )
    src = wandb_source()
    src.poll()
    server.reset_counts()
    curves = src.histories([run.name])
    assert server.counts.get("RunSampledHistory", 0) == 0  # served from the cache
    assert list(curves[run.name]) == good
