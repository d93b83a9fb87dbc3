"""Process identity (pid + start time, so a reused pid is never mistaken for ours) and groups."""

from __future__ import annotations

import os

import psutil

# psutil's create_time has 10 ms resolution on Linux; stored values are compared with slack.
START_TIME_TOLERANCE_S = 0.05


def process_start_time(pid: int) -> float | None:
    """The start time (epoch seconds) of a running process, or None if there is none."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def is_same_process(pid: int | None, proc_start: float | None) -> bool:
    """True if ``pid`` still runs (not a zombie) and started at ``proc_start``."""
    if not pid or proc_start is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(proc.create_time() - proc_start) <= START_TIME_TOLERANCE_S
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def live_group_members(pgid: int) -> list[int]:
    """Pids of the non-zombie processes in process group ``pgid``."""
    members = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.info["pid"]) == pgid:
                members.append(proc.info["pid"])
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to a process group; False if the group no longer exists."""
    try:
        os.killpg(pgid, signum)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
