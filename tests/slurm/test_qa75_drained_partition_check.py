"""QA 75: a launch check while the partition is drained (maintenance) blamed the settings.

Found by hand on the local cluster: ``scontrol update partitionname=debug state=drain``, then
``plan --check`` (or ``launch``) said "Slurm would refuse the g1n1 trials (allocation failure:
Required partition not available (inactive or drain)); accepted: [slurm] partition, account,
qos, ... the cluster takes" -- as if the partition were wrong, while the sweep itself treats
that refusal as the cluster's state for now and asks sbatch again. The check now says the
cluster cannot take the trials now, not that the settings are wrong, and submits nothing.
"""

from __future__ import annotations

import subprocess

from tests.slurm.test_slurm_dispatch import cli_env, hwscale_cmd, write_experiment


def test_a_launch_check_on_a_drained_partition_says_it_is_the_clusters_state(slurm, tmp_path):
    exp = write_experiment(
        tmp_path / "d.toml", "drained", trial_command=False, grid={"node_counts": [1]}
    )
    before = slurm.job_ids(active_only=False)
    drained = slurm.run(["scontrol", "update", "partitionname=debug", "state=drain"])
    assert drained.returncode == 0, drained.stderr
    try:
        r = subprocess.run(
            hwscale_cmd("plan", "-e", str(exp), "--check"),
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=120,
        )
    finally:
        slurm.run(["scontrol", "update", "partitionname=debug", "state=up"])
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("hwscale-tui: error: Slurm cannot take the g1n1 trials now ("), err
    assert "Required partition not available (inactive or drain)" in err
    assert "not the [slurm] settings" in err and "nothing was submitted" in err
    assert "would refuse" not in err and "accepted: [slurm] partition" not in err
    assert slurm.job_ids(active_only=False) == before
