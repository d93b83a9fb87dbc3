"""QA 60: an experiment's time estimate stands on its own throughput, never another's.

Experiment B's first launch, after experiment A ran the same shapes, estimated B's time from
A's seconds per trial ("est. 1m41s left ... from the throughput of earlier runs of the same
pairs"): A may train another environment, batch or trainer. Now B's estimate is its own
measurements, its earlier generations', or -- none yet -- the settings' upper bound, saying so.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.launch.progress import (
    BASIS_HISTORY,
    BASIS_MEASURED,
    BASIS_SETTINGS,
    PairPlan,
    ProgressSettings,
    estimate_plan,
    experiment_progress,
    measured_throughput,
    progress_from_store,
)
from hwscale_tui.paths import ensure_private_dir, snapshot_path
from hwscale_tui.records import Trial
from hwscale_tui.store import Store

SETTINGS = ProgressSettings(
    budget_steps=1000.0, max_trials=2, parallel=1, price_per_gpu_hour=3.6, max_trial_s=600.0
)


def _seed_other_experiment(store: Store) -> None:
    """Experiment A ran g1n1 fast: 1000 steps/s, a second per trial."""
    store.upsert_sweep("a.g1n1", experiment="a", gpus=1, nodes=1, runner="builtin")
    for i in range(3):
        store.insert_trial(
            f"a{i}", "a.g1n1", experiment="a", gpus=1, nodes=1, state="finished", sps=1000.0
        )


def test_throughput_is_read_for_one_experiment_only():
    with Store.open_default() as store:
        _seed_other_experiment(store)
        assert measured_throughput("builtin", store, experiment="a") == {(1, 1): 1000.0}
        assert measured_throughput("builtin", store, experiment="b") == {}
        # a caller naming no experiment gets none, never every experiment's
        assert measured_throughput("builtin", store) == {}


def test_a_new_experiments_status_estimate_is_the_settings_bound_not_anothers_throughput():
    with Store.open_default() as store:
        _seed_other_experiment(store)
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "b"}, "grid": {"gpu_counts": [1], "node_counts": [1]}},
        source="<test>",
        env={},
    )
    ensure_private_dir(snapshot_path("b").parent)
    cfgmod.save(cfg, snapshot_path("b"))
    pair = SimpleNamespace(
        sweep_name="b.g1n1", gpus=1, nodes=1, status="scheduled", planned_start=None,
        started_at=None, max_trials=None, exit_code=None,
    )  # fmt: skip
    status = SimpleNamespace(experiment="b", launch_id=2, pairs=[pair])
    progress = progress_from_store(status, now=0.0)
    assert progress is not None
    (pp,) = progress.pairs
    assert pp.basis == BASIS_SETTINGS, pp
    assert pp.trial_s == pytest.approx(cfg.sweep.max_suggestion_cost)
    assert "no throughput measured yet" in progress.basis_text
    assert "at most" in progress.summary()


def test_history_is_said_to_be_this_experiments_and_mixed_bases_are_named_per_pair():
    pairs = [PairPlan("b.g1n1", 1, 1), PairPlan("b.g2n1", 2, 1), PairPlan("b.g4n1", 4, 1)]
    ran = [
        Trial(sweep="b.g1n1", run_id="r", gpus=1, nodes=1, state="finished",
              agent_steps=1000.0, runtime_s=10.0, sps=100.0),
    ]  # fmt: skip
    prog = experiment_progress(pairs[1:], ran, SETTINGS, 0.0, history_sps={(2, 1): 200.0})
    assert prog.pairs[0].basis == BASIS_HISTORY
    assert "this experiment's earlier runs" in prog.basis_text
    mixed = experiment_progress(pairs, ran, SETTINGS, 0.0, history_sps={(2, 1): 200.0})
    assert [p.basis for p in mixed.pairs] == [BASIS_MEASURED, BASIS_HISTORY, "scaled"]
    text = mixed.basis_text
    # it said "from measured throughput where known, else from settings": no settings here
    assert "settings" not in text, text
    assert text.startswith("g1n1: from this experiment's measured throughput; g2n1: "), text
    assert "g4n1: from measured throughput scaled" in text, text
    plan = estimate_plan(pairs, SETTINGS, history_sps={(2, 1): 200.0}, trials=ran)
    assert plan.basis == "mixed" and plan.basis_text == text
    assert plan.lines()[-1] == f"({text})"


def test_a_pair_that_never_started_gives_no_time_left():
    """Its supervisor killed, g2n1 never started and waits for launch --resume: status said
    "est. 25s left", counting it as starting at its planned time."""
    ran = [
        Trial(sweep="b.g1n1", run_id="r", gpus=1, nodes=1, state="finished",
              agent_steps=1000.0, runtime_s=10.0, sps=100.0),
    ]  # fmt: skip
    stalled = SimpleNamespace(
        sweep_name="b.g2n1", gpus=2, nodes=1, status="scheduled", planned_start=30.0,
        started_at=None, max_trials=None, exit_code=None, never_started=True,
    )  # fmt: skip
    pairs = [PairPlan("b.g1n1", 1, 1, "running"), PairPlan.of(stalled)]
    prog = experiment_progress(pairs, ran, SETTINGS, 0.0)
    assert prog.pairs[1].eta_s is None and prog.pairs[0].eta_s == pytest.approx(10.0)
    assert prog.eta_s is None and "time left unknown" in prog.summary()
    # its cost is still projected: the work is still to be done once it is resumed
    assert prog.cost_projected_usd is not None
    # a pair still waiting for a live supervisor keeps its estimate
    waiting = PairPlan.of(SimpleNamespace(**{**vars(stalled), "never_started": False}))
    assert experiment_progress([pairs[0], waiting], ran, SETTINGS, 0.0).eta_s is not None
