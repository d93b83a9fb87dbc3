"""Local dispatcher: each trial is a process in its own process group, with its own log file.

Cancel = SIGTERM to the group, SIGKILL after a grace period, returning once every process of
the tree is gone (``processes.stop_process_trees``). A trial recorded by an earlier
runner is re-attached when its pid still runs with the recorded start time (no pid reuse).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..launch.commands import full_env, resolve_executable
from ..paths import ensure_private_dir
from ..processes import (
    ProcessGroupTarget,
    is_running,
    live_group_members,
    process_start_time,
    signal_group,
    stop_process_trees,
)
from .dispatch import InFlightTrial, read_trial_final
from .outcome import TrialExit
from .trial_command import TrialSpec

LOG_REASON_CHARS = 300


@dataclass
class LocalProcess:
    pid: int
    pgid: int
    proc_start: float | None
    popen: subprocess.Popen | None  # None when re-attached (not our child: exit code unknown)

    def leader_alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return is_running(self.pid, self.proc_start)

    def exit_code(self) -> int | None:
        return self.popen.returncode if self.popen is not None else None


def last_log_line(path: Path, noise: tuple[str, ...] = ()) -> str | None:
    """The last non-empty line of a log (for a failed trial's error), shortened. Lines that
    start with one of ``noise`` (a launcher's own messages) are passed over when the trial
    wrote any other line."""
    try:
        # non-blocking: a named pipe in the log's place (a trial replaced it) would wait for a
        # writer forever, and the runner with it; its seek fails instead (no reason, as before)
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            lines = [
                ln.strip() for ln in fh.read().decode("utf-8", "replace").splitlines() if ln.strip()
            ]
    except OSError:
        return None
    own = [ln for ln in lines if not ln.startswith(noise)] if noise else lines
    lines = own or lines
    return lines[-1][:LOG_REASON_CHARS] if lines else None


class LocalDispatcher:
    kind = "local"
    job_label = "job_name"

    def start(self, spec: TrialSpec) -> tuple[LocalProcess, dict[str, Any]]:
        ensure_private_dir(spec.run_dir)
        fd = os.open(spec.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            popen = subprocess.Popen(
                resolve_executable(spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                env=full_env(spec.env),
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(fd)
        proc = LocalProcess(popen.pid, popen.pid, process_start_time(popen.pid), popen)
        return proc, {"pid": proc.pid, "pgid": proc.pgid, "proc_start": proc.proc_start}

    def attach(self, row: Mapping[str, Any]) -> LocalProcess | None:
        if is_running(row.get("pid"), row.get("proc_start")):
            return LocalProcess(row["pid"], row.get("pgid") or row["pid"], row["proc_start"], None)
        return None

    def poll(self, trials: Sequence[InFlightTrial]) -> dict[str, TrialExit]:
        exits: dict[str, TrialExit] = {}
        for trial in trials:
            proc: LocalProcess = trial.handle
            if proc.leader_alive():
                continue
            self._stop_leftovers(proc)
            code = proc.exit_code()
            reason = None if code == 0 else last_log_line(trial.log_path)
            final, problem = read_trial_final(trial.metrics_path)
            exits[trial.run_id] = TrialExit(code, reason, final, metrics_problem=problem)
        return exits

    def cancel(self, trials: Sequence[InFlightTrial], grace_s: float) -> set[str]:
        """Stop each trial's whole process tree (the supervisor's way: SIGTERM, SIGKILL after
        ``grace_s``) and return only once every process of it is gone, then reap the leaders."""
        procs: list[LocalProcess] = [t.handle for t in trials]
        stop_process_trees(
            [ProcessGroupTarget(p.pid, p.pgid, p.proc_start) for p in procs], grace_s
        )
        for proc in procs:
            if proc.popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.popen.wait(timeout=2.0)
        return set()  # SIGKILL of the whole group: nothing of them runs on

    @staticmethod
    def _stop_leftovers(proc: LocalProcess) -> None:
        """A trial is over when its leader exits: stop what it left running in its group."""
        if live_group_members(proc.pgid):
            signal_group(proc.pgid, signal.SIGKILL)
