"""A Slurm trial without a runtime of its own records how long its job ran, as Slurm measured it.

The runner timed a trial from its submission: a job that waited in the queue was charged its
queue time (found by hand: a job cancelled while pending recorded 8.7 s and $0.033), and
otherwise the time was only as good as the polls (poll_s). sacct's ElapsedRaw (scontrol's
RunTime when accounting is off) is the job's own run time.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.slurm.test_slurm_dispatch import cli_env, hwscale_cmd, rows, write_experiment

pytestmark = pytest.mark.slow


def test_a_failed_slurm_trial_records_the_jobs_elapsed_time(slurm, tmp_path):
    exp = write_experiment(
        tmp_path / "exp.toml",
        "el",
        trial_command=False,
        grid={"gpu_counts": [1], "node_counts": [1]},
        sweep={"trial_command": ["bash", "-c", "sleep 2; echo done >&2; exit 3"]},
    )
    r = subprocess.run(
        hwscale_cmd("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert r.returncode == 1, r.stdout + r.stderr  # its one trial failed
    (trial,) = rows("el.g1n1")
    assert trial["state"] == "failed", trial
    out = slurm.run(
        ["sacct", "-c", "-X", "-n", "-P", "-j", trial["job_name"], "-o", "JobID,ElapsedRaw"]
    )
    assert out.returncode == 0, out.stderr
    (line,) = [ln for ln in out.stdout.splitlines() if ln.startswith(trial["job_name"] + "|")]
    elapsed = float(line.split("|")[1])
    assert trial["runtime_s"] == elapsed, (trial["runtime_s"], elapsed)
