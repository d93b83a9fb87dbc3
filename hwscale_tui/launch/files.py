"""Where a launch keeps its files -- per-pair logs, the supervisor's log, the launch lock -- and
reading log lines back (the first lines of a pair that failed, the tail for ``status``/TUI)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..paths import app_paths, ensure_private_dir

MAX_LINE_CHARS = 500
FIRST_LINES = 20


def experiment_logs_dir(experiment: str) -> Path:
    """``<logs>/<experiment>/``: one ``<sweep>.log`` per pair."""
    return app_paths().logs / experiment


def pair_log_path(experiment: str, sweep: str) -> Path:
    return experiment_logs_dir(experiment) / f"{sweep}.log"


def supervisor_log_path(experiment: str) -> Path:
    """Kept apart from the pairs' logs, so a broken pair log dir still leaves the supervisor a log."""
    return app_paths().logs / "supervisor" / f"{experiment}.log"


@contextmanager
def experiment_lock(experiment: str) -> Iterator[None]:
    """Serialize launchers of one experiment (check-then-start is one step). An advisory
    ``flock`` on ``<state>/launch/<experiment>.lock``, released by the kernel if we die."""
    lock_dir = ensure_private_dir(app_paths().state / "launch")
    fd = os.open(lock_dir / f"{experiment}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock


def _clip(line: str) -> str:
    line = line.rstrip("\r\n")
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "..."


def first_lines(path: str | os.PathLike[str], offset: int = 0, n: int = FIRST_LINES) -> list[str]:
    """Up to ``n`` lines of ``path`` from byte ``offset`` (where this run's output began)."""
    out: list[str] = []
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            for raw in fh:
                out.append(_clip(raw.decode("utf-8", "replace")))
                if len(out) >= n:
                    break
    except OSError:
        return []
    return out


TAIL_MAX_BYTES = 1 << 20  # a log whose end has no newlines (progress bars) is read this far back


def log_tail(path: str | os.PathLike[str] | None, n: int = 50) -> list[str]:
    """The last ``n`` lines of a log (reads backwards in blocks, at most ``TAIL_MAX_BYTES``;
    [] when there is no file)."""
    if not path or n <= 0:
        return []
    block = 8192
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            pos = end = fh.tell()
            data = b""
            while pos > 0 and data.count(b"\n") <= n and end - pos < TAIL_MAX_BYTES:
                step = min(block, pos)
                pos -= step
                fh.seek(pos)
                data = fh.read(step) + data
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return [_clip(line) for line in lines[-n:]]
