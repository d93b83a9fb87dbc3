"""A failed Slurm trial's error quotes the trial's last line, not srun's own messages.

Found by hand: of two trials of `bash -c "echo boom >&2; exit 3"` the first's error read
"...FAILED on node1; boom" and the second's "...FAILED on node1; srun: launch/slurm:
_step_signal: Terminating StepId=33.0": srun writes its lines into the same log, before or
after the trial's, as buffering falls.
"""

from __future__ import annotations

from pathlib import Path

from hwscale_tui.sweep.dispatch import InFlightTrial
from hwscale_tui.sweep.slurm import JobInfo, SlurmDispatcher, SlurmJob
from tests.slurm.test_slurm_units import RecordingCLI, settle, slurm_cfg

SRUN_TAIL = (
    "srun: error: node1: task 0: Exited with exit code 3\n"
    "srun: launch/slurm: _step_signal: Terminating StepId=33.0\n"
    "slurmstepd: error: *** STEP 33.0 ON node1 CANCELLED AT 2026-12-07T17:45:58 ***\n"
)


def failed_trial(tmp_path: Path, job_id: str, log: str) -> InFlightTrial:
    run_dir = tmp_path / job_id
    run_dir.mkdir()
    (run_dir / "trial.log").write_text(log)
    return InFlightTrial(
        f"r{job_id}",
        {},
        0.0,
        run_dir / "trial.log",
        run_dir / "metrics.jsonl",
        False,
        SlurmJob(job_id),
    )


def test_a_failed_trials_error_quotes_its_own_last_line_not_sruns(tmp_path):
    ended = {i: JobInfo(i, "FAILED", nodes="node1", exit_code=3, signal=0) for i in ("1", "2", "3")}
    cli = RecordingCLI({}, ended)
    dispatcher = SlurmDispatcher(slurm_cfg(), "s", cli=cli, poll_interval_s=3600)
    trials = [
        failed_trial(tmp_path, "1", "starting\nValueError: learning rate too high\n" + SRUN_TAIL),
        failed_trial(tmp_path, "2", SRUN_TAIL + "starting\nValueError: learning rate too high\n"),
        failed_trial(tmp_path, "3", SRUN_TAIL),  # the trial wrote nothing: srun's line it is
    ]
    exits = settle(dispatcher, trials)
    for run in ("r1", "r2"):
        assert exits[run].reason == (
            f"Slurm job {run[1:]} FAILED on node1; ValueError: learning rate too high"
        ), exits[run].reason
    assert exits["r3"].reason is not None
    assert exits["r3"].reason.endswith(
        "; slurmstepd: error: *** STEP 33.0 ON node1 CANCELLED AT 2026-12-07T17:45:58 ***"
    )
