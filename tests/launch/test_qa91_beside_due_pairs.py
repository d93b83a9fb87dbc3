"""A local launch warns of another experiment's pairs that are due to start, not only running.

Found by hand (session 43, helper 91): experiments exC and exD were launched together on this
2-core machine; exD's launch came while exC's first pair was still scheduled (a pair starts a
second after its launch) and its second pair was 20 s away, so nothing was said, though the
two experiments' pairs then ran at once and shared the cores. Pairs due to start under a live
supervisor are now named too (`g2n1 (due to start)`); those of a dead supervisor, which never
start unless resumed, are not. Real supervisors and processes (fake sweeps), real SQLite.
"""

from __future__ import annotations

import os
import signal

import pytest

from hwscale_tui.launch import supervisor as sup
from hwscale_tui.store import Store
from tests.launch.launch_testkit import (
    clean_processes,
    fake_command,
    live,
    statuses,
    wait_for,
    write_experiment,
)

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def test_a_launch_beside_another_experiments_scheduled_pairs_warns(tmp_path):
    first = write_experiment(
        tmp_path / "a.toml", fake_command("--sleep", "60"), name="busy", gpus=(1, 2), delay_s=600
    )
    first_info = sup.launch(first)
    # busy's g2n1 starts in 10 minutes (its g1n1 a second after the launch)
    assert statuses("busy")["g2n1"] == "scheduled"

    second = write_experiment(
        tmp_path / "b.toml", fake_command("--sleep", "0"), name="beside", gpus=(1,)
    )
    with Store.open_default() as st:
        said = sup._local_pairs_elsewhere(st, second)
    assert said is not None
    assert "other experiments' pairs run on this machine now or are due to start" in said
    assert "g2n1 (due to start)" in said
    assert "experiment busy: g1n1" in said

    # a scheduled pair whose supervisor is gone never starts unless resumed: not named
    assert first_info.supervisor_pid is not None
    wait_for(lambda: statuses("busy")["g1n1"] == "running", "busy's g1n1 to run")
    os.kill(first_info.supervisor_pid, signal.SIGKILL)
    wait_for(lambda: not live(first_info.supervisor_pid), "busy's supervisor to die")
    with Store.open_default() as st:
        said = sup._local_pairs_elsewhere(st, second)
    assert said is not None and "g2n1" not in said, said
    assert "or are due to start" not in said
