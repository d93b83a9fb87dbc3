"""What the tool writes is private like the rest: W&B offline runs and report plots included."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd

from hwscale_tui.cli import main
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from tests.support.synthetic import synthetic_experiment


def _loose(root: Path) -> list[str]:
    """Files or directories under ``root`` that anyone but the owner can read or enter."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                continue
            if stat.S_IMODE(p.stat().st_mode) & 0o077:
                out.append(f"{stat.S_IMODE(p.stat().st_mode):04o} {p}")
    return out


def test_wandb_offline_run_files_are_private():
    env = dict(os.environ, WANDB_MODE="offline")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hwscale_tui",
            "train",
            "wandb.mode=offline",
            "trainer.total_timesteps=4096",
            "-q",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    runs = app_paths().runs
    assert list(runs.rglob("offline-run-*")), "W&B wrote an offline run"
    assert _loose(runs) == []


def test_report_and_plots_are_private(tmp_path, capsys):
    pairs = [HardwarePair(g, 1) for g in (1, 2, 4)]
    trials, histories, _ = synthetic_experiment(pairs, 4, 30, seed=3, experiment="e")
    rows = [
        {
            "run_id": t.run_id,
            "sweep": t.sweep,
            "gpus": t.gpus,
            "nodes": t.nodes,
            "state": t.state,
            "agent_step": p.agent_step,
            "wall_s": p.wall_s,
            "score": p.score,
        }
        for t in trials
        for p in histories[t.run_id]
    ]
    src = tmp_path / "in" / "long.csv"
    src.parent.mkdir()
    pd.DataFrame(rows).to_csv(src, index=False)
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    before = os.umask(0o022)  # a typical login umask
    try:
        rc = main(
            [
                "analyze",
                "--trials",
                str(src),
                "--bootstrap",
                "20",
                "--report",
                str(out / "report.md"),
                "--csv",
                str(out / "per_config.csv"),
            ]
        )
        assert os.umask(0o022) == 0o022, "main() restores the caller's umask"
    finally:
        os.umask(before)
    capsys.readouterr()
    assert rc == 0
    assert list(out.rglob("*.png")), "the report has plots"
    assert _loose(out) == []
