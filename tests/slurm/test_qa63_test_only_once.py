"""QA 63: ``sbatch --test-only`` ran three times per launched pair on the Slurm dispatcher --
once in ``launch``'s check, then twice more in the pair's sweep (its own check, then its
runner's), with the same options each time. A launch now tells its pairs which checks it made
(``HWSCALE_SLURM_CHECKED``, launch/slurm_options.py), so each pair is asked about once per
launch; a sweep run by hand asks once. Counted with a PATH shim that records every real sbatch
call on the real cluster."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.slurm.test_slurm_dispatch import cli_env, hwscale_cmd, rows, write_experiment

pytestmark = pytest.mark.slow


def recording_sbatch(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose sbatch records its arguments (one line per call), then runs the
    real one."""
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    calls = tmp_path / "sbatch-calls"
    real = shutil.which("sbatch")
    shim = shim_dir / "sbatch"
    shim.write_text(f'#!/bin/bash\nprintf "%s\\n" "$*" >> "{calls}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    return cli_env(PATH=f"{shim_dir}:{cli_env()['PATH']}"), calls


def _test_only_calls_by_gres(calls: Path) -> Counter[str]:
    lines = calls.read_text().splitlines() if calls.exists() else []
    return Counter(
        next(tok for tok in line.split() if tok.startswith("--gres="))
        for line in lines
        if "--test-only" in line.split()
    )


def submits(calls: Path) -> int:
    return sum("--parsable" in line.split() for line in calls.read_text().splitlines())


def test_a_launch_asks_sbatch_test_only_once_per_pair(slurm, tmp_path):
    import subprocess

    exp = write_experiment(
        tmp_path / "exp.toml",
        "once",
        trial_command=True,
        grid={"gpu_counts": [1, 2], "node_counts": [1]},
    )
    env, calls = recording_sbatch(tmp_path)
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp), "--foreground"),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert [t["state"] for t in rows("once.g1n1") + rows("once.g2n1")] == ["finished"] * 2
    assert _test_only_calls_by_gres(calls) == {"--gres=gpu:1": 1, "--gres=gpu:2": 1}, (
        calls.read_text()
    )
    assert submits(calls) == 2  # one trial per pair


def test_a_sweep_run_by_hand_asks_once_and_still_refuses_what_slurm_would_not_take(slurm, tmp_path):
    import subprocess

    exp = write_experiment(
        tmp_path / "exp.toml",
        "hand",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
    )
    env, calls = recording_sbatch(tmp_path)
    argv = hwscale_cmd("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1")
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _test_only_calls_by_gres(calls) == {"--gres=gpu:1": 1}, calls.read_text()
    # a launch's note with other options (another partition) is no check of these: refused
    bad = write_experiment(
        tmp_path / "bad.toml",
        "hand",
        trial_command=True,
        grid={"gpu_counts": [1], "node_counts": [1]},
        slurm={"partition": "nope"},
    )
    env["HWSCALE_SLURM_CHECKED"] = "hand.g1n1=0123456789abcdef"
    r = subprocess.run(
        hwscale_cmd("sweep", "-e", str(bad), "--gpus", "1", "--nodes", "1"),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Slurm would refuse the g1n1 trials (" in r.stderr, r.stderr
    assert _test_only_calls_by_gres(calls) == {"--gres=gpu:1": 2}
    assert submits(calls) == 1
