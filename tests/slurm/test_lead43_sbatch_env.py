"""sbatch's environment variables that set a breaking option are refused like the options.

Checked against a real local cluster (session 43): with SBATCH_CLUSTERS=other in the shell, a
plain `sbatch` answers "'other' can't be reached now, or it is an invalid entry for --cluster"
-- sbatch(1) "INPUT ENVIRONMENT VARIABLES": "SBATCH_CLUSTERS or SLURM_CLUSTERS  Same as
--clusters". `[slurm] extra_sbatch_args = ["--clusters=other"]` was refused (its jobs would run
where this cluster's squeue does not look), the same setting from the environment was not; and
SLURM_CLUSTERS pointed squeue and scancel elsewhere while sbatch (run without SLURM_* variables)
submitted here.
"""

from __future__ import annotations

import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.launch.slurm_options import CLUSTER_ENV, sbatch_env_problem
from tests.support.cli import cli_env, hwscale_cmd, launched_nothing


@pytest.mark.parametrize("name", CLUSTER_ENV)
def test_each_variable_is_named_with_what_it_does(name):
    said = sbatch_env_problem({name: "x"})
    assert said is not None
    assert said.startswith(f"{name}='x' is set in the environment, and Slurm's commands read ")
    assert "--clusters, which submits to another cluster" in said and f"env -u {name}" in said
    assert sbatch_env_problem({name: ""}) is None  # set to nothing: Slurm ignores it
    # the variables the dispatcher drops from sbatch's environment itself are no problem
    assert sbatch_env_problem({"SBATCH_WAIT": "1", "SBATCH_ARRAY_INX": "1-3"}) is None


def test_launch_refuses_sbatch_clusters_in_the_environment(tmp_path):
    exp = tmp_path / "exp.toml"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "envc", "dispatcher": "slurm"},
            "grid": {"gpu_counts": [1], "node_counts": [1]},
            "slurm": {"partition": "debug"},
        },
        env={},
    )
    cfgmod.save(cfg, exp)
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp)),
        capture_output=True,
        text=True,
        env=cli_env(SBATCH_CLUSTERS="other"),
        timeout=120,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "SBATCH_CLUSTERS='other' is set in the environment" in lines[0]
    assert "--clusters, which submits to another cluster" in lines[0]
    assert launched_nothing(exp)
