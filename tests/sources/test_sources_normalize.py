"""W&B run data -> Trial: Metta's keys, ours, states, staleness and bad data (no server needed)."""

from __future__ import annotations

import json
import math

import pytest

from hwscale_tui.sources.base import mark_stale
from hwscale_tui.sources.wandb_normalize import (
    WandbRunData,
    flatten,
    lookup,
    normalize_wandb_run,
    parse_time,
)
from tests.support.wandb_loopback import iso

NOW = 1_750_000_000.0
METTA_METRIC = "evaluator/eval_sweep/score"


def metta(**changes) -> WandbRunData:
    base = dict(
        run_id="hw.g4n2_trial_0003_abcdef",
        group="hw.g4n2",
        state="finished",
        tags=["user:alice"],
        config={"TrainTool": {"trainer": {"total_timesteps": 300_000_000}}},
        summary={
            "sweep/score": 0.81,
            "sweep/cost": 12.5,
            "metric/agent_step": 3.0e8,
            "metric/total_time": 5400.0,
            "_runtime": 5460.0,
            "overview/sps": 55_000.0,
            "overview/reward": 0.8,
            "sweep/suggestion": {
                "trainer.optimizer.learning_rate": 0.001,
                "trainer": {"batch_size": 4_194_304},
            },
        },
        created_at=iso(NOW - 6000),
        heartbeat_at=iso(NOW - 100),
        last_step=99,
    )
    base.update(changes)
    return WandbRunData(**base)


def normalize(run: WandbRunData, metric: str = METTA_METRIC, stale_after_s: float = 1200.0):
    return normalize_wandb_run(run, score_metric=metric, now=NOW, stale_after_s=stale_after_s)


def test_metta_run_maps_every_reference_key():
    t = normalize(metta())
    assert (t.sweep, t.run_id, t.gpus, t.nodes, t.state, t.source) == (
        "hw.g4n2",
        "hw.g4n2_trial_0003_abcdef",
        4,
        2,
        "finished",
        "wandb",
    )
    assert (t.score, t.cost_usd, t.agent_steps, t.runtime_s, t.sps) == (
        0.81,
        12.5,
        3.0e8,
        5400.0,
        55_000.0,
    )
    assert t.params == {"trainer.optimizer.learning_rate": 0.001, "trainer.batch_size": 4_194_304}
    assert t.created_at == pytest.approx(NOW - 6000) and t.updated_at == pytest.approx(NOW - 100)
    assert t.flags == []


def test_fallback_keys_metric_path_accrued_cost_and_runtime():
    summary = {
        METTA_METRIC: 0.7,
        "monitor/cost/accrued_total": 3.25,
        "_runtime": 77.0,
        "metric/agent_step": 10.0,
    }
    t = normalize(metta(summary=summary))
    assert (t.score, t.cost_usd, t.runtime_s) == (0.7, 3.25, 77.0)


def test_nested_summary_dicts_are_read_like_flat_slash_keys():
    t = normalize(
        metta(summary={"sweep": {"score": 0.5, "cost": 2.0}, "metric": {"agent_step": 7.0}})
    )
    assert (t.score, t.cost_usd, t.agent_steps) == (0.5, 2.0, 7.0)


def test_our_run_takes_params_from_config_when_no_suggestion_and_hardware_from_group():
    run = metta(
        run_id="hw.g2n1_trial_0001_000001",
        group="hw.g2n1",
        tags=["hwscale", "g2n1"],
        config={
            "hardware": {"gpus": 2, "nodes": 1},
            "trainer.batch_size": 2048,
            "_wandb": {"x": 1},
        },
        summary={"sweep/score": 0.9, "metric/agent_step": 1e5, "score": 0.1},
    )
    t = normalize(run, metric="score")
    assert (t.gpus, t.nodes, t.score) == (2, 1, 0.9)
    assert t.params == {"trainer.batch_size": 2048}


def test_hardware_from_config_when_group_has_no_pair_is_flagged_but_kept():
    run = metta(group="my-sweep", config={"hardware": {"gpus": 8, "nodes": 2}})
    t = normalize(run)
    assert (t.gpus, t.nodes, t.sweep) == (8, 2, "my-sweep")
    assert any("does not end in g<G>n<N>" in f for f in t.flags)


def test_unparseable_group_without_config_hardware_leaves_hardware_unknown():
    t = normalize(metta(group="sweep-without-pair"))
    assert (t.gpus, t.nodes) == (None, None)
    assert any("hardware unknown" in f for f in t.flags)


@pytest.mark.parametrize(
    "wandb_state, expected",
    [
        ("running", "running"),
        ("finished", "finished"),
        ("crashed", "failed"),
        ("failed", "failed"),
        ("killed", "killed"),
        ("pending", "queued"),
        ("preempted", "killed"),
    ],
)
def test_wandb_states_map_to_trial_states(wandb_state, expected):
    assert normalize(metta(state=wandb_state)).state == expected


