"""``sweep`` on a read-only state location (helper 86's QA pass): the trials' run folders cannot
be made, so the sweep is refused before anything is written -- one sentence, exit 2. It ran,
and every trial failed "could not start: [Errno 30] Read-only file system: ...", one after
another until max_trials were spent (each a failure the optimizer learned from), then exit 1
"every trial failed"."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from tests.support.cli import cli_env, hwscale_cmd


@pytest.fixture
def read_only_runs():
    """The run directories' folder, read-only: mode 0555, or for root (whom modes do not stop)
    a read-only tmpfs mounted on it."""
    paths = app_paths()
    paths.ensure()
    runs = paths.runs
    runs.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        runs.chmod(0o555)
        yield runs
        runs.chmod(0o700)
        return
    if shutil.which("mount") is None:
        pytest.skip("root without mount: no read-only folder to make")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(runs)]).returncode:
        pytest.skip("mount failed (no privilege in this container)")
    try:
        yield runs
    finally:
        subprocess.run(["umount", "-l", str(runs)])


def sweep(name: str) -> tuple[int, str, str]:
    # a child process: the sweep that ran before the fix ends in os._exit
    argv = ["sweep", "--new-experiment", name, "--gpus", "1", "--nodes", "1", "--max-trials", "2"]
    r = subprocess.run(
        hwscale_cmd(*argv, "--total-timesteps", "1024"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    return r.returncode, r.stdout, r.stderr


def no_trials(name: str) -> bool:
    store = app_paths().store
    if not store.exists():
        return True
    with Store(store, readonly=True) as s:
        return s.trial_rows([f"{name}.g1n1"]) == []


def test_a_sweep_on_a_read_only_state_location_is_refused_before_it_starts(read_only_runs):
    code, out, err = sweep("qa86ro")
    assert code == 2, (out, err)
    assert out == ""
    assert err == (
        f"hwscale-tui: error: the trials' run folders under {read_only_runs} cannot be made: "
        f"{read_only_runs} is not writable (a read-only state location, or not yours), so "
        "every trial would fail to start; accepted: a state location you can write to "
        "(HWSCALE_HOME).\n"
    )
    assert no_trials("qa86ro")


def test_a_file_where_the_runs_folder_should_be_is_named():
    paths = app_paths()
    paths.ensure()
    runs = paths.runs
    if runs.is_dir():
        shutil.rmtree(runs)
    runs.write_text("not a folder\n")
    code, out, err = sweep("qa86rf")
    assert code == 2, (out, err)
    assert err == (
        f"hwscale-tui: error: the trials' run folders under {runs} cannot be made: {runs} is a "
        "file, not a folder, so every trial would fail to start; accepted: move it away.\n"
    )
    assert runs.read_text() == "not a folder\n"
    assert no_trials("qa86rf")
