"""QA 63: three sbatch refusals in a row ended a Slurm sweep within a second -- a controller
restarting for a few seconds, or a partition drained for a moment, failed the sweep ("the
cluster took none of the last 3 trials"). A submit the cluster cannot take *now* (sbatch did
not answer, could not reach the controller, or refused it for now: a drained partition, a
submit limit) is asked again after 1, 3 and 9 x [slurm] poll_s (5, 15 and 45 s by default)
before its trial counts as not submitted; a refusal of the options themselves (an invalid
partition) is not retried. The trial waits to be submitted again without holding up the
runner (QA 66: the wait blocked the whole loop, so the sweep's other trials were polled only
once it was over): the runner's clock is injected here (no real sleeping), except in the
end-to-end test, whose poll_s makes the delays 1, 3 and 9 s."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.config import from_dict
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.sweep.dispatch import NotSubmitted
from hwscale_tui.sweep.slurm import SlurmCLI, SlurmDispatcher, SubmitNotNow
from hwscale_tui.sweep.trial_command import TrialSpec
from tests.slurm.test_slurm_dispatch import (
    cli_env,
    hwscale_cmd,
    rows,
    running_trial,
    wait_for,
    write_experiment,
)


def spec(tmp_path: Path, run_id: str = "e.g1n1_trial_0001_abcdef") -> TrialSpec:
    run_dir = tmp_path / "runs" / run_id
    return TrialSpec(
        sweep="e.g1n1",
        run_id=run_id,
        idx=1,
        pair=HardwarePair(1, 1),
        params={},
        argv=["true"],
        remote_script="true",
        env={},
        remote_env={},
        run_dir=run_dir,
        log_path=run_dir / "trial.log",
        metrics_path=run_dir / "metrics.jsonl",
        writes_store=False,
    )


class ScriptedSbatch(SlurmCLI):
    """sbatch answers from a script: an exception to raise, or a job id."""

    def __init__(self, answers: list[Exception | str]):
        super().__init__({})
        self.answers = answers
        self.submits = 0

    def submit(self, options, script, env):  # type: ignore[no-untyped-def]
        self.submits += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def dispatcher(cli: SlurmCLI, **slurm):
    said: list[str] = []
    cfg = from_dict({"experiment": {"dispatcher": "slurm"}, "slurm": slurm}, env={})
    d = SlurmDispatcher(cfg, "e.g1n1", cli=cli, say=said.append)
    return d, said


DOWN = SubmitNotNow(
    "sbatch could not reach the Slurm controller: Unable to contact slurm controller (connect failure)"
)


def start_until_submitted(d: SlurmDispatcher, trial: TrialSpec, delays: list[float]):
    """What the runner does: start, and start again after each delay the dispatcher asks for."""
    while True:
        try:
            return d.start(trial)
        except SubmitNotNow as e:
            if e.retry_in_s is None:
                raise
            delays.append(e.retry_in_s)


def test_a_submit_the_cluster_cannot_take_now_is_asked_again_with_a_backoff(tmp_path):
    cli = ScriptedSbatch([DOWN, DOWN, "42"])
    delays: list[float] = []
    d, said = dispatcher(cli)
    handle, fields = start_until_submitted(d, spec(tmp_path), delays)
    assert (handle.job_id, fields) == ("42", {"job_name": "42"})
    assert cli.submits == 3 and delays == [5.0, 15.0]  # poll_s 5: 5 s, then 15 s
    assert len(said) == 2 and "asking again in 5 s (retry 1 of 3)" in said[0], said
    assert "e.g1n1_trial_0001_abcdef Unable" not in said[0]  # the reason is sbatch's sentence
    assert "could not reach the Slurm controller" in said[1] and "in 15 s (retry 2 of 3)" in said[1]


def test_the_backoff_follows_poll_s_and_gives_up_after_three_retries(tmp_path):
    cli = ScriptedSbatch([DOWN])
    delays: list[float] = []
    d, _ = dispatcher(cli, poll_s=2.0)
    with pytest.raises(SubmitNotNow) as gave_up:
        start_until_submitted(d, spec(tmp_path), delays)
    assert cli.submits == 4 and delays == [2.0, 6.0, 18.0]
    assert str(gave_up.value).endswith("(connect failure) (asked 4 times, 2, 6, 18 s apart)")
    # a SubmitNotNow is a NotSubmitted: the runner records the trial killed, not counted
    assert isinstance(gave_up.value, NotSubmitted) and gave_up.value.retry_in_s is None
    # each trial has its own count: the next one is asked 4 times again
    with pytest.raises(SubmitNotNow):
        start_until_submitted(d, spec(tmp_path, "e.g1n1_trial_0002_abcdef"), delays)
    assert cli.submits == 8 and delays == [2.0, 6.0, 18.0] * 2


def test_a_refusal_of_the_options_is_not_retried(tmp_path):
    cli = ScriptedSbatch([NotSubmitted("sbatch refused the job: Invalid partition name specified")])
    d, said = dispatcher(cli)
    with pytest.raises(NotSubmitted) as refused:
        d.start(spec(tmp_path))
    assert not isinstance(refused.value, SubmitNotNow)
    assert cli.submits == 1 and said == []


def test_a_stopping_sweep_runs_no_further_sbatch(tmp_path):
    cli = ScriptedSbatch([DOWN, "42"])
    d, _ = dispatcher(cli)
    with pytest.raises(SubmitNotNow) as first:
        d.start(spec(tmp_path))
    assert first.value.retry_in_s == 5.0 and cli.submits == 1
    d.interrupt()  # what the sweep's SIGTERM handler calls
    with pytest.raises(NotSubmitted, match="the sweep is stopping, so sbatch was not asked"):
        d.start(spec(tmp_path))
    assert cli.submits == 1


# -- the runner: a trial waiting to be submitted again holds up nothing ------------------------


def sync_queries(monkeypatch) -> None:
    """The dispatcher's squeue/sacct queries answered in the caller's thread, so that when
    each poll sees what is decided by the runner's turns alone, never by a thread's timing."""
    from concurrent.futures import Future

    import hwscale_tui.sweep.slurm as slurm_mod

    def now(fn, *args):  # type: ignore[no-untyped-def]
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as e:
            done.set_exception(e)
        return done

    monkeypatch.setattr(slurm_mod, "in_daemon_thread", now)


class FakeCluster(SlurmCLI):
    """sbatch from a script per trial (exceptions to raise, then job ids); every job it took
    ends COMPLETED at the first squeue after ``done`` lets it, with a final metrics line."""

    def __init__(self, answers: dict[int, list[Exception]], timeline: list[str], clock):
        super().__init__({})
        self.answers = answers  # trial index -> refusals before its job is taken
        self.timeline = timeline
        self.clock = clock
        self.jobs: dict[str, Path] = {}  # job id -> metrics file
        self.done: set[str] = set()  # job ids allowed to end
        self.sbatch_at: list[tuple[str, float]] = []  # (run id, runner clock) of each sbatch

    def submit(self, options, script, env):  # type: ignore[no-untyped-def]
        import json

        name = next(o.split("=", 1)[1] for o in options if o.startswith("--job-name="))
        self.sbatch_at.append((name, self.clock()))
        self.timeline.append(f"sbatch {name}")
        refusals = self.answers.get(int(name.split("_")[-2]), [])
        if refusals:
            raise refusals.pop(0)
        job_id = str(len(self.jobs) + 1)
        metrics = script.parent / "metrics.jsonl"
        final = {"sweep/score": 1.0, "sweep/cost": 0.01, "metric/total_time": 2.0}
        metrics.write_text(
            json.dumps({**final, "metric/agent_step": 1000, "final": True, "state": "finished"})
            + "\n"
        )
        self.jobs[job_id] = metrics
        return job_id

    def queue(self, job_ids):  # type: ignore[no-untyped-def]
        from hwscale_tui.sweep.slurm import JobInfo

        return {
            i: JobInfo(i, "COMPLETED" if i in self.done else "RUNNING", None, "node1")
            for i in job_ids
        }

    def finished(self, job_ids):  # type: ignore[no-untyped-def]
        from hwscale_tui.sweep.slurm import JobInfo

        return {i: JobInfo(i, "COMPLETED", None, "node1", 0, 0, 2.0) for i in job_ids}

    def cancel(self, job_ids):  # type: ignore[no-untyped-def]
        self.timeline.append(f"scancel {' '.join(job_ids)}")
        self.done.update(job_ids)  # CANCELLED, as far as the runner asks


class Timeline(io.StringIO):
    """The runner's output, each line also appended to the test's timeline."""

    def __init__(self, timeline: list[str], on_line=None):  # type: ignore[no-untyped-def]
        super().__init__()
        self.timeline = timeline
        self.on_line = on_line

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.timeline.append(line)
                if self.on_line is not None:
                    self.on_line(line)
        return super().write(text)


def slurm_runner(cli: SlurmCLI, out: io.StringIO, clock, *, max_trials: int, parallel: int):
    from hwscale_tui.config import apply_overrides, default_config
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store
    from hwscale_tui.sweep.runner import RunnerTimings, SweepRunner, prepare_sweep

    cfg = apply_overrides(
        default_config(env={}),
        {
            "experiment.name": "wait",
            "experiment.dispatcher": "slurm",
            "grid.node_counts": [1],
            "sweep.max_trials": max_trials,
            "sweep.batch_size": parallel,
            "sweep.max_parallel_jobs": parallel,
        },
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    said: list[str] = []
    d = SlurmDispatcher(cfg, setup.sweep, cli=cli, poll_interval_s=0.0, say=said.append)
    d.submit_retry_delays_s = (5.0, 15.0, 45.0)  # the default poll_s's, with queries every turn
    store = Store.open_default()
    runner = SweepRunner(
        setup,
        store=store,
        dispatcher=d,
        out=out,
        clock=clock,
        timings=RunnerTimings(poll_s=0.0, cancel_grace_s=0.1),
    )
    return runner, d, store, said


class Clock:
    """The runner's clock: still, unless the test moves it; fails a runner that spins without
    end (a loop that never gets anywhere) instead of hanging."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        assert self.calls < 100_000, "the runner went round without end"
        return self.now


