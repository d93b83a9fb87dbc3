"""What an analysis is asked to do: the target, the levels, the price, the bootstrap, the weights."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import UsageError

# The original script's scenarios: weights over (sample, time, cost) efficiency.
DEFAULT_SCENARIOS: dict[str, dict[str, float]] = {
    "research": {"sample": 0.6, "time": 0.2, "cost": 0.2},
    "development": {"sample": 0.2, "time": 0.6, "cost": 0.2},
    "budget": {"sample": 0.2, "time": 0.2, "cost": 0.6},
    "balanced": {"sample": 0.33, "time": 0.33, "cost": 0.34},
}
FOM_METRICS = ("sample", "time", "cost")
TARGET_KINDS = ("fraction", "absolute")
SMOOTHINGS = ("isotonic", "median")
GOALS = ("maximize", "minimize")


@dataclass(frozen=True)
class PriceInForce:
    """The $ per GPU-hour used where a trial logged no cost, and where it comes from."""

    usd_per_gpu_hour: float
    gpu_type: str
    spot: bool
    source: str

    def describe(self, unit: str = "GPUs") -> str:
        """The price, said plainly; with ``unit`` "ranks" (local mode) per CPU rank-hour."""
        kind = "spot" if self.spot else "on-demand"
        p = self.usd_per_gpu_hour
        if unit != "ranks":
            return f"{self.gpu_type} {kind} ${p:g}/GPU-hour ({self.source})"
        if self.gpu_type.lower() == "vcpu":
            return f"${p:g}/rank-hour, one cloud vCPU {kind} ({self.source})"
        return (
            f"HYPOTHETICAL ${p:g}/rank-hour, each CPU rank priced as one {self.gpu_type} "
            f"{kind} ({self.source})"
        )


UNITS = ("GPUs", "ranks")


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything ``analyze`` needs besides the data. Bad values raise ``UsageError``.

    ``target`` is a fraction of the best smoothed score across configs (``target_kind =
    "fraction"``) or a score (``"absolute"``); ``levels`` are fractions of the best smoothed score
    at which the ranking is re-checked. ``price_overrides`` maps ``"H100"`` / ``"H100:spot"`` to
    $ per GPU-hour; ``price_per_gpu_hour`` (the experiment file's) wins over both it and the
    dated table. Budgets bound ``P(reach within budget)``; the step budget defaults to the
    longest trial seen.
    """

    target: float = 0.9
    target_kind: str = "fraction"
    levels: tuple[float, ...] = (0.5, 0.75, 0.9)
    goal: str = "maximize"
    smoothing: str = "isotonic"
    smoothing_window: int = 5
    gpu_type: str = "H100"
    spot: bool = False
    price_per_gpu_hour: float | None = None
    price_overrides: Mapping[str, float] = field(default_factory=dict)
    n_boot: int = 1000
    seed: int = 0
    ci_level: float = 0.95
    scenarios: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: dict(DEFAULT_SCENARIOS)
    )
    geometric: bool = True
    budget_steps: float | None = None
    budget_time_s: float | None = None
    budget_cost_usd: float | None = None
    # What a "GPU" of the data is: "GPUs", or "ranks" when the pairs ran as local CPU processes
    # (local dispatcher + built-in trainer); every table, law and plot label uses it.
    unit: str = "GPUs"

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise UsageError(f"unit {self.unit!r} is unknown; accepted: {' or '.join(UNITS)}.")
        if self.target_kind not in TARGET_KINDS:
            raise UsageError(
                f"target kind {self.target_kind!r} is unknown; accepted: fraction or absolute."
            )
        if not math.isfinite(self.target):
            raise UsageError(f"target {self.target!r} is not a number; accepted: a finite number.")
        if self.target_kind == "fraction" and not 0 < self.target <= 1:
            raise UsageError(
                f"target {self.target:g} is not a fraction; accepted: a number in (0, 1], or an absolute target."
            )
        if not self.levels or any(not 0 < lv <= 1 for lv in self.levels):
            raise UsageError(
                f"levels {list(self.levels)} are not fractions; accepted: numbers in (0, 1] like 0.5 0.75 0.9."
            )
        if self.goal not in GOALS:
            raise UsageError(f"goal {self.goal!r} is unknown; accepted: maximize or minimize.")
        if self.smoothing not in SMOOTHINGS:
            raise UsageError(
                f"smoothing {self.smoothing!r} is unknown; accepted: isotonic or median."
            )
        if self.smoothing_window < 1:
            raise UsageError(
                f"smoothing window {self.smoothing_window} is too small; accepted: an integer >= 1."
            )
        if self.n_boot < 0:
            raise UsageError(
                f"bootstrap count {self.n_boot} is negative; accepted: an integer >= 0."
            )
        if not 0 < self.ci_level < 1:
            raise UsageError(
                f"confidence level {self.ci_level:g} is out of range; accepted: a number in (0, 1)."
            )
        prices = [self.price_per_gpu_hour, *self.price_overrides.values()]
        if any(p is not None and (not math.isfinite(p) or p < 0) for p in prices):
            raise UsageError(
                "a GPU price is negative or not a number; accepted: $ per GPU-hour >= 0."
            )
        for name, weights in self.scenarios.items():
            unknown = set(weights) - set(FOM_METRICS)
            if unknown:
                raise UsageError(
                    f"scenario {name!r} weighs {sorted(unknown)}; accepted weight keys: sample, time, cost."
                )
            total = sum(weights.values())
            if any(w < 0 for w in weights.values()) or abs(total - 1.0) > 1e-6:
                raise UsageError(
                    f"scenario {name!r} weights sum to {total:g}; accepted: weights >= 0 that sum to 1."
                )
        for label, budget in (
            ("step", self.budget_steps),
            ("time", self.budget_time_s),
            ("cost", self.budget_cost_usd),
        ):
            if budget is not None and not budget > 0:
                raise UsageError(
                    f"{label} budget {budget!r} is not positive; accepted: a number > 0."
                )

    def with_changes(self, **changes: Any) -> AnalysisSettings:
        return replace(self, **changes)

    def price(self) -> PriceInForce:
        """The price in force: the explicit price, else an override for this GPU type, else the table."""
        from ..prices import PRICES_AS_OF, price_per_gpu_hour

        if self.price_per_gpu_hour is not None:
            return PriceInForce(
                float(self.price_per_gpu_hour),
                self.gpu_type,
                self.spot,
                "set in the experiment or on the command line",
            )
        key = f"{self.gpu_type}:spot" if self.spot else self.gpu_type
        if key in self.price_overrides:
            return PriceInForce(
                float(self.price_overrides[key]),
                self.gpu_type,
                self.spot,
                f"price override for {key}",
            )
        table = price_per_gpu_hour(self.gpu_type, spot=self.spot)
        return PriceInForce(
            table.price,
            self.gpu_type,
            self.spot,
            f"price table as of {PRICES_AS_OF}: {table.source}",
        )


def settings_from_config(cfg: Any, **changes: Any) -> AnalysisSettings:
    """Settings from an ``ExperimentConfig`` ([analysis], [cost], sweep goal and seed), then ``changes``."""
    base: dict[str, Any] = {
        "target": float(cfg.analysis.target),
        "target_kind": cfg.analysis.target_kind,
        "goal": cfg.sweep.goal,
        "gpu_type": cfg.cost.gpu_type,
        "spot": bool(cfg.cost.spot),
        "price_per_gpu_hour": cfg.cost.price_per_gpu_hour,
        "seed": int(cfg.sweep.seed),
        "unit": "ranks" if getattr(cfg, "local_ranks", False) else "GPUs",
    }
    base.update({k: v for k, v in changes.items() if v is not None})
    return AnalysisSettings(**base)
