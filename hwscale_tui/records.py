"""The Trial record and history point (docs/sources.md, The record) that every source yields."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# "awaiting_eval" (shown "awaiting eval"): trained to its timesteps but not yet scored; Metta
# evaluates in a separate job (metta/adaptive/stores/wandb.py:197-215 at Metta 7c1a7ff418).
TRIAL_STATES = ("queued", "running", "awaiting_eval", "finished", "failed", "killed", "stale")
TERMINAL_STATES = ("finished", "failed", "killed", "stale")
# What counts toward a sweep's max_trials: killed trials are replaced by a new suggestion.
BUDGETED_STATES = ("finished", "failed")
SOURCES = ("local", "wandb")


@dataclass
class Trial:
    sweep: str
    run_id: str
    gpus: int | None
    nodes: int | None
    state: str
    params: dict[str, Any] = field(default_factory=dict)  # flat, dotted keys
    score: float | None = None
    cost_usd: float | None = None
    agent_steps: float | None = None
    runtime_s: float | None = None
    sps: float | None = None
    created_at: float | None = None  # epoch seconds
    updated_at: float | None = None
    source: str = "local"
    flags: list[str] = field(default_factory=list)  # data problems found while normalizing
    generation: int = 1  # the experiment's run this trial belongs to (its sweep name's .gen<N>)

    @property
    def total_gpus(self) -> int | None:
        return self.gpus * self.nodes if self.gpus and self.nodes else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    agent_step: float
    wall_s: float
    score: float
    cost_usd: float | None = None
