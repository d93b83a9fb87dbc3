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


def rows_with_a_text_score(max_trials: int):
    cfg = apply_overrides(
        default_config(env={}),
        {"experiment.name": "dmn", "sweep.max_trials": max_trials, "sweep.batch_size": 1},
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    store = Store.open_default()
    store.upsert_sweep("dmn.g1n1", status="running", pid=2**22 + 1, proc_start=1.0, max_trials=9)
    center = setup.preset.space.center()
    for idx, score in ((1, 10.0), (2, 20.0)):
        store.insert_trial(
            f"dmn.g1n1_trial_000{idx}_aaaaa{idx}",
            "dmn.g1n1",
            idx=idx,
            state="finished",
            score=score,
            runtime_s=3.0,
            params={**center, "trainer.optimizer.learning_rate": 0.00123 * idx},
        )
    store.add_event("finished", "score=10", sweep="dmn.g1n1", run_id="dmn.g1n1_trial_0001_aaaaa1")
    store.conn.execute(  # trial 2: text where numbers go (its end not announced yet)
        "UPDATE trials SET score = 'x', runtime_s = 'slow', cost_usd = 'much', "
        "agent_steps = 'many' WHERE idx = 2"
    )
    return setup, store


def test_status_reads_text_numbers_as_unknown(capsys):
    _setup, store = rows_with_a_text_score(3)
    store.close()
    argv = ["sweep", "--new-experiment", "dmn", "--gpus", "1", "--nodes", "1", "--status"]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "best 10 (#1)" in out.out, out
    assert main([*argv, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["score"], r["runtime_s"], r["cost_usd"]) for r in records] == [
        (10.0, 3.0, None),
        (None, None, None),
    ]


def test_a_resuming_runner_counts_a_text_score_without_showing_it_to_the_optimizer():
    setup, store = rows_with_a_text_score(3)
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
    assert [s.idx for s in d.started] == [3]  # trials 1 and 2 counted: one more fills 3
    lr = "trainer.optimizer.learning_rate"
    observed = [(params[lr], score) for params, score, _failed in spies[0].observed]
    assert (0.00123, 10.0) in observed, observed
    assert all(rate != 0.00246 for rate, _score in observed), "trial 2 is no result nor failure"
    assert "best score=10" in out.getvalue().strip().splitlines()[-1], out.getvalue()
    store.close()


def test_params_nested_past_the_recursion_limit_read_as_damaged(capsys):
    _setup, store, center = setup_with_rows(3)
    store.conn.execute(
        "UPDATE trials SET params_json = ? WHERE idx = 1", ("[" * 200_000 + "]" * 200_000,)
    )
    store.close()
    argv = ["sweep", "--new-experiment", "dmg", "--gpus", "1", "--nodes", "1", "--status"]
    assert main([*argv, "--json"]) == 0
    assert [r["params"] for r in json.loads(capsys.readouterr().out)] == [None, center, None]
