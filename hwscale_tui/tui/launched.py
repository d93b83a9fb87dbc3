"""The experiment snapshot the latest launch froze (no Textual).

What the launched sweeps run with, not the editor's unsaved values: the launch screen's
estimates and the trials screen's progress (a running trial's share of
``sweep.total_timesteps``) read it. Re-read only when the file changes; call from a worker
(it reads a file).
"""

from __future__ import annotations

from typing import Any


class LaunchedConfig:
    """``get(experiment)``: the frozen config, or None when there is none or it cannot be read."""

    def __init__(self) -> None:
        self._snapshot: tuple[tuple[str, int], Any] | None = None  # (path, mtime), config

    def get(self, experiment: str) -> Any | None:
        from .. import config as cfgmod
        from ..errors import UsageError
        from ..paths import snapshot_path

        path = snapshot_path(experiment)
        try:
            key = (str(path), path.stat().st_mtime_ns)
        except OSError:
            return None
        if self._snapshot is None or self._snapshot[0] != key:
            try:
                self._snapshot = (key, cfgmod.load(path))
            except UsageError:
                return None
        return self._snapshot[1]
