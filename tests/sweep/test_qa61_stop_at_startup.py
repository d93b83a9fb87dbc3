"""A stop during a resuming runner's start-up cancels the trials its dead predecessor left running.

Found by hand: `hwscale-tui sweep` was SIGKILLed with a trial running, started again, and sent
SIGTERM 4 s later, while it was still building its optimizer. It printed "stopping 0 in-flight
trials", recorded the sweep cancelled ("1 running") and exited 143, leaving the trial running
with no runner watching it (on Slurm: a job that runs on to its time limit under a cancelled
sweep, its row "running" for ever).
"""

from __future__ import annotations

import io
import signal

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep
from tests.sweep.sweep_helpers import FakeHandle, ScriptedDispatcher, finished_exit

SWEEP = "stp.g1n1"
RUN_ID = f"{SWEEP}_trial_0001_aaaaaa"


class StillRunning(ScriptedDispatcher):
    """The dead runner's trial is still running: attach finds it."""

    def attach(self, row):
        return FakeHandle(spec=None) if row["run_id"] == RUN_ID else None  # type: ignore[arg-type]


def test_a_stop_while_the_optimizer_is_built_cancels_the_trials_left_running():
    cfg = apply_overrides(
        default_config(env={}),
        {"experiment.name": "stp", "sweep.max_trials": 2, "sweep.batch_size": 1},
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    store = Store.open_default()
    store.upsert_sweep(SWEEP, status="running", pid=2**22 + 1, proc_start=1.0)  # a dead runner
    run_dir = app_paths().runs / RUN_ID
    store.insert_trial(
        RUN_ID,
        SWEEP,
        idx=1,
        state="running",
        params=setup.preset.space.center(),
        job_name="4242",
        log_path=str(run_dir / "trial.log"),
        metrics_path=str(run_dir / "metrics.jsonl"),
    )
    dispatcher = StillRunning(exit_for=lambda spec: finished_exit(), polls_to_finish=10**9)
    runner: SweepRunner

    def slow_optimizer(preset, seed):  # the signal arrives while the optimizer is being built
        runner.request_stop(signal.SIGTERM)
        raise AssertionError("request_stop did not interrupt the start-up")

    out = io.StringIO()
    runner = SweepRunner(
        setup,
        store=store,
        dispatcher=dispatcher,
        optimizer_factory=slow_optimizer,
        out=out,
        timings=RunnerTimings(poll_s=0.0, cancel_grace_s=0.1),
    )
    assert runner.run() == 128 + signal.SIGTERM
    assert dispatcher.cancelled == [RUN_ID], out.getvalue()  # its job was cancelled
    (row,) = store.trial_rows([SWEEP])
    assert row["state"] == "killed", row
    assert store.get_sweep(SWEEP)["status"] == "cancelled"
    assert "stopping 1 in-flight trial" in out.getvalue(), out.getvalue()


def test_a_stop_during_start_up_settles_a_trial_that_ended_while_no_runner_watched():
    """Its row said "running" under the sweep recorded cancelled, for good."""
    cfg = apply_overrides(
        default_config(env={}),
        {"experiment.name": "stp", "sweep.max_trials": 2, "sweep.batch_size": 1},
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    store = Store.open_default()
    store.upsert_sweep(SWEEP, status="running", pid=2**22 + 1, proc_start=1.0)
    run_dir = app_paths().runs / "gone"
    store.insert_trial(
        f"{SWEEP}_trial_0002_bbbbbb",
        SWEEP,
        idx=2,
        state="running",
        params=setup.preset.space.center(),
        job_name="4243",  # StillRunning.attach does not find it: its job ended
        log_path=str(run_dir / "trial.log"),
        metrics_path=str(run_dir / "metrics.jsonl"),
    )
    runner: SweepRunner

    def slow_optimizer(preset, seed):
        runner.request_stop(signal.SIGTERM)
        raise AssertionError("request_stop did not interrupt the start-up")

    runner = SweepRunner(
        setup,
        store=store,
        dispatcher=StillRunning(exit_for=lambda spec: finished_exit()),
        optimizer_factory=slow_optimizer,
        out=io.StringIO(),
        timings=RunnerTimings(poll_s=0.0, cancel_grace_s=0.1),
    )
    assert runner.run() == 128 + signal.SIGTERM
    (row,) = store.trial_rows([SWEEP])
    assert row["state"] == "failed" and row["ended_at"], row
    assert "ended while no runner was watching" in (row["error"] or ""), row
