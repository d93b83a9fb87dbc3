"""A trial whose metrics file is a folder or a named pipe fails with that reason; the sweep goes on.

Found by hand: a template trial that left a folder where its `{metrics_file}` should be made
`hwscale-tui sweep` stop at once, exit 1, "error: .../metrics.jsonl: Is a directory" (an
IsADirectoryError out of the runner's loop), with the trial left `running` in the store and
the sweep shown `interrupted`; running it again stopped the same way on resume. A named pipe
there hung the runner for good (opening a pipe waits for a writer), deaf to SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import tomli_w

from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.dispatch import read_trial_final
from hwscale_tui.sweep.outcome import TrialExit, decide_outcome
from tests.support.cli import cli_env, hwscale_cmd

MAKERS = {
    "folder": ("os.makedirs(sys.argv[1], exist_ok=True)", "is a folder, not a file"),
    "pipe": ("os.mkfifo(sys.argv[1])", "is not a regular file"),
}


def write(path: Path, name: str, make: str) -> Path:
    code = f"import os, sys; {make}"
    path.write_text(
        tomli_w.dumps(
            {
                "experiment": {"name": name},
                "grid": {"gpu_counts": [1], "node_counts": [1]},
                "sweep": {
                    "max_trials": 2,
                    "max_parallel_jobs": 1,
                    "trial_command": ["python3", "-c", code, "{metrics_file}"],
                },
            }
        )
    )
    return path


def run_sweep(exp: Path, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        hwscale_cmd("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # the runner hung (on a pipe): never leave it running
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("the sweep hung on the trial's metrics file") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_a_metrics_file_that_is_no_file_fails_the_trial_with_the_reason(tmp_path, kind):
    make, said = MAKERS[kind]
    name = f"qa86{kind}"
    r = run_sweep(write(tmp_path / "exp.toml", name, make), tmp_path)
    assert "Traceback" not in r.stderr, r.stderr
    # both trials ran and failed (so "every trial failed", exit 1), not a runner error
    assert r.returncode == 1, r.stdout + r.stderr
    assert "every trial failed: 2 failed" in r.stdout, r.stdout + r.stderr
    with Store(app_paths().store, readonly=True) as store:
        rows = store.trial_rows([f"{name}.g1n1"])
        sweep = store.conn.execute(
            "SELECT status FROM sweeps WHERE sweep = ?", (f"{name}.g1n1",)
        ).fetchone()
    assert [row["state"] for row in rows] == ["failed", "failed"], [dict(r) for r in rows]
    for row in rows:
        assert "exited 0, but its metrics file" in row["error"], row["error"]
        assert said in row["error"], row["error"]
    assert sweep[0] == "failed"


def test_a_trial_settled_on_resume_names_its_folder_metrics_file(tmp_path):
    """The resume path (a trial that ended while no runner watched) reads the file too."""
    metrics = tmp_path / "run" / "metrics.jsonl"
    metrics.mkdir(parents=True)
    final, problem = read_trial_final(metrics)
    assert final is None and problem is not None and "is a folder" in problem
    outcome = decide_outcome(
        TrialExit(None, "its process ended", final, metrics_problem=problem),
        cancelled=False,
        row=None,
        wall_s=1.0,
        price_per_gpu_hour=1.0,
        pair=HardwarePair(1, 1),
    )
    assert outcome.state == "failed"
    assert outcome.error is not None and str(metrics) in outcome.error
