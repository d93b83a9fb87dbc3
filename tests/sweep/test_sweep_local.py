"""The local dispatcher with real processes: own process group, log file, cancel, re-attach."""

from __future__ import annotations

import os
import stat
import sys

from hwscale_tui.config import from_dict
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.processes import live_group_members
from hwscale_tui.search.presets import preset_for
from hwscale_tui.sweep.dispatch import InFlightTrial
from hwscale_tui.sweep.local import LocalDispatcher
from hwscale_tui.sweep.trial_command import TrialCommandBuilder
from tests.sweep.sweep_helpers import pid_alive, stub_command, wait_for

PAIR = HardwarePair(1, 1)


def make_spec(command, idx=1):
    cfg = from_dict({"experiment": {"name": "loc"}, "sweep": {"trial_command": command}}, env={})
    b = TrialCommandBuilder(cfg, PAIR, [], app_paths().runs, preset_for(cfg, PAIR).space.keys)
    return b.build(
        f"loc.g1n1_trial_{idx:04d}_abcdef", idx, {"trainer.optimizer.learning_rate": 0.003}
    )


def in_flight(spec, handle):
    return InFlightTrial(
        spec.run_id, spec.params, 0.0, spec.log_path, spec.metrics_path, spec.writes_store, handle
    )


def test_a_trial_runs_in_its_own_group_logs_privately_and_its_exit_carries_the_final_line():
    d = LocalDispatcher()
    spec = make_spec(stub_command())
    proc, fields = d.start(spec)
    assert fields == {"pid": proc.pid, "pgid": proc.pid, "proc_start": proc.proc_start}
    assert os.getpgid(proc.pid) == proc.pid and os.getsid(proc.pid) == proc.pid != os.getsid(0)
    trial = in_flight(spec, proc)
    exits = wait_for(lambda: d.poll([trial]), what="the stub trial to exit")
    ex = exits[spec.run_id]
    assert ex.code == 0 and ex.final["final"] is True and ex.final["sweep/score"] > 400
    assert spec.log_path.parent == app_paths().runs / spec.run_id
    assert stat.S_IMODE(spec.log_path.stat().st_mode) == 0o600
    assert "stub trial loc.g1n1_trial_0001_abcdef started" in spec.log_path.read_text()


def test_a_failing_trial_reports_its_last_log_line():
    d = LocalDispatcher()
    spec = make_spec(
        [
            sys.executable,
            "-c",
            "import sys; print('first'); print('it broke', flush=True); sys.exit(3)",
        ]
    )
    proc, _ = d.start(spec)
    ex = wait_for(lambda: d.poll([in_flight(spec, proc)]), what="exit")[spec.run_id]
    assert (ex.code, ex.reason, ex.final) == (3, "it broke", None)


def test_cancel_stops_the_whole_group_even_a_child_that_ignores_sigterm():
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('child up', flush=True); time.sleep(300)"
    script = f'{sys.executable} -c "{stubborn}" & sleep 300 & wait'
    d = LocalDispatcher()
    spec = make_spec(["sh", "-c", script])
    proc, _ = d.start(spec)
    wait_for(lambda: "child up" in spec.log_path.read_text(), what="the grandchild to start")
    members = live_group_members(proc.pgid)
    assert len(members) >= 3  # sh, the stubborn python, sleep
    d.cancel([in_flight(spec, proc)], grace_s=0.5)
    assert live_group_members(proc.pgid) == []
    assert not any(pid_alive(p) for p in members)


def test_attach_needs_the_same_pid_and_start_time():
    d = LocalDispatcher()
    spec = make_spec(["sleep", "300"])
    proc, fields = d.start(spec)
    try:
        again = d.attach(fields)
        assert again is not None and again.popen is None and again.leader_alive()
        assert (
            d.attach({**fields, "proc_start": fields["proc_start"] - 100}) is None
        )  # pid reused by another process
        assert d.attach({"pid": None, "proc_start": None}) is None
    finally:
        d.cancel([in_flight(spec, proc)], grace_s=0.5)
    assert d.attach(fields) is None  # gone
    # a re-attached trial's end is seen without an exit code (not our child)
    assert again.exit_code() is None and not again.leader_alive()
