"""`hwscale-tui train` as a process: a dead rank fails the trial, signals stop it, no rank outlives it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from hwscale_tui.store import Store
from tests.support.cli import cli_env, hwscale_cmd

pytestmark = pytest.mark.slow

WAIT_S = 120  # generous: other engineers load this 2-core machine too
LONG_RUN = "trainer.total_timesteps=100000000"


def wait_for(condition, what: str, timeout: float = WAIT_S, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def metrics_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def is_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def rank_pids(parent: int, expected: int) -> list[int]:
    def ranks():
        try:
            kids = psutil.Process(parent).children()
        except psutil.NoSuchProcess:
            return None
        found = []
        for kid in kids:
            try:
                if any("spawn_main" in part for part in kid.cmdline()):
                    found.append(kid.pid)
            except psutil.NoSuchProcess:
                pass
        return found if len(found) == expected else None

    return wait_for(ranks, f"{expected} rank processes")


def start_training(tmp_path: Path, *tokens: str) -> tuple[subprocess.Popen, Path]:
    metrics = tmp_path / "metrics.jsonl"
    proc = subprocess.Popen(
        hwscale_cmd("train", LONG_RUN, f"metrics_file={metrics}", *tokens),
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return proc, metrics


def stop_process(proc: subprocess.Popen) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_a_killed_rank_fails_the_trial_and_leaves_no_process(tmp_path):
    proc, metrics = start_training(tmp_path, "run=dies", "hardware.gpus=2")
    try:
        ranks = rank_pids(proc.pid, 2)
        for pid in ranks:  # one BLAS thread per rank, set before numpy loaded there
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert b"OMP_NUM_THREADS=1" in environ and b"OPENBLAS_NUM_THREADS=1" in environ
        wait_for(lambda: len(metrics_lines(metrics)) >= 2, "two metrics lines")
        family = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        os.kill(ranks[1], signal.SIGKILL)
        out, err = stop_process(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert re.search(
        rf"rank [01] of 2 \(pid {ranks[1]}\) was killed by signal SIGKILL; the trial failed", err
    )
    final = metrics_lines(metrics)[-1]
    assert (
        final["final"] is True
        and final["state"] == "failed"
        and f"(pid {ranks[1]})" in final["error"]
    )
    assert out.startswith("failed run=dies")
    wait_for(lambda: not any(is_running(pid) for pid in family), "no process of the trial left")


def test_sigkill_of_the_parent_takes_the_ranks_with_it(tmp_path):
    proc, metrics = start_training(tmp_path, "run=orphans", "hardware.gpus=2")
    try:
        ranks = rank_pids(proc.pid, 2)
        wait_for(lambda: metrics_lines(metrics), "a metrics line")
        proc.kill()
        proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: not any(is_running(pid) for pid in ranks), "ranks to follow their parent")


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)]
)
def test_a_stop_signal_stops_the_ranks_flushes_metrics_and_marks_killed(tmp_path, signum, code):
    """SIGHUP too (docs/train.md): a `hwscale-tui train store=true` run by hand in a terminal
    that closed (an SSH link that dropped) died of it without its final line, its store row
    left `running` for good, while the sweep runner already treats SIGHUP as a stop."""
    proc, metrics = start_training(
        tmp_path, f"run=stop{code}", "group=exp.g2n1", "hardware.gpus=2", "store=true"
    )
    try:
        ranks = rank_pids(proc.pid, 2)
        wait_for(lambda: len(metrics_lines(metrics)) >= 2, "two metrics lines")
        os.kill(proc.pid, signum)
        out, _ = stop_process(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code
    assert out.startswith("killed ")
    lines = metrics_lines(metrics)
    final = lines[-1]
    assert (
        final["state"] == "killed" and final["metric/agent_step"] == lines[-2]["metric/agent_step"]
    )
    assert not any(is_running(pid) for pid in ranks)  # stopped before the parent exited
    with Store.open_default() as store:
        row = store.get_trial_row(f"stop{code}")
    assert row["state"] == "killed" and row["ended_at"] is not None
    assert row["agent_steps"] == final["metric/agent_step"]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_stop_signal_to_the_whole_process_group_is_a_kill_not_a_failure(tmp_path, signum, code):
    """The sweep runner cancels a trial with SIGTERM to its process group, and a closed
    terminal sends SIGHUP to its foreground group: the ranks get it too (and die of it)."""
    proc, metrics = start_training(tmp_path, f"run=group_stop{code}", "hardware.gpus=2")
    try:
        ranks = rank_pids(proc.pid, 2)
        wait_for(lambda: metrics_lines(metrics), "a metrics line")
        os.killpg(proc.pid, signum)
        out, err = stop_process(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code and out.startswith("killed ")
    # SIGHUP killed multiprocessing's resource tracker too: "KeyError: '/mp-...'" tracebacks
    assert "Traceback" not in err and "resource_tracker" not in err, err
    assert err.rstrip().endswith(f"stopped by {signal.Signals(signum).name}"), err
    assert metrics_lines(metrics)[-1]["state"] == "killed"
    wait_for(lambda: not any(is_running(pid) for pid in ranks), "no rank left")
