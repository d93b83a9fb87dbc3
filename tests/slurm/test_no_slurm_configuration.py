"""``plan --check`` (and ``launch``) on a machine whose sbatch has no Slurm configuration (no
slurm.conf where SLURM_CONF or the default path points, no DNS SRV record of a controller):
sbatch --test-only ends "fatal: Could not establish a configuration source". That asked no
cluster, so it is no refusal of the experiment's settings: it was reported as "Slurm would
refuse the g1n1 trials (...); accepted: [slurm] partition, account, ..." (the real sbatch of
the local cluster's install, with SLURM_CONF unset)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.slurm.test_slurm_dispatch import cli_env, hwscale_cmd, write_experiment

pytestmark = pytest.mark.slow


def test_no_slurm_configuration_is_not_called_a_refusal_of_the_settings(slurm, tmp_path):
    assert not os.path.exists("/etc/slurm/slurm.conf")  # else sbatch would find that cluster
    exp = write_experiment(
        tmp_path / "exp.toml",
        "noconf",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    env = {k: v for k, v in cli_env().items() if k != "SLURM_CONF"}
    r = subprocess.run(
        hwscale_cmd("plan", "--check", "-e", str(exp)),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "would refuse" not in r.stderr
    assert "sbatch found no Slurm configuration" in r.stderr, r.stderr
    assert "nothing was submitted" in r.stderr and r.stderr.count("\n") == 1
