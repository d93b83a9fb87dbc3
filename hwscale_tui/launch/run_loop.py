"""The supervisor's loop: start each pair of one launch at its planned time, reap the sweeps it
started, and record everything in the store.

It owns the pairs whose ``launch_id`` is its launch. Each tick it reaps exited children (exit
code, end time, first log lines of a pair that failed or ended at once), then starts the pairs
that are due: staggered ones at their planned time, sequential ones when the previous pair has
ended. Cancels come from outside (``hwscale-tui cancel`` writes the store and signals the
process groups itself); the loop only honours them: a pair cancelled before its start is never
claimed, and one cancelled while starting is stopped as soon as its process exists.

A sweep runner that dies (SIGKILL, the OOM killer) or exits with an error while local trials it
started still run leaves them with no owner. The loop stops them as ``cancel`` stops a dead
runner's trials (their process trees: SIGTERM, SIGKILL after ``ORPHAN_GRACE_S``), in a thread
of its own so that the other pairs are still reaped and started on time, records them killed
and says so; in a sequential launch the next pair starts only once they are gone. A dead
runner's cluster jobs (Slurm, SkyPilot) are left running for a new runner to re-attach
(``launch --only PAIR``) or ``cancel`` to cancel, and the log says so.
"""

from __future__ import annotations

import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO, cast