def test_unknown_state_is_flagged_and_marked_stale():
    t = normalize(metta(state="zombie"))
    assert t.state == "stale" and any("unknown W&B state" in f for f in t.flags)


def test_running_run_without_update_for_too_long_is_stale_and_a_fresh_one_is_not():
    old = normalize(metta(state="running", heartbeat_at=iso(NOW - 1300)), stale_after_s=1200)
    fresh = normalize(metta(state="running", heartbeat_at=iso(NOW - 1100)), stale_after_s=1200)
    finished_long_ago = normalize(
        metta(state="finished", heartbeat_at=iso(NOW - 99_999)), stale_after_s=1200
    )
    assert (old.state, fresh.state, finished_long_ago.state) == ("stale", "running", "finished")


@pytest.mark.parametrize(
    "bad, flag",
    [
        (float("nan"), "sweep/score is not a finite number"),
        (math.inf, "sweep/score is not a finite number"),
        ("0.9", "sweep/score is not a finite number"),
        (True, "sweep/score is not a finite number"),
        ({"_type": "histogram"}, "sweep/score is not a finite number"),
    ],
)
def test_non_numbers_where_numbers_belong_are_flagged_and_dropped(bad, flag):
    t = normalize(metta(summary={**metta().summary, "sweep/score": bad}))
    assert t.score is None
    assert any(f.startswith(flag) for f in t.flags)


def test_bad_sweep_score_falls_back_to_the_metric_path():
    t = normalize(
        metta(summary={"sweep/score": "oops", METTA_METRIC: 0.66, "metric/agent_step": 1.0})
    )
    assert t.score == 0.66 and any("sweep/score" in f for f in t.flags)


@pytest.mark.parametrize(
    "summary, flag",
    [
        ([1, 2], "summary is not a dict (list)"),
        ("[1, 2]", "summary is not a dict (list)"),
        ('"text"', "summary is not a dict (str)"),
        (3, "summary is not a dict (int)"),
        ("{not json", "summary is not valid JSON"),
    ],
)
def test_summary_that_is_not_a_dict_is_flagged_and_the_run_kept(summary, flag):
    t = normalize(metta(summary=summary))
    assert t.run_id == "hw.g4n2_trial_0003_abcdef" and t.score is None and flag in t.flags


def test_summary_and_config_as_json_text_are_parsed_and_config_only_when_needed():
    summary = json.dumps({"sweep/score": 0.4, "metric/agent_step": 5.0})
    with_suggestion = json.dumps(
        {"sweep/score": 0.4, "metric/agent_step": 5.0, "sweep/suggestion": {"lr": 0.2}}
    )
    t = normalize(metta(summary=with_suggestion, config="{broken"))
    assert (t.score, t.params, t.flags) == (
        0.4,
        {"lr": 0.2},
        [],
    )  # hardware and params found: config never read
    assert "config is not valid JSON" in normalize(metta(summary=summary, config="{broken")).flags
    wrapped = json.dumps(
        {"hardware": {"value": {"gpus": 4, "nodes": 1}, "desc": None}, "lr": {"value": 0.1}}
    )
    ours = normalize(metta(group="custom", summary=summary, config=wrapped))
    assert (ours.gpus, ours.nodes, ours.params) == (4, 1, {"lr": 0.1})
    bad = normalize(metta(group="custom", summary=summary, config="[1]"))
    assert "config is not a dict (list)" in bad.flags and bad.gpus is None


def test_missing_group_and_timestamps_are_flagged():
    t = normalize(metta(group=None, created_at="yesterday", heartbeat_at=None))
    assert t.sweep == "" and t.created_at is None and t.updated_at is None
    assert {"run has no group (sweep name)", "createdAt missing or unparseable"} <= set(t.flags)


def test_finished_run_missing_its_keys_is_flagged():
    # evaluated (evaluator metrics under the metric's prefix) but neither score nor steps logged
    t = normalize(metta(summary={"_runtime": 60.0, "evaluator/eval_sweep/combat": 1.0}))
    assert t.state == "finished"
    assert "finished without a score" in t.flags and "finished without agent steps" in t.flags
    assert normalize(metta(state="running", summary={})).flags == []


def test_suggestion_that_is_not_a_dict_is_flagged():
    t = normalize(metta(summary={**metta().summary, "sweep/suggestion": "lr=0.1"}))
    assert t.params == {} and any("sweep/suggestion is not a dict" in f for f in t.flags)


def test_helpers():
    assert lookup({"a/b": 1, "a": {"b": 2}}, "a/b") == 1
    assert lookup({"a": {"b": {"c": 3}}}, "a/b/c") == 3
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}
    assert parse_time("2025-06-01T00:00:00") == 1748736000.0
    assert parse_time("2025-06-01T02:00:00+02:00") == 1748736000.0
    assert parse_time("not a time") is None and parse_time(None) is None


