"""status says how to start again a pair whose sweep runner was killed by a signal.

Found by hand (session 43, helper 91): experiment exE was launched with
``--total-timesteps 300000`` on the command line; the OOM killer's stand-in (``kill -9``) ended
its g1n1 sweep runner while its supervisor watched. ``status`` showed ``exited -9 (SIGKILL)``
and the log's end, and nothing on what to do; the obvious ``hwscale-tui launch --only g1n1``
was refused (the experiment's file says 150000 steps). The pair's note now gives the launch
that goes on as the generation ran (``launch -e <launch snapshot> --only g1n1``), in plain
status and in ``status --json``. Real supervisor and processes (fake sweeps), real SQLite.
"""

from __future__ import annotations

import os
import signal

import pytest

from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.status_view import attention_lines
from hwscale_tui.paths import snapshot_path
from tests.launch.launch_testkit import (
    clean_processes,
    fake_command,
    statuses,
    wait_for,
    write_experiment,
)

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def test_a_pair_killed_by_a_signal_gets_the_launch_that_starts_it_again(tmp_path):
    cfg = write_experiment(tmp_path / "e.toml", fake_command("--sleep", "60"), gpus=(1, 2))
    cfg.sweep.total_timesteps = 300000  # given on the command line: the file says otherwise
    sup.launch(cfg)
    wait_for(lambda: statuses().get("g1n1") == "running", "g1n1 to run")
    pid = sup.pair_status("exp").pairs[0].pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: statuses().get("g1n1") == "exited", "the supervisor to reap g1n1")

    st = sup.pair_status("exp")
    killed = next(p for p in st.pairs if p.tag == "g1n1")
    assert killed.exit_code == -signal.SIGKILL
    assert killed.note is not None
    assert killed.note.startswith("killed by signal 9 before its trials were done: ")
    assert f"hwscale-tui launch -e {snapshot_path('exp')} --only g1n1 starts it again" in (
        killed.note
    )
    assert f"g1n1: {killed.note}" in attention_lines(st)

    # a pair cancelled by hand is not one to start again: no such note
    sup.cancel_pairs("exp", None, by="test")
    wait_for(lambda: statuses().get("g2n1") == "cancelled", "g2n1 to be cancelled")
    assert sup.pair_status("exp").pair("exp.g2n1").note is None  # type: ignore[union-attr]