def test_a_trial_that_ends_while_another_waits_to_be_submitted_is_seen_before_the_retry(
    tmp_path, monkeypatch
):
    """Two trials in parallel; the second's sbatch is refused (a drained partition), so it
    waits 5 s to be asked again. The first ends meanwhile: the runner, which used to sit in the
    wait, sees it end (finished, with its score) while the clock still stands before the retry,
    and the second is submitted only once its 5 s have passed on the runner's clock."""
    sync_queries(monkeypatch)
    timeline: list[str] = []
    clock = Clock()
    drained = SubmitNotNow(
        "sbatch refused the job: Required partition not available (inactive or drain)"
    )
    cli = FakeCluster({2: [drained]}, timeline, clock)
    seen: dict[str, Any] = {}

    def on_line(line: str) -> None:
        if " finished " in line and "_trial_0001_" in line and not seen:
            # the first trial's end is recorded: where is the second one now?
            second = store.trial_rows(["wait.g1n1"])[1]
            seen.update(clock=clock.now, sbatch=len(cli.sbatch_at), row=dict(second))
            clock.now += 2.0  # not yet the retry's time (5 s)...

    out = Timeline(timeline, on_line)
    runner, _d, store, said = slurm_runner(cli, out, clock, max_trials=2, parallel=2)
    cli.done.add("1")  # the first trial's job ends at the first squeue

    def move_on_while_waiting(fn):  # type: ignore[no-untyped-def]
        def turn():  # type: ignore[no-untyped-def]
            if seen and len(cli.sbatch_at) == 2:
                clock.now += 1.0  # one second a turn until the retry's time has come
            return fn()

        return turn

    runner._turn = move_on_while_waiting(runner._turn)  # type: ignore[method-assign]
    cli_done_after_submit = cli.submit

    def submit(options, script, env):  # type: ignore[no-untyped-def]
        job_id = cli_done_after_submit(options, script, env)
        cli.done.add(job_id)
        return job_id

    cli.submit = submit  # type: ignore[method-assign]
    assert runner.run() == 0, out.getvalue()

    first, second = store.trial_rows(["wait.g1n1"])
    assert (first["state"], second["state"]) == ("finished", "finished"), out.getvalue()
    # the first trial's end was recorded while the second waited: asked once, refused,
    # queued with why, and the clock still at the refusal
    assert seen["sbatch"] == 2 and seen["clock"] == 1000.0, (seen, timeline)
    assert seen["row"]["state"] == "queued" and seen["row"]["job_name"] is None
    assert seen["row"]["error"] == (
        "waiting to submit: sbatch refused the job: Required partition not available "
        "(inactive or drain)"
    )
    # ...and the second was asked again only when its 5 s had passed on the runner's clock
    names = [n for n, _ in cli.sbatch_at]
    assert names == [first["run_id"], second["run_id"], second["run_id"]], cli.sbatch_at
    assert cli.sbatch_at[1][1] == 1000.0 and cli.sbatch_at[2][1] >= 1005.0, cli.sbatch_at
    order = [line for line in timeline if "sbatch" in line or " finished " in line]
    assert order.index(f"sbatch {second['run_id']}", 2) > next(
        k for k, line in enumerate(order) if " finished " in line and first["run_id"] in line
    ), order
    assert len(said) == 1 and said[0].endswith(
        "(inactive or drain); asking again in 5 s (retry 1 of 3)"
    ), said
    assert second["error"] is None and second["job_name"] == "2"  # its wait is over


