"""A sweep runner that dies (SIGKILL, the OOM killer) while its trial runs: the supervisor that
reaps it stops the trial it left running, records it killed, says so, and -- in a sequential
launch -- starts the next pair only once that trial is gone. Before, the trial ran on unowned
and the next pair started beside it at once, the two pairs sharing the machine's cores.

Real processes throughout: the supervisor, the built-in sweep runner, a local trial (the sweep
tests' stub trial, or a shell that ignores SIGTERM so that the supervisor must SIGKILL it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.launch import registry
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.state import LaunchRecords
from hwscale_tui.processes import process_start_time
from hwscale_tui.store import Store
from tests.launch.launch_testkit import clean_processes, live, wait_for, write_experiment
from tests.support.launches import dead_pid, recorded_launch
from tests.sweep.sweep_helpers import stub_command

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)

# A trial that ignores SIGTERM: only the SIGKILL after the grace stops it.
DEAF_TRIAL = ["sh", "-c", "trap '' TERM; exec sleep 600", "{run_id}"]


def _experiment(path: Path, trial: list[str], *, sequential: bool) -> cfgmod.ExperimentConfig:
    path.write_text(
        tomli_w.dumps(
            {
                "experiment": {"name": "dr"},
                "grid": {"gpu_counts": [1, 2], "node_counts": [1]},
                "sweep": {
                    "max_trials": 2,
                    "batch_size": 1,
                    "max_parallel_jobs": 1,
                    "trial_command": trial,
                },
                "launch": {"sequential": sequential, "delay_s": 0},
            }
        )
    )
    return cfgmod.load(path)


def _running_trial(sweep: str) -> tuple[str, dict[str, Any], int]:
    """Once ``sweep``'s first trial runs: its run id, its per-launch file entry and the pid of
    the sweep runner that started it."""
    data = wait_for(
        lambda: (
            (d := registry.read("dr"))
            and any(t.get("sweep") == sweep and t.get("pid") for t in d["trials"].values())
            and sweep in d["pairs"]
            and d
        ),
        f"{sweep}'s trial to run",
    )
    ((run_id, trial),) = [(r, t) for r, t in data["trials"].items() if t.get("sweep") == sweep]
    # the runner writes the per-launch file first, then the store's row
    wait_for(lambda: _trial_row(run_id)["state"] == "running", f"{run_id} running in the store")
    return run_id, trial, data["pairs"][sweep]["pid"]


def _trial_row(run_id: str) -> dict[str, Any]:
    with Store.open_default(readonly=True) as st:
        row = st.get_trial_row(run_id)
    assert row is not None, run_id
    return row


def _events(kind: str) -> list[dict[str, Any]]:
    with Store.open_default(readonly=True) as st:
        return [e for e in st.events() if e["kind"] == kind]


@pytest.mark.parametrize(
    "trial, needs_sigkill",
    [(stub_command(), False), (DEAF_TRIAL, True)],
    ids=["trial-stops-on-SIGTERM", "trial-ignores-SIGTERM"],
)
def test_a_sigkilled_runners_trial_is_stopped_before_the_next_sequential_pair_starts(
    tmp_path, monkeypatch, trial, needs_sigkill
):
    hold = tmp_path / "hold"  # the stub trial waits here for a file that never comes
    hold.mkdir()
    monkeypatch.setenv("STUB_HOLD_DIR", str(hold))
    cfg = _experiment(tmp_path / "dr.toml", trial, sequential=True)
    sup.launch(cfg)
    try:
        run_id, entry, runner = _running_trial("dr.g1n1")
        assert live(entry["pid"]) and sup.pair_status("dr").pair("dr.g2n1").status == "scheduled"

        os.kill(runner, signal.SIGKILL)

        # the supervisor reaps the runner and stops the trial it left running
        wait_for(lambda: not live(entry["pid"]), "the dead runner's trial to be stopped")
        row = wait_for(
            lambda: (r := _trial_row(run_id))["state"] not in ("queued", "running") and r,
            "the stopped trial to be recorded",
        )
        assert row["state"] == "killed" and row["ended_at"] is not None, row
        assert row["error"] == (
            "stopped by its supervisor after its sweep runner ended with signal 9"
        ), row
        g1 = sup.pair_status("dr").pair("dr.g1n1")
        assert g1 is not None and (g1.status, g1.exit_code) == ("exited", -9), g1

        # the next pair started, and only after the trial was gone (times from one clock:
        # the supervisor records the trial's end once its process tree is gone)
        g2 = wait_for(
            lambda: (p := sup.pair_status("dr").pair("dr.g2n1")) and p.started_at and p,
            "g2n1 to start",
        )
        assert g2.started_at >= row["ended_at"], (g2.started_at, row["ended_at"])

        # one sentence names the pair, the trial and its pid; the per-launch file forgets it
        (said,) = [e["message"] for e in _events("orphan_stopped")]
        assert said.startswith(
            f"stopped trial {run_id} (pid {entry['pid']}) of dr.g1n1, left running by its dead "
            "sweep runner (signal 9): "
        ), said
        assert said.endswith("; the store records it killed"), said
        assert ("(SIGKILL needed)" in said) == needs_sigkill, said
        (stopping,) = [e["message"] for e in _events("orphan_stopping")]
        assert stopping.startswith(
            f"dr.g1n1's sweep runner ended with signal 9 and left trial {run_id} "
            f"(pid {entry['pid']}) running; stopping it"
        ), stopping
        assert run_id not in registry.read("dr")["trials"]
        # the pair is not cancelled: `launch --only g1n1` resumes its sweep, in which the
        # killed trial does not count
        with Store.open_default(readonly=True) as st:
            assert st.get_sweep("dr.g1n1")["status"] == "running"
        assert g1.note is None or "without its sweep runner" not in g1.note, g1.note
    finally:
        (hold / "all").write_text("")
        sup.cancel_pairs("dr", None, by="test")


def test_a_staggered_launch_stops_the_trial_too_and_keeps_its_other_pair(tmp_path, monkeypatch):
    """Not sequential: both pairs run together; the one whose runner is SIGKILLed has its trial
    stopped, the other pair's runner and trial are left alone."""
    hold = tmp_path / "hold"
    hold.mkdir()
    monkeypatch.setenv("STUB_HOLD_DIR", str(hold))
    cfg = _experiment(tmp_path / "dr.toml", stub_command(), sequential=False)
    sup.launch(cfg)
    try:
        run_1, trial_1, runner_1 = _running_trial("dr.g1n1")
        run_2, trial_2, runner_2 = _running_trial("dr.g2n1")
        os.kill(runner_1, signal.SIGKILL)
        wait_for(lambda: not live(trial_1["pid"]), "g1n1's trial to be stopped")
        wait_for(lambda: _trial_row(run_1)["state"] == "killed", "g1n1's trial recorded killed")
        assert live(runner_2) and live(trial_2["pid"]), "g2n1 is not touched"
        assert _trial_row(run_2)["state"] == "running"
        assert sup.pair_status("dr").pair("dr.g2n1").status == "running"
    finally:
        (hold / "all").write_text("")
        sup.cancel_pairs("dr", None, by="test")


