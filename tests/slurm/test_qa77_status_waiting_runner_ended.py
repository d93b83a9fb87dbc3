"""``status`` of a Slurm trial that waited to submit when its sweep runner died.

Found by hand: a sweep runner killed (SIGKILL, OOM) while a trial waited to be submitted again
left the row ``queued``, ``waiting to submit: sbatch refused the job: ...``, and ``status``
went on saying ``g1n1 Slurm jobs: trial 2 waiting to submit: ...`` although nothing would ever
ask sbatch again. It now says the runner ended and names the command whose new runner submits
it (docs/slurm.md: ``launch --resume`` for a runner that died unwatched, ``launch --only
g1n1`` for one whose death a supervisor recorded); a live runner's wait is shown as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hwscale_tui.cli import main
from hwscale_tui.launch.state import LaunchRecords
from hwscale_tui.processes import process_start_time
from hwscale_tui.store import Store
from tests.support.launches import recorded_launch

SWEEP = "exp.g1n1"
REASON = "sbatch refused the job: Required partition not available (inactive or drain)"
WAITING = f"trial 2 waiting to submit: {REASON}"
ENDED = f"trial 2 not submitted: its sweep runner ended while it waited to submit ({REASON})"


def _seed(tmp_path, runner_pid: int, proc_start: float) -> int:  # type: ignore[no-untyped-def]
    with Store.open_default() as store:
        store.touch_experiment("exp")
        store.upsert_sweep(SWEEP, experiment="exp", gpus=1, nodes=1, dispatcher="slurm")
        for idx, fields in (
            (1, {"job_name": "12", "state": "running"}),
            (2, {"state": "queued", "error": f"waiting to submit: {REASON}"}),
        ):
            run_id = f"{SWEEP}_trial_{idx:04d}_abcdef"
            store.insert_trial(run_id, SWEEP, experiment="exp", idx=idx, gpus=1, nodes=1)
            store.update_trial(run_id, **fields)
        return recorded_launch(
            store,
            "exp",
            [SWEEP],
            tmp_path / "exp.toml",
            running_pid=runner_pid,
            proc_start=proc_start,
        )


def _status(capsys) -> str:  # type: ignore[no-untyped-def]
    assert main(["status", "--experiment-name", "exp"]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_a_dead_runners_waiting_trial_is_not_submitted_and_the_restart_is_named(
    tmp_path, capsys
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lid = _seed(tmp_path, dead.pid, 1.0)

    # died while no supervisor watched: launch --resume starts its runner again
    out = _status(capsys)
    assert WAITING not in out, out
    assert (
        # its runner is gone: job 12's state is what it last recorded (session 43: a job that
        # had ended was shown '12 running' until a new runner looked)
        f"g1n1 Slurm jobs: 12 last recorded running (no runner watches it), {ENDED}; "
        "hwscale-tui launch --experiment-name exp "
        "--resume starts its sweep runner again, which submits it"
    ) in out, out
    assert main(["status", "--experiment-name", "exp", "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)["slurm_jobs"][SWEEP]
    assert jobs[1]["waiting"] == ENDED.removeprefix("trial 2 ")
    assert jobs[0]["state"] == "running" and "runner is gone" in jobs[0]["unwatched"]
    assert jobs[1]["restart"] == "hwscale-tui launch --experiment-name exp --resume"

    # beside a live supervisor --resume finds nothing to resume: --only g1n1 starts it
    with Store.open_default() as store:
        LaunchRecords(store).set_supervisor(lid, os.getpid(), process_start_time(os.getpid()))
    out = _status(capsys)
    assert (
        f"{ENDED}; hwscale-tui launch --experiment-name exp --only g1n1 starts its sweep "
        "runner again, which submits it"
    ) in out, out


def test_a_live_runners_waiting_trial_still_waits_to_submit(tmp_path, capsys) -> None:
    _seed(tmp_path, os.getpid(), process_start_time(os.getpid()))
    out = _status(capsys)
    assert f"g1n1 Slurm jobs: 12 running, {WAITING}" in out, out
    assert "not submitted" not in out and "starts its sweep runner" not in out, out
