"""Scheduling: slots, batch rounds, the max_trials budget, failures, kills, stop requests.

The runner runs in-process with the real optimizer (spied on) and the real store; only the
dispatcher is scripted, so trials end on cue.
"""

from __future__ import annotations

import io
import json
import re
import signal

import pytest

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.dispatch import NOT_SUBMITTED_ALLOWED, NotSubmitted
from hwscale_tui.sweep.outcome import TrialExit
from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep, protein_optimizer
from hwscale_tui.sweep.scheduler import (
    ScheduleLimits,
    SweepProgress,
    suggestions_this_round,
    sweep_done,
)
from tests.sweep.sweep_helpers import RUN_ID_RE, ScriptedDispatcher, SpyOptimizer, finished_exit


def make_runner(dispatcher, *, max_trials=5, batch_size=2, max_parallel=3, name="sched"):
    cfg = apply_overrides(
        default_config(env={}),
        {
            "experiment.name": name,
            "sweep.max_trials": max_trials,
            "sweep.batch_size": batch_size,
            "sweep.max_parallel_jobs": max_parallel,
        },
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    store = Store.open_default()
    spy = SpyOptimizer(protein_optimizer(setup.preset, 0))
    out = io.StringIO()
    runner = SweepRunner(
        setup,
        store=store,
        dispatcher=dispatcher,
        optimizer_factory=lambda preset, seed: spy,
        out=out,
        timings=RunnerTimings(poll_s=0.0, cancel_grace_s=0.1),
    )
    return runner, spy, store, out


def test_suggestions_this_round_is_capped_by_batch_slots_and_budget():
    limits = ScheduleLimits(max_trials=5, batch_size=2, max_parallel_jobs=3)
    assert suggestions_this_round(limits, SweepProgress(counted=0, in_flight=0)) == 2  # batch caps
    assert (
        suggestions_this_round(limits, SweepProgress(counted=0, in_flight=2)) == 1
    )  # one free slot
    assert suggestions_this_round(limits, SweepProgress(counted=0, in_flight=3)) == 0  # slots full
    assert (
        suggestions_this_round(limits, SweepProgress(counted=4, in_flight=0)) == 1
    )  # budget left: 1
    assert (
        suggestions_this_round(limits, SweepProgress(counted=3, in_flight=2)) == 0
    )  # budget committed
    assert not sweep_done(limits, SweepProgress(counted=5, in_flight=1))
    assert sweep_done(limits, SweepProgress(counted=5, in_flight=0))


def test_runner_keeps_slots_full_asks_in_batches_and_stops_at_max_trials():
    dispatcher = ScriptedDispatcher(exit_for=lambda spec: finished_exit(float(spec.idx)))
    runner, spy, store, _out = make_runner(dispatcher, max_trials=5, batch_size=2, max_parallel=3)
    assert runner.run() == 0

    rows = store.trial_rows(["sched.g1n1"])
    assert [r["idx"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(re.match(RUN_ID_RE.format(sweep=re.escape("sched.g1n1")), r["run_id"]) for r in rows)
    assert {r["state"] for r in rows} == {"finished"}
    assert len(dispatcher.started) == 5 and dispatcher.max_concurrent == 3
    assert all(n <= 2 for n, _ in spy.calls) and max(n for n, _ in spy.calls) == 2
    started_params = [s.params for s in dispatcher.started]
    for n, pending in spy.calls:
        assert n + len(pending) <= 3  # never more than max_parallel_jobs in flight
        assert all(p in started_params for p in pending)  # pending = trials already running
    assert any(pending for _, pending in spy.calls), (
        "in-flight trials were never passed as fantasies"
    )
    assert store.get_sweep("sched.g1n1")["status"] == "finished"
    # every trial keeps the optimizer's info about its suggestion; the first is the search center
    assert json.loads(rows[0]["suggestion_json"])["how"] == "center"
    assert json.loads(rows[0]["params_json"]) == runner.setup.preset.space.center()
    assert all(json.loads(r["suggestion_json"]).get("how") for r in rows)


def test_failed_trials_count_toward_max_trials_are_modelled_and_not_retried():
    def exit_for(spec):
        return TrialExit(1, "boom") if spec.idx == 2 else finished_exit(float(spec.idx))

    dispatcher = ScriptedDispatcher(exit_for=exit_for)
    runner, spy, store, out = make_runner(dispatcher, max_trials=4, batch_size=1, max_parallel=1)
    assert runner.run() == 0
    rows = store.trial_rows(["sched.g1n1"])
    assert [r["state"] for r in rows] == ["finished", "failed", "finished", "finished"]
    assert "exit code 1: boom" in rows[1]["error"]
    failed_params = json.loads(rows[1]["params_json"])
    assert (failed_params, None, True) in spy.observed
    assert len({s.run_id for s in dispatcher.started}) == 4  # no run id started twice
    assert [s.params for s in dispatcher.started].count(failed_params) == 1
    assert re.search(r"failed +sched\.g1n1_trial_0002_\w+ exit code 1: boom", out.getvalue())


def test_a_killed_trial_is_not_counted_and_a_new_suggestion_replaces_it():
    dispatcher = ScriptedDispatcher(
        exit_for=lambda spec: TrialExit(143) if spec.idx == 1 else finished_exit(2.0)
    )
    runner, _spy, store, out = make_runner(dispatcher, max_trials=2, batch_size=1, max_parallel=1)
    assert runner.run() == 0
    states = [r["state"] for r in store.trial_rows(["sched.g1n1"])]
    assert states == ["killed", "finished", "finished"]
    assert "not counted toward max_trials" in out.getvalue()


def test_a_trial_that_rejects_its_arguments_stops_the_sweep():
    dispatcher = ScriptedDispatcher(exit_for=lambda spec: TrialExit(2, "unknown key foo"))
    runner, _spy, store, out = make_runner(dispatcher, max_trials=5, batch_size=1, max_parallel=1)
    assert runner.run() == 1
    rows = store.trial_rows(["sched.g1n1"])
    assert len(rows) == 1 and rows[0]["state"] == "failed"
    assert store.get_sweep("sched.g1n1")["status"] == "failed"
    assert "rejected its arguments" in out.getvalue()


class SilentCluster(ScriptedDispatcher):
    """A cluster whose controller does not answer the first ``silent`` submits."""

    silent: int = 0

    def start(self, spec):
        if spec.idx <= self.silent:
            raise NotSubmitted("sbatch did not answer within 20 s")
        return super().start(spec)


def test_a_trial_the_cluster_did_not_take_is_killed_replaced_and_never_a_failure():
    """sbatch timing out is the controller's fault: the trial never ran. It was recorded failed,
    counted toward max_trials and shown to the optimizer as a failure at its (maybe good)
    hyperparameters."""
    dispatcher = SilentCluster(exit_for=lambda spec: finished_exit(2.0))
    dispatcher.silent = 2
    runner, spy, store, out = make_runner(dispatcher, max_trials=2, batch_size=1, max_parallel=1)
    assert runner.run() == 0
    rows = store.trial_rows(["sched.g1n1"])
    assert [r["state"] for r in rows] == ["killed", "killed", "finished", "finished"]
    assert rows[0]["error"] == "not submitted: sbatch did not answer within 20 s"
    assert not [o for o in spy.observed if o[2]], spy.observed  # no failure observed
    assert "not counted toward max_trials" in out.getvalue()


def test_a_cluster_that_takes_no_trial_ends_the_sweep_with_the_reason():
    dispatcher = SilentCluster(exit_for=lambda spec: finished_exit(2.0))
    dispatcher.silent = 100
    runner, spy, store, out = make_runner(dispatcher, max_trials=5, batch_size=1, max_parallel=1)
    assert runner.run() == 1
    rows = store.trial_rows(["sched.g1n1"])
    assert [r["state"] for r in rows] == ["killed"] * NOT_SUBMITTED_ALLOWED
    assert store.get_sweep("sched.g1n1")["status"] == "failed"
    assert (
        f"the cluster took none of the last {NOT_SUBMITTED_ALLOWED} trials, so no trial can run: "
        "sbatch did not answer within 20 s"
    ) in out.getvalue()
    assert not spy.observed


def test_a_trial_that_cannot_start_is_failed_and_counted():
    dispatcher = ScriptedDispatcher(
        exit_for=lambda spec: finished_exit(), fail_start=lambda spec: spec.idx == 1
    )
    runner, _spy, store, _out = make_runner(dispatcher, max_trials=2, batch_size=1, max_parallel=1)
    assert runner.run() == 0
    rows = store.trial_rows(["sched.g1n1"])
    assert [r["state"] for r in rows] == ["failed", "finished"]
    assert rows[0]["error"].startswith("could not start: no such program")


def test_stop_request_cancels_in_flight_trials_marks_them_killed_and_the_sweep_cancelled():
    class StopOnSecondStart(ScriptedDispatcher):
        def start(self, spec):
            result = super().start(spec)
            if spec.idx == 2:
                runner.request_stop(signal.SIGTERM)
            return result

    dispatcher = StopOnSecondStart(exit_for=lambda spec: finished_exit(), polls_to_finish=10**9)
    runner, _spy, store, out = make_runner(dispatcher, max_trials=5, batch_size=2, max_parallel=2)
    assert runner.run() == 128 + signal.SIGTERM
    rows = store.trial_rows(["sched.g1n1"])
    assert [r["state"] for r in rows] == ["killed", "killed"]
    assert sorted(dispatcher.cancelled) == sorted(r["run_id"] for r in rows)
    assert all(r["error"] == "cancelled by the sweep runner" for r in rows)
    assert store.get_sweep("sched.g1n1")["status"] == "cancelled"
    assert "not counted" not in out.getvalue()  # killed by our own stop: nothing is replaced


def test_a_cancel_the_cluster_did_not_confirm_keeps_the_trial_for_hwscale_tui_cancel():
    """A failed scancel (the controller unreachable) used to be ignored: the trial was recorded
    killed and dropped from the per-launch file, so its job could run on unrecorded and no
    `hwscale-tui cancel` could find it. It now stays there, and its error says so."""
    from hwscale_tui.launch import registry

    class StopOnSecondStart(ScriptedDispatcher):
        def start(self, spec):
            result = super().start(spec)
            if spec.idx == 2:
                self.unconfirmed = {self.started[0].run_id}  # scancel failed for the first
                runner.request_stop(signal.SIGTERM)
            return result

    dispatcher = StopOnSecondStart(
        exit_for=lambda spec: finished_exit(), polls_to_finish=10**9, kind="slurm"
    )
    runner, _spy, store, _out = make_runner(dispatcher, max_trials=5, batch_size=2, max_parallel=2)
    assert runner.run() == 128 + signal.SIGTERM
    first, second = store.trial_rows(["sched.g1n1"])
    assert (first["state"], second["state"]) == ("killed", "killed")
    assert first["error"] == (
        "cancelled by the sweep runner; its cancel was not confirmed, so its Slurm job may "
        "still run: hwscale-tui cancel tries again"
    )
    assert second["error"] == "cancelled by the sweep runner"
    kept = registry.read(runner.cfg.name)["trials"]
    assert set(kept) == {first["run_id"]}  # the confirmed one is forgotten, as before


def test_every_event_is_a_stdout_line_and_a_store_event():
    dispatcher = ScriptedDispatcher(
        exit_for=lambda spec: TrialExit(1, "bad") if spec.idx == 2 else finished_exit(3.5)
    )
    runner, _spy, store, out = make_runner(dispatcher, max_trials=2, batch_size=1, max_parallel=1)
    runner.run()
    lines = out.getvalue().splitlines()
    kinds = [line.split()[1] for line in lines]
    assert kinds == ["suggested", "started", "finished", "suggested", "started", "failed", "done"]
    assert "score=3.5" in lines[2]
    events = store.events("sched.g1n1")
    assert [e["kind"] for e in events] == kinds
    assert events[0]["run_id"] and events[0]["run_id"] in lines[0]


@pytest.mark.parametrize("bad", [["run=x"], ["trainer.optimizer.learning_rate=0.1"], ["novalue"]])
def test_bad_extra_arguments_are_usage_errors(bad):
    from hwscale_tui.errors import UsageError

    cfg = default_config(env={})
    with pytest.raises(UsageError):
        prepare_sweep(cfg, HardwarePair(1, 1), bad, app_paths().runs)


def test_a_stop_during_start_up_interrupts_building_the_optimizer():
    dispatcher = ScriptedDispatcher(exit_for=lambda spec: finished_exit())
    runner, spy, store, _out = make_runner(dispatcher)
    reached = []

    def slow_factory(preset, seed):  # stands for the scikit-learn import a signal may interrupt
        runner.request_stop(signal.SIGTERM)
        reached.append("after the signal")
        return spy

    runner.optimizer_factory = slow_factory
    assert runner.run() == 128 + signal.SIGTERM
    assert reached == [] and dispatcher.started == []
    assert store.get_sweep("sched.g1n1")["status"] == "cancelled"


def test_a_minibatch_larger_than_the_batch_is_fitted_before_dispatch_and_observed_as_run():
    class TooLargeMinibatch:
        last_info: list = []
        observed: list = []

        def suggest(self, n=1, pending=()):
            self.last_info = [{"how": "gp"}] * n
            return [{"trainer.batch_size": 512, "trainer.minibatch_size": 1024}] * n

        def observe(self, params, score, cost, failed=False):
            self.observed.append(dict(params))

    dispatcher = ScriptedDispatcher(exit_for=lambda spec: finished_exit())
    runner, _spy, store, out = make_runner(dispatcher, max_trials=1, batch_size=1, max_parallel=1)
    opt = TooLargeMinibatch()
    runner.optimizer_factory = lambda preset, seed: opt
    assert runner.run() == 0
    ran = {"trainer.batch_size": 512, "trainer.minibatch_size": 512}
    assert (
        dispatcher.started[0].params == ran
        and "trainer.minibatch_size=512" in dispatcher.started[0].argv
    )
    row = store.trial_rows(["sched.g1n1"])[0]
    assert json.loads(row["params_json"]) == ran and opt.observed == [ran]
    assert json.loads(row["suggestion_json"]) == {
        "how": "gp",
        "repaired": "trainer.minibatch_size 1024 -> 512 to fit trainer.batch_size",
    }
    assert "(gp; trainer.minibatch_size 1024 -> 512 to fit trainer.batch_size)" in out.getvalue()
