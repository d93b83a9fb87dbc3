"""A local launch beside another experiment's running local pairs says that they share the cores.

Found by hand (session 43): experiment `second` ran its pairs on this 2-core machine and
`hardware_scaling` was launched beside it; both ran at once with nothing said. A sequential
launch waits only for its own experiment's pairs, and analyze's contention note sees one
experiment's trials, so both experiments' times and steps per second silently carried the
other's load. Real supervisors and processes (fake sweeps that sleep), real SQLite.
"""

from __future__ import annotations

import pytest

from hwscale_tui.launch import supervisor as sup
from tests.launch.launch_testkit import (
    clean_processes,
    fake_command,
    statuses,
    wait_for,
    write_experiment,
)

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def test_a_launch_beside_another_experiments_local_pairs_warns(tmp_path):
    first = write_experiment(
        tmp_path / "a.toml", fake_command("--sleep", "60"), name="busy", gpus=(1,)
    )
    sup.launch(first)
    wait_for(lambda: statuses("busy").get("g1n1") == "running", "busy's g1n1 to run")

    second = write_experiment(
        tmp_path / "b.toml", fake_command("--sleep", "0"), name="beside", gpus=(1,)
    )
    info = sup.launch(second)
    said = [w for w in info.warnings if "other experiments' pairs run on this machine" in w]
    assert len(said) == 1, info.warnings
    assert "experiment busy: g1n1" in said[0]
    assert "hwscale-tui status --experiment-name busy" in said[0]

    # once the other experiment's pair has ended, nothing is said
    sup.cancel_pairs("busy", None, by="test")
    wait_for(lambda: statuses("busy").get("g1n1") == "cancelled", "busy's g1n1 to stop")
    wait_for(lambda: statuses("beside").get("g1n1") == "exited", "beside's g1n1 to end")
    again = sup.launch(second, only=["g1n1"])
    assert not [w for w in again.warnings if "other experiments" in w], again.warnings


def test_a_cluster_launch_beside_them_does_not_warn(tmp_path):
    first = write_experiment(
        tmp_path / "a.toml", fake_command("--sleep", "60"), name="busy", gpus=(1,)
    )
    sup.launch(first)
    wait_for(lambda: statuses("busy").get("g1n1") == "running", "busy's g1n1 to run")
    # trials on another machine's cores (a cluster dispatcher): not this machine's
    from hwscale_tui.store import Store

    remote = first.copy()
    remote.experiment.name = "remote"
    remote.experiment.dispatcher = "skypilot"
    with Store.open_default() as st:
        assert sup._local_pairs_elsewhere(st, remote) is None
        local = first.copy()
        local.experiment.name = "other"
        assert "experiment busy: g1n1" in str(sup._local_pairs_elsewhere(st, local))
