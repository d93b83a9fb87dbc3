"""`train store=true` writes only its own row: never a trial that ended, never another process's.

Real SQLite store (the private HWSCALE_HOME of every test). A refused run raises before any
rank, file or row is made, so the refusal tests train nothing; the accepted ones train a few
updates. A real sweep of real trainer trials is in tests/sweep/test_sweep_train_e2e.py.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
from contextlib import redirect_stderr, redirect_stdout

import pytest

from hwscale_tui.cli import main
from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.local import LocalDispatcher
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep
from hwscale_tui.train import parse_overrides, run_training
from hwscale_tui.train.sinks import RUNNER_RUN_ENV, RUNNER_SWEEP_ENV, StoreRefused, StoreSink

SWEEP = "exp.g2n1"
RUN = f"{SWEEP}_trial_0003_abcdef"
MANUAL = [f"run={RUN}", "store=true", "trainer.total_timesteps=3000"]  # QA's command: 1 rank
HISTORY_STEPS = "SELECT agent_step FROM history WHERE run_id = ? ORDER BY agent_step"


def as_runner_trial(monkeypatch, run: str = RUN, sweep: str = SWEEP) -> None:
    """The environment the sweep runner gives each trial process it starts."""
    monkeypatch.setenv(RUNNER_RUN_ENV, run)
    monkeypatch.setenv(RUNNER_SWEEP_ENV, sweep)


def make_trial(state: str, **fields) -> None:
    """A trial of a 2-GPU sweep as the runner leaves it, with a curve and a metrics file."""
    metrics = app_paths().runs / RUN / "metrics.jsonl"
    metrics.parent.mkdir(parents=True)
    metrics.write_text('{"metric/agent_step": 151552, "sweep/score": 500.0, "final": true}\n')
    with Store.open_default() as store:
        store.upsert_sweep(SWEEP, experiment="exp", gpus=2, nodes=1, status="finished")
        store.insert_trial(
            RUN,
            SWEEP,
            experiment="exp",
            idx=3,
            gpus=2,
            nodes=1,
            state=state,
            params={"trainer.batch_size": 2048},
            metrics_path=str(metrics),
            **fields,
        )
        store.append_history(
            RUN, [{"agent_step": 2048.0 * i, "score": 10.0 * i} for i in range(1, 75)]
        )


def snapshot() -> tuple:
    with Store.open_default() as store:
        row = store.get_trial_row(RUN)
        history = [
            tuple(r)
            for r in store.conn.execute(
                "SELECT * FROM history WHERE run_id = ? ORDER BY agent_step", (RUN,)
            )
        ]
        trials = len(store.trial_rows())
    return row, history, trials, (app_paths().runs / RUN / "metrics.jsonl").read_bytes()


@pytest.mark.parametrize("state", ["finished", "failed", "killed", "stale"])
@pytest.mark.parametrize("runner_env", [False, True], ids=["manual", "runner-env"])
def test_a_trial_that_ended_is_never_rewritten(monkeypatch, state, runner_env):
    make_trial(state, score=500.0 if state == "finished" else None, agent_steps=151552.0)
    if runner_env:  # the runner's environment does not reopen a trial that ended either
        as_runner_trial(monkeypatch)
    before = snapshot()
    with pytest.raises(StoreRefused, match=rf"^run {RUN} is a {state} trial of sweep {SWEEP}"):
        run_training(parse_overrides(MANUAL))
    assert snapshot() == before  # row, history and metrics file as they were


def test_the_cli_refuses_with_one_sentence_and_exit_2():
    make_trial("finished", score=500.0, agent_steps=151552.0)
    before = snapshot()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["train", "-q", *MANUAL])
    assert code == 2 and out.getvalue() == ""
    assert err.getvalue() == (
        f"hwscale-tui: error: run {RUN} is a finished trial of sweep {SWEEP} in the store "
        "(gpus=2 nodes=1, score 500), and store=true never rewrites a trial that ended; "
        "accepted: a run id the store does not have yet.\n"
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("state", "runner_env", "pid"),
    [
        ("queued", False, None),  # a suggestion its runner has not started (or will restart)
        ("running", False, 2**22 + 1),  # the runner's trial process runs it
        ("running", True, 2**22 + 1),  # ... and this process only copied its environment
    ],
)
def test_a_trial_of_a_sweep_is_written_only_by_the_process_its_runner_started(
    monkeypatch, state, runner_env, pid
):
    make_trial(state, pid=pid, pgid=pid)
    if runner_env:
        as_runner_trial(monkeypatch)
    before = snapshot()
    with pytest.raises(
        StoreRefused, match=rf"^run {RUN} is a {state} trial .* only the process its sweep runner"
    ):
        run_training(parse_overrides([*MANUAL, "hardware.gpus=2"]))
    assert snapshot() == before


def test_the_runners_trial_with_other_hardware_is_refused(monkeypatch):
    """A row labelled gpus=2 never gets a 1-rank run's result."""
    make_trial("queued")
    as_runner_trial(monkeypatch)
    before = snapshot()
    with pytest.raises(StoreRefused, match=r"gpus=2 nodes=1, but this run has hardware.gpus=1"):
        run_training(parse_overrides(MANUAL))
    assert snapshot() == before


def test_a_new_run_is_not_added_to_a_sweep_of_the_runner():
    with Store.open_default() as store:
        store.upsert_sweep(SWEEP, experiment="exp", gpus=2, nodes=1, status="finished")
    with pytest.raises(StoreRefused, match=rf"^group={SWEEP} names a sweep in the store"):
        run_training(parse_overrides(["run=new1", f"group={SWEEP}", "store=true"]))
    with Store.open_default() as store:
        assert store.trial_rows() == []
    assert not (app_paths().runs / "new1").exists()


