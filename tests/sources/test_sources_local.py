"""The local source over a real store: same records, cheap incremental polls, curves, bad rows."""

from __future__ import annotations

import pytest

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.paths import app_paths
from hwscale_tui.records import HistoryPoint
from hwscale_tui.sources import SourceSettings, make_source
from hwscale_tui.store import Store

T0 = 1_750_000_000.0


@pytest.fixture
def store():
    s = Store.open_default()
    yield s
    s.close()


def cfg():
    return apply_overrides(
        default_config("builtin"), {"grid.gpu_counts": [1, 2], "grid.node_counts": [1]}
    )


def add_trial(store, sweep, i, **fields):
    run_id = f"{sweep}_trial_{i:04d}_{i:06x}"
    defaults = dict(
        experiment="hardware_scaling",
        idx=i,
        gpus=None,
        nodes=None,
        state="finished",
        params={"trainer.batch_size": 1024 * i},
        score=0.1 * i,
        cost_usd=0.01 * i,
        agent_steps=1e4 * i,
        runtime_s=3.0 * i,
        sps=3000.0,
        created_at=T0 + i,
        updated_at=T0 + i,
    )
    defaults.update(fields)
    store.insert_trial(run_id, sweep, **defaults)
    return run_id


def local(store, clock, **settings):
    return make_source(
        cfg(), "local", store=store, clock=lambda: clock[0], settings=SourceSettings(**settings)
    )


def test_records_come_from_the_store_with_hardware_and_only_the_experiments_sweeps(store):
    a = add_trial(store, "hardware_scaling.g1n1", 1)
    b = add_trial(store, "hardware_scaling.g2n1", 2, gpus=2, nodes=1, state="running")
    add_trial(store, "hardware_scaling.g8n2", 3)  # not in this experiment's grid
    add_trial(store, "other.g1n1", 4)
    result = local(store, [T0 + 10]).poll()
    by_id = {t.run_id: t for t in result.trials}
    assert set(by_id) == {a, b} and result.requests == 1 and result.flagged == 0
    t = by_id[a]
    assert (
        t.gpus,
        t.nodes,
        t.state,
        t.score,
        t.cost_usd,
        t.agent_steps,
        t.runtime_s,
        t.sps,
        t.source,
    ) == (1, 1, "finished", 0.1, 0.01, 1e4, 3.0, 3000.0, "local")
    assert t.params == {"trainer.batch_size": 1024} and by_id[b].state == "running"


def test_later_polls_read_only_rows_updated_since_the_previous_query(store):
    ids = [
        add_trial(store, "hardware_scaling.g1n1", i, updated_at=T0 + 10 * i) for i in range(1, 6)
    ]
    clock = [T0 + 100]
    src = local(store, clock)
    first = src.poll()
    assert first.changed == set(ids)
    seen = []
    original = store.trial_rows

    def spy(*args, **kwargs):
        rows = original(*args, **kwargs)
        seen.append((kwargs.get("updated_since"), len(rows)))
        return rows

    store.trial_rows = spy
    clock[0] = T0 + 110
    quiet = src.poll()
    assert quiet.changed == set() and seen[-1] == (
        T0 + 100 - 5.0,
        0,
    )  # previous query time minus the overlap
    assert all(
        a is b for a, b in zip(quiet.trials, first.trials)
    )  # unchanged records are the same objects
    store.update_trial(ids[2], state="failed", score=None, updated_at=T0 + 111)
    clock[0] = T0 + 120
    second = src.poll()
    assert second.changed == {ids[2]} and second.requests == 1 and seen[-1] == (T0 + 110 - 5.0, 1)
    assert {t.run_id: t.state for t in second.trials}[ids[2]] == "failed" and len(
        second.trials
    ) == 5


def test_a_row_committed_late_with_an_older_timestamp_is_not_missed(store):
    clock = [T0 + 50.5]
    src = local(store, clock)
    add_trial(store, "hardware_scaling.g1n1", 1, updated_at=T0 + 50)
    src.poll()
    late = add_trial(
        store, "hardware_scaling.g1n1", 2, updated_at=T0 + 48
    )  # its writer read the clock 2.5 s earlier
    clock[0] = T0 + 60
    result = src.poll()
    assert late in result.changed and len(result.trials) == 2


