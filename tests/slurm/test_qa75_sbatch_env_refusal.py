"""QA 75: a launch check refused because of an SBATCH_* variable in the user's shell did not
say where the refused option came from.

Found by hand on the local cluster: with ``SBATCH_PARTITION=gpux`` exported (clusters often
have users set it, or SBATCH_ACCOUNT, in their shell startup) and no ``[slurm] partition``,
``plan --check`` said "Slurm would refuse the g1n1 trials (sbatch: error: invalid partition
specified: gpux; ...); accepted: [slurm] partition, account, ..." -- a partition the
experiment never names, and a sentence pointing only at the experiment's settings. sbatch
reads SBATCH_* input variables as options (sbatch(1)); the refusal now names those it took,
and leaves out one an option of the job overrides.
"""

from __future__ import annotations

import subprocess

from tests.slurm.test_slurm_dispatch import cli_env, hwscale_cmd, write_experiment


def plan_check(exp, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        hwscale_cmd("plan", "-e", str(exp), "--check"),
        capture_output=True,
        text=True,
        env=cli_env(**env),
        timeout=120,
    )


def test_a_refusal_names_the_sbatch_variables_sbatch_took_from_the_environment(slurm, tmp_path):
    grid = {"gpu_counts": [1], "node_counts": [1]}
    plain = write_experiment(tmp_path / "p.toml", "envpart", trial_command=False, grid=grid)
    before = slurm.job_ids(active_only=False)

    r = plan_check(plain, SBATCH_PARTITION="nosuchpart")
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "invalid partition specified: nosuchpart" in err, err
    assert "sbatch also took SBATCH_PARTITION=nosuchpart from the environment" in err, err
    assert "SBATCH_* variables it takes, or unset them" in err, err

    # the experiment's own partition overrides the variable: the refusal is the setting's
    named = write_experiment(
        tmp_path / "n.toml", "ownpart", trial_command=False, grid=grid, slurm={"partition": "nope"}
    )
    r = plan_check(named, SBATCH_PARTITION="debug")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "invalid partition specified: nope" in r.stderr, r.stderr
    assert "SBATCH_PARTITION" not in r.stderr, r.stderr
    assert slurm.job_ids(active_only=False) == before
