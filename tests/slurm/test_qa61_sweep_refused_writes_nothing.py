"""`hwscale-tui sweep -e FILE` with [slurm] settings Slurm refuses writes nothing.

Found by hand: `sweep -e exp.toml` with `partition = "gpu"` (the cluster has only debug)
exited 2 with Slurm's refusal, but had already registered exp.toml as its experiment's file:
`hwscale-tui experiments` listed the experiment ("not launched", 0 trials). The sweep's
registration ran before the dispatcher's check; bad input must write nothing.
"""

from __future__ import annotations

import subprocess

import pytest

from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from tests.slurm.test_slurm_dispatch import cli_env, hwscale_cmd, write_experiment

pytestmark = pytest.mark.slow


def test_a_sweep_slurm_refuses_registers_no_experiment(slurm, tmp_path):
    exp = write_experiment(
        tmp_path / "exp.toml",
        "refusedsweep",
        trial_command=False,
        grid={"gpu_counts": [1], "node_counts": [1]},
        slurm={"partition": "nosuchpartition"},
    )
    before = slurm.job_ids(active_only=False)
    r = subprocess.run(
        hwscale_cmd("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "invalid partition specified: nosuchpartition" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert slurm.job_ids(active_only=False) == before  # nothing submitted
    if app_paths().store.exists():
        with Store(app_paths().store, readonly=True) as store:
            names = [row[0] for row in store.conn.execute("SELECT name FROM experiments")]
            sweeps = [row[0] for row in store.conn.execute("SELECT sweep FROM sweeps")]
        assert "refusedsweep" not in names, names  # nothing written
        assert not [s for s in sweeps if s.startswith("refusedsweep")], sweeps
