"""``launch --resume`` starts the pairs as their launch scheduled them, not as the file says.

Found by hand (session 43, helper 91): experiment exJ's file has ``delay_s = 20`` (so not
sequential); it was launched with ``--sequential`` on the command line, and its supervisor was
SIGKILLed while g1n1 ran. ``launch --resume`` read the file's schedule: g2n1 started at once
(+0s) beside g1n1, the two pairs sharing the 2 cores, with a warning that 'pairs started 20 s
apart run at once'. Without --delay or --sequential a resume now keeps the launch's schedule
(its snapshot's): g2n1 starts once g1n1 has ended. Real CLI, supervisors and processes (fake
sweeps), real SQLite.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from hwscale_tui.launch import supervisor as sup
from tests.launch.launch_testkit import (
    clean_processes,
    fake_command,
    live,
    statuses,
    wait_for,
    write_experiment,
)
from tests.support.cli import cli_env, hwscale_cmd

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hwscale_cmd(*args),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=cli_env(),
    )


def test_a_resume_keeps_the_sequential_schedule_its_launch_was_given(tmp_path):
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--sleep", "60"), gpus=(1, 2), delay_s=0.3)
    ran = _cli("launch", "-e", str(exp), "--sequential")
    assert ran.returncode == 0, ran.stderr
    wait_for(lambda: statuses().get("g1n1") == "running", "g1n1 to run")
    st = sup.pair_status("exp")
    assert st.supervisor_pid is not None and st.pair("exp.g2n1").status == "scheduled"  # type: ignore[union-attr]
    os.kill(st.supervisor_pid, signal.SIGKILL)
    wait_for(lambda: not live(st.supervisor_pid), "the supervisor to die")  # type: ignore[arg-type]

    resumed = _cli("launch", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "g2n1 starts once g1n1 has ended" in resumed.stdout + resumed.stderr
    assert "run at once" not in resumed.stderr, resumed.stderr
    after = sup.pair_status("exp")
    g2 = after.pair("exp.g2n1")
    assert g2 is not None and g2.status == "scheduled" and g2.planned_start is None
    assert after.pair("exp.g1n1").status == "running"  # type: ignore[union-attr]
