"""QA 63: ``[slurm] extra_sbatch_args = ["--hold"]`` (or ``-H``) submitted every trial's job
held: priority 0, pending for ever with the reason JobHeldUser, and the sweep waited on them
without a word. The launch check refuses it like the other options that break every trial:
one sentence saying what is wrong and what is accepted, exit 2, nothing written or submitted."""

from __future__ import annotations

import subprocess

import pytest

from hwscale_tui.paths import app_paths
from tests.slurm.test_slurm_dispatch import cli_env, hwscale_cmd, write_experiment
from tests.support.cli import launched_nothing

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("hold", ["--hold", "-H", "--hold=1"])
def test_a_held_job_option_is_refused_by_launch_and_sweep(slurm, tmp_path, hold):
    exp = write_experiment(
        tmp_path / "exp.toml",
        "held",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
        slurm={"extra_sbatch_args": ["--mem=100M", hold]},
    )
    before = slurm.job_ids(active_only=False)
    for argv in (
        ("launch", "-e", str(exp)),
        ("plan", "--check", "-e", str(exp)),
        ("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"),
    ):
        r = subprocess.run(
            hwscale_cmd(*argv), capture_output=True, text=True, env=cli_env(), timeout=120
        )
        if r.returncode == 0 and argv[0] == "launch":  # a launched pair would wait for ever
            stop = ("cancel", "--all", "--experiment-name", "held", "--grace", "1")
            subprocess.run(hwscale_cmd(*stop), env=cli_env(), timeout=120, check=False)
        assert r.returncode == 2, (argv, r.stdout + r.stderr)
        assert r.stderr == (
            f"hwscale-tui: error: slurm.extra_sbatch_args[1] {hold!r} submits every job held "
            "(priority 0), so no trial would ever start and the sweep would wait for ever; "
            "accepted: other sbatch options, spelled out in full (like --mem=16G); partition, "
            "account, qos and constraint have their own [slurm] keys.\n"
        ), argv
    assert not app_paths().store.exists()  # nothing written
    assert launched_nothing(exp)
    assert not app_paths().runs.exists() or not any(app_paths().runs.iterdir())
    assert slurm.job_ids(active_only=False) == before
