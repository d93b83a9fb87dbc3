"""Time a trial's job waits in the cluster's queue is neither its runtime nor its cost.

A Slurm job that waits for resources runs nothing and is billed nothing. The runner counted a
trial's runtime from its submission, so a trial cancelled while still pending (found by hand:
a pending g2n1 job cancelled after 8.7 s in the queue) was recorded with 8.7 s and $0.033, and a
failed trial without metrics reported its queue time to the optimizer as its cost.
"""

from __future__ import annotations

import io
import signal
from dataclasses import dataclass

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.outcome import TrialExit
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep, protein_optimizer
from tests.sweep.sweep_helpers import ScriptedDispatcher, SpyOptimizer

STEP_S = 100.0


class CostSpy(SpyOptimizer):
    """Also records the cost each observation gives the optimizer."""

    def __init__(self, inner):
        super().__init__(inner)
        self.costs: list[tuple[bool, float]] = []

    def observe(self, params, score, cost, failed=False):
        self.costs.append((failed, cost))
        super().observe(
            params, score, cost, failed=failed
        )  # the fake clock advances this much per poll


@dataclass
class Clock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class QueuedCluster(ScriptedDispatcher):
    """Each trial waits ``queued_polls`` polls for resources, then runs ``polls_to_finish``
    more polls; every poll moves the clock by STEP_S."""

    clock: Clock | None = None
    queued_polls: int = 3
    stop_after_polls: int | None = None  # ask the runner to stop after this many polls
    runner: SweepRunner | None = None
    polls_seen: int = 0

    def poll(self, trials):
        assert self.clock is not None
        self.clock.now += STEP_S
        self.polls_seen += 1
        if self.stop_after_polls is not None and self.polls_seen == self.stop_after_polls:
            assert self.runner is not None
            self.runner.request_stop(signal.SIGTERM)
        exits = {}
        for t in trials:
            t.handle.polls += 1
            if t.handle.polls <= self.queued_polls:
                t.waiting = "waiting: Resources"
                continue
            t.waiting = None
            t.where = "running on node1"
            if t.handle.polls >= self.queued_polls + self.polls_to_finish:
                t.waiting = None
                exits[t.run_id] = self.exit_for(t.handle.spec)
        return exits


def make_runner(dispatcher: QueuedCluster, clock: Clock, max_trials: int = 1):
    cfg = apply_overrides(
        default_config(env={}),
        {
            "experiment.name": "q61",
            "sweep.max_trials": max_trials,
            "sweep.batch_size": 1,
            "sweep.max_parallel_jobs": 1,
        },
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    store = Store.open_default()
    spy = CostSpy(protein_optimizer(setup.preset, 0))
    runner = SweepRunner(
        setup,
        store=store,
        dispatcher=dispatcher,
        optimizer_factory=lambda preset, seed: spy,
        out=io.StringIO(),
        timings=RunnerTimings(poll_s=0.0, cancel_grace_s=0.1),
        clock=clock,
    )
    dispatcher.runner = runner
    return runner, spy, store


def test_a_failed_trial_counts_only_the_time_it_ran_not_its_time_in_the_queue():
    clock = Clock()
    dispatcher = QueuedCluster(
        exit_for=lambda spec: TrialExit(1, "Slurm job 7 FAILED on node1"),
        polls_to_finish=3,
        queued_polls=3,
        clock=clock,
    )
    runner, spy, store = make_runner(dispatcher, clock)
    runner.run()
    (row,) = store.trial_rows(["q61.g1n1"])
    assert row["state"] == "failed"
    # waiting at polls 1-3, seen running at poll 4, ended at poll 6: it ran 200 s, not the
    # 600 s since its submission
    assert row["runtime_s"] == 2 * STEP_S, row["runtime_s"]
    assert spy.costs == [(True, 2 * STEP_S)], spy.costs  # the optimizer's cost too


def test_a_trial_cancelled_while_it_waits_in_the_queue_ran_and_cost_nothing():
    clock = Clock()
    dispatcher = QueuedCluster(
        exit_for=lambda spec: TrialExit(0, None),
        polls_to_finish=10**6,
        queued_polls=10**6,
        stop_after_polls=4,
        clock=clock,
    )
    runner, _spy, store = make_runner(dispatcher, clock)
    assert runner.run() == 128 + signal.SIGTERM
    (row,) = store.trial_rows(["q61.g1n1"])
    assert row["state"] == "killed"
    assert row["runtime_s"] == 0.0, row["runtime_s"]
    assert row["cost_usd"] == 0.0, row["cost_usd"]
