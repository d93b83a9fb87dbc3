"""Fault injection on a real sweep: the disk fills up mid-run (a small tmpfs as the state
location) and the WAL file is deleted mid-run. Trials are never burned as failures, nothing is
left running, and the sweep completes once the fault is gone."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

WAIT_S = 180.0


def _wait(predicate, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _experiment(path: Path, trials: int = 2, steps: int = 60000) -> None:
    path.write_text(
        '[experiment]\nname = "exp"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n'
        f"[sweep]\nmax_trials = {trials}\nbatch_size = 1\ntotal_timesteps = {steps}\n"
    )


def _rows(store: Path) -> list[tuple]:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as c:
            return c.execute("SELECT run_id, state, error FROM trials ORDER BY idx").fetchall()
    except sqlite3.Error:
        return []


def _start_sweep(exp: Path, home: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, HWSCALE_HOME=str(home))
    with open(log, "wb") as fh:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hwscale_tui",
                "sweep",
                "-e",
                str(exp),
                "--gpus",
                "1",
                "--nodes",
                "1",
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def small_disk(tmp_path):
    if not _can_mount():
        pytest.skip("needs root and mount for a small tmpfs (the store boundary tests cover it)")
    home = tmp_path / "disk"
    home.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(home)]).returncode:
        pytest.skip("mount failed (no privilege in this container)")
    yield home
    subprocess.run(["umount", "-l", str(home)])


@pytest.mark.slow
def test_disk_full_mid_sweep_pauses_and_never_burns_a_trial(tmp_path, small_disk):
    exp, log = tmp_path / "exp.toml", tmp_path / "sweep.log"
    _experiment(exp)
    proc = _start_sweep(exp, small_disk, log)
    store = small_disk / "data" / "hwscale.sqlite"
    try:
        _wait(lambda: any(r[1] == "running" for r in _rows(store)), "a running trial")
        filler = _fill(small_disk)
        _wait(
            lambda: (
                "store unavailable" in log.read_text(errors="replace") or proc.poll() is not None
            ),
            "the runner to notice the full disk",
        )
        assert proc.poll() is None, log.read_text()
        started = len(_rows(store))
        time.sleep(2)
        assert len(_rows(store)) == started, "no new trial starts while paused"
        filler.unlink()
        assert proc.wait(timeout=WAIT_S) == 0, log.read_text()
        rows = _rows(store)
        states = [r[1] for r in rows]
        assert states.count("finished") == 2, rows
        assert "failed" not in states, rows
        assert "running" not in states, rows
        assert "store available again" in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
