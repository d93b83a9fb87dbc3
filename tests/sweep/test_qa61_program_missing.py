"""A local [sweep] trial_command whose program cannot run is refused before anything runs.

Found by hand: `trial_command = ["/nonexistent/prog", "{run_id}"]` with max_trials = 3 ran
three trials, each "failed: could not start: [Errno 2] No such file or directory", each a
failure the optimizer learned from, and registered the experiment; the sweep ended "every
trial failed". Every trial runs the same program, so none could ever start: bad input, exit 2.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import tomli_w

from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from tests.support.cli import cli_env, hwscale_cmd


def write(path: Path, name: str, program: str) -> Path:
    path.write_text(
        tomli_w.dumps(
            {
                "experiment": {"name": name},
                "grid": {"gpu_counts": [1], "node_counts": [1]},
                "sweep": {"max_trials": 3, "trial_command": [program, "{run_id}"]},
            }
        )
    )
    return path


@pytest.mark.parametrize("program", ["/nonexistent/prog", "./train.sh", "no-such-program-qa61"])
def test_a_trial_program_that_cannot_run_is_refused_with_exit_2_and_nothing_written(
    tmp_path, program
):
    (tmp_path / "train.sh").write_text("#!/bin/sh\nexit 0\n")  # not executable (no chmod +x)
    exp = write(tmp_path / "exp.toml", "noprog", program)
    r = subprocess.run(
        hwscale_cmd("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"),
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=tmp_path,
        timeout=120,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"sweep.trial_command[0] {program!r} is not a program" in r.stderr, r.stderr
    assert "accepted:" in r.stderr
    if app_paths().store.exists():
        with Store(app_paths().store, readonly=True) as store:
            assert store.trial_rows(["noprog.g1n1"]) == []
            names = [row[0] for row in store.conn.execute("SELECT name FROM experiments")]
            assert "noprog" not in names, names
