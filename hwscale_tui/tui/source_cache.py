"""Trial sources kept for the app session, one per source kind (no Textual).

Making a source is cheap, but a fresh one starts cold: a W&B source checks the login and
fetches every run and curve again on its first poll. So a screen keeps its sources here: each
is made on first use (inside a thread worker, since the sources module imports the core) and
reused until the part of the experiment it reads changes (a grid edit, another W&B project).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..config import ExperimentConfig

if TYPE_CHECKING:
    from ..sources import TrialSource
    from .services import SourcesApi


def source_key(cfg: ExperimentConfig) -> tuple:
    """What a trial source reads from the experiment: its sweeps (of generations 1 to the
    newest), the W&B location, the metrics."""
    g = cfg.grid
    return (
        cfg.name,
        cfg.generation,
        tuple(g.gpu_counts),
        tuple(g.node_counts),
        g.max_gpus_per_node,
        tuple(g.exclude),
        cfg.wandb.entity,
        cfg.wandb.effective_project,
        cfg.sweep.metric,
        cfg.analysis.curve_metric,
    )


class SourceCache:
    """One trial source per kind, made by ``sources.make_source`` and reused while its config holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[str, tuple[tuple, TrialSource]] = {}  # kind -> (source_key, source)

    def get(
        self, sources: SourcesApi, cfg: ExperimentConfig, kind: str
    ) -> tuple[TrialSource, bool]:
        """The source of ``kind`` for ``cfg``, and whether it was just made."""
        key = source_key(cfg)
        with self._lock:
            kept = self._sources.get(kind)
            if kept is not None and kept[0] == key:
                return kept[1], False
            source = sources.make_source(cfg, kind)
            self._sources[kind] = (key, source)
            return source, True
