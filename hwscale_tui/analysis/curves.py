"""Learning curves: smoothing and the first crossing of a target on steps, seconds or dollars.

A curve is smoothed (isotonic regression, or a centered rolling median), then the first logged
point at or past the target is found and the crossing is interpolated linearly from the point
before it. A curve that never crosses is right-censored at its last point: ``reached=False``,
``value=None``, ``censored_at`` = the last known axis value (a last point that logged no time
or cost is censored where the time or cost was last logged). Nothing is ever filled in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np

CURVE_LIMIT = float(2**53)  # the largest magnitude a curve's step or score may have

AXES = ("agent_step", "wall_s", "cost_usd")
_POINT_FIELDS = attrgetter("agent_step", "wall_s", "score")
_COST_FIELD = attrgetter("cost_usd")


@dataclass(frozen=True)
class ToTarget:
    """When a curve first reached the target on one axis (or where it was censored)."""

    value: float | None
    reached: bool
    censored_at: float | None
    axis: str

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "reached": self.reached,
            "censored_at": self.censored_at,
            "axis": self.axis,
        }


def history_frame(history: Any) -> dict[str, np.ndarray]:
    """Arrays ``agent_step, wall_s, score, cost_usd`` sorted by step from HistoryPoints or a DataFrame.

    Points with a missing step or score are dropped; a missing cost is NaN.
    """
    if hasattr(history, "columns"):  # a pandas DataFrame
        missing = {"agent_step", "score"} - set(history.columns)
        if missing:
            raise ValueError(
                f"history has no {'column' if len(missing) == 1 else 'columns'} {', '.join(sorted(missing))}; "
                "accepted: agent_step, wall_s, score[, cost_usd]"
            )
        step = history["agent_step"].to_numpy(dtype=float)
        wall = (
            history["wall_s"].to_numpy(dtype=float)
            if "wall_s" in history.columns
            else np.full(len(step), np.nan)
        )
        score = history["score"].to_numpy(dtype=float)
        cost = (
            history["cost_usd"].to_numpy(dtype=float)
            if "cost_usd" in history.columns
            else np.full(len(step), np.nan)
        )
    elif isinstance(getattr(history, "rows", None), list):  # records.HistoryRows: the store's rows
        rows = history.rows
        arr = (
            np.array(rows, dtype=float)  # a missing cost (None) becomes NaN
            if rows
            else np.empty((0, 4))
        )
        step, wall, score, cost = (np.ascontiguousarray(arr[:, k]) for k in range(4))
    else:
        points = list(history)
        n = len(points)
        arr = np.fromiter(
            chain.from_iterable(map(_POINT_FIELDS, points)), float, count=3 * n
        ).reshape(n, 3)
        step, wall, score = arr[:, 0], arr[:, 1], arr[:, 2]
        costs = list(map(_COST_FIELD, points))
        if costs.count(None) == n:
            cost = np.full(n, np.nan)
        else:
            cost = np.array([np.nan if c is None else c for c in costs], dtype=float)
    # beyond +-2**53 a point is an overflow or a logging bug, not a measurement (the sources'
    # own limit, sources/base.NUMBER_LIMIT): the local store's curves come here unchecked, and
    # a score of 1e308 set the target at 1.8e307
    keep = (
        np.isfinite(step)
        & np.isfinite(score)
        & (np.abs(step) <= CURVE_LIMIT)
        & (np.abs(score) <= CURVE_LIMIT)
    )
    if not keep.all():
        step, wall, score, cost = step[keep], wall[keep], score[keep], cost[keep]
    if step.size > 1 and np.any(np.diff(step) < 0):
        order = np.argsort(step, kind="stable")
        step, wall, score, cost = step[order], wall[order], score[order], cost[order]
    return {
        "agent_step": step,
        "wall_s": fill_wall_gaps(step, wall),
        "score": score,
        "cost_usd": cost,
    }


def fill_wall_gaps(step: np.ndarray, wall: np.ndarray) -> np.ndarray:
    """``wall`` with points that logged no wall time (NaN) between two that did filled in
    linearly over the steps (the clock runs on as training does); before the first and after the
    last logged time it stays unknown (NaN), never 0, so no time to target is read from there.
    """
    missing = ~np.isfinite(wall)
    if not missing.any() or missing.all():
        return wall
    at, clock = step[~missing], wall[~missing]
    inside = missing & (step >= at[0]) & (step <= at[-1])
    out = wall.copy()
    out[inside] = np.interp(step[inside], at, clock)
    return out


def smooth_scores(
    score: np.ndarray, method: str = "isotonic", window: int = 5, goal: str = "maximize"
) -> np.ndarray:
    """Isotonic regression (non-decreasing when maximizing) or a centered rolling median."""
    if score.size == 0:
        return score.copy()
    if method == "isotonic":
        from scipy.optimize import isotonic_regression

        return isotonic_regression(score, increasing=(goal == "maximize")).x
    if method == "median":
        import pandas as pd

        return pd.Series(score).rolling(window, center=True, min_periods=1).median().to_numpy()
    raise ValueError(f"smoothing {method!r} is unknown; accepted: isotonic or median")


class Curve:
    """One trial's learning curve with its smoothed score and three axes (steps, seconds, dollars)."""

    def __init__(
        self,
        agent_step: np.ndarray,
        wall_s: np.ndarray,
        score: np.ndarray,
        smoothed: np.ndarray,
        cost_usd: np.ndarray,
        goal: str = "maximize",
        monotone: bool = True,
    ):
        self.agent_step, self.wall_s, self.score = agent_step, wall_s, score
        self.smoothed, self.cost_usd = smoothed, cost_usd
        self.sign = 1.0 if goal == "maximize" else -1.0
        self.monotone = monotone

    @classmethod
    def from_history(
        cls, history: Any, *, smoothing: str = "isotonic", window: int = 5, goal: str = "maximize"
    ) -> Curve:
        h = history_frame(history)
        smoothed = smooth_scores(h["score"], smoothing, window, goal)
        return cls(
            h["agent_step"],
            h["wall_s"],
            h["score"],
            smoothed,
            h["cost_usd"],
            goal,
            smoothing == "isotonic",
        )

    def __len__(self) -> int:
        return int(self.agent_step.size)

    @property
    def best_smoothed(self) -> float:
        """The best value of the smoothed curve (the max when maximizing)."""
        if not len(self):
            return float("nan")
        return float(self.sign * np.max(self.sign * self.smoothed))

    def axis(self, name: str) -> np.ndarray:
        if name not in AXES:
            raise ValueError(f"axis {name!r} is unknown; accepted: {', '.join(AXES)}")
        return getattr(self, name)

    def crossing_index(self, target: float) -> int | None:
        """Index of the first smoothed point at or past the target, or None."""
        s = self.sign * self.smoothed
        t = self.sign * target
        if self.monotone:
            i = int(np.searchsorted(s, t, side="left"))
            return i if i < s.size else None
        hits = np.flatnonzero(s >= t)
        return int(hits[0]) if hits.size else None

    def to_target(self, target: float, axis: str = "wall_s") -> ToTarget:
        x = self.axis(axis)
        if not len(self):
            return ToTarget(None, False, None, axis)
        i = self.crossing_index(target)
        if i is None:
            # censored where it was last seen on this axis: a last point that logged no time
            # (or cost) does not make the whole trial unknown there, which left it out of the
            # Kaplan-Meier time and cost estimates as if it had never run (a median time for a
            # pair where 1 of 3 trials reached the target)
            known = x[np.isfinite(x)]
            return ToTarget(None, False, float(known[-1]) if known.size else None, axis)
        if i == 0:
            value = float(x[0])
        else:
            s0, s1 = self.sign * self.smoothed[i - 1], self.sign * self.smoothed[i]
            frac = (self.sign * target - s0) / (s1 - s0) if s1 != s0 else 1.0
            value = float(x[i - 1] + frac * (x[i] - x[i - 1]))
        return ToTarget(value if np.isfinite(value) else None, True, None, axis)


