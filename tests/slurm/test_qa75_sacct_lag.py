"""QA 75: a job squeue already saw end was settled from a lagging sacct's stale state.

On a cluster with accounting, slurmdbd records a job's end some time after the controller
(under load, seconds to minutes), so ``sacct`` can still say RUNNING for a job ``squeue -t
all`` shows CANCELLED. The poll took sacct's answer over squeue's, counted the job as missing,
and after 3 polls settled it "from what it left": a job the user scancelled was recorded
**failed** ("Slurm job N is in neither squeue nor sacct any more": counted toward max_trials,
shown to the optimizer as a failure of its hyperparameters) instead of killed. sacct's answer
is now taken only when it says the job ended; else squeue's ended state is.

The lag is made with a sacct on PATH that answers RUNNING for every job (as slurmdbd does before
it hears of the end); squeue, sbatch and scancel are the cluster's own.
"""

from __future__ import annotations

import os

from tests.slurm.test_slurm_dispatch import (
    rows,
    running_trial,
    start_sweep,
    wait_for,
    write_experiment,
)


def lagging_sacct(tmp_path) -> str:
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    shim = shim_dir / "sacct"
    # every job id after -j, answered as still running (JobID|State|ExitCode|NodeList|ElapsedRaw)
    shim.write_text(
        "#!/bin/bash\n"
        'while [ $# -gt 0 ]; do if [ "$1" = -j ]; then ids=$2; fi; shift; done\n'
        'for id in ${ids//,/ }; do echo "$id|RUNNING|0:0|node1|3"; done\n'
    )
    shim.chmod(0o755)
    return str(shim_dir)


def test_a_job_cancelled_by_hand_is_killed_while_sacct_lags(slurm, tmp_path):
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(
        tmp_path / "lag.toml",
        "lag",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    proc = start_sweep(
        exp,
        1,
        1,
        HWSTUB_HOLD_DIR=str(hold),
        PATH=f"{lagging_sacct(tmp_path)}:{os.environ['PATH']}",
    )
    try:
        first = running_trial("lag.g1n1")
        job = str(first["job_name"])
        scancelled = slurm.run(["scancel", job])
        assert scancelled.returncode == 0, scancelled.stderr
        ended = wait_for(
            lambda: next(
                (
                    r
                    for r in rows("lag.g1n1")
                    if r["run_id"] == first["run_id"] and r["state"] not in ("queued", "running")
                ),
                None,
            ),
            "the cancelled trial to be settled",
        )
        assert ended["state"] == "killed", ended
        assert f"Slurm job {job} CANCELLED" in (ended["error"] or ""), ended["error"]
        (hold / "all").write_text("")  # the replacement trial runs to its end
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        slurm.cancel_all()
