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
    """Fill ``directory``'s file system with one file. Unbuffered: a buffered writer keeps the
    bytes the full disk refused and raises ENOSPC again when it is closed (a full suite run failed so)."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
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
        shown = subprocess.run(  # a reader works on the full disk and says why sweeps pause
            [sys.executable, "-m", "hwscale_tui", "status"],
            env=dict(os.environ, HWSCALE_HOME=str(small_disk)),
            capture_output=True,
            text=True,
        )
        assert shown.returncode == 0 and "is full" in shown.stdout, shown
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


# -- store errors injected at the store boundary (no mount needed) -----------------------------


def test_injected_store_errors_pause_the_sweep_and_burn_nothing(monkeypatch):
    """The runner in-process with the real optimizer and store; the store refuses the first
    results (as a full disk would): they wait, nothing extra starts, nothing counts as failed."""
    import io

    from hwscale_tui.config import apply_overrides, default_config
    from hwscale_tui.hardware import HardwarePair
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store
    from hwscale_tui.sweep import runner as runner_mod
    from hwscale_tui.sweep.runner import (
        RunnerTimings,
        SweepRunner,
        prepare_sweep,
        protein_optimizer,
    )
    from hwscale_tui.sweep.state import SweepState
    from tests.sweep.sweep_helpers import ScriptedDispatcher, SpyOptimizer, finished_exit

    monkeypatch.setattr(runner_mod, "STORE_RETRY_MIN_S", 0.01)
    monkeypatch.setattr(runner_mod, "STORE_RETRY_MAX_S", 0.02)
    cfg = apply_overrides(
        default_config(env={}),
        {
            "experiment.name": "inj",
            "sweep.max_trials": 4,
            "sweep.batch_size": 2,
            "sweep.max_parallel_jobs": 2,
        },
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    refusals = {"left": 6}
    real_finish = SweepState.finish

    def flaky_finish(self, run_id, outcome):
        if refusals["left"] > 0:
            refusals["left"] -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return real_finish(self, run_id, outcome)

    monkeypatch.setattr(SweepState, "finish", flaky_finish)
    dispatcher = ScriptedDispatcher(lambda spec: finished_exit(1.0 + spec.idx))
    spy = SpyOptimizer(protein_optimizer(setup.preset, 0))
    out = io.StringIO()
    with Store.open_default() as store:
        runner = SweepRunner(
            setup,
            store=store,
            dispatcher=dispatcher,
            optimizer_factory=lambda preset, seed: spy,
            out=out,
            timings=RunnerTimings(poll_s=0.0, cancel_grace_s=0.1),
        )
        assert runner.run() == 0
        rows = store.trial_rows(["inj.g1n1"])
    assert refusals["left"] == 0
    assert [r["state"] for r in rows] == ["finished"] * 4, rows
    assert len(dispatcher.started) == 4, "a result waiting for the store is never replaced"
    assert len(spy.observed) == 4 and not any(failed for *_x, failed in spy.observed)
    log = out.getvalue()
    assert "store unavailable" in log and "store available again" in log, log


# -- a writer holding the lock, the WAL deleted: on a real sweep -------------------------------


@pytest.mark.slow
def test_a_writer_holding_the_lock_mid_sweep_only_pauses_it(tmp_path, monkeypatch):
    exp, log, home = tmp_path / "exp.toml", tmp_path / "sweep.log", tmp_path / "home"
    _experiment(exp, trials=2, steps=40000)
    monkeypatch.setenv("HWSCALE_LOCK_WAIT_S", "0.3")  # the sweep's (and its trials') lock wait
    proc = _start_sweep(exp, home, log)
    store = home / "data" / "hwscale.sqlite"
    try:
        _wait(lambda: any(r[1] == "running" for r in _rows(store)), "a running trial")
        holder = sqlite3.connect(store, isolation_level=None, timeout=30)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            _wait(
                lambda: "store unavailable" in log.read_text(errors="replace"),
                "the runner to pause on the lock",
            )
            time.sleep(1.0)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert proc.wait(timeout=WAIT_S) == 0, log.read_text()
        states = [r[1] for r in _rows(store)]
        assert states == ["finished", "finished"], (states, log.read_text())
        assert "store available again" in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


@pytest.mark.slow
def test_the_wal_deleted_mid_sweep_loses_no_trial(tmp_path):
    exp, log, home = tmp_path / "exp.toml", tmp_path / "sweep.log", tmp_path / "home"
    _experiment(exp, trials=3, steps=40000)
    proc = _start_sweep(exp, home, log)
    store = home / "data" / "hwscale.sqlite"
    try:
        _wait(
            lambda: "finished   exp.g1n1_trial_0001" in log.read_text(errors="replace"),
            "the first trial to finish",
        )
        Path(f"{store}-wal").unlink()
        assert proc.wait(timeout=WAIT_S) == 0, log.read_text()
        states = [r[1] for r in _rows(store)]
        assert states == ["finished"] * 3, (states, log.read_text())
        with contextlib.closing(sqlite3.connect(store)) as c:
            assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


@pytest.mark.slow
def test_sweep_treats_sighup_like_sigterm(tmp_path):
    """A closed terminal stops `hwscale-tui sweep` cleanly: its trial is cancelled and recorded
    killed, nothing is left running."""
    import signal

    import psutil

    exp, log, home = tmp_path / "exp.toml", tmp_path / "sweep.log", tmp_path / "home"
    _experiment(exp, trials=2, steps=50_000_000)
    proc = _start_sweep(exp, home, log)
    store = home / "data" / "hwscale.sqlite"
    try:
        _wait(lambda: any(r[1] == "running" for r in _rows(store)), "a running trial")
        tree = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert tree
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=60) == 128 + signal.SIGHUP, log.read_text()
        assert [r[1] for r in _rows(store)] == ["killed"], _rows(store)

        def alive(pid: int) -> bool:
            try:
                return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
            except psutil.Error:
                return False

        _wait(lambda: not any(alive(p) for p in tree), "the trial's processes to end")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


@pytest.mark.slow
def test_a_disk_that_stays_full_stops_the_sweep_cleanly_and_resume_continues_it(
    tmp_path, small_disk, monkeypatch
):
    """Through the real launch: the sweep stops cleanly (trials killed, not counted, nothing
    left running), status says why, and `launch --resume` finishes it once space is free."""
    monkeypatch.setenv("HWSCALE_HOME", str(small_disk))
    monkeypatch.setenv("HWSCALE_DISK_FULL_STOP_S", "2")
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[experiment]\nname = "full"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n'
        "[sweep]\nmax_trials = 1\nbatch_size = 1\ntotal_timesteps = 300000\n[launch]\ndelay_s = 0\n"
    )
    cli = [sys.executable, "-m", "hwscale_tui"]
    assert subprocess.run([*cli, "launch", "-e", str(exp)], capture_output=True).returncode == 0
    store = small_disk / "data" / "hwscale.sqlite"
    pair_log = small_disk / "logs" / "full" / "full.g1n1.log"
    filler = None
    try:
        _wait(lambda: any(r[1] == "running" for r in _rows(store)), "a running trial")
        filler = _fill(small_disk)
        _wait(lambda: "stopping cleanly" in pair_log.read_text(errors="replace"), "a clean stop")
        filler.unlink()
        filler = None
        status = _wait(
            lambda: (
                (r := subprocess.run([*cli, "status"], capture_output=True, text=True))
                and "stopped cleanly because the disk stayed full" in r.stdout
                and r.stdout
            ),
            "status to say why the pair stopped",
        )
        assert "--resume" in status
        rows = _rows(store)
        assert "running" not in [r[1] for r in rows] and "failed" not in [r[1] for r in rows]
        r = subprocess.run(
            [*cli, "launch", "-e", str(exp), "--resume"], capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr
        # the one trial the stop killed is not counted: the resumed sweep runs one more
        _wait(lambda: [x[1] for x in _rows(store)].count("finished") == 1, "the sweep to finish")
        states = [x[1] for x in _rows(store)]
        assert "failed" not in states and "running" not in states, states
        assert states[0] == "killed" and states[-1] == "finished", states  # max_trials = 1
    finally:
        if filler is not None:
            filler.unlink(missing_ok=True)
        subprocess.run([*cli, "cancel", "--all", "--experiment-name", "full"], capture_output=True)
