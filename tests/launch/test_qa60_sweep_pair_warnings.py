"""QA 60: ``hwscale-tui sweep`` of a pair outside the experiment's grid, or with more CPU ranks
than usable cores, says so before it runs.

``sweep --gpus 3 --nodes 1`` on the default experiment (2 cores: grid g1n1, g2n1) ran its
trials without a word, and then ``trials`` said "0 trials" and ``analyze`` "the local store has
no trials": they show only the grid's pairs. ``launch`` and ``plan`` flag OVERSUBSCRIBED pairs;
``sweep`` said nothing of either."""

from __future__ import annotations

import subprocess

from hwscale_tui import config as cfgmod
from hwscale_tui.commands.sweep import pair_run_warnings
from hwscale_tui.hardware import HardwarePair
from tests.support.cli import cli_env, hwscale_cmd


def _cfg(**grid):
    return cfgmod.from_dict({"grid": grid}, source="<test>", env={})


def test_a_pair_outside_the_grid_and_an_oversubscribed_one_are_named(monkeypatch):
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    cfg = _cfg(gpu_counts=[1, 2], node_counts=[1])
    assert pair_run_warnings(cfg, HardwarePair(1, 1)) == []
    (outside, over) = pair_run_warnings(cfg, HardwarePair(4, 1))
    assert outside.startswith("g4n1 is not a pair of experiment hardware_scaling (its grid: ")
    assert "trials and analyze will not show" in outside
    assert over.startswith("g4n1: OVERSUBSCRIBED: 4 CPU ranks on 2 usable cores")
    # added to the grid it is the experiment's pair: only the oversubscription is said
    added = _cfg(gpu_counts=[1, 2, 4], node_counts=[1])
    assert [w.split(":")[1].strip() for w in pair_run_warnings(added, HardwarePair(4, 1))] == [
        "OVERSUBSCRIBED"
    ]


def test_the_sweep_command_warns_on_stderr_before_it_runs(tmp_path):
    env = cli_env(HWSCALE_USABLE_CORES="2")
    res = subprocess.run(
        hwscale_cmd(
            "sweep", "--gpus", "1", "--nodes", "1", "--gpu-counts", "2",
            "--max-trials", "1", "--total-timesteps", "2000",
        ),
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    first = res.stderr.splitlines()[0]
    assert first.startswith("hwscale-tui sweep: warning: g1n1 is not a pair of experiment"), first
    assert "(its grid: g2n1)" in first, first