def test_live_trials_without_updates_become_stale(store):
    quiet = add_trial(store, "hardware_scaling.g1n1", 1, state="running", updated_at=T0)
    busy = add_trial(store, "hardware_scaling.g1n1", 2, state="running", updated_at=T0 + 590)
    clock = [T0 + 600]
    src = local(store, clock, stale_after_s=300)
    states = {t.run_id: t.state for t in src.poll().trials}
    assert states == {quiet: "stale", busy: "running"}
    clock[0] = (
        T0 + 1000
    )  # time passes, nothing is written: busy goes stale too and is reported changed
    result = src.poll()
    assert {t.run_id: t.state for t in result.trials}[busy] == "stale" and busy in result.changed


def test_bad_rows_are_kept_and_flagged(store):
    bad = add_trial(
        store, "hardware_scaling.g2n1", 1, state="exploded", score="n/a", params_json="{not json"
    )
    store.conn.execute(
        "UPDATE trials SET params_json = '[1]', gpus = NULL WHERE run_id = ?", (bad,)
    )
    good = add_trial(store, "hardware_scaling.g1n1", 2)
    result = local(store, [T0 + 10]).poll()
    by_id = {t.run_id: t for t in result.trials}
    assert result.flagged == 1 and by_id[good].flags == []
    t = by_id[bad]
    assert (t.state, t.score, t.params, t.gpus, t.nodes) == ("stale", None, {}, 2, 1)
    assert {"params_json is not a JSON object", "unknown state 'exploded'"} <= set(t.flags)
    assert any(f.startswith("score is not a finite number") for f in t.flags)


def test_histories_are_the_same_shape_and_reread_only_when_they_grow(store):
    a = add_trial(store, "hardware_scaling.g1n1", 1)
    b = add_trial(store, "hardware_scaling.g1n1", 2)
    store.append_history(
        a,
        [
            {
                "agent_step": 100.0 * k,
                "wall_s": 1.0 * k,
                "score": 0.1 * k,
                "reward": 0.2 * k,
                "sps": 100.0 * k,
            }
            for k in (1, 2)
        ],
    )
    store.append_history(b, [{"agent_step": 50.0, "wall_s": 0.5, "score": 0.05}])
    src = local(store, [T0 + 10])
    src.poll()
    curves = src.histories([a, b])
    assert curves[a] == [HistoryPoint(100.0, 1.0, 0.1), HistoryPoint(200.0, 2.0, 0.2)]
    # never read before: one read gives the curves and what later calls compare (no marks query)
    assert src.counter.by_kind.get("history_marks", 0) == 0
    assert src.histories([a], "overview/reward")[a] == [
        HistoryPoint(100.0, 1.0, 0.2),
        HistoryPoint(200.0, 2.0, 0.4),
    ]
    # the trainer's steps per second, by its W&B key: the store's sps column
    assert src.histories([a], "overview/sps")[a] == [
        HistoryPoint(100.0, 1.0, 100.0),
        HistoryPoint(200.0, 2.0, 200.0),
    ]
    before = dict(src.counter.by_kind)
    assert src.histories([a, b]) == curves
    assert src.counter.by_kind["history"] == before["history"]  # nothing grew: no re-read
    assert src.counter.by_kind["history_marks"] == 1
    store.append_history(b, [{"agent_step": 60.0, "wall_s": 0.6, "score": 0.06}])
    again = src.histories([a, b])
    assert src.counter.by_kind["history"] == before["history"] + 1
    assert len(again[b]) == 2 and again[a] == curves[a]


def test_no_store_yet_means_no_trials_and_nothing_created():
    src = make_source(cfg(), "local")
    result = src.poll()
    assert result.trials == [] and result.requests == 0 and src.histories(["x"]) == {}
    assert not app_paths().store.exists()
