"""QA 75: a launch check while every node is drained blamed the settings.

Found by hand on the local cluster: ``scontrol update nodename=node[1-2] state=drain``, then
``plan --check`` said "Slurm would refuse the g1n1 trials (allocation failure: Requested node
configuration is not available; asked per job: --nodes=1 --cpus-per-task=1 --gres=gpu:1; the
nodes have: 2 nodes with 4 CPUs, 4000 MB, gres gpu:fake:2); accepted: [slurm] partition, ...":
nodes that fit the request, and a sentence that sends the user to settings that are right.
Slurm answers so for any request while no node of the partition takes jobs. The nodes' shapes
now say which are drained (sinfo's state), and when every node is, the check says the cluster
cannot take the trials now rather than that the settings are wrong.
"""

from __future__ import annotations

import subprocess

from tests.slurm.test_slurm_dispatch import cli_env, hwscale_cmd, wait_for, write_experiment


def node_states(slurm) -> list[str]:
    return slurm.run(["sinfo", "-h", "-N", "-o", "%T"]).stdout.split()


def test_a_launch_check_with_every_node_drained_says_it_is_the_clusters_state(slurm, tmp_path):
    grid = {"gpu_counts": [1], "node_counts": [1]}
    exp = write_experiment(tmp_path / "d.toml", "nodesdrained", trial_command=False, grid=grid)
    nodes = ",".join(slurm.node_names)
    before = slurm.job_ids(active_only=False)
    drained = slurm.run(["scontrol", "update", f"nodename={nodes}", "state=drain", "reason=qa75"])
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
        slurm.run(["scontrol", "update", f"nodename={nodes}", "state=resume"])
        wait_for(
            lambda: node_states(slurm) and all(s == "idle" for s in node_states(slurm)),
            "the nodes to take jobs again",
        )
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("hwscale-tui: error: Slurm cannot take the g1n1 trials now ("), err
    assert "Requested node configuration is not available" in err, err
    assert "(drained)" in err and "not the [slurm] settings" in err, err
    assert "would refuse" not in err and "accepted: [slurm] partition" not in err, err
    assert slurm.job_ids(active_only=False) == before
