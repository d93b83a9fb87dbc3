"""A trial that ended while no runner watched is charged for the time it ran, not the time the
runner was away (helper 86's QA pass).

Found by hand: a template trial that ran 0.2 s, whose runner had been SIGKILLed, was settled
when the sweep was run again 12 minutes later as failed with runtime 709.5 s and cost $1.36:
its wall time ran from its start to the resume. Now it runs to the last write to its log or
metrics file (its last sign of life).
"""

from __future__ import annotations

import io
import os
import time

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.prices import job_cost_usd
from hwscale_tui.store import Store
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep
from tests.sweep.sweep_helpers import ScriptedDispatcher, finished_exit

SWEEP = "unw.g1n1"


def test_a_trial_that_ended_unwatched_is_charged_until_its_last_write():
    cfg = apply_overrides(
        default_config(env={}),
        {"experiment.name": "unw", "sweep.max_trials": 1, "sweep.batch_size": 1},
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    store = Store.open_default()
    store.upsert_sweep(SWEEP, status="running", pid=2**22 + 1, proc_start=1.0)  # a dead runner
    run_id = f"{SWEEP}_trial_0001_aaaaaa"
    run_dir = app_paths().runs / run_id
    run_dir.mkdir(parents=True)
    log = run_dir / "trial.log"
    log.write_text("boom: the trial crashed\n")
    started = time.time() - 3600.0  # the runner died an hour ago
    os.utime(log, (started + 2.0, started + 2.0))  # the trial's last words, 2 s in
    store.insert_trial(
        run_id,
        SWEEP,
        idx=1,
        state="running",
        params=setup.preset.space.center(),
        pid=2**22 + 2,  # gone
        proc_start=1.0,
        started_at=started,
        log_path=str(log),
        metrics_path=str(run_dir / "metrics.jsonl"),  # never written
    )
    d = ScriptedDispatcher(exit_for=lambda spec: finished_exit())
    out = io.StringIO()
    runner = SweepRunner(setup, store=store, dispatcher=d, out=out, timings=RunnerTimings(0.0))
    runner.run()
    (row,) = store.trial_rows([SWEEP])
    assert row["state"] == "failed", (dict(row), out.getvalue())
    assert d.started == []  # it counted: the budget of 1 is used up
    assert row["runtime_s"] == 2.0
    assert row["cost_usd"] == job_cost_usd(cfg.price_per_gpu_hour, 1, 1, 2.0)
