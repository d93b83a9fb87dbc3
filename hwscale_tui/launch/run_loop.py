"""The supervisor's loop: start each pair of one launch at its planned time, reap the sweeps it
started, and record everything in the store.

It owns the pairs whose ``launch_id`` is its launch. Each tick it reaps exited children (exit
code, end time, first log lines of a pair that failed or ended at once), then starts the pairs
that are due: staggered ones at their planned time, sequential ones when the previous pair has
ended. Cancels come from outside (``hwscale-tui cancel`` writes the store and signals the
process groups itself); the loop only honours them: a pair cancelled before its start is never
claimed, and one cancelled while starting is stopped as soon as its process exists.
"""

from __future__ import annotations

import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO, cast

from .. import config as cfgmod
from ..errors import StoreError, store_error_sentence
from ..processes import (
    SignalSafeEvent,
    is_running,
    open_private_log,
    process_start_time,
    signal_group,
    spawn_in_new_session,
)
from ..store import Store
from . import registry
from .commands import child_env, full_env, working_dir
from .files import first_lines
from .state import (
    CANCELLED,
    ENDED_STATUSES,
    FAILED_TO_START,
    LAUNCH_FINISHED,
    LAUNCH_STOPPED,
    PENDING_STATUSES,
    RUNNING,
    SCHEDULED,
    STARTING,
    LaunchRecords,
    PairRow,
    launch_label,
)

TICK_S = 0.1  # how often children are reaped and the store is re-read
MAX_STORE_BACKOFF_S = 5.0  # longest wait between retries while the store is unavailable
FAST_EXIT_S = 10.0  # a pair ending this soon after its start gets its first log lines recorded
CANCELLED_WHILE_STARTING_GRACE_S = 5.0


