"""A Slurm job that COMPLETED with a folder where its metrics file goes fails with that reason
(helper 86's QA pass; the local dispatcher says so since 4dfddfd). It said "exited 0 without a
final metrics line with sweep/score", as if the trial had written a file without its result."""

from __future__ import annotations

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.sweep.dispatch import InFlightTrial
from hwscale_tui.sweep.outcome import decide_outcome
from hwscale_tui.sweep.slurm import JobInfo, SlurmDispatcher


def test_a_completed_job_with_a_folder_for_its_metrics_file_says_so(tmp_path):
    cfg = apply_overrides(
        default_config(env={}),
        {"experiment.name": "sl", "experiment.dispatcher": "slurm", "wandb.mode": "disabled"},
    )
    metrics = tmp_path / "run" / "metrics.jsonl"
    metrics.mkdir(parents=True)
    trial = InFlightTrial(
        "sl.g1n1_trial_0001_aaaaaa", {}, 0.0, tmp_path / "log", metrics, True, None
    )
    exit = SlurmDispatcher(cfg, "sl.g1n1")._exit(trial, JobInfo("7", "COMPLETED", exit_code=0))
    outcome = decide_outcome(
        exit, cancelled=False, row=None, wall_s=1.0, price_per_gpu_hour=1.0, pair=HardwarePair(1, 1)
    )
    assert outcome.state == "failed"
    assert (
        outcome.error
        == f"exited 0, but its metrics file {metrics} is a folder, not a file, so it left no result"
    )
