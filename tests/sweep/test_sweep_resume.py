"""Resume after the runner is SIGKILLed, for real: trials kept, re-attached, settled; ids never reused."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.launch import registry
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep
from tests.support.cli import cli_env, hwscale_cmd
from tests.sweep.sweep_helpers import (
    ScriptedDispatcher,
    finished_exit,
    pid_alive,
    wait_for,
    write_experiment,
)

SWEEP = "res.g1n1"


def rows_by_idx(store):
    return {r["idx"]: r for r in store.trial_rows([SWEEP])}


def start_runner(exp, hold, log):
    return subprocess.Popen(
        hwscale_cmd("sweep", "--experiment", str(exp), "--gpus", "1", "--nodes", "1"),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=cli_env(STUB_HOLD_DIR=str(hold)),
        start_new_session=True,
    )


def release(hold, name):
    (hold / name).touch()


def test_sigkill_then_restart_keeps_reattaches_and_settles_every_trial(tmp_path):
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(
        tmp_path / "exp.toml", name="res", max_trials=5, batch_size=3, max_parallel_jobs=3
    )
    store = Store.open_default()
    log1 = open(tmp_path / "runner1.log", "wb")
    runner = start_runner(exp, hold, log1)
    try:
        rows = wait_for(
            lambda: (
                len([r for r in rows_by_idx(store).values() if r["pid"]]) == 3
                and rows_by_idx(store)
            ),
            what="three trials running",
        )
        release(hold, rows[1]["run_id"])
        rows = wait_for(
            lambda: (
                (r := rows_by_idx(store)).get(1, {}).get("state") == "finished"
                and 4 in r
                and r[4]["pid"]
                and r
            ),
            what="trial 1 finished and trial 4 started",
        )
    finally:
        runner.send_signal(signal.SIGKILL)  # no chance to clean up
        runner.wait(timeout=60)
    first = rows[1]
    # While no runner watches: trial 2 finishes (its result must not be lost), trial 3 dies.
    assert all(pid_alive(rows[i]["pid"]) for i in (2, 3, 4)), "trials must outlive their runner"
    release(hold, rows[2]["run_id"])
    os.killpg(rows[3]["pgid"], signal.SIGKILL)
    wait_for(
        lambda: not pid_alive(rows[2]["pid"]) and not pid_alive(rows[3]["pid"]),
        what="trials 2 and 3 to end",
    )

    log2 = open(tmp_path / "runner2.log", "wb")
    runner = start_runner(exp, hold, log2)
    try:
        wait_for(
            lambda: any(e["kind"] == "reattached" for e in store.events(SWEEP)),
            what="the re-attach",
        )
        release(hold, "all")
        assert runner.wait(timeout=120) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
    final = rows_by_idx(store)
    assert sorted(final) == [
        1,
        2,
        3,
        4,
        5,
    ]  # one new trial (5) for the one failure; no index reused
    assert len({r["run_id"] for r in final.values()}) == 5
    assert [final[i]["state"] for i in range(1, 6)] == [
        "finished",
        "finished",
        "failed",
        "finished",
        "finished",
    ]
    assert (
        final[1]["score"] == first["score"] and final[1]["ended_at"] == first["ended_at"]
    )  # kept as it was
    assert final[2]["score"] > 0  # finished while the runner was down: its result was recovered
    assert (
        final[3]["error"]
        == "its process ended while no runner was watching and left no final result"
    )
    assert final[4]["pid"] == rows[4]["pid"]  # the same process, re-attached, not restarted
    events = store.events(SWEEP)
    reattached = [e for e in events if e["kind"] == "reattached"]
    assert [e["run_id"] for e in reattached] == [rows[4]["run_id"]]
    resumed = [e["message"] for e in events if e["kind"] == "resumed"]
    assert resumed == ["3 of 5 trials done, 1 re-attached, 0 suggested but never started"]
    assert store.get_sweep(SWEEP)["status"] == "finished"
    text = (tmp_path / "runner2.log").read_text()
    assert "reattached" in text and "done" in text
    # the per-launch file forgets the trials settled at the resume too (a later cancel or
    # status would take their jobs for ones still in flight)
    assert not registry.read("res")["trials"], registry.read("res")["trials"]


def test_a_suggestion_recorded_but_never_started_is_started_under_its_own_id_on_resume():
    cfg = apply_overrides(
        default_config(env={}),
        {"experiment.name": "res", "sweep.max_trials": 2, "sweep.batch_size": 1},
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    store = Store.open_default()
    params = setup.preset.space.center()
    store.upsert_sweep(
        SWEEP, status="running", pid=2**22 + 1, proc_start=1.0
    )  # a dead runner's row
    store.insert_trial(
        f"{SWEEP}_trial_0001_aaaaaa",
        SWEEP,
        idx=1,
        state="queued",
        params=params,
        log_path=str(app_paths().runs / "never" / "trial.log"),
        metrics_path=str(app_paths().runs / "never" / "m"),
    )
    d = ScriptedDispatcher(exit_for=lambda spec: finished_exit(5.0))
    runner = SweepRunner(
        setup, store=store, dispatcher=d, out=io.StringIO(), timings=RunnerTimings(poll_s=0.0)
    )
    assert runner.run() == 0
    assert [s.run_id for s in d.started][:1] == [f"{SWEEP}_trial_0001_aaaaaa"]
    assert d.started[0].params == params
    final = store.trial_rows([SWEEP])
    assert [r["idx"] for r in final] == [1, 2] and {r["state"] for r in final} == {"finished"}
    assert json.loads(final[0]["params_json"]) == params


def test_a_trial_that_recorded_its_own_end_while_no_runner_watched_is_announced_once():
    cfg = apply_overrides(
        default_config(env={}),
        {"experiment.name": "res", "sweep.max_trials": 2, "sweep.batch_size": 1},
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    store = Store.open_default()
    store.upsert_sweep(SWEEP, status="running", pid=2**22 + 1, proc_start=1.0)
    center = setup.preset.space.center()
    # trial 1 ended under the old runner (announced); trial 2 ended later, written by the trainer itself
    store.insert_trial(
        f"{SWEEP}_trial_0001_aaaaaa", SWEEP, idx=1, state="finished", score=10.0, params=center
    )
    store.add_event("finished", "score=10", sweep=SWEEP, run_id=f"{SWEEP}_trial_0001_aaaaaa")
    store.insert_trial(
        f"{SWEEP}_trial_0002_bbbbbb",
        SWEEP,
        idx=2,
        state="finished",
        score=20.0,
        runtime_s=4.0,
        cost_usd=0.5,
        params={**center, "trainer.batch_size": 2048},
    )
    out = io.StringIO()
    d = ScriptedDispatcher(exit_for=lambda spec: finished_exit())
    assert (
        SweepRunner(
            setup, store=store, dispatcher=d, out=out, timings=RunnerTimings(poll_s=0.0)
        ).run()
        == 0
    )
    assert d.started == []  # both trials count: the budget of 2 is used up
    lines = out.getvalue().splitlines()
    assert [line.split()[1:3] for line in lines] == [
        ["finished", f"{SWEEP}_trial_0002_bbbbbb"],
        ["resumed", SWEEP],
        ["done", SWEEP],
    ]
    assert "score=20 cost_usd=0.5 runtime_s=4.0 (ended while no runner was watching)" in lines[0]
