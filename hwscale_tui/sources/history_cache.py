"""Learning curves on disk, keyed by run id, metric and the run's last history step.

A curve is fetched again only when its run logged more (its last step moved); otherwise the
cached points are used, also by the next process that opens the app. Files are 0600 JSON in
0700 dirs under ``app_paths().state / "cache" / "wandb"``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from urllib.parse import quote

from ..paths import ensure_private_dir, write_private_text
from ..records import HistoryPoint
from .base import finite_number

log = logging.getLogger(__name__)

# the longest file name kept before ".json" (file systems allow 255 bytes; quoted names are ASCII)
MAX_NAME = 200


def _readable(point: HistoryPoint) -> bool:
    """A cached point W&B's rows would give today: a finite agent step, wall time and score
    within ``base.NUMBER_LIMIT``. A curve cached before such rows were skipped kept its 1.7e308
    point under the run's last step -- a finished run's curve is never fetched again -- and it
    went on setting the analysis target."""
    return all(finite_number(v) is not None for v in (point.agent_step, point.wall_s, point.score))


class HistoryCache:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._memory: dict[tuple[str, str], tuple[str | None, list[HistoryPoint]]] = {}
        # why the last write to disk failed (the curves are then kept in memory only)
        self.write_error: str | None = None

    def _file(self, run_id: str, metric: str) -> Path:
        """``<run id>--<metric>.json``, percent-quoted; a name longer than a file name may be
        (255 bytes: a non-ASCII run id or metric quotes to 3 bytes per byte) is shortened and
        made unique with a hash of both: it failed to be written ("File name too long") and
        that run's curve was fetched again by every process."""
        name = f"{quote(run_id, safe='')}--{quote(metric, safe='')}"
        if len(name) > MAX_NAME:
            digest = hashlib.sha256(f"{run_id}\0{metric}".encode()).hexdigest()[:32]
            name = f"{name[: MAX_NAME - len(digest) - 1]}~{digest}"
        return self.root / f"{name}.json"

    def _load(self, run_id: str, metric: str) -> tuple[str | None, list[HistoryPoint]] | None:
        entry = self._memory.get((run_id, metric))
        if entry is not None:
            return entry
        try:
            data = json.loads(self._file(run_id, metric).read_text(encoding="utf-8"))
            points = [HistoryPoint(*p) for p in data["points"]]
            entry = (str(data["last_step"]), [p for p in points if _readable(p)])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self._memory[(run_id, metric)] = entry
        return entry

    def get(self, run_id: str, metric: str, last_step: str) -> list[HistoryPoint] | None:
        """The cached curve if it was fetched at this last step, else None."""
        entry = self._load(run_id, metric)
        return entry[1] if entry is not None and entry[0] == last_step else None

    def latest(self, run_id: str, metric: str) -> list[HistoryPoint] | None:
        """Whatever curve is cached, however old (used while W&B is unreachable)."""
        entry = self._load(run_id, metric)
        return entry[1] if entry is not None else None

    def put(
        self, run_id: str, metric: str, last_step: str | None, points: list[HistoryPoint]
    ) -> None:
        """Cache ``points``; ``last_step`` None (not known) is never fresh for :meth:`get`.

        Never raises for the disk: a cache that cannot be written (a file where its directory
        belongs, a full or read-only disk) keeps the curve in memory, logs why once, and the
        next process fetches it again. A curve W&B gave is never lost to its cache."""
        self._memory[(run_id, metric)] = (last_step, points)
        payload = {
            "run_id": run_id,
            "metric": metric,
            "last_step": last_step,
            "points": [[p.agent_step, p.wall_s, p.score, p.cost_usd] for p in points],
        }
        try:
            ensure_private_dir(self.root)
            write_private_text(
                self._file(run_id, metric), json.dumps(payload), fsync=False
            )  # a cache: no need to hit the disk
        except OSError as e:
            if self.write_error is None:
                log.warning(
                    "learning-curve cache %s cannot be written (%s); curves are kept in "
                    "memory only",
                    self.root,
                    e,
                )
            self.write_error = f"{type(e).__name__}: {e}"
