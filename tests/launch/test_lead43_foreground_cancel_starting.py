"""A foreground launch interrupted while it starts a pair stops that pair too.

Seen in session 43's final pre-check (tests/foundation/test_polish_qa43.py, one run in three
alone): SIGTERM reached `launch --foreground` between spawning g2n1 and recording it running.
The cancel found g2n1 `starting` and left it to "its supervisor", which was that very loop, cut
short by the signal: the launch said "g2n1: cancelled: was starting: its supervisor stops it as
soon as its process exists", exited 143, and g2n1's sweep ran on. This test makes that moment
happen on purpose: a pair row `starting`, its process spawned and in the per-launch file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwscale_tui.commands.launch import _cancel_owned
from hwscale_tui.launch import registry
from hwscale_tui.launch.state import LaunchRecords
from hwscale_tui.processes import process_start_time
from hwscale_tui.store import Store
from tests.launch.launch_testkit import clean_processes, live, wait_for

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def test_a_pair_caught_between_spawn_and_running_is_stopped(tmp_path, capsys):
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    try:
        wait_for(lambda: process_start_time(child.pid) is not None, "the pair's process")
        with Store.open_default() as st, st.transaction():
            records = LaunchRecords(st)
            launch_id = records.create_launch("exp", tmp_path / "exp.toml", None, time.time())
            records.schedule_pair(
                "exp",
                "exp.g2n1",
                gpus=2,
                nodes=1,
                launch_id=launch_id,
                position=0,
                planned_start=time.time(),
                argv=["sleep"],
                log_path=Path(tmp_path / "g2n1.log"),
            )
            assert records.claim_for_start("exp", "exp.g2n1", launch_id)  # now `starting`
        registry.record_pair(
            "exp",
            "exp.g2n1",
            pid=child.pid,
            pgid=child.pid,
            proc_start=process_start_time(child.pid),
        )
        code = _cancel_owned("exp", ["exp.g2n1"], signal.SIGTERM, launch_id)
        assert code == 128 + signal.SIGTERM
        err = capsys.readouterr().err
        assert "g2n1: cancelled: stopped 1 process in " in err, err
        child.wait(timeout=10)
        assert not live(child.pid)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        # _cancel_owned ignores the stop signals: tests/conftest.py puts them back