def test_a_stop_while_a_trial_waits_to_be_submitted_runs_no_further_sbatch(tmp_path, monkeypatch):
    """A SIGTERM while the second trial waits to be asked again: the runner stops at once, the
    waiting trial is recorded killed (never submitted, not counted) and sbatch is not run for
    it again, however long the clock then moves on."""
    import signal

    sync_queries(monkeypatch)
    timeline: list[str] = []
    clock = Clock()
    cli = FakeCluster({2: [DOWN, DOWN, DOWN, DOWN]}, timeline, clock)
    out = Timeline(timeline)
    runner, d, store, _said = slurm_runner(cli, out, clock, max_trials=2, parallel=2)

    def stop_once_waiting(fn):  # type: ignore[no-untyped-def]
        def turn():  # type: ignore[no-untyped-def]
            if runner._to_submit and runner._stop_signal is None:
                d.interrupt()  # what the sweep's signal handler does, then request_stop
                runner.request_stop(signal.SIGTERM)
                clock.now += 3600.0
            return fn()

        return turn

    runner._turn = stop_once_waiting(runner._turn)  # type: ignore[method-assign]
    assert runner.run() == 128 + signal.SIGTERM, out.getvalue()
    first, second = store.trial_rows(["wait.g1n1"])
    assert [n for n, _ in cli.sbatch_at] == [first["run_id"], second["run_id"]]  # no more
    assert "scancel 1" in timeline  # the running one is cancelled, the waiting one has no job
    assert first["state"] == "killed" and first["error"] == "cancelled by the sweep runner"
    assert second["state"] == "killed" and second["job_name"] is None
    assert second["error"] == (
        f"not submitted: {DOWN}; the sweep stopped before sbatch was asked again"
    )
    assert "SIGTERM: stopping 2 in-flight trials" in out.getvalue()
    assert store.get_sweep("wait.g1n1")["status"] == "cancelled"


