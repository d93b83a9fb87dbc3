"""QA 63: three sbatch refusals in a row ended a Slurm sweep within a second -- a controller
restarting for a few seconds, or a partition drained for a moment, failed the sweep ("the
cluster took none of the last 3 trials"). A submit the cluster cannot take *now* (sbatch did
not answer, could not reach the controller, or refused it for now: a drained partition, a
submit limit) is asked again after 1, 3 and 9 x [slurm] poll_s (5, 15 and 45 s by default)
before its trial counts as not submitted; a refusal of the options themselves (an invalid
partition) is not retried. The backoff's wait is injected here (no real sleeping), except in
the end-to-end test, whose poll_s makes it 1, 3 and 9 s."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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


def dispatcher(cli: SlurmCLI, waits: list[float], *, stop_at: int | None = None, **slurm):
    said: list[str] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return stop_at is not None and len(waits) >= stop_at

    cfg = from_dict({"experiment": {"dispatcher": "slurm"}, "slurm": slurm}, env={})
    d = SlurmDispatcher(cfg, "e.g1n1", cli=cli, wait=wait, say=said.append)
    return d, said


DOWN = SubmitNotNow(
    "sbatch could not reach the Slurm controller: Unable to contact slurm controller (connect failure)"
)


def test_a_submit_the_cluster_cannot_take_now_is_asked_again_with_a_backoff(tmp_path):
    cli = ScriptedSbatch([DOWN, DOWN, "42"])
    waits: list[float] = []
    d, said = dispatcher(cli, waits)
    handle, fields = d.start(spec(tmp_path))
    assert (handle.job_id, fields) == ("42", {"job_name": "42"})
    assert cli.submits == 3 and waits == [5.0, 15.0]  # poll_s 5: 5 s, then 15 s
    assert len(said) == 2 and "asking again in 5 s (retry 1 of 3)" in said[0], said
    assert "e.g1n1_trial_0001_abcdef Unable" not in said[0]  # the reason is sbatch's sentence
    assert "could not reach the Slurm controller" in said[1] and "in 15 s (retry 2 of 3)" in said[1]


def test_the_backoff_follows_poll_s_and_gives_up_after_three_retries(tmp_path):
    cli = ScriptedSbatch([DOWN])
    waits: list[float] = []
    d, _ = dispatcher(cli, waits, poll_s=2.0)
    with pytest.raises(SubmitNotNow) as gave_up:
        d.start(spec(tmp_path))
    assert cli.submits == 4 and waits == [2.0, 6.0, 18.0]
    assert str(gave_up.value).endswith("(connect failure) (asked 4 times, 2, 6, 18 s apart)")
    # a SubmitNotNow is a NotSubmitted: the runner records the trial killed, not counted
    assert isinstance(gave_up.value, NotSubmitted)


def test_a_refusal_of_the_options_is_not_retried(tmp_path):
    cli = ScriptedSbatch([NotSubmitted("sbatch refused the job: Invalid partition name specified")])
    waits: list[float] = []
    d, said = dispatcher(cli, waits)
    with pytest.raises(NotSubmitted) as refused:
        d.start(spec(tmp_path))
    assert not isinstance(refused.value, SubmitNotNow)
    assert cli.submits == 1 and waits == [] and said == []


def test_a_stop_during_the_backoff_ends_it_and_submits_nothing_more(tmp_path):
    cli = ScriptedSbatch([DOWN, "42"])
    waits: list[float] = []
    d, _ = dispatcher(cli, waits, stop_at=1)
    with pytest.raises(NotSubmitted, match="the sweep stopped before sbatch was asked again"):
        d.start(spec(tmp_path))
    assert cli.submits == 1 and waits == [5.0]
    d.interrupt()  # what the sweep's SIGTERM handler calls
    with pytest.raises(NotSubmitted, match="the sweep is stopping, so sbatch was not asked"):
        d.start(spec(tmp_path, "e.g1n1_trial_0002_abcdef"))
    assert cli.submits == 1


# -- against the real cluster -----------------------------------------------------------------


@pytest.mark.slow
def test_a_drained_partition_is_retried_and_a_wrong_one_is_not(slurm, tmp_path):
    update = ["scontrol", "update", "PartitionName=debug"]
    waits: list[float] = []

    def undrain_on_first_wait(seconds: float) -> bool:
        waits.append(seconds)
        assert slurm.run([*update, "State=UP"]).returncode == 0
        return False

    cfg = cfgmod.load(write_experiment(tmp_path / "d.toml", "retry", trial_command=False))
    d = SlurmDispatcher(
        cfg, "retry.g1n1", cli=SlurmCLI(dict(os.environ)), wait=undrain_on_first_wait
    )
    name = "retry.g1n1_trial_0001_abcdef"
    assert slurm.run([*update, "State=DRAIN"]).returncode == 0
    try:
        job, _ = d.start(spec(tmp_path, name))
    finally:
        assert slurm.run([*update, "State=UP"]).returncode == 0
    assert waits == [cfg.slurm.poll_s]  # refused once ("Required partition not available")
    assert slurm.run(["squeue", "-h", "-j", job.job_id, "-o", "%j"]).stdout.strip() == name

    wrong = cfgmod.load(
        write_experiment(
            tmp_path / "w.toml", "wrong", trial_command=False, slurm={"partition": "nope"}
        )
    )
    waits.clear()
    d = SlurmDispatcher(
        wrong, "wrong.g1n1", cli=SlurmCLI(dict(os.environ)), wait=undrain_on_first_wait
    )
    with pytest.raises(
        NotSubmitted, match=r"sbatch refused the job: .*nvalid partition"
    ) as refused:
        d.start(spec(tmp_path, "wrong.g1n1_trial_0001_abcdef"))
    assert not isinstance(refused.value, SubmitNotNow) and waits == []


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
