"""A trial's metrics file: one JSON object per line (the trainer's contract), read as it grows.

Per-update lines carry ``metric/agent_step``, ``metric/total_time``, ``overview/sps``,
``overview/reward`` and ``score``; the final line adds ``sweep/score``, ``sweep/cost``,
``final: true`` and ``state``. Lines that are not complete JSON objects are skipped (a writer
may be mid-line).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# Our history columns <- the metrics keys (W&B key contract, docs/architecture.md), with plain-name fallbacks.
HISTORY_KEYS: dict[str, tuple[str, ...]] = {
    "agent_step": ("metric/agent_step", "agent_step"),
    "wall_s": ("metric/total_time", "wall_s"),
    "score": ("score",),
    "reward": ("overview/reward", "reward"),
    "sps": ("overview/sps", "sps"),
}


def finite(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def pick(record: dict[str, Any], names: tuple[str, ...]) -> float | None:
    for name in names:
        value = finite(record.get(name))
        if value is not None:
            return value
    return None


def history_row(record: dict[str, Any]) -> dict[str, float | None]:
    """A store history row (``Store.append_history``) from one metrics line."""
    return {column: pick(record, names) for column, names in HISTORY_KEYS.items()}


class MetricsTail:
    """Reads only the lines appended since the last call."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self.final: dict[str, Any] | None = None
        self.last: dict[str, Any] | None = None

    def read_new(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        records = []
        for line in chunk[: end + 1].splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                records.append(rec)
                self.last = rec
                if rec.get("final") is True:
                    self.final = rec
        return records


def read_final(path: Path) -> dict[str, Any] | None:
    """The last ``final: true`` line of a metrics file, or None."""
    tail = MetricsTail(path)
    tail.read_new()
    return tail.final
