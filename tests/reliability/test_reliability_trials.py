"""A multi-rank trial killed the hard way: its failure reason is the cause, and the named
semaphores it leaked are removed at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from hwscale_tui.hardware import HardwarePair
from hwscale_tui.metrics_file import read_final
from hwscale_tui.paths import app_paths
from hwscale_tui.sweep.local import last_log_line
from hwscale_tui.sweep.outcome import TrialExit, decide_outcome
from hwscale_tui.train import shm


def _wait(predicate, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _start_two_rank_trial(tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    metrics, log = tmp_path / "metrics.jsonl", tmp_path / "trial.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hwscale_tui",
                "train",
                "hardware.gpus=2",
                "trainer.total_timesteps=50000000",
                f"metrics_file={metrics}",
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, metrics, log


def _ranks(proc: subprocess.Popen) -> list[psutil.Process]:
    kids = psutil.Process(proc.pid).children()
    return [k for k in kids if "spawn_main" in " ".join(k.cmdline())]


def test_a_killed_rank_is_the_stored_failure_reason(tmp_path):
    proc, metrics, log = _start_two_rank_trial(tmp_path)
    try:
        ranks = _wait(lambda: len(r := _ranks(proc)) == 2 and r, "two ranks")
        _wait(lambda: metrics.exists() and metrics.stat().st_size > 0, "a first metrics line")
        victim = sorted(ranks, key=lambda p: p.create_time())[1]
        victim.send_signal(signal.SIGKILL)
        code = proc.wait(timeout=60)
        exit = TrialExit(code, last_log_line(log), read_final(metrics))
        outcome = decide_outcome(
            exit,
            cancelled=False,
            row=None,
            wall_s=1.0,
            price_per_gpu_hour=1.0,
            pair=HardwarePair(2, 1),
        )
        assert outcome.state == "failed"
        assert "rank 1 of 2" in outcome.error and "SIGKILL" in outcome.error, outcome.error
        # the final metrics line carries the cause by itself, without the log (whose last line
        # is the error line too since d27b476)
        alone = decide_outcome(
            TrialExit(code, None, read_final(metrics)),
            cancelled=False,
            row=None,
            wall_s=1.0,
            price_per_gpu_hour=1.0,
            pair=HardwarePair(2, 1),
        )
        assert alone.error == outcome.error or "rank 1 of 2" in (alone.error or ""), alone.error
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_semaphores_of_a_sigkilled_multi_rank_trial_are_removed_at_the_next_start(tmp_path):
    proc, _metrics, _log = _start_two_rank_trial(tmp_path)
    records = app_paths().state / "shm"
    try:
        record = _wait(lambda: next(iter(records.glob(f"{proc.pid}.json")), None), "its record")
        _wait(lambda: len(_ranks(proc)) == 2, "two ranks")
        os.killpg(proc.pid, signal.SIGKILL)  # the resource tracker dies too
        proc.wait()
        _wait(lambda: not psutil.pid_exists(proc.pid), "the trial to be reaped")
        leaked = [f for _rec, files in shm.leaked(shm._is_running) for f in files]
        assert leaked and all(f.exists() for f in leaked), "SIGKILL leaks the barrier's semaphores"
        assert shm.clean_at_start() == len(leaked)
        assert not any(f.exists() for f in leaked)
        assert not record.exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