def test_a_trial_the_cluster_never_takes_gives_up_after_four_asks_without_holding_the_sweep(
    tmp_path, monkeypatch
):
    """The second trial is refused 4 times (1 + 3 retries, at 5, 15 and 45 s on the runner's
    clock) and recorded killed with how many times it asked; the first ran to its end
    meanwhile and the sweep goes on to a third trial that the cluster takes."""
    sync_queries(monkeypatch)
    timeline: list[str] = []
    clock = Clock()
    cli = FakeCluster({2: [DOWN, DOWN, DOWN, DOWN]}, timeline, clock)
    out = Timeline(timeline)
    runner, _d, store, said = slurm_runner(cli, out, clock, max_trials=2, parallel=2)
    cli.done.update(str(i) for i in range(1, 10))

    def tick(fn):  # type: ignore[no-untyped-def]
        def turn():  # type: ignore[no-untyped-def]
            clock.now += 1.0
            return fn()

        return turn

    runner._turn = tick(runner._turn)  # type: ignore[method-assign]
    assert runner.run() == 0, out.getvalue()
    rows = store.trial_rows(["wait.g1n1"])
    assert [r["state"] for r in rows] == ["finished", "killed", "finished"], out.getvalue()
    assert rows[1]["error"] == f"not submitted: {DOWN} (asked 4 times, 5, 15, 45 s apart)"
    asks = [t for n, t in cli.sbatch_at if n == rows[1]["run_id"]]
    assert [b - a for a, b in zip(asks, asks[1:])] == [5.0, 15.0, 45.0], asks
    first_end = next(k for k, line in enumerate(timeline) if " finished " in line)
    second_asks = [k for k, line in enumerate(timeline) if line == f"sbatch {rows[1]['run_id']}"]
    assert first_end < second_asks[1], timeline  # seen ending before the first retry
    assert [s.rsplit("(", 1)[1] for s in said] == [
        "retry 1 of 3)",
        "retry 2 of 3)",
        "retry 3 of 3)",
    ]


# -- against the real cluster -----------------------------------------------------------------


