"""A trial that leaves a named pipe where its log was does not hang the runner (helper 86's QA
pass). The runner reads a failed trial's reason from its log's last line; opening a pipe there
waited for a writer forever, so the sweep hung after the trial ended, deaf to SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import tomli_w

from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.sweep.local import last_log_line
from tests.support.cli import cli_env, hwscale_cmd

# the trial removes its log (the runner's file) and leaves a pipe in its place, then fails
TRIAL = (
    "import os, sys; log = os.path.join(os.path.dirname(sys.argv[1]), 'trial.log'); "
    "os.unlink(log); os.mkfifo(log); sys.exit(3)"
)


def test_a_pipe_where_the_trial_log_was_fails_the_trial_without_a_hang(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        tomli_w.dumps(
            {
                "experiment": {"name": "qa86log"},
                "grid": {"gpu_counts": [1], "node_counts": [1]},
                "sweep": {
                    "max_trials": 1,
                    "trial_command": ["python3", "-c", TRIAL, "{metrics_file}"],
                },
            }
        )
    )
    proc = subprocess.Popen(
        hwscale_cmd("sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("the sweep hung on the trial's log") from None
    assert proc.returncode == 1, out + err  # its one trial failed: "every trial failed"
    assert "Traceback" not in err, err
    with Store(app_paths().store, readonly=True) as store:
        (row,) = store.trial_rows(["qa86log.g1n1"])
    assert row["state"] == "failed" and row["error"].startswith("exit code 3"), dict(row)


def test_last_log_line_of_a_pipe_is_none(tmp_path: Path):
    pipe = tmp_path / "trial.log"
    os.mkfifo(pipe)
    got: list[str | None] = []
    reader = threading.Thread(target=lambda: got.append(last_log_line(pipe)), daemon=True)
    reader.start()
    reader.join(30)
    if reader.is_alive():  # it waits for a writer: be one, so that the thread ends
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)
        raise AssertionError("last_log_line waited for a writer on a named pipe")
    assert got == [None]
