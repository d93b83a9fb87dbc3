"""``train`` on a read-only state location (helper 73's QA pass): the default metrics file's run
directory cannot be made, so the run is refused before it starts -- one sentence, exit 2,
nothing started. It started, then failed with exit 1 on a raw ``OSError: [Errno 30]
Read-only file system: '<run dir>'``, its result line naming a metrics file never made."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout

import pytest

from hwscale_tui.cli import main
from hwscale_tui.paths import app_paths


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


@pytest.mark.parametrize("store", [[], ["store=true"]])
def test_train_on_a_read_only_state_location_is_refused_before_it_starts(read_only_runs, store):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["train", "-q", "run=r1", "trainer.total_timesteps=64", *store])
    metrics = read_only_runs / "r1" / "metrics.jsonl"
    assert code == 2, (out.getvalue(), err.getvalue())
    assert out.getvalue() == ""
    assert err.getvalue() == (
        f"hwscale-tui: error: run r1's metrics file {metrics} cannot be written: "
        f"{read_only_runs} is not writable (a read-only state location, or not yours); "
        "accepted: a state location you can write to (HWSCALE_HOME), or metrics_file=PATH in a "
        "folder you can write to.\n"
    )