@pytest.mark.slow
def test_a_drained_partition_is_retried_and_a_wrong_one_is_not(slurm, tmp_path):
    update = ["scontrol", "update", "PartitionName=debug"]
    cfg = cfgmod.load(write_experiment(tmp_path / "d.toml", "retry", trial_command=False))
    d = SlurmDispatcher(cfg, "retry.g1n1", cli=SlurmCLI(dict(os.environ)), say=lambda _: None)
    name = "retry.g1n1_trial_0001_abcdef"
    assert slurm.run([*update, "State=DRAIN"]).returncode == 0
    try:
        with pytest.raises(SubmitNotNow, match="Required partition not available") as refused:
            d.start(spec(tmp_path, name))
        assert refused.value.retry_in_s == cfg.slurm.poll_s  # asked again after poll_s
    finally:
        assert slurm.run([*update, "State=UP"]).returncode == 0
    job, _ = d.start(spec(tmp_path, name))  # what the runner does once that time has come
    assert slurm.run(["squeue", "-h", "-j", job.job_id, "-o", "%j"]).stdout.strip() == name

    wrong = cfgmod.load(
        write_experiment(
            tmp_path / "w.toml", "wrong", trial_command=False, slurm={"partition": "nope"}
        )
    )
    d = SlurmDispatcher(wrong, "wrong.g1n1", cli=SlurmCLI(dict(os.environ)))
    with pytest.raises(
        NotSubmitted, match=r"sbatch refused the job: .*nvalid partition"
    ) as refused_for_good:
        d.start(spec(tmp_path, "wrong.g1n1_trial_0001_abcdef"))
    assert not isinstance(refused_for_good.value, SubmitNotNow)


@pytest.mark.slow
def test_a_sweep_rides_out_a_partition_drained_for_a_moment(slurm, tmp_path):
    """End to end: the partition is drained while the sweep's first trial runs, so its second
    trial's sbatch is refused ("Required partition not available"). The sweep used to record
    three such trials killed within a second and fail; it now asks again after 1 s, 3 s and 9 s
    (poll_s 1), and the partition is back before it gives up."""
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(
        tmp_path / "exp.toml",
        "ride",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
        sweep={"max_trials": 2},
        slurm={"poll_s": 1.0},
    )
    out = tmp_path / "sweep.out"
    update = ["scontrol", "update", "PartitionName=debug"]
    with out.open("w") as log:
        proc = subprocess.Popen(
            hwscale_cmd("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=cli_env(HWSTUB_HOLD_DIR=str(hold)),
            start_new_session=True,
        )
    try:
        first = running_trial("ride.g1n1")
        assert slurm.run([*update, "State=DRAIN"]).returncode == 0
        (hold / first["run_id"]).write_text("")  # the first trial ends; the second is refused
        retry = "asking again in 1 s (retry 1 of 3)"
        wait_for(lambda: retry in out.read_text() or proc.poll() is not None, "a retry")
        assert retry in out.read_text(), out.read_text()  # it failed at once: 3 refusals
        assert slurm.run([*update, "State=UP"]).returncode == 0
        (hold / "all").write_text("")
        assert proc.wait(timeout=180) == 0, out.read_text()
    finally:
        slurm.run([*update, "State=UP"])
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [t["state"] for t in rows("ride.g1n1")] == ["finished", "finished"], out.read_text()
    assert "Required partition not available" in out.read_text()


def test_a_trial_left_waiting_to_submit_by_a_dead_runner_is_started_with_a_clean_row(
    tmp_path, monkeypatch
):
    """A runner that dies (SIGKILL) while a trial waits to be submitted again leaves it queued,
    ``waiting to submit: ...``, with no job. The next runner starts it as a suggestion never
    started, and its row, running, no longer says it waits."""
    sync_queries(monkeypatch)
    clock = Clock()
    cli = FakeCluster({1: [DOWN]}, [], clock)
    dead, _d, store, _said = slurm_runner(cli, io.StringIO(), clock, max_trials=1, parallel=1)
    dead.optimizer = dead.optimizer_factory(dead.setup.preset, 0)
    dead.state.claim(
        experiment=dead.cfg.name,
        pair=dead.setup.pair,
        dispatcher="slurm",
        max_trials=1,
        config=dead.cfg.to_dict(),
    )
    assert dead._turn() is None  # one turn: the trial is refused for now, then SIGKILL
    (row,) = store.trial_rows(["wait.g1n1"])
    assert (row["state"], row["job_name"]) == ("queued", None)
    assert row["error"] == f"waiting to submit: {DOWN}"

    while_running: list[tuple[str, str | None]] = []

    class Peek(FakeCluster):
        def queue(self, job_ids):  # type: ignore[no-untyped-def]
            (r,) = store.trial_rows(["wait.g1n1"])
            while_running.append((r["state"], r["error"]))
            return super().queue(job_ids)

    peek = Peek({}, [], clock)
    peek.done.add("1")
    runner, _d, store, _said = slurm_runner(peek, io.StringIO(), clock, max_trials=1, parallel=1)
    assert runner.run() == 0
    assert while_running and while_running[0] == ("running", None), while_running
    (row,) = store.trial_rows(["wait.g1n1"])
    assert (row["state"], row["job_name"], row["run_id"]) == ("finished", "1", row["run_id"])
