"""A full disk under the trials' run folders, with the store on another disk, is named as such
(helper 86's QA pass). The sweep paused saying "store unavailable: the store <path>: the disk
is full", of a store on a disk with room to spare, and sent the user to free space there."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep import runner as runner_module
from hwscale_tui.sweep.runner import (
    EXIT_STORE_UNAVAILABLE,
    RunnerTimings,
    SweepRunner,
    prepare_sweep,
)
from tests.sweep.sweep_helpers import ScriptedDispatcher, finished_exit


@pytest.fixture
def full_runs_disk():
    """The run directories' folder on a small tmpfs of its own, filled (root with mount)."""
    paths = app_paths()
    paths.ensure()
    runs = paths.runs
    runs.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount for a full disk of the runs folder's own")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(runs)]).returncode:
        pytest.skip("mount failed (no privilege in this container)")
    try:
        with open(runs / "fill", "wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
            except OSError:
                pass
        yield runs
    finally:
        subprocess.run(["umount", "-l", str(runs)])


def run_sweep() -> tuple[int, str]:
    cfg = apply_overrides(
        default_config(env={}), {"experiment.name": "dfull", "sweep.max_trials": 1}
    )
    setup = prepare_sweep(cfg, HardwarePair(1, 1), [], app_paths().runs)
    out = io.StringIO()
    with Store.open_default() as store:
        runner = SweepRunner(
            setup,
            store=store,
            dispatcher=ScriptedDispatcher(exit_for=lambda spec: finished_exit()),
            out=out,
            timings=RunnerTimings(poll_s=0.0),
        )
        code = runner.run()
    return code, out.getvalue()


def test_a_full_disk_of_the_trials_only_is_named_not_the_store(full_runs_disk, monkeypatch):
    monkeypatch.setenv("HWSCALE_DISK_FULL_STOP_S", "0")  # stop at once, cleanly
    code, log = run_sweep()
    assert code == EXIT_STORE_UNAVAILABLE, log
    paused = next(line for line in log.splitlines() if " paused " in line)
    assert (
        f"the trials' disk is full: the trials' run folders {full_runs_disk}: the disk is full"
        in paused
    ), paused
    assert "store" not in paused.split("(")[0], paused  # the store is not what is full


def test_a_full_disk_shared_with_the_store_still_says_store_unavailable(monkeypatch):
    """One disk for both: the store cannot take writes either, and the pause says so."""
    monkeypatch.setenv("HWSCALE_DISK_FULL_STOP_S", "0")
    monkeypatch.setattr(runner_module, "_disk_full", lambda path, min_free_bytes=0: True)
    code, log = run_sweep()
    assert code == EXIT_STORE_UNAVAILABLE, log
    paused = next(line for line in log.splitlines() if " paused " in line)
    assert "store unavailable: the store " in paused and "the disk is full" in paused, paused
