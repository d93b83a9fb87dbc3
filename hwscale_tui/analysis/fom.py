"""Figures of merit over max-normalized efficiencies, and the time-cost Pareto front with its knee.

The original's FOM: for each metric k (samples, time, cost to target; lower is better),
``efficiency_k = min over configs of metric_k / metric_k`` so the best config scores 1.0; a
config that never reached the target scores 0 on that metric. ``FOM = sum_k w_k efficiency_k``
per scenario; the weighted geometric mean ``prod_k efficiency_k ** w_k`` is the alternative
that never lets one excellent metric hide a zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..records import plural
from .settings import FOM_METRICS


def efficiency_matrix(values: np.ndarray) -> np.ndarray:
    """(..., C, 3) to-target values (NaN = not reached) -> efficiencies in [0, 1], 0 when not reached."""
    with np.errstate(invalid="ignore", divide="ignore"):
        reached = np.isfinite(values) & (values > 0)
        v = np.where(reached, values, np.nan)
        best = np.nanmin(np.where(reached, v, np.inf), axis=-2, keepdims=True)
        eff = np.where(reached, best / v, 0.0)
        # A metric that is 0 for some config (reached at the first point) makes that config best.
        zero = np.isfinite(values) & (values == 0)
        eff = np.where(zero.any(axis=-2, keepdims=True), np.where(zero, 1.0, 0.0), eff)
    return eff


def weight_vector(weights: Mapping[str, float]) -> np.ndarray:
    return np.array([float(weights.get(k, 0.0)) for k in FOM_METRICS])


def fom_scores(
    eff: np.ndarray, weights: Mapping[str, float], geometric: bool = False
) -> np.ndarray:
    """(..., C, 3) efficiencies -> (..., C) weighted arithmetic (or geometric) FOM."""
    w = weight_vector(weights)
    if not geometric:
        return eff @ w
    with np.errstate(divide="ignore"):
        logs = np.where(w > 0, np.log(eff), 0.0)
    return np.exp(logs @ w)


def fom_table(
    configs: Sequence[str],
    values: np.ndarray,
    scenarios: Mapping[str, Mapping[str, float]],
    geometric: bool,
) -> pd.DataFrame:
    """Config x (efficiencies, each scenario's FOM [, its geometric FOM])."""
    eff = efficiency_matrix(values)
    data: dict[str, Any] = {f"eff_{k}": eff[:, i] for i, k in enumerate(FOM_METRICS)}
    for name, weights in scenarios.items():
        data[name] = fom_scores(eff, weights)
    if geometric:
        for name, weights in scenarios.items():
            data[f"{name}_geometric"] = fom_scores(eff, weights, geometric=True)
    return pd.DataFrame(data, index=pd.Index(list(configs), name="config"))


class ParetoPoint(NamedTuple):
    time_s: float
    cost_usd: float
    config: str
    on_front: bool


@dataclass
class ParetoFront:
    """Every config with both values, the front (fastest first) and the knee (the best compromise)."""

    points: list[ParetoPoint]
    front: list[ParetoPoint]
    knee: str | None
    note: str

    @property
    def front_configs(self) -> list[str]:
        return [p.config for p in self.front]

    def to_json(self) -> dict[str, Any]:
        return {
            "front": self.front_configs,
            "knee": self.knee,
            "note": self.note,
            "points": [p._asdict() for p in self.points],
        }


def pareto_front(configs: Sequence[str], time_s: np.ndarray, cost_usd: np.ndarray) -> ParetoFront:
    """Sort by time, keep strictly decreasing cost (and a point equal to the last kept on both:
    it is not dominated); the knee is the distinct point farthest from the end-to-end chord in
    log-log."""
    t = np.asarray(time_s, dtype=float)
    c = np.asarray(cost_usd, dtype=float)
    ok = np.isfinite(t) & np.isfinite(c)
    order = [int(i) for i in np.lexsort((c, t)) if ok[i]]
    front_idx: list[int] = []
    for i in order:
        last = front_idx[-1] if front_idx else None
        # a point the last one equals on both is not dominated by it (identical pairs)
        if last is None or c[i] < c[last] or (t[i] == t[last] and c[i] == c[last]):
            front_idx.append(i)
    on = set(front_idx)
    points = [ParetoPoint(float(t[i]), float(c[i]), configs[i], i in on) for i in order]
    front = [ParetoPoint(float(t[i]), float(c[i]), configs[i], True) for i in front_idx]
    if not front:
        return ParetoFront(points, [], None, "no config reached the target on both time and cost")
    # the knee is of distinct points: configs that tie on both are one point of the curve
    distinct = [
        i
        for k, i in enumerate(front_idx)
        if k == 0 or (t[i], c[i]) != (t[front_idx[k - 1]], c[front_idx[k - 1]])
    ]
    if len(distinct) < 3:
        what = "point" if len(distinct) == len(front_idx) else "distinct point"
        return ParetoFront(
            points, front, None, f"{plural(len(distinct), what)} on the front: a knee needs 3"
        )
    if np.any(t[distinct] <= 0) or np.any(c[distinct] <= 0):
        return ParetoFront(points, front, None, "a zero time or cost on the front: no log-log knee")
    lx, ly = np.log(t[distinct]), np.log(c[distinct])
    dx, dy = lx[-1] - lx[0], ly[-1] - ly[0]
    dist = np.abs(dy * (lx - lx[0]) - dx * (ly - ly[0])) / np.hypot(dx, dy)
    knee = configs[distinct[int(np.argmax(dist))]]
    return ParetoFront(
        points,
        front,
        knee,
        "knee = the front point farthest from the chord between its ends (log-log)",
    )
