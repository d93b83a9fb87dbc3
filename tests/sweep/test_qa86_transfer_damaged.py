"""[sweep] transfer passes over another pair's damaged trial row (helper 86's QA pass).

Found by hand: a transfer sweep reads every other pair's ended trials of its experiment; one
whose ``gpus`` was NULL (or text) ended it in ``TypeError: int() argument must be ... not
'NoneType'`` (``ValueError`` for text) at its first suggestion, and the sweep was marked
failed. Such a row has no pair to place it in: it is passed over; the others are fed.
"""

from __future__ import annotations

import io

import pytest

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep, protein_optimizer
from tests.sweep.sweep_helpers import ScriptedDispatcher, finished_exit
from tests.sweep.test_sweep_transfer import ContextSpy


@pytest.mark.parametrize("gpus", [None, "two"])
def test_a_damaged_row_of_another_pair_is_passed_over(gpus):
    cfg = apply_overrides(
        default_config(env={}),
        {
            "experiment.name": "trd",
            "sweep.max_trials": 1,
            "sweep.batch_size": 1,
            "sweep.transfer": True,
        },
    )
    setup = prepare_sweep(cfg, HardwarePair(2, 1), [], app_paths().runs)
    store = Store.open_default()
    other = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    center = other.preset.space.center()
    for idx in (1, 2):
        store.insert_trial(
            f"trd.g1n1_trial_000{idx}_aaaaa{idx}",
            "trd.g1n1",
            experiment="trd",
            idx=idx,
            gpus=1,
            nodes=1,
            state="finished",
            score=float(idx),
            runtime_s=2.0,
            params=center,
        )
    store.conn.execute("UPDATE trials SET gpus = ? WHERE idx = 2", (gpus,))
    spy = ContextSpy(protein_optimizer(setup.preset, 0))
    out = io.StringIO()
    runner = SweepRunner(
        setup,
        store=store,
        dispatcher=ScriptedDispatcher(exit_for=lambda spec: finished_exit(5.0)),
        optimizer_factory=lambda preset, seed: spy,
        out=out,
        timings=RunnerTimings(poll_s=0.0),
    )
    assert runner.run() == 0, out.getvalue()
    fed = [score for _params, score, ctx in spy.observed if ctx is not None]
    assert fed == [1.0], spy.observed  # trial 1 fed; trial 2 passed over
    store.close()