from .. import config as cfgmod
from ..errors import StoreError, store_error_sentence
from ..hardware import pair_tag_of
from ..processes import (
    ProcessGroupTarget,
    SignalSafeEvent,
    StopResult,
    is_running,
    open_private_log,
    process_start_time,
    signal_group,
    spawn_in_new_session,
    stop_process_trees,
)
from ..records import plural
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
from .trial_control import (
    ORPHAN_GRACE_S,
    cluster_jobs_text,
    end_orphan_trial_rows,
    left_running,
    orphan_jobs,
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


@dataclass
class LeftTrials:
    """Local trials a dead sweep runner left running, which this supervisor stops."""

    how: str  # how the runner ended: "signal 9", "exit code 1"
    targets: dict[str, ProcessGroupTarget]  # run id -> its process group
    thread: threading.Thread | None = None
    result: StopResult | None = None  # set by the thread once it is done
    error: str | None = None  # what went wrong in the thread, if anything
    recorded: bool = False  # the store records them
    said_survivors: bool = False

    def stop(self) -> None:
        """The thread's work: stop every target's process tree (no store access here)."""
        try:
            self.result = stop_process_trees(list(self.targets.values()), ORPHAN_GRACE_S)
        except Exception as e:  # never let a psutil surprise end the thread unsaid
            self.error = f"{type(e).__name__}: {e}"

    def alive(self) -> list[int]:
        """Pids of the trials (group leaders) that still run."""
        return [t.pid for t in self.targets.values() if is_running(t.pid, t.proc_start)]


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
        # per sweep: trials its dead runner left running, being stopped (or not gone yet)
        self.stopping: dict[str, LeftTrials] = {}
        # launch --foreground: once stopped (ctrl+c, SIGTERM, SIGHUP) its command cancels the
        # launch's pairs, so nothing keeps running or stays scheduled
        self.foreground = foreground

    # -- reporting ---------------------------------------------------------------------------
    def say(
        self,
        message: str,
        *,
        kind: str | None = None,
        sweep: str | None = None,
        run_id: str | None = None,
    ) -> None:
        print(f"{_stamp(self.clock())} {message}", file=self.out, flush=True)
        if kind:
            self.store.add_event(kind, message, sweep=sweep, run_id=run_id)

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
                if not self.children and not pending and not self.stopping:
                    break
                wait = (
                    TICK_S if next_due is None else min(TICK_S, max(0.0, next_due - self.clock()))
                )
                self.stop.wait(wait)
        except KeyboardInterrupt:
            status = LAUNCH_STOPPED
        self.finish_stopping()
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
            # a pair whose dead runner's trials are still being stopped has not ended yet:
            # the next one would share the cores with them
            before_ended = (
                before_ended and status in ENDED_STATUSES and row.sweep not in self.stopping
            )
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
            # a runner that died or failed may leave trials running (read before the pair is
            # recorded ended: a failed store read is retried next tick with the rest)
            left = left_running(self.store, self.experiment, sweep) if code != 0 else {}
            self.records.mark_ended(self.experiment, sweep, code, lines, now)
            del self.children[sweep]  # only once recorded: a failed write is retried next tick
            registry.forget_pair(self.experiment, sweep)
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            if left:  # under way before anything is said: a failed event write loses no stop
                self.stop_left_trials(sweep, how, left)
            self.say(
                f"{sweep} ended with {how} after {now - child.started_at:.1f} s",
                kind="pair_exited",
                sweep=sweep,
            )
            if left:
                self.say_stopping(sweep, how, left)
            if code != 0:
                self.note_cluster_jobs(sweep, how)
        self.settle_stopping()

    # -- trials a dead sweep runner left running ---------------------------------------------
    def stop_left_trials(
        self, sweep: str, how: str, targets: dict[str, ProcessGroupTarget]
    ) -> None:
        """Start stopping ``targets`` (the trials ``sweep``'s dead runner left) in a thread."""
        left = LeftTrials(how, targets)
        left.thread = threading.Thread(target=left.stop, name=f"stop-orphans-{sweep}", daemon=True)
        self.stopping[sweep] = left
        left.thread.start()

    def say_stopping(self, sweep: str, how: str, targets: dict[str, ProcessGroupTarget]) -> None:
        trials = ", ".join(f"{run_id} (pid {t.pid})" for run_id, t in targets.items())
        what = (
            f"trial {trials} running; stopping it"
            if len(targets) == 1
            else f"{plural(len(targets), 'trial')} running: {trials}; stopping them"
        )
        self.say(
            f"{sweep}'s sweep runner ended with {how} and left {what} (SIGTERM to each "
            f"process group, SIGKILL after {ORPHAN_GRACE_S:g} s)",
            kind="orphan_stopping",
            sweep=sweep,
        )

    def settle_stopping(self) -> None:
        """Record the trials whose stop has finished; forget them once none of them runs."""
        for sweep, left in list(self.stopping.items()):
            if left.thread is not None and left.thread.is_alive():
                continue
            if not left.recorded:
                self.record_stopped(sweep, left)
                left.recorded = True
            survivors = left.alive()
            if survivors:
                if not left.said_survivors:
                    self.say(
                        f"{sweep}: {plural(len(survivors), 'trial')} its dead sweep runner left "
                        f"still {'runs' if len(survivors) == 1 else 'run'} after SIGKILL "
                        f"(pid {', '.join(map(str, survivors))}); a sequential launch starts "
                        "its next pair once they are gone",
                        kind="orphan_survives",
                        sweep=sweep,
                    )
                    left.said_survivors = True
                continue
            for run_id in left.targets:
                registry.forget_trial(self.experiment, run_id)
            del self.stopping[sweep]

    def record_stopped(self, sweep: str, left: LeftTrials) -> None:
        """Record the stopped trials as ``cancel`` records a dead runner's trials (killed, or
        finished from their metrics file), and say so, one line per trial."""
        why = f"stopped by its supervisor after its sweep runner ended with {left.how}"
        end_orphan_trial_rows(self.store, sweep, self.clock(), why=why, sweep_status=None)
        result = left.result
        for run_id, target in left.targets.items():
            row = self.store.get_trial_row(run_id)
            state = row["state"] if row else "not in the store"
            if result is None:
                done = f"stopping it failed ({left.error})"
            else:
                count = result.per_group.get(target.pgid, 0)
                done = (
                    f"{plural(count, 'process', 'processes')} stopped in {result.elapsed_s:.2f} s"
                    + (" (SIGKILL needed)" if result.killed else "")
                )
            self.say(
                f"stopped trial {run_id} (pid {target.pid}) of {sweep}, left running by its "
                f"dead sweep runner ({left.how}): {done}; the store records it {state}",
                kind="orphan_stopped",
                sweep=sweep,
                run_id=run_id,
            )

    def note_cluster_jobs(self, sweep: str, how: str) -> None:
        """Cluster jobs a dead runner left in flight are left running (a new runner re-attaches
        them): say so, with the commands that re-attach or cancel them."""
        jobs = orphan_jobs(self.experiment, [sweep]).get(sweep, [])
        if not jobs:
            return
        tag = pair_tag_of(sweep)
        self.say(
            f"{sweep}'s sweep runner ended with {how} and left "
            f"{plural(len(jobs), 'trial')} in flight as cluster jobs ({cluster_jobs_text(jobs)}); "
            f"they are left running: hwscale-tui launch --experiment-name {self.experiment} "
            f"--only {tag} re-attaches them, hwscale-tui cancel --experiment-name "
            f"{self.experiment} {tag} cancels them",
            kind="orphan_left",
            sweep=sweep,
        )

    def finish_stopping(self) -> None:
        """Before the launch ends: wait for the stops under way and record them (each is
        bounded: the grace, then SIGKILL)."""
        for left in self.stopping.values():
            if left.thread is not None:
                left.thread.join()
        try:
            self.settle_stopping()
        except (sqlite3.Error, StoreError) as e:
            print(
                f"cannot record the trials stopped: {store_error_sentence(self.store.path, e)}",
                file=self.out,
                flush=True,
            )
