"""Recording a launch of some pairs in a test's store without running it: the supervisor's
rows as ``launch`` writes them, each pair scheduled, and running as a given process."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from hwscale_tui.launch.state import LaunchRecords
from hwscale_tui.processes import process_start_time
from hwscale_tui.store import Store


def dead_pid() -> tuple[int, float | None]:
    """The pid of a process that ran and has exited (reaped), and its start time."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    start = process_start_time(p.pid)
    p.wait()
    return p.pid, start


def recorded_launch(
    store: Store,
    experiment: str,
    sweeps: Sequence[str],
    snapshot: Path,
    *,
    running_pid: int | None = None,
    proc_start: float = 1.0,
    started_at: float = 1.5,
    argv: Sequence[str] = ("x",),
) -> int:
    """A launch of ``sweeps`` (``<experiment>.g<G>n<N>``, their GPUs and nodes from the name)
    in ``store``: each pair scheduled at t=1, then claimed and running as ``running_pid`` (a
    live or dead pid) when one is given. Returns the launch id."""
    recs = LaunchRecords(store)
    lid = recs.create_launch(experiment, snapshot, None, 1.0)
    for position, sweep in enumerate(sweeps):
        match = re.search(r"\.g(\d+)n(\d+)", sweep)
        assert match, f"{sweep} names no pair"
        recs.schedule_pair(
            experiment,
            sweep,
            gpus=int(match[1]),
            nodes=int(match[2]),
            launch_id=lid,
            position=position,
            planned_start=1.0,
            argv=list(argv),
            log_path=Path(f"{sweep}.log"),
        )
        if running_pid is not None:
            assert recs.claim_for_start(experiment, sweep, lid)
            assert recs.mark_running(
                experiment,
                sweep,
                pid=running_pid,
                pgid=running_pid,
                proc_start=proc_start,
                started_at=started_at,
            )
    return lid
