"""An sbatch refusal at submit time is the cluster's state, not a failure of the trial.

Found by hand: the partition was drained while a sweep ran (max_trials = 4). Its next three
trials were recorded "failed: could not start: sbatch refused the job: ... Required partition
not available (inactive or drain)" within one second, counted toward max_trials and shown to the
optimizer as failures of their hyperparameters; the sweep ended "every trial failed". The
pair's options are the same for every trial and sbatch --test-only took them before the first
one, so the refusal is now NotSubmitted: killed, not counted, never a failure for the optimizer,
and 3 in a row stop the sweep with Slurm's reason.
"""

from __future__ import annotations

import os

import pytest

from hwscale_tui.sweep.dispatch import NotSubmitted
from hwscale_tui.sweep.slurm import SlurmCLI

pytestmark = pytest.mark.slow


def test_a_submit_to_a_drained_partition_is_not_submitted_not_failed(slurm, tmp_path):
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\ntrue\n")
    name = "drain.g1n1_trial_0001_abcdef"
    options = [f"--job-name={name}", f"--output={tmp_path / 'log'}", "--partition=debug"]
    cli = SlurmCLI(dict(os.environ))
    update = ["scontrol", "update", "PartitionName=debug"]
    assert slurm.run([*update, "State=DRAIN"]).returncode == 0
    try:
        with pytest.raises(NotSubmitted, match=r"sbatch refused the job: .*Required partition"):
            cli.submit(options, script, dict(os.environ))
    finally:
        assert slurm.run([*update, "State=UP"]).returncode == 0
    assert name not in slurm.run(["squeue", "-h", "-t", "all", "-o", "%j"]).stdout
