"""[sweep] transfer: a pair's sweep feeds the other pairs' ended trials into its optimizer.

The runners run in-process with the real optimizer and the real store; only the dispatcher is
scripted, so trials end on cue.
"""

from __future__ import annotations

import contextlib
import io
import json

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.outcome import TrialExit
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep, protein_optimizer
from hwscale_tui.sweep.status import render_status, sweep_records
from tests.sweep.sweep_helpers import ScriptedDispatcher, finished_exit


class ContextSpy:
    """Forwards to the real optimizer and records the contexts the runner passes."""

    def __init__(self, inner):
        self.inner = inner
        self.observed: list[tuple[dict, float | None, dict | None]] = []
        self.spaces: list = []
        self.suggest_contexts: list[dict | None] = []

    @property
    def last_info(self):
        return self.inner.last_info

    def suggest(self, n=1, pending=(), context=None):
        self.suggest_contexts.append(context)
        return self.inner.suggest(n, pending=pending, context=context)

    def observe(self, params, score, cost, failed=False, context=None, space=None):
        self.observed.append((dict(params), score, context))
        self.spaces.append(space)
        self.inner.observe(params, score, cost, failed=failed, context=context, space=space)


def run_pair(pair: HardwarePair, transfer: bool, exit_for, name: str = "tr"):
    cfg = apply_overrides(
        default_config(env={}),
        {
            "experiment.name": name,
            "sweep.max_trials": 3,
            "sweep.batch_size": 1,
            "sweep.max_parallel_jobs": 1,
            "sweep.transfer": transfer,
        },
    )
    setup = prepare_sweep(cfg, pair, [], app_paths().runs)
    store = Store.open_default()
    spy = ContextSpy(protein_optimizer(setup.preset, 0))
    runner = SweepRunner(
        setup,
        store=store,
        dispatcher=ScriptedDispatcher(exit_for=exit_for),
        optimizer_factory=lambda preset, seed: spy,
        out=io.StringIO(),
        timings=RunnerTimings(poll_s=0.0, cancel_grace_s=0.1),
    )
    assert runner.run() == 0
    return spy, store.trial_rows([setup.sweep])


def prepare_sweep_space(pair: HardwarePair):
    return prepare_sweep(default_config(env={}), pair, [], app_paths().runs).preset


def scored(spec):
    return TrialExit(1, "boom") if spec.idx == 2 else finished_exit(float(spec.idx))


def test_with_transfer_a_sweep_learns_from_the_other_pairs_ended_trials():
    _, first_rows = run_pair(HardwarePair(1, 1), True, scored)
    spy, rows = run_pair(HardwarePair(2, 1), True, lambda spec: finished_exit(5.0))
    fed = [o for o in spy.observed if o[2] is not None]
    assert len(fed) == 3  # the 1-GPU sweep's two finished trials and its failed one
    assert all(ctx == {"total_gpus": 1.0, "nodes": 1.0} for _, _, ctx in fed)
    assert sorted(json.dumps(p, sort_keys=True) for p, _, _ in fed) == sorted(
        r["params_json"] for r in first_rows
    )
    assert [score for _, score, _ in fed].count(None) == 1  # the failure stays a failure
    # each comes with the space it was suggested from: the 1-GPU pair's, half this one's batch
    other = [sp for sp, (_, _, ctx) in zip(spy.spaces, spy.observed) if ctx is not None]
    own_space = protein_optimizer(prepare_sweep_space(HardwarePair(2, 1)), 0).space
    for sp in other:
        assert sp.keys == own_space.keys
        batch = sp.keys.index("trainer.batch_size")
        assert sp.params[batch].max * 2 == own_space.params[batch].max
    assert set(map(str, spy.suggest_contexts)) == {str({"total_gpus": 2.0, "nodes": 1.0})}
    # each trial's stored suggestion info says how much came from other pairs
    infos = [json.loads(r["suggestion_json"]) for r in rows]
    assert infos[0]["how"] == "gp"  # not the center: the other pair's results decide
    assert [i["transfer"]["other"] for i in infos] == [3, 3, 3]
    assert [i["transfer"]["own"] for i in infos] == [0, 1, 2]
    # each record reads the count back from the stored suggestion (what trials --csv writes
    # and the analysis's transfer note counts), and the sweep's status table shows it
    with Store.open_default() as store:
        assert [t.transfer_other for t in store.trials(["tr.g2n1"])] == [3, 3, 3]
        assert [t.transfer_other for t in store.trials(["tr.g1n1"])][0] == 0  # nothing yet
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            render_status(store, "tr.g2n1", "maximize")
    head = next(line for line in out.getvalue().splitlines() if "from others" in line)
    column = [c.strip() for c in head.split("┃")].index("from others")
    cells = [
        [c.strip() for c in line.split("│")][column]
        for line in out.getvalue().splitlines()
        if "trial_000" in line
    ]
    assert cells == ["3", "3", "3"]
    with Store.open_default() as store:
        assert [r["transfer_other"] for r in sweep_records(store, "tr.g2n1")] == [3, 3, 3]


def test_without_transfer_a_sweep_sees_only_its_own_trials():
    run_pair(HardwarePair(1, 1), False, scored, name="solo")
    spy, rows = run_pair(HardwarePair(2, 1), False, lambda spec: finished_exit(5.0), name="solo")
    assert all(ctx is None for _, _, ctx in spy.observed) and len(spy.observed) == 3
    assert spy.suggest_contexts == [None, None, None]
    infos = [json.loads(r["suggestion_json"]) for r in rows]
    assert infos[0]["how"] == "center" and not any("transfer" in i for i in infos)
    with Store.open_default() as store:
        assert [t.transfer_other for t in store.trials(["solo.g2n1"])] == [0, 0, 0]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            render_status(store, "solo.g2n1", "maximize")
    assert "trial_0001" in out.getvalue() and "from others" not in out.getvalue()


def test_other_experiments_trials_are_not_fed():
    run_pair(HardwarePair(1, 1), True, scored, name="exp_a")
    spy, _ = run_pair(HardwarePair(2, 1), True, lambda spec: finished_exit(5.0), name="exp_b")
    assert all(ctx is None for _, _, ctx in spy.observed)
