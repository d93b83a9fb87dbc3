"""Shared helpers for the launch tests: experiment files whose pairs run fake_sweep.py,
polling waits (no fixed sleeps), process-table checks, and a clean-up that leaves no process
behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.store import Store

FAKE_SWEEP = Path(__file__).with_name("fake_sweep.py")
WAIT_S = 60.0  # generous: other engineers load this 2-core machine too


def fake_command(*extra: str, record: Path | None = None) -> list[str]:
    argv = [sys.executable, str(FAKE_SWEEP), "--sweep", "{sweep_name}"]
    if record is not None:
        argv += ["--record", str(record)]
    return argv + list(extra)


def write_experiment(
    path: Path,
    command: list[str],
    *,
    name: str = "exp",
    gpus: tuple[int, ...] = (1, 2, 4),
    delay_s: float = 0.3,
    sequential: bool = False,
) -> cfgmod.ExperimentConfig:
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": name},
            "grid": {"gpu_counts": list(gpus), "node_counts": [1]},
            "launch": {"delay_s": delay_s, "sequential": sequential, "command": command},
        },
        source=str(path),
        env={},
    )
    cfgmod.save(cfg, path)
    return cfgmod.load(path)


def wait_for(
    predicate: Callable[[], Any], what: str, timeout: float = WAIT_S, interval: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def statuses(experiment: str = "exp") -> dict[str, str]:
    return {p.tag: p.status for p in sup.pair_status(experiment).pairs}


def all_ended(experiment: str = "exp") -> bool:
    st = sup.pair_status(experiment)
    return (
        bool(st.pairs) and not st.supervisor_alive and all(p.ended_at is not None for p in st.pairs)
    )


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def live(pid: int) -> bool:
    """Alive: neither gone, a zombie, nor dead (``X``: being torn down after a SIGKILL)."""
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False


def live_in_group(pgid: int) -> list[int]:
    out = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return out


def _kill_everything_launched() -> None:
    """Leave no supervisor or sweep behind for the next test."""
    with Store.open_default() as store:
        pids = [
            r[0]
            for r in store.conn.execute(
                "SELECT supervisor_pid FROM launches WHERE supervisor_pid IS NOT NULL"
            )
        ]
        groups = [r[0] for r in store.conn.execute("SELECT pgid FROM pairs WHERE pgid IS NOT NULL")]
    for pid in pids:
        if pid != os.getpid() and live(pid):
            os.kill(pid, signal.SIGKILL)
    for pgid in groups:
        for pid in live_in_group(pgid):
            for child in psutil.Process(pid).children(recursive=True):
                child.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def clean_processes():
    yield
    _kill_everything_launched()