def test_mark_stale_only_touches_live_trials():
    t = normalize(metta(state="pending", heartbeat_at=iso(NOW - 5000)))
    assert t.state == "stale"
    t2 = normalize(metta(state="killed", heartbeat_at=iso(NOW - 5000)))
    assert mark_stale(t2, NOW + 1e6, 1.0).state == "killed"


# -- Metta's meaning of a run (metta/adaptive/stores/wandb.py at Metta-AI/metta 7c1a7ff418) -----


def test_metta_placeholder_run_is_pending_not_finished():
    # init_run: wandb.init, summary initialized=true, wandb.finish at once (:49-70); Metta keeps
    # a finished run without runtime as not started (:181-195)
    for summary in ({"initialized": True, "_runtime": 0}, {"initialized": True}, {}):
        t = normalize(metta(summary=summary))
        assert t.state == "queued", summary
        assert not any(f.startswith("finished without") for f in t.flags)
    # the real client records a second or two of _runtime for the placeholder: still pending
    t = normalize(metta(summary={"initialized": True, "_runtime": 1.4}))
    assert t.state == "queued"


def test_metta_trained_but_not_evaluated_is_awaiting_eval():
    trained = {
        "initialized": True,
        "_runtime": 5460.0,
        "metric/agent_step": 3.0e8,
        "metric/total_time": 5400.0,
        "overview/reward": 0.8,
        "sweep/suggestion": {"trainer.optimizer.learning_rate": 0.001},
    }
    t = normalize(metta(summary=trained))
    assert t.state == "awaiting_eval" and t.score is None and t.agent_steps == 3.0e8
    assert not any(f.startswith("finished without") for f in t.flags)
    # evaluator metrics under the metric's prefix mean evaluated (stores/wandb.py:206-215)
    t = normalize(metta(summary={**trained, "evaluator/eval_sweep/score": 0.7}))
    assert (t.state, t.score) == ("finished", 0.7)
    # metrics of another suite are not this sweep's evaluation
    t = normalize(metta(summary={**trained, "evaluator/eval_arena/score": 0.7}))
    assert t.state == "awaiting_eval"
    # running stays running; our own runs are never reinterpreted
    assert normalize(metta(state="running", summary=trained)).state == "running"
    ours = normalize(metta(tags=["hwscale"], summary={**trained, "score": 1.0}), metric="score")
    assert ours.state == "finished"


def test_metta_cost_zero_without_the_monitor_key_is_unknown():
    base = {"_runtime": 100.0, "metric/agent_step": 1e6, "sweep/score": 0.5}
    # sweep/cost copies run.cost, 0 when monitor/cost/accrued_total is absent (stores/wandb.py:223-224)
    t = normalize(metta(summary={**base, "sweep/cost": 0.0}))
    assert t.cost_usd is None
    assert any("cost unknown" in f for f in t.flags)
    # measured on SkyPilot: the monitor key wins, even when it is 0
    t = normalize(metta(summary={**base, "sweep/cost": 0.0, "monitor/cost/accrued_total": 3.25}))
    assert t.cost_usd == 3.25 and not any("cost unknown" in f for f in t.flags)
    t = normalize(metta(summary={**base, "monitor/cost/accrued_total": 0.0}))
    assert t.cost_usd == 0.0
    # our runs log a real sweep/cost
    t = normalize(metta(tags=["hwscale"], summary={**base, "sweep/cost": 0.0}))
    assert t.cost_usd == 0.0


def test_unknown_metta_cost_is_estimated_from_gpu_hours_and_labelled():
    import numpy as np

    from hwscale_tui.analysis.cost import COST_PRICED, attach_cost_axis
    from hwscale_tui.analysis.curves import Curve
    from hwscale_tui.analysis.settings import PriceInForce
    from hwscale_tui.hardware import HardwarePair

    base = {"_runtime": 3600.0, "metric/agent_step": 1e6, "sweep/score": 0.5, "sweep/cost": 0}
    t = normalize(metta(summary=base))
    assert t.cost_usd is None
    wall = np.array([0.0, 1800.0, 3600.0])
    curve = Curve(np.array([0.0, 5e5, 1e6]), wall, np.zeros(3), np.zeros(3), np.full(3, np.nan))
    price = PriceInForce(2.0, "H100", False, "test")
    source = attach_cost_axis(curve, t, HardwarePair(4, 2), price)
    assert source == COST_PRICED and source.startswith("estimated")
    # 4 GPUs x 2 nodes x $2/GPU-hour x 1 hour
    assert curve.cost_usd[-1] == pytest.approx(16.0)
