"""Named POSIX semaphores of multi-rank trials, cleaned up after a SIGKILL.

A trial's rank barrier lives in named semaphores (``/dev/shm/sem.mp-*``). They are unlinked by
Python's resource tracker at exit -- unless the whole process group is SIGKILLed (a cancel after
its grace period, the OOM killer), tracker included, which leaks them. So every multi-rank
trial notes its semaphore names with its identity under ``<state>/shm/``, and the next trial
to start unlinks the names of trials that are no longer running (``hwscale-tui doctor`` too).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from ..paths import app_paths, ensure_private_dir, write_private_text

SHM_DIR = Path("/dev/shm")


def _records_dir() -> Path:
    return app_paths().state / "shm"


def semaphore_names(obj: Any) -> list[str]:
    """The names of the named semaphores inside a multiprocessing Barrier/Condition/Lock."""
    import multiprocessing.synchronize as mps

    names: list[str] = []
    stack, seen = [obj], set()
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, mps.SemLock):
            name = getattr(getattr(o, "_semlock", None), "name", None)
            if name:
                names.append(str(name))
        if isinstance(o, (mps.SemLock, mps.Condition, mps.Barrier)):
            stack.extend(v for v in vars(o).values() if hasattr(v, "__dict__"))
    return names


def record(names: list[str], pid: int, proc_start: float | None) -> None:
    """Note this trial's semaphores (best effort: a failure never stops training)."""
    if not names:
        return
    try:
        d = ensure_private_dir(_records_dir())
        write_private_text(
            d / f"{pid}.json",
            json.dumps({"pid": pid, "proc_start": proc_start, "names": names}),
            fsync=False,
        )
    except OSError:
        return


def _shm_file(name: str) -> Path:
    return SHM_DIR / f"sem.{name.lstrip('/')}"


def leaked(is_running: Any) -> list[tuple[Path, list[Path]]]:
    """(record, semaphore files still present) of trials that are no longer running."""
    out: list[tuple[Path, list[Path]]] = []
    try:
        records = sorted(_records_dir().glob("*.json"))
    except OSError:
        return out
    for rec in records:
        try:
            data = json.loads(rec.read_text(encoding="utf-8"))
            pid, start, names = data["pid"], data.get("proc_start"), list(data["names"])
        except (OSError, ValueError, KeyError, TypeError):
            out.append((rec, []))  # unreadable: drop it
            continue
        if is_running(pid, start):
            continue
        out.append((rec, [f for f in map(_shm_file, names) if f.exists()]))
    return out


def clean_leaked(is_running: Any) -> int:
    """Unlink the semaphores of trials that died without cleaning up; returns how many."""
    removed = 0
    for rec, files in leaked(is_running):
        for f in files:
            try:
                f.unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError:
                continue
        with contextlib.suppress(OSError):
            rec.unlink()
    return removed


def _is_running(pid: int, start: float | None) -> bool:
    """The recording process still runs (any process with that pid if its start is unknown)."""
    from ..processes import is_alive, is_running

    return is_alive(pid) if start is None else is_running(pid, start)


def clean_at_start() -> int:
    """What a multi-rank trial calls before creating its own semaphores."""
    return clean_leaked(_is_running)


def record_own(barrier: Any) -> None:
    from ..processes import process_start_time

    pid = os.getpid()
    record(semaphore_names(barrier), pid, process_start_time(pid))
