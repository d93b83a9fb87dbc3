"""A sequential experiment's pairs run one after another across launches too.

Found by hand (local mode, 2 cores, the default g1n1 + g2n1 grid, which runs sequentially):
g1n1 was cancelled, the supervisor started g2n1, and relaunching g1n1 (the app's `l`,
`supervisor.relaunch`; or `launch --only g1n1`) started it at once beside g2n1 -- 3 ranks on 2
cores, no word said, and both pairs' measured times carried each other's load. The relaunched
pair now waits until the pairs still running (or still to start under a live supervisor) have
ended, and the launch says so. Likewise a sequential launch whose scheduled middle pair was
cancelled started the next one at once, beside the pair still running.

The supervisor under test runs in this process (``SupervisorLoop.start_due``, one tick at a
time with a clock past every planned start), so "it did not start" is decided, not waited for.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from hwscale_tui.cli import main
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.run_loop import SupervisorLoop
from hwscale_tui.launch.state import LaunchRecords
from hwscale_tui.store import Store
from tests.launch.launch_testkit import (
    clean_processes,
    fake_command,
    records,
    wait_for,
    write_experiment,
)

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)

FAR = 4e9  # a clock past every planned start (year 2096)


@pytest.fixture
def in_process_supervisor(monkeypatch):
    """Launches record this process as their supervisor instead of starting one: the test
    drives each launch's loop itself."""

    def spawn(argv, fd, env=None, cwd=None):  # type: ignore[no-untyped-def]
        return SimpleNamespace(pid=os.getpid(), wait=lambda: 0)

    monkeypatch.setattr(sup, "spawn_in_new_session", spawn)


def _tick(store: Store, launch_id: int) -> SupervisorLoop:
    loop = SupervisorLoop(store, launch_id)
    loop.start_due(LaunchRecords(store).pair_rows("exp", launch_id), FAR)
    return loop


def _status(sweep: str) -> str:
    pair = sup.pair_status("exp").pair(sweep)
    assert pair is not None
    return pair.status


def _g2n1_running_after_g1n1_was_cancelled(tmp_path, store: Store):  # type: ignore[no-untyped-def]
    rec = tmp_path / "starts.jsonl"
    cfg = write_experiment(
        tmp_path / "e.toml",
        fake_command("--sleep", "600", record=rec),
        gpus=(1, 2),
        sequential=True,
    )
    first = sup.launch(cfg)
    assert first.waits_for == []
    loop = _tick(store, first.launch_id)
    wait_for(lambda: len(records(rec)) == 1, "g1n1 to run")
    assert sup.cancel("exp", ["g1n1"], by="test") == ["exp.g1n1"]
    loop.reap(FAR)
    loop.start_due(LaunchRecords(store).pair_rows("exp", first.launch_id), FAR)
    wait_for(lambda: len(records(rec)) == 2, "g2n1 to run once g1n1 was cancelled")
    assert _status("exp.g2n1") == "running"
    return cfg, rec, loop


def test_a_relaunched_pair_waits_for_the_pair_still_running(tmp_path, in_process_supervisor):
    with Store.open_default() as store:
        _cfg, rec, first = _g2n1_running_after_g1n1_was_cancelled(tmp_path, store)

        info = sup.relaunch("exp", ["g1n1"])
        assert info.waits_for == ["exp.g2n1"]
        assert info.planned_start == {"exp.g1n1": None}  # its turn comes when g2n1 has ended
        assert info.waits_text.startswith(
            "g1n1 starts once g2n1 has ended: this experiment's pairs run one after another"
        )
        second = _tick(store, info.launch_id)
        assert not second.children and _status("exp.g1n1") == "scheduled"
        assert [r["sweep"] for r in records(rec)] == ["exp.g1n1", "exp.g2n1"]

        assert sup.cancel("exp", ["g2n1"], by="test") == ["exp.g2n1"]
        first.reap(FAR)
        second.start_due(LaunchRecords(store).pair_rows("exp", info.launch_id), FAR)
        assert list(second.children) == ["exp.g1n1"]  # g2n1 has ended: its turn
        wait_for(lambda: len(records(rec)) == 3, "g1n1 to run again")
        assert records(rec)[2]["sweep"] == "exp.g1n1"


def test_launch_only_of_a_pair_waits_too_and_says_so(tmp_path, in_process_supervisor, capsys):
    with Store.open_default() as store:
        cfg, rec, _first = _g2n1_running_after_g1n1_was_cancelled(tmp_path, store)
        capsys.readouterr()

        assert main(["launch", "-e", str(cfg.path), "--only", "g1n1"]) == 0
        out = capsys.readouterr().out
        assert (
            "g1n1 starts once g2n1 has ended: this experiment's pairs run one after another "
            "(launch.sequential)" in out
        ), out
        assert "once g2n1 has ended" in out.split("planned start", 1)[1], out  # its row
        launch_id = LaunchRecords(store).launches("exp")[-1].id
        second = _tick(store, launch_id)
        assert not second.children and _status("exp.g1n1") == "scheduled"
        assert len(records(rec)) == 2


def test_a_relaunch_waits_for_a_pair_a_live_supervisor_is_still_to_start(
    tmp_path, in_process_supervisor
):
    """g1n1 runs, g2n1 and g4n1 are to start after it; g2n1 is cancelled and relaunched. It
    waits for g1n1 and for g4n1, which launch 1 starts first: the two supervisors started g4n1
    and g2n1 in the same tick once g1n1 had ended."""
    rec = tmp_path / "starts.jsonl"
    cfg = write_experiment(
        tmp_path / "e.toml", fake_command("--sleep", "600", record=rec), sequential=True
    )
    with Store.open_default() as store:
        first_info = sup.launch(cfg)
        first = _tick(store, first_info.launch_id)
        wait_for(lambda: len(records(rec)) == 1, "g1n1 to run")
        assert sup.cancel("exp", ["g2n1"], by="test") == ["exp.g2n1"]
        # launch 1 does not start g4n1 beside g1n1 either (its previous pair, g2n1, ended)
        first.start_due(LaunchRecords(store).pair_rows("exp", first_info.launch_id), FAR)
        assert list(first.children) == ["exp.g1n1"] and _status("exp.g4n1") == "scheduled"

        info = sup.relaunch("exp", ["g2n1"])
        assert info.waits_for == ["exp.g1n1", "exp.g4n1"]
        second = _tick(store, info.launch_id)
        assert not second.children

        sup.cancel("exp", ["g1n1"], by="test")
        first.reap(FAR)
        second.start_due(LaunchRecords(store).pair_rows("exp", info.launch_id), FAR)
        assert not second.children  # launch 1 starts g4n1 first
        first.start_due(LaunchRecords(store).pair_rows("exp", first_info.launch_id), FAR)
        assert "exp.g4n1" in first.children
        second.start_due(LaunchRecords(store).pair_rows("exp", info.launch_id), FAR)
        assert not second.children and _status("exp.g2n1") == "scheduled"
        wait_for(lambda: len(records(rec)) == 2, "g4n1 to run")
        assert [r["sweep"] for r in records(rec)] == ["exp.g1n1", "exp.g4n1"]
