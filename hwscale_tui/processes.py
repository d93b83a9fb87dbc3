"""Processes: identity (pid + start time), process groups, spawning in a session of its own, and
stopping a whole process tree (SIGTERM, then SIGKILL after a grace), and an event that signal
handlers may set. The one place for these: the supervisor, the sweep's local dispatcher, the
trainer and the CLI all use it.

A process is *ours* only when its pid and its start time (psutil ``create_time``) both match
what was recorded, so a recycled pid is never signalled. Zombies count as gone: orphans are
re-parented to a PID 1 that may never reap them.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

# create_time is derived from boot time + start ticks (1/HZ s); the same process always reads
# the same value, so anything further apart than this is a different process.
START_TIME_TOLERANCE_S = 0.05
POLL_INTERVAL_S = 0.05


def process_start_time(pid: int) -> float | None:
    """psutil's ``create_time`` of ``pid``, or None when no such process exists."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def is_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie (whatever process it is now)."""
    try:
        return _is_live(psutil.Process(pid))
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def _is_live(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def is_running(pid: int | None, proc_start: float | None) -> bool:
    """True when ``pid`` is alive, not a zombie, and started at ``proc_start``."""
    if not pid or proc_start is None:
        return False
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - proc_start) > START_TIME_TOLERANCE_S:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


@dataclass(frozen=True)
class ProcessEntry:
    proc: psutil.Process
    ppid: int
    pgid: int


