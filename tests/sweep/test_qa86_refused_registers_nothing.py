"""A ``sweep -e FILE`` refused for its generation's settings registers nothing (helper 86's
QA pass). docs/sweep.md: bad input is one sentence, exit 2, "and nothing is written (the
experiment file is not registered either)". The file was registered before the generation
check, so a refused sweep made it the experiment's file all the same: ``analyze``,
``experiments`` and the app then read its grid and settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import tomli_w

from hwscale_tui.launch.experiments import file_for
from tests.support.cli import cli_env, hwscale_cmd


def sweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        hwscale_cmd("sweep", "--gpus", "1", "--nodes", "1", *args),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )


def write(path: Path, total_timesteps: int) -> Path:
    path.write_text(
        tomli_w.dumps(
            {
                "experiment": {"name": "qa86g"},
                "grid": {"gpu_counts": [1], "node_counts": [1]},
                "sweep": {"max_trials": 1, "total_timesteps": total_timesteps},
            }
        )
    )
    return path


def test_a_sweep_refused_for_its_generation_registers_no_file(tmp_path):
    first = sweep("--new-experiment", "qa86g", "--max-trials", "1", "--total-timesteps", "1024")
    assert first.returncode == 0, first.stdout + first.stderr
    assert file_for("qa86g") is None  # run from flags: no file
    other = write(tmp_path / "other.toml", 2048)  # another total_timesteps: refused
    r = sweep("-e", str(other))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "comparability settings changed" in r.stderr, r.stderr
    assert file_for("qa86g") is None, "a refused sweep registered its file"
    same = write(tmp_path / "same.toml", 1024)  # the generation's settings: it runs
    r = sweep("-e", str(same))
    assert r.returncode == 0, r.stdout + r.stderr
    assert file_for("qa86g") == same.resolve()
