"""A hand-damaged ``params_json`` in a sweep's trial row is read as unknown, not as a traceback
(helper 86's QA pass).

Found by hand: with one trial's ``params_json`` set to ``{bad``, ``sweep --status --json`` and
running the sweep again (its runner resumes from the store) both ended in a
``json.decoder.JSONDecodeError`` traceback; the runner marked the sweep failed. Now the JSON
says ``"params": null`` for it, and the runner counts it without showing it to the optimizer;
a suggestion recorded but never started whose params are lost is not started with defaults
but recorded killed (and replaced).
"""

from __future__ import annotations

import io
import json

from hwscale_tui.cli import main
from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.search.presets import Preset
from hwscale_tui.store import Store
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep, protein_optimizer
from tests.sweep.sweep_helpers import ScriptedDispatcher, SpyOptimizer, finished_exit

SWEEP = "dmg.g1n1"


def setup_with_rows(max_trials: int):
    cfg = apply_overrides(
        default_config(env={}),
        {"experiment.name": "dmg", "sweep.max_trials": max_trials, "sweep.batch_size": 1},
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    store = Store.open_default()
    store.upsert_sweep(SWEEP, status="running", pid=2**22 + 1, proc_start=1.0, max_trials=9)
    center = setup.preset.space.center()
    store.insert_trial(f"{SWEEP}_trial_0001_aaaaaa", SWEEP, idx=1, state="finished", score=10.0)
    store.insert_trial(
        f"{SWEEP}_trial_0002_bbbbbb", SWEEP, idx=2, state="finished", score=20.0, params=center
    )
    store.insert_trial(f"{SWEEP}_trial_0003_cccccc", SWEEP, idx=3, state="queued")  # not started
    for run_id in (f"{SWEEP}_trial_0001_aaaaaa", f"{SWEEP}_trial_0003_cccccc"):
        store.conn.execute("UPDATE trials SET params_json = '{bad' WHERE run_id = ?", (run_id,))
    return setup, store, center


def test_status_json_shows_damaged_params_as_null(capsys):
    _setup, store, center = setup_with_rows(3)
    store.close()
    code = main(
        ["sweep", "--new-experiment", "dmg", "--gpus", "1", "--nodes", "1", "--status", "--json"]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    records = json.loads(out.out)
    assert [r["params"] for r in records] == [None, center, None]
    assert (
        main(["sweep", "--new-experiment", "dmg", "--gpus", "1", "--nodes", "1", "--status"]) == 0
    )
    assert "Traceback" not in capsys.readouterr().err


def test_a_resuming_runner_counts_a_damaged_row_and_never_starts_lost_params():
    setup, store, center = setup_with_rows(3)
    spies: list[SpyOptimizer] = []

    def factory(preset: Preset, seed: int) -> SpyOptimizer:
        spies.append(SpyOptimizer(protein_optimizer(preset, seed)))
        return spies[-1]

    d = ScriptedDispatcher(exit_for=lambda spec: finished_exit(5.0))
    out = io.StringIO()
    runner = SweepRunner(
        setup,
        store=store,
        dispatcher=d,
        optimizer_factory=factory,
        out=out,
        timings=RunnerTimings(poll_s=0.0),
    )
    assert runner.run() == 0, out.getvalue()
    rows = {r["idx"]: r for r in store.trial_rows([SWEEP])}
    assert rows[3]["state"] == "killed", dict(rows[3])
    assert "params in the store are damaged" in rows[3]["error"]
    # trials 1 and 2 counted; one new trial (4) filled the budget of 3; 3 was never started
    assert [s.idx for s in d.started] == [4], [s.run_id for s in d.started]
    assert rows[4]["state"] == "finished"
    observed = [params for params, *_rest in spies[0].observed]
    assert {} not in observed and center in observed
    store.close()