def process_table() -> dict[int, ProcessEntry]:
    """Every live (non-zombie) process with its parent and process group, in one pass over /proc."""
    table: dict[int, ProcessEntry] = {}
    for proc in psutil.process_iter(["ppid", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.info["ppid"] is None:
            continue
        try:
            table[proc.pid] = ProcessEntry(proc, proc.info["ppid"], os.getpgid(proc.pid))
        except (ProcessLookupError, PermissionError):
            continue
    return table


def live_group_members(pgid: int) -> list[int]:
    """Pids of the live (non-zombie) processes in process group ``pgid``."""
    return [pid for pid, entry in process_table().items() if entry.pgid == pgid]


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; False when the group is gone or not ours to signal."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


@dataclass(frozen=True)
class ProcessGroupTarget:
    """A recorded sweep process: its group leader's pid, start time and process group."""

    pid: int
    pgid: int
    proc_start: float | None


@dataclass
class StopResult:
    """What stopping some process trees took."""

    signalled: int = 0  # distinct processes that were stopped
    per_group: dict[int, int] = field(
        default_factory=dict
    )  # pgid -> processes of that target's tree
    killed: int = 0  # of those, how many needed SIGKILL
    survivors: list[int] = field(
        default_factory=list
    )  # pids still alive at the end (should be empty)
    elapsed_s: float = 0.0


def _owned_group(target: ProcessGroupTarget) -> bool:
    """Whether signalling ``target.pgid`` reaches our processes, not a stranger reusing the pid."""
    start = process_start_time(target.pid)
    if start is None:
        # Leader gone: Linux never hands out a pid while a group of that id exists, so any
        # members left in the group are the leader's own children.
        return True
    return (
        target.proc_start is not None and abs(start - target.proc_start) <= START_TIME_TOLERANCE_S
    )


def _signal(proc: psutil.Process, sig: int) -> bool:
    try:
        proc.send_signal(sig)  # psutil refuses when the pid now belongs to another process
        return True
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def stop_process_trees(
    targets: Sequence[ProcessGroupTarget],
    grace_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> StopResult:
    """Stop every target's whole process tree: SIGTERM to its process group, SIGKILL after ``grace_s``.

    Descendants that left the group (children in sessions of their own) are tracked too: the
    group gets the first chance to stop them (a sweep cancels its own trials on SIGTERM); once
    the group is empty, strays still alive get SIGTERM; whatever is left at the deadline gets
    SIGKILL. Descendants are collected again on every poll, so a process spawned during the
    grace period is not missed.
    """
    t0 = clock()
    pgids = {t.pgid for t in targets if _owned_group(t)}
    tracked: dict[int, psutil.Process] = {}
    owner: dict[int, int] = {}  # pid -> the pgid of the target whose tree it belongs to

    def refresh() -> list[ProcessEntry]:
        """Track new group members and descendants of tracked processes; return the live ones."""
        table = process_table()
        children: dict[int, list[int]] = {}
        for pid, entry in table.items():
            children.setdefault(entry.ppid, []).append(pid)
            if entry.pgid in pgids and pid not in tracked:
                tracked[pid], owner[pid] = entry.proc, entry.pgid
        stack = [pid for pid in tracked if pid in table]
        while stack:
            parent = stack.pop()
            for child in children.get(parent, []):
                if child not in tracked:
                    tracked[child], owner[child] = table[child].proc, owner[parent]
                    stack.append(child)
        return [table[pid] for pid in tracked if pid in table]

    refresh()
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    result = StopResult()
    strays_signalled = False
    deadline = t0 + max(0.0, grace_s)
    while True:
        live = refresh()
        if not live:
            break
        if clock() >= deadline:
            result.killed = sum(_signal(e.proc, signal.SIGKILL) for e in live)
            kill_deadline = clock() + 5.0
            while refresh() and clock() < kill_deadline:
                time.sleep(POLL_INTERVAL_S)
            break
        if not strays_signalled and not any(e.pgid in pgids for e in live):
            for e in live:  # the group is gone but left these behind
                _signal(e.proc, signal.SIGTERM)
            strays_signalled = True
        time.sleep(POLL_INTERVAL_S)
    result.signalled = len(tracked)
    for pgid in owner.values():
        result.per_group[pgid] = result.per_group.get(pgid, 0) + 1
    result.survivors = [p.pid for p in tracked.values() if _is_live(p)]
    result.elapsed_s = clock() - t0
    return result


def open_private_log(path: Path) -> int:
    """Open ``path`` for appending (created 0600, its directory 0700); returns the fd."""
    from .paths import ensure_private_dir

    ensure_private_dir(path.parent)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def spawn_in_new_session(
    argv: Sequence[str],
    log_fd: int,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen:
    """Start ``argv`` in a session and process group of its own, detached from any terminal:
    stdin from /dev/null, stdout and stderr appended to ``log_fd``. Raises OSError when the
    executable is missing or not executable."""
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
        env=dict(env) if env is not None else None,
        cwd=cwd,
    )


class SignalSafeEvent:
    """An event a signal handler may set: ``set`` writes a byte to a pipe and takes no lock.

    ``threading.Event.set`` takes the event's lock, and ``Event.wait`` / ``clear`` hold that
    lock for a few bytecodes. Python runs a signal handler in the main thread between bytecodes,
    so a handler that sets a ``threading.Event`` while the main thread is inside ``wait`` blocks
    on a lock its own thread holds, and the process hangs for good (a sweep that never ends).
    Here ``wait`` sleeps in ``select`` on the pipe's read end, and ``set`` only assigns a flag and
    writes one byte, so it is safe at any point, from a handler or from another thread.
    """

    def __init__(self) -> None:
        self._flag = False
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._finalizer = weakref.finalize(self, _close_fds, self._r, self._w)

    def set(self) -> None:
        self._flag = True
        w = self._w
        if w < 0:  # closed: nobody waits any more
            return
        # A full pipe already wakes the waiter; a closed fd means the event was closed meanwhile.
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(w, b"\0")

    def is_set(self) -> bool:
        return self._flag

    def clear(self) -> None:
        self._flag = False
        self._drain()

    def wait(self, timeout: float | None = None) -> bool:
        """Return once the event is set or ``timeout`` seconds have passed; True when set."""
        if not self._flag and self._r >= 0:
            # select retries after a signal (PEP 475) with what is left of the timeout; a
            # handler that sets the event has written to the pipe, so select returns at once.
            select.select([self._r], [], [], timeout)
        self._drain()
        return self._flag

    def close(self) -> None:
        """Release the pipe; a later ``set`` (a handler still installed) does nothing."""
        self._w = self._r = -1  # before closing, so a handler never writes to a reused fd
        self._finalizer()

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._r, 4096):
                pass


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
