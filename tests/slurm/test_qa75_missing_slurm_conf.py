"""QA 75: a SLURM_CONF that names no file was blamed on the controller, after 20 s.

Found by hand: with ``SLURM_CONF`` pointing at a path that does not exist (a typo, a cluster
whose config moved), sbatch retries reading it for 60 s ("s_p_parse_file: cannot stat file
/nonexistent/slurm.conf: No such file or directory, retrying in 1sec up to 60sec"), so
``plan --check`` / ``launch`` waited 20 s and said "cannot check the g1n1 trials with sbatch
--test-only: sbatch did not answer within 20 s; ... accepted: a Slurm controller that answers
(scontrol ping)" -- the controller was fine. It is now refused at once, naming the variable;
``plan``'s sinfo (5 s) names it too instead of "sinfo did not answer within 5 s".
"""

from __future__ import annotations

import subprocess

from tests.slurm.test_slurm_dispatch import cli_env, hwscale_cmd, write_experiment


def test_a_slurm_conf_that_names_no_file_is_named(slurm, tmp_path):
    grid = {"gpu_counts": [1], "node_counts": [1]}
    exp = write_experiment(tmp_path / "c.toml", "noconf", trial_command=False, grid=grid)
    missing = tmp_path / "etc" / "slurm.conf"
    before = slurm.job_ids(active_only=False)

    r = subprocess.run(
        hwscale_cmd("plan", "-e", str(exp), "--check"),
        capture_output=True,
        text=True,
        env=cli_env(SLURM_CONF=str(missing)),
        timeout=120,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    err = [line for line in r.stderr.splitlines() if line.startswith("hwscale-tui: error:")]
    assert err == [
        f"hwscale-tui: error: SLURM_CONF names {missing}, which is no file on this machine, so "
        "every Slurm command would wait up to 60 s retrying to read it; nothing was submitted; "
        "accepted: the path of the cluster's slurm.conf, or SLURM_CONF unset."
    ], r.stderr
    assert "did not answer" not in r.stdout + r.stderr
    assert slurm.job_ids(active_only=False) == before