def test_a_runner_that_exits_cleanly_has_nothing_stopped(tmp_path, monkeypatch):
    """A runner stopped with SIGTERM cancels its own trial and exits: the supervisor has
    nothing to stop and says nothing of orphans."""
    hold = tmp_path / "hold"
    hold.mkdir()
    monkeypatch.setenv("STUB_HOLD_DIR", str(hold))
    cfg = _experiment(tmp_path / "dr.toml", stub_command(), sequential=True)
    sup.launch(cfg)
    try:
        run_id, entry, runner = _running_trial("dr.g1n1")
        os.kill(runner, signal.SIGTERM)
        wait_for(
            lambda: (p := sup.pair_status("dr").pair("dr.g2n1")) and p.started_at,
            "g2n1 to start after g1n1's runner stopped",
        )
        assert not live(entry["pid"])
        assert _trial_row(run_id)["error"] != (
            "stopped by its supervisor after its sweep runner ended with signal 9"
        )
        assert not _events("orphan_stopping") and not _events("orphan_stopped")
    finally:
        (hold / "all").write_text("")
        sup.cancel_pairs("dr", None, by="test")


# A stand-in sweep runner that records one trial as a Slurm job under itself, as the Slurm
# dispatcher does, then dies by SIGKILL.
SLURM_RUNNER = """
import os, signal, sys
from hwscale_tui.launch import registry
from hwscale_tui.processes import process_start_time
sweep = sys.argv[1]
registry.record_trial(
    sweep.rsplit(".", 1)[0], sweep, sweep + "_trial_0001_abcdef", runner_pid=os.getpid(),
    runner_start=process_start_time(os.getpid()), fields={"job_name": "4242"},
    dispatcher="slurm",
)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_dead_runners_cluster_jobs_are_left_for_a_new_runner_and_named(tmp_path):
    """Cluster jobs are not stopped by the supervisor (a new runner re-attaches them; cancel
    cancels them): its log and events say so, with both commands, and the per-launch file keeps
    them for status, doctor and cancel."""
    cfg = write_experiment(
        tmp_path / "exp.toml",
        [sys.executable, "-c", SLURM_RUNNER.replace("{", "{{").replace("}", "}}"), "{sweep_name}"],
        gpus=(1,),
    )
    sup.launch(cfg)
    (said,) = wait_for(lambda: [e["message"] for e in _events("orphan_left")], "the note")
    assert said == (
        "exp.g1n1's sweep runner ended with signal 9 and left 1 trial in flight as cluster "
        "jobs (Slurm job 4242); they are left running: hwscale-tui launch --experiment-name "
        "exp --only g1n1 re-attaches them, hwscale-tui cancel --experiment-name exp g1n1 "
        "cancels them"
    ), said
    assert "exp.g1n1_trial_0001_abcdef" in registry.read("exp")["trials"]
    assert not _events("orphan_stopping") and not _events("orphan_stopped")
    wait_for(lambda: not sup.pair_status("exp").supervisor_alive, "the launch to end")


def test_cancel_still_stops_a_trial_left_when_no_supervisor_could(tmp_path, capsys):
    """The supervisor recorded the runner's SIGKILL but died before stopping its trial (or the
    stop is still under way): `cancel PAIR` stops it, as before, and says so."""
    trial = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    try:
        runner, runner_start = dead_pid()
        run_id = "exp.g1n1_trial_0001_abcdef"
        with Store.open_default() as st:
            recorded_launch(st, "exp", ["exp.g1n1"], tmp_path / "exp.toml", running_pid=runner)
            LaunchRecords(st).mark_ended("exp", "exp.g1n1", -9, None, 2.0)
        registry.record_trial(
            "exp",
            "exp.g1n1",
            run_id,
            runner_pid=runner,
            runner_start=runner_start,
            fields={
                "pid": trial.pid,
                "pgid": trial.pid,
                "proc_start": process_start_time(trial.pid),
            },
            dispatcher="local",
        )
        assert main(["cancel", "g1n1", "--experiment-name", "exp"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(
            "g1n1: not cancelled: already exited; stopped 1 process of 1 trial "
            "its dead sweep runner left running in "
        ), out
        assert trial.wait(timeout=60) == -signal.SIGTERM
    finally:
        if trial.poll() is None:
            trial.kill()
            trial.wait()
