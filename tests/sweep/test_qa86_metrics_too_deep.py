"""A metrics line nested past Python's recursion limit is skipped like any line that is no JSON
object (helper 86's QA pass). A trial that wrote ``[[[...]]]`` 200,000 deep to its metrics
file ended ``hwscale-tui sweep`` in a ``RecursionError`` traceback (``json.loads`` raises it,
not ``ValueError``), the trial left ``running``."""

from __future__ import annotations

import json
import subprocess

import tomli_w

from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.dispatch import read_trial_final
from tests.support.cli import cli_env, hwscale_cmd

DEEP = "[" * 200_000 + "]" * 200_000


def test_a_too_deep_line_is_skipped_and_the_final_line_still_read(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    final = {"sweep/score": 3.0, "final": True, "state": "finished"}
    metrics.write_text(DEEP + "\n" + json.dumps(final) + "\n")
    assert read_trial_final(metrics) == (final, None)


def test_a_trial_writing_a_too_deep_line_fails_without_a_traceback(tmp_path):
    trial = tmp_path / "trial.py"
    trial.write_text(
        "import sys\n"
        "with open(sys.argv[1], 'w') as f:\n"
        "    f.write('[' * 200000 + ']' * 200000 + '\\n')\n"
    )
    exp = tmp_path / "exp.toml"
    exp.write_text(
        tomli_w.dumps(
            {
                "experiment": {"name": "qa86deep"},
                "grid": {"gpu_counts": [1], "node_counts": [1]},
                "sweep": {
                    "max_trials": 1,
                    "trial_command": ["python3", str(trial), "{metrics_file}"],
                },
            }
        )
    )
    r = subprocess.run(
        hwscale_cmd("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1, r.stdout + r.stderr  # its one trial failed
    with Store(app_paths().store, readonly=True) as store:
        (row,) = store.trial_rows(["qa86deep.g1n1"])
    assert row["state"] == "failed", dict(row)
    assert row["error"] == "exited 0 without a final metrics line with sweep/score"
