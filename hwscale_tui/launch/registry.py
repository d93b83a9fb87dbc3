"""The per-launch file: what runs for an experiment, kept beside the store.

``<data>/running/<experiment>.json`` lists the supervisor, every running pair's process group
and identity (pid, pgid, process start time), and every running trial (its process group, or
its cluster job: a SkyPilot job name, a Slurm job id) with the identity of the sweep runner that
owns it. Writers -- the supervisor, each sweep runner -- update it under an advisory lock with
an atomic replace, so it is never half-written. ``cancel`` reads it when the store is damaged
or missing, and to stop trials whose sweep runner died (orphans). It is a best-effort mirror:
a failure to write it never stops a launch or a sweep.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..paths import app_paths, ensure_private_dir, write_private_text

VERSION = 1
# A sweep runner's exit code after it stopped cleanly on a full disk (EX_TEMPFAIL):
# ``launch --resume`` continues such a pair once there is space again.
EXIT_STORE_UNAVAILABLE = 75


def registry_path(experiment: str) -> Path:
    return app_paths().data / "running" / f"{experiment}.json"


def _empty(experiment: str) -> dict[str, Any]:
    return {"version": VERSION, "experiment": experiment, "pairs": {}, "trials": {}}


def read(experiment: str) -> dict[str, Any]:
    """The file's content ({} sections when it is missing or unreadable; never raises)."""
    try:
        data = json.loads(registry_path(experiment).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _empty(experiment)
    return _with_sections(data) if isinstance(data, dict) else _empty(experiment)


def _with_sections(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a ``pairs`` and a ``trials`` mapping (empty where one is missing or not one)."""
    for key in ("pairs", "trials"):
        if not isinstance(data.get(key), dict):
            data[key] = {}
    return data


@contextlib.contextmanager
def _locked(experiment: str) -> Iterator[None]:
    path = registry_path(experiment)
    ensure_private_dir(path.parent)
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def damaged_copies(experiment: str) -> list[Path]:
    """Copies of the file set aside because they could not be parsed (newest last)."""
    path = registry_path(experiment)
    return sorted(path.parent.glob(f"{path.name}.damaged-*"))


def _read_for_update(experiment: str) -> dict[str, Any] | None:
    """The file's content for a writer: empty when it is missing; None when it exists but
    cannot be read (its permissions, an I/O error), so that the writer does not replace what
    it could not see. A file that reads but does not parse (damaged by hand or by the disk) is
    renamed ``<name>.damaged-<time>`` first, and the writer starts a new one: the launch goes on
    and the old entries (cluster jobs ``cancel`` may still need) are kept for a person to read."""
    path = registry_path(experiment)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _empty(experiment)
    except (OSError, ValueError):  # ValueError: not UTF-8
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return _with_sections(data)
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    try:
        os.replace(path, aside)
    except OSError:
        return None
    return _empty(experiment)


def update(experiment: str, change: Callable[[dict[str, Any]], None]) -> bool:
    """Read-modify-write under the lock; False (nothing raised) if the file cannot be read or
    written."""
    try:
        with _locked(experiment):
            data = _read_for_update(experiment)
            if data is None:
                return False
            change(data)
            data["updated_at"] = time.time()
            write_private_text(registry_path(experiment), json.dumps(data, indent=1), fsync=False)
        return True
    except OSError:
        return False


def record_supervisor(experiment: str, launch_id: int, pid: int, start: float | None) -> bool:
    def change(d: dict[str, Any]) -> None:
        d["supervisor"] = {"launch_id": launch_id, "pid": pid, "proc_start": start}

    return update(experiment, change)


def record_pair(
    experiment: str, sweep: str, *, pid: int, pgid: int, proc_start: float | None
) -> bool:
    def change(d: dict[str, Any]) -> None:
        d["pairs"][sweep] = {
            "pid": pid,
            "pgid": pgid,
            "proc_start": proc_start,
            "started_at": time.time(),
        }

    return update(experiment, change)


def forget_pair(experiment: str, sweep: str) -> bool:
    return update(experiment, lambda d: d["pairs"].pop(sweep, None))


def record_trial(
    experiment: str,
    sweep: str,
    run_id: str,
    *,
    runner_pid: int,
    runner_start: float | None,
    fields: dict[str, Any],
    dispatcher: str,
) -> bool:
    """A trial that started: its process group (local) or its cluster job (``job_name`` for
    SkyPilot, ``slurm_job_id``), and the sweep runner that owns it."""

    def change(d: dict[str, Any]) -> None:
        entry = {
            "sweep": sweep,
            "dispatcher": dispatcher,
            "runner_pid": runner_pid,
            "runner_start": runner_start,
        }
        for key in ("pid", "pgid", "proc_start", "job_name", "slurm_job_id"):
            if fields.get(key) is not None:
                entry[key] = fields[key]
        d["trials"][run_id] = entry

    return update(experiment, change)


def cluster_job(entry: Any) -> str | None:
    """The cluster job a trial entry records: a Slurm job id (``slurm_job_id`` as ``cancel``
    writes it, ``job_name`` as the sweep runner does) or a SkyPilot job name; None for a local
    process group or an entry that is not one."""
    if not isinstance(entry, dict) or entry.get("pgid"):
        return None
    job = entry.get("slurm_job_id") or entry.get("job_name")
    return str(job) if job else None


def forget_trial(experiment: str, run_id: str) -> bool:
    return update(experiment, lambda d: d["trials"].pop(run_id, None))


def latest_experiment() -> str | None:
    """The experiment whose per-launch file changed last (None when there is none)."""
    try:
        files = list((app_paths().data / "running").glob("*.json"))
        newest = max(files, key=lambda f: f.stat().st_mtime, default=None)
    except OSError:
        return None
    return newest.stem if newest is not None else None