def time_to_target(
    history: Any,
    target: float,
    axis: str = "wall_s",
    *,
    smoothing: str = "isotonic",
    window: int = 5,
    goal: str = "maximize",
    usd_per_second: float | None = None,
) -> ToTarget:
    """First crossing of ``target`` by the smoothed curve on ``axis`` (agent_step, wall_s or cost_usd).

    ``history`` is a list of ``HistoryPoint`` or a DataFrame with ``agent_step, wall_s, score[,
    cost_usd]``. On the dollar axis a history without logged cost needs ``usd_per_second``
    (cost = wall seconds x rate); otherwise it is an error rather than a guess.
    """
    if axis not in AXES:
        raise ValueError(f"axis {axis!r} is unknown; accepted: {', '.join(AXES)}")
    curve = Curve.from_history(history, smoothing=smoothing, window=window, goal=goal)
    if axis == "cost_usd" and len(curve) and np.isnan(curve.cost_usd).all():
        if usd_per_second is None:
            raise ValueError(
                "the history logs no cost_usd; pass usd_per_second to price its wall time"
            )
        curve.cost_usd = curve.wall_s * usd_per_second
    return curve.to_target(target, axis)


def crossings(curve: Curve, targets: Sequence[float], axes: Sequence[str] = AXES) -> np.ndarray:
    """(len(targets), len(axes)) values to target; NaN where not reached."""
    out = np.full((len(targets), len(axes)), np.nan)
    for i, t in enumerate(targets):
        for j, ax in enumerate(axes):
            tt = curve.to_target(t, ax)
            if tt.reached and tt.value is not None:
                out[i, j] = tt.value
    return out
