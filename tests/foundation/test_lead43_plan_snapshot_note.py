"""The sweep commands `plan` prints read the launch snapshot: plan says so when it would not run
what the plan shows (helper 92's first-user walk, session 43: pasted on a fresh machine a
command said 'the file does not exist', exit 2; after a launch given other settings it ran the
last launch's), and how to run one pair's sweep by hand now."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from hwscale_tui import config as cfgmod
from tests.support.cli import cli_env, hwscale_cmd


def _plan(*args: str) -> str:
    r = subprocess.run(hwscale_cmd("plan", *args), capture_output=True, text=True, env=cli_env())
    assert r.returncode == 0, r.stderr
    return " ".join(r.stdout.split())


def test_plan_says_the_commands_read_a_snapshot_only_launch_writes(tmp_path):
    exp = tmp_path / "e.toml"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "snap"},
            "grid": {"gpu_counts": [1], "node_counts": [1]},
            "sweep": {"total_timesteps": 2048, "max_trials": 1},
        },
        env={},
    )
    cfgmod.save(cfg, exp)
    out = _plan("-e", str(exp))
    assert "which does not exist yet" in out, out
    hint = out.split("to run one pair's sweep by hand now: ", 1)[1]
    assert hint.startswith(f"hwscale-tui sweep -e {shlex.quote(str(exp.resolve()))} --gpus G")
    # the hint, pasted with a pair, runs that pair's sweep from the file
    argv = shlex.split(hint)[1:4] + ["--gpus", "1", "--nodes", "1", "--status"]
    r = subprocess.run(hwscale_cmd(*argv), capture_output=True, text=True, env=cli_env())
    assert r.returncode == 0, r.stderr

    launched = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp), "--foreground"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert launched.returncode == 0, launched.stderr
    assert "launch snapshot" not in _plan("-e", str(exp))  # the snapshot is this plan's
    exp.write_text(exp.read_text().replace("max_trials = 1", "max_trials = 2"))
    assert "which holds the last launch's settings" in _plan("-e", str(exp))
    assert Path(cfgmod.load(exp).path or "").name == "e.toml"