@dataclass
class OwnedChild:
    """A sweep process this supervisor started (so it alone can reap it)."""

    proc: subprocess.Popen
    started_at: float
    log_path: Path
    log_offset: int  # where this run's output begins in the (appended) log
    kill_at: float | None = None  # cancelled while starting: SIGKILL its group at this time


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class SupervisorLoop:
    """Runs one launch to its end (or until ``stop`` is set)."""

    def __init__(
        self,
        store: Store,
        launch_id: int,
        *,
        clock: Callable[[], float] = time.time,
        stop: SignalSafeEvent | None = None,
        out: TextIO | None = None,
        foreground: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ):
        self.store = store
        self.records = LaunchRecords(store)
        launch = self.records.get_launch(launch_id)
        if launch is None:
            raise LookupError(f"launch id {launch_id} is not in the store {store.path}")
        self.launch_id = launch_id
        self.experiment = launch.experiment
        # "launch 2 (id 5)": its place among the experiment's launches, and the store's id
        self.launch_text = (
            f"{launch_label(self.records.launch_number(launch.experiment, launch_id), launch_id)}"
            f" (id {launch_id})"
        )
        cfg = cfgmod.load(cast(str, launch.experiment_file))  # every launch row records its file
        # extra_env: what the launch tells its pairs (the sbatch --test-only checks it made)
        self.env = {**full_env(child_env(cfg)), **(extra_env or {})}
        self.cwd = working_dir(cfg)
        self.clock = clock
        self.stop = stop or SignalSafeEvent()
        self.out = out or sys.stdout
        self.children: dict[str, OwnedChild] = {}
        # launch --foreground: once stopped (ctrl+c, SIGTERM, SIGHUP) its command cancels the
        # launch's pairs, so nothing keeps running or stays scheduled
        self.foreground = foreground

    # -- reporting ---------------------------------------------------------------------------
    def say(self, message: str, *, kind: str | None = None, sweep: str | None = None) -> None:
        print(f"{_stamp(self.clock())} {message}", file=self.out, flush=True)
        if kind:
            self.store.add_event(kind, message, sweep=sweep)

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> str:
        """Supervise until every pair of the launch has ended; returns the launch's end status."""
        self.say(f"supervisor pid {os.getpid()} for {self.experiment} {self.launch_text}")
        registry.record_supervisor(
            self.experiment, self.launch_id, os.getpid(), process_start_time(os.getpid())
        )
        status = LAUNCH_FINISHED
        trouble: str | None = None  # the store failure being waited out, said once
        backoff = TICK_S
        try:
            while True:
                if self.stop.is_set():
                    status = LAUNCH_STOPPED
                    break
                now = self.clock()
                try:
                    self.reap(now)
                    next_due, pending = self.start_due(
                        self.records.pair_rows(self.experiment, self.launch_id), now
                    )
                except (sqlite3.Error, StoreError) as e:
                    # The store is unavailable (disk full, locked, damaged): keep the sweeps
                    # running and retry with backoff; nothing is started meanwhile.
                    message = store_error_sentence(self.store.path, e)
                    if message != trouble:
                        print(
                            f"{_stamp(self.clock())} store unavailable, retrying: {message}",
                            file=self.out,
                            flush=True,
                        )
                        trouble = message
                    self.stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_STORE_BACKOFF_S)
                    continue
                if trouble is not None:
                    self.say("store available again", kind="store_available")
                    trouble, backoff = None, TICK_S
                if not self.children and not pending:
                    break
                wait = (
                    TICK_S if next_due is None else min(TICK_S, max(0.0, next_due - self.clock()))
                )
                self.stop.wait(wait)
        except KeyboardInterrupt:
            status = LAUNCH_STOPPED
        try:
            self.records.end_launch(self.launch_id, status, self.clock())
        except (sqlite3.Error, StoreError) as e:
            print(
                f"cannot record the end of the launch: {store_error_sentence(self.store.path, e)}",
                file=self.out,
                flush=True,
            )
            return status
        if status == LAUNCH_STOPPED and self.foreground:
            left = ", ".join(self.children) or "none"
            self.say(
                f"supervisor stopped; the foreground launch now cancels its pairs (running: {left}) "
                "and those not started yet",
                kind="launch_stopped",
            )
        elif status == LAUNCH_STOPPED:
            left = ", ".join(self.children) or "none"
            self.say(
                f"supervisor stopped; sweeps already started keep running ({left}); "
                "pairs not started yet stay scheduled (hwscale-tui launch --resume)",
                kind="launch_stopped",
            )
        else:
            self.say(f"{self.launch_text} finished: every pair has ended", kind="launch_finished")
        return status

    def start_due(self, rows: list[PairRow], now: float) -> tuple[float | None, bool]:
        """Start every pair whose time has come. Returns the next planned start (if known) and
        whether any pair is still waiting to start.

        A sequential pair (no planned start) is due once every pair before it in this launch
        has ended and no pair of the experiment that another launch owns runs or is still to
        start before it (``others_busy``): a pair relaunched beside a running one, or after
        a scheduled pair in the middle was cancelled, started at once and shared the cores."""
        next_due: float | None = None
        pending = False
        before_ended = True  # sequential: has every pair before this one ended?
        others: bool | None = None  # others_busy(), asked once per tick when needed
        for row in rows:
            status = row.status
            if status == SCHEDULED:
                planned = row.planned_start
                if planned is None:  # sequential: due once the pairs before it have ended
                    if before_ended and others is None:
                        others = self.others_busy()
                    if not before_ended or others:
                        pending = True
                        break
                    planned = now
                    self.records.set_planned_start(self.experiment, row.sweep, planned)
                if planned <= now:
                    status = self.start_pair(row, planned)
                else:
                    next_due = planned if next_due is None else min(next_due, planned)
            before_ended = before_ended and status in ENDED_STATUSES
            pending = pending or status in PENDING_STATUSES
        return next_due, pending

    def others_busy(self) -> bool:
        """Whether a pair of the experiment that another launch owns still runs (its process
        is alive: running, starting, or cancelled and still stopping), or is still to start
        under an earlier launch's live supervisor. A sequential pair waits for them, so pairs
        run one after another across launches too (a relaunched pair, a resume's first pair
        after the one its dead supervisor left running); earlier launches go first, so two
        launches never wait for each other."""
        rows = [r for r in self.records.pair_rows(self.experiment) if r.launch_id != self.launch_id]
        if any(
            r.status in (STARTING, RUNNING, CANCELLED) and is_running(r.pid, r.proc_start)
            for r in rows
        ):
            return True
        earlier = {
            r.launch_id
            for r in rows
            if r.status in PENDING_STATUSES
            and r.launch_id is not None
            and r.launch_id < self.launch_id
        }
        return any(self._supervisor_alive(launch_id) for launch_id in earlier)

    def _supervisor_alive(self, launch_id: int) -> bool:
        launch = self.records.get_launch(launch_id)
        return (
            launch is not None
            and launch.ended_at is None
            and is_running(launch.supervisor_pid, launch.supervisor_start)
        )

    # -- starting ----------------------------------------------------------------------------
    def start_pair(self, row: PairRow, planned: float) -> str:
        if not self.records.claim_for_start(self.experiment, row.sweep, self.launch_id):
            return CANCELLED  # cancelled (or taken over) before its time came
        log_path = Path(row.log_path or "")
        try:
            fd = open_private_log(log_path)
        except OSError as e:
            return self.failed_to_start(
                row, f"cannot open the log file {log_path}: {e.strerror or e}"
            )
        try:
            header = (
                f"=== hwscale-tui {self.launch_text}: {row.sweep} starting at {_stamp(self.clock())} "
                f"(planned {_stamp(planned)}) ===\n$ {shlex.join(row.argv)}\n"
            )
            os.write(fd, header.encode())
            offset = os.lseek(fd, 0, os.SEEK_END)
            try:
                proc = spawn_in_new_session(row.argv, fd, env=self.env, cwd=self.cwd)
            except (OSError, ValueError) as e:
                message = f"cannot start {row.argv[0] if row.argv else '(empty command)'}: {getattr(e, 'strerror', None) or e}"
                os.write(fd, (message + "\n").encode())
                return self.failed_to_start(row, message)
        finally:
            os.close(fd)
        started = self.clock()
        child = OwnedChild(proc, started, log_path, offset)
        self.children[row.sweep] = child
        identity = process_start_time(proc.pid)
        # First the per-launch file (cancel's fallback when the store is damaged), then the store.
        registry.record_pair(
            self.experiment, row.sweep, pid=proc.pid, pgid=proc.pid, proc_start=identity
        )
        recorded = self.records.mark_running(
            self.experiment,
            row.sweep,
            pid=proc.pid,
            pgid=proc.pid,
            proc_start=identity,
            started_at=started,
        )
        if not recorded:  # cancelled while it was starting
            signal_group(proc.pid, signal.SIGTERM)
            child.kill_at = started + CANCELLED_WHILE_STARTING_GRACE_S
            self.say(
                f"{row.sweep} was cancelled while starting; stopping pid {proc.pid}",
                sweep=row.sweep,
            )
            return CANCELLED
        self.say(
            f"started {row.sweep} pid {proc.pid} ({started - planned:+.3f} s from plan); log {log_path}",
            kind="pair_started",
            sweep=row.sweep,
        )
        return RUNNING

    def failed_to_start(self, row: PairRow, message: str) -> str:
        self.records.mark_failed_to_start(self.experiment, row.sweep, [message], self.clock())
        self.say(
            f"{row.sweep} failed to start: {message}", kind="pair_failed_to_start", sweep=row.sweep
        )
        return FAILED_TO_START

    # -- reaping -----------------------------------------------------------------------------
    def reap(self, now: float) -> None:
        for sweep, child in list(self.children.items()):
            code = child.proc.poll()
            if code is None:
                if child.kill_at is not None and now >= child.kill_at:
                    signal_group(child.proc.pid, signal.SIGKILL)
                    child.kill_at = None
                continue
            fast = now - child.started_at < FAST_EXIT_S
            lines = first_lines(child.log_path, child.log_offset) if (code != 0 or fast) else None
            self.records.mark_ended(self.experiment, sweep, code, lines, now)
            del self.children[sweep]  # only once recorded: a failed write is retried next tick
            registry.forget_pair(self.experiment, sweep)
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            self.say(
                f"{sweep} ended with {how} after {now - child.started_at:.1f} s",
                kind="pair_exited",
                sweep=sweep,
            )
