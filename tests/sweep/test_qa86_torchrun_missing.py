"""A local sweep whose trial command starts with ``{torchrun}`` on a machine without torchrun is
refused before anything runs (helper 86's QA pass). ``{torchrun}`` is ``torchrun --standalone
...`` here; without it on PATH every trial failed "could not start: [Errno 2] No such file or
directory: 'torchrun'", each a failure the optimizer learned from, until max_trials were spent
and the sweep ended "every trial failed" (the program check skipped placeholders)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from tests.support.cli import cli_env, hwscale_cmd


def sweep(tmp_path: Path, path_dirs: list[str]) -> subprocess.CompletedProcess:
    exp = tmp_path / "exp.toml"
    exp.write_text(
        tomli_w.dumps(
            {
                "experiment": {"name": "qa86tor"},
                "grid": {"gpu_counts": [1], "node_counts": [1]},
                "sweep": {"max_trials": 1, "trial_command": ["{torchrun}", "t.py", "{params}"]},
            }
        )
    )
    return subprocess.run(
        hwscale_cmd("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"),
        capture_output=True,
        text=True,
        env=cli_env(PATH=os.pathsep.join(path_dirs)),
        timeout=120,
    )


def test_torchrun_missing_is_refused_with_exit_2_and_nothing_written(tmp_path):
    dirs = [str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    if shutil.which("torchrun", path=os.pathsep.join(dirs)):
        pytest.skip("this machine has a torchrun on that PATH")
    r = sweep(tmp_path, dirs)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("hwscale-tui: error: sweep.trial_command starts with {torchrun}")
    assert "torchrun is not on PATH" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    if app_paths().store.exists():
        with Store(app_paths().store, readonly=True) as store:
            assert store.trial_rows(["qa86tor.g1n1"]) == []


def test_a_torchrun_on_path_is_run(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "torchrun"  # a stand-in: it fails, but it is started
    fake.write_text("#!/bin/sh\necho fake torchrun ran\nexit 3\n")
    fake.chmod(0o755)
    r = sweep(tmp_path, [str(bin_dir), str(Path(sys.executable).parent), "/usr/bin", "/bin"])
    assert r.returncode == 1, r.stdout + r.stderr  # its one trial failed, as the stand-in does
    assert "exit code 3: fake torchrun ran" in r.stdout, r.stdout
