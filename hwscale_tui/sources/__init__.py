"""Trial sources: live trials from W&B or from the local store, as ``Trial`` records
(docs/sources.md).

    src = make_source(cfg)              # "local" for the builtin runner, "wandb" for metta
    poller = Poller(src, interval_s=5)  # the caller (a TUI worker, a CLI loop) calls poll_once()
    result = poller.poll_once()         # PollResult | None; poller.state says if data is stale
    curves = src.histories(run_ids)     # {run_id: [HistoryPoint]}; only changed runs are fetched

Nothing here imports ``wandb``: the W&B source imports it on its first poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..errors import UsageError
from ..store import Store
from .base import PollResult, SourceSettings, SourceUnavailable, TrialSource, experiment_sweeps
from .local_source import LocalSource
from .poller import Poller, PollerState
from .wandb_source import WandbSource, make_wandb_api

SOURCE_KINDS = ("local", "wandb")

__all__ = [
    "SOURCE_KINDS",
    "LocalSource",
    "PollResult",
    "Poller",
    "PollerState",
    "SourceSettings",
    "SourceUnavailable",
    "TrialSource",
    "WandbSource",
    "default_kind",
    "experiment_sweeps",
    "make_source",
    "make_wandb_api",
]


def default_kind(cfg: ExperimentConfig) -> str:
    """``wandb`` for Metta experiments (their trials live only in W&B), else ``local``."""
    return "wandb" if cfg.experiment.runner == "metta" else "local"


def make_source(
    cfg: ExperimentConfig,
    kind: str | None = None,
    *,
    store: Store | None = None,
    api_factory: Callable[[], Any] | None = None,
    settings: SourceSettings | None = None,
    clock: Callable[[], float] = time.time,
    cache_dir: Path | None = None,
) -> LocalSource | WandbSource:
    """The source for ``cfg``'s sweeps; cheap (no I/O, no wandb import) until the first poll."""
    kind = kind or default_kind(cfg)
    if kind == "local":
        return LocalSource(cfg, store=store, settings=settings, clock=clock)
    if kind == "wandb":
        return WandbSource(
            cfg, api_factory=api_factory, settings=settings, clock=clock, cache_dir=cache_dir
        )
    raise UsageError(f'unknown trial source {kind!r}; accepted: "local" or "wandb".')