def test_a_store_unavailable_at_the_start_is_checked_when_it_takes_the_first_write(monkeypatch):
    """The sink retries a store it could not open; the retry is checked like the first try."""
    make_trial("finished", score=500.0, agent_steps=151552.0)
    before = snapshot()
    monkeypatch.setenv("HWSCALE_LOCK_WAIT_S", "0.1")
    holder = sqlite3.connect(app_paths().store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with redirect_stderr(io.StringIO()) as err:
            sink = StoreSink(parse_overrides(MANUAL), app_paths().runs / "elsewhere.jsonl")
        assert sink.store is None and "the store is unavailable" in err.getvalue()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    final = {
        "state": "finished",
        "sweep/score": 31.1,
        "sweep/cost": 0.001,
        "metric/agent_step": 3072,
        "metric/total_time": 0.3,
        "overview/sps": 9000.0,
    }
    with pytest.raises(StoreRefused, match=rf"^run {RUN} is a finished trial"):
        sink.finish(final, None)
    assert snapshot() == before


@pytest.mark.slow
@pytest.mark.parametrize("started", [False, True], ids=["before-mark-started", "pid-recorded"])
def test_the_runners_own_trial_is_written(monkeypatch, started):
    """What the runner does: a queued row, then (racing the trainer) state running + its pid."""
    make_trial("queued")
    if started:
        with Store.open_default() as store:
            store.update_trial(RUN, state="running", pid=os.getpid(), pgid=os.getpgrp())
    with Store.open_default() as store:  # a queued trial has no curve yet
        store.conn.execute("DELETE FROM history WHERE run_id = ?", (RUN,))
    as_runner_trial(monkeypatch)
    result = run_training(
        parse_overrides(
            [f"run={RUN}", f"group={SWEEP}", "store=true", "hardware.gpus=2"]
            + ["trainer.total_timesteps=4096"]
        )
    )
    assert result.state == "finished"
    with Store.open_default() as store:
        row = store.get_trial_row(RUN)
        steps = [r[0] for r in store.conn.execute(HISTORY_STEPS, (RUN,))]
    assert (
        row["state"] == "finished"
        and row["agent_steps"] == 4096
        and (row["gpus"], row["idx"]) == (2, 3)
    )
    assert steps == [2048, 4096]


@pytest.mark.slow
def test_a_suggestion_never_started_is_trained_under_its_own_id_when_the_sweep_resumes():
    """The resume path with the real trainer: a queued row left by a dead runner is started
    again under its id, and the trainer (store=true) may write it."""
    cfg = apply_overrides(
        default_config(env={}),
        {
            "experiment.name": "grd",
            "sweep.max_trials": 1,
            "sweep.batch_size": 1,
            "sweep.total_timesteps": 2048,
        },
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    sweep, run = setup.sweep, f"{setup.sweep}_trial_0001_aaaaaa"
    params = setup.preset.space.center()
    spec = setup.builder.build(run, 1, params)
    with Store.open_default() as store:
        store.upsert_sweep(sweep, status="running", pid=2**22 + 1, proc_start=1.0)  # dead runner
        store.insert_trial(
            run,
            sweep,
            experiment="grd",
            idx=1,
            gpus=1,
            nodes=1,
            state="queued",
            params=params,
            log_path=str(spec.log_path),
            metrics_path=str(spec.metrics_path),
        )
    store = Store.open_default()
    try:
        runner = SweepRunner(
            setup,
            store=store,
            dispatcher=LocalDispatcher(),
            out=io.StringIO(),
            timings=RunnerTimings(poll_s=0.05),
        )
        assert runner.run() == 0, spec.log_path.read_text()
        row = store.get_trial_row(run)
        steps = [r[0] for r in store.conn.execute(HISTORY_STEPS, (run,))]
    finally:
        store.close()
    assert row["state"] == "finished" and row["agent_steps"] == 2048 and row["score"] is not None
    assert json.loads(row["params_json"]) == params and steps == [1024, 2048]
    assert "store=true" in spec.argv


def test_without_the_store_an_earlier_runs_metrics_file_is_not_overwritten(monkeypatch):
    """The default metrics file of a run id is that run's: a second run of the id (a sweep's
    trial id among them) is refused before it truncates it; the sweep runner's own trial
    process, which restarts a trial under its id after a crash, is not."""
    make_trial("finished", score=500.0, agent_steps=151552.0)
    metrics = app_paths().runs / RUN / "metrics.jsonl"
    before = metrics.read_bytes()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["train", "-q", f"run={RUN}", "trainer.total_timesteps=3000"])
    assert code == 2 and out.getvalue() == ""
    assert err.getvalue() == (
        f"hwscale-tui: error: run {RUN} already has a metrics file from an earlier run "
        f"({metrics}), which this run would overwrite; accepted: a run id not used before, "
        "or metrics_file=PATH to write elsewhere.\n"
    )
    assert metrics.read_bytes() == before
    # elsewhere is fine, and so is the runner's own process for the id
    other = app_paths().runs / "elsewhere.jsonl"
    cfg = parse_overrides([f"run={RUN}", "trainer.total_timesteps=256", f"metrics_file={other}"])
    assert run_training(cfg).state == "finished" and other.stat().st_size
    as_runner_trial(monkeypatch)
    owned = run_training(parse_overrides([f"run={RUN}", "trainer.total_timesteps=256"]))
    assert owned.state == "finished"
    assert metrics.read_bytes() != before  # rewritten by the process that owns it
