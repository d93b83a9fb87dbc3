"""A pair whose runner died while its trial waited in the queue, started again with --only.

Found by hand: the runner of a launched Slurm pair was SIGKILLed while its trial's job pended
(Resources); its supervisor recorded the pair "exited -9" and, as the only pair, ended. Two
defects followed:

- status said "hwscale-tui launch ... --resume re-attaches them", and --resume answered
  "nothing to resume ... no pair is waiting to start" (--resume starts only pairs that died
  while no supervisor watched them; docs/slurm.md): the command that does is --only g1n1;
- so did `sweep --status` ("interrupted (...: run the sweep again to resume it, or
  hwscale-tui launch --resume for a launched pair)");
- the re-attached trial's row kept "queued, waiting: Resources" while its job ran, because
  the new runner did not know the row said "waiting".
"""

from __future__ import annotations

import os
import signal
import subprocess

import psutil
import pytest

from hwscale_tui.launch import supervisor as sup
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from tests.slurm.test_slurm_dispatch import (
    cli_env,
    events,
    hwscale_cmd,
    launch,
    rows,
    wait_for,
    write_experiment,
)

pytestmark = pytest.mark.slow


def status_text(experiment: str) -> str:
    r = subprocess.run(
        hwscale_cmd("status", "--experiment-name", experiment),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_pending_trial_of_a_runner_killed_under_its_supervisor_is_reattached_with_only(
    slurm, tmp_path
):
    blocker_id = slurm.occupy_every_node()
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(
        tmp_path / "exp.toml",
        "rq",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    launch(exp, HWSTUB_HOLD_DIR=str(hold))
    trial = wait_for(
        lambda: next((t for t in rows("rq.g1n1") if t["error"] == "waiting: Resources"), None),
        "the trial to wait for resources",
    )
    job_id, run_id = trial["job_name"], trial["run_id"]
    with Store(app_paths().store, readonly=True) as store:
        runner_pid = store.get_sweep("rq.g1n1")["pid"]
    os.kill(runner_pid, signal.SIGKILL)  # the runner only: its supervisor sees it die
    wait_for(
        lambda: [p.status for p in sup.pair_status("rq").pairs] == ["exited"],
        "the supervisor to record the pair exited",
    )
    # its supervisor had no other pair, so it ends: status must still name --only, not --resume
    wait_for(lambda: not sup.pair_status("rq").supervisor_alive, "the supervisor to end")
    slurm.run(["scancel", blocker_id])
    wait_for(
        lambda: slurm.run(["squeue", "-h", "-j", job_id, "-o", "%T"]).stdout.strip() == "RUNNING",
        "the orphaned job to run",
    )
    text = status_text("rq")
    assert (
        f"(Slurm job {job_id}); hwscale-tui launch --experiment-name rq --only g1n1 re-attaches them"
        in text
    ), text
    # and sweep --status, which said "or hwscale-tui launch --resume for a launched pair"
    r = subprocess.run(
        hwscale_cmd("sweep", "--experiment-name", "rq", "--gpus", "1", "--nodes", "1", "--status"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    head = " ".join(r.stdout.split())
    assert "is gone: hwscale-tui launch --experiment-name rq --only g1n1 resumes it" in head, head
    launch(exp, "--only", "g1n1", HWSTUB_HOLD_DIR=str(hold))
    try:
        wait_for(
            lambda: ("reattached", run_id, f"slurm_job={job_id}") in events("rq.g1n1"),
            "the re-attach",
        )
        running = wait_for(
            lambda: next(
                (t for t in rows("rq.g1n1") if t["run_id"] == run_id and t["state"] == "running"),
                None,
            ),
            "the re-attached trial's row to say it runs",
            timeout=30,
        )
        assert running["error"] is None, running
        (hold / "all").write_text("")
        done = wait_for(
            lambda: next((t for t in rows("rq.g1n1") if t["state"] == "finished"), None),
            "the trial to finish",
        )
    finally:  # a failure leaves no launched runner behind (it would poll a stopped cluster)
        subprocess.run(
            hwscale_cmd("cancel", "--all", "--experiment-name", "rq"),
            capture_output=True,
            env=cli_env(),
            timeout=120,
        )
    assert done["run_id"] == run_id and done["job_name"] == job_id
    assert (
        psutil.pid_exists(runner_pid) is False
        or psutil.Process(runner_pid).status() == psutil.STATUS_ZOMBIE
    )
