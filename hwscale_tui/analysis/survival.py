"""Kaplan-Meier over right-censored to-target values: median, P(reach within budget), bootstrap CIs.

Point estimates come from ``scipy.stats.ecdf`` on ``CensoredData``. The bootstrap re-weights the
same sorted data with multinomial counts and runs Kaplan-Meier for all resamples at once in
numpy (``km_by_counts``), which equals scipy's estimate when every count is 1 (a test checks).
The median is the smallest value at which the estimated P(reached) is at least 0.5; when the
curve never gets there the median is not reached (``inf``), never a placeholder. A P(reach) of
0 or 1 that every resample repeats (no trial reached within the budget, or all did) gets the
exact binomial interval instead of the bootstrap's, which has no width there. A median every
resample repeats (the trials reached the target at one value -- the same logged step, say) gets
no interval, as a law whose points lie exactly on it does: "[20k, 20k]" read as certainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .stats import percentile_ci, resample_counts


@dataclass(frozen=True)
class SurvivalSummary:
    """Kaplan-Meier summary of one config on one axis."""

    axis: str
    n: int
    n_reached: int
    median: float  # inf when P(reached) stays below 0.5
    median_ci: tuple[float, float]
    budget: float | None
    p_reach: float | None  # P(reached within budget)
    p_reach_ci: tuple[float, float] | None
    times: np.ndarray  # distinct values at which a trial reached the target
    p_reached: np.ndarray  # estimated P(reached by time) at ``times``
    followed_to: float  # the largest value any trial was observed at (its last logged value)
    # every bootstrap resample gave the same finite median: no spread, so no interval
    median_no_spread: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "axis": self.axis,
            "n": self.n,
            "n_reached": self.n_reached,
            "median": self.median,
            "median_ci": list(self.median_ci),
            "median_no_spread": self.median_no_spread,
            "budget": self.budget,
            "p_reach": self.p_reach,
            "p_reach_ci": list(self.p_reach_ci) if self.p_reach_ci else None,
            "followed_to": self.followed_to,
        }


def sort_censored(values: np.ndarray, reached: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by value; at equal values events come before censorings (they were still at risk)."""
    order = np.lexsort((~reached, values))
    return values[order], reached[order]


def km_by_counts(times: np.ndarray, events: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Kaplan-Meier survival after each sorted point, for every row of ``counts`` (B, n).

    ``times``/``events`` must come from :func:`sort_censored`. Tied events processed one after
    another give the same product as the grouped formula, so no tie handling is needed.
    """
    at_risk = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1].astype(float)
    died = counts * events[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1.0 - died / at_risk, 1.0)
    return np.cumprod(factor, axis=1)


def median_from_survival(times: np.ndarray, surv: np.ndarray) -> np.ndarray:
    """Smallest time with survival <= 0.5 per row (inf when none)."""
    hit = surv <= 0.5 + 1e-12
    first = np.argmax(hit, axis=1)
    return np.where(hit.any(axis=1), times[first], np.inf)


def p_reach_from_survival(times: np.ndarray, surv: np.ndarray, budget: float) -> np.ndarray:
    j = int(np.searchsorted(times, budget, side="right")) - 1
    if j < 0:
        return np.zeros(surv.shape[0])
    return 1.0 - surv[:, j]


def _exact_p_reach_ci(
    times: np.ndarray, events: np.ndarray, budget: float, p_reach: float, level: float
) -> tuple[float, float]:
    """The exact binomial (Clopper-Pearson) interval for a P(reach) of 0 or 1 that every
    resample repeats: no trial reached the target within the budget, or every trial did. The
    percentile bootstrap has no width there ("0% [0%, 0%]" from three trials), which reads as
    certainty and covers a true P(reach) of 0.2 in half the experiments of three trials.

    At 0: the trials followed to the budget (or to the end of the longest trial, where P(reach)
    is read when the budget lies past it) without reaching the target, 0 of them reaching it;
    a trial censored earlier says less and is not counted. At 1 every trial reached the target
    within the budget: all of them."""
    from scipy.stats import binomtest

    if p_reach == 0.0:
        n = int(np.sum(times >= min(budget, float(times.max()))))
        k = 0
    else:
        n = k = int(events.sum())
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return (float(ci.low), float(ci.high))


def kaplan_meier(
    values: np.ndarray,
    reached: np.ndarray,
    *,
    axis: str,
    budget: float | None,
    n_boot: int,
    rng: np.random.Generator,
    ci_level: float,
    followed_to: float | None = None,
) -> SurvivalSummary | None:
    """``values`` are to-target values where ``reached`` and censoring points where not.

    ``followed_to``: how far the trials were followed on this axis (their last logged value);
    without it, the largest of ``values``, which for a trial that reached the target is where
    it did, not where it ended."""
    from scipy.stats import CensoredData, ecdf

    ok = np.isfinite(values)
    values, reached = np.asarray(values, float)[ok], np.asarray(reached, bool)[ok]
    n = values.size
    if n == 0:
        return None
    times, events = sort_censored(values, reached)
    if events.any():
        res = ecdf(CensoredData(uncensored=times[events], right=times[~events]))
        q, p = res.cdf.quantiles, res.cdf.probabilities
        above = np.flatnonzero(p >= 0.5 - 1e-12)
        median = float(q[above[0]]) if above.size else float("inf")
        p_reach = float(res.cdf.evaluate(budget)) if budget is not None else None
        uniq, p_curve = q, p
    else:
        median, p_reach = float("inf"), (0.0 if budget is not None else None)
        uniq, p_curve = np.empty(0), np.empty(0)
    # no resamples (n_boot 0, or one trial: every resample is that trial): no interval, never
    # the estimate twice, which reads as a certain one
    median_ci: tuple[float, float] = (math.nan, math.nan)
    p_ci: tuple[float, float] | None = (math.nan, math.nan) if p_reach is not None else None
    no_spread = False
    if n_boot > 0 and n > 1:
        idx = rng.integers(0, n, size=(n_boot, n))
        counts = resample_counts(idx, n)
        surv = km_by_counts(times, events, counts)
        median_ci = percentile_ci(median_from_survival(times, surv), ci_level)
        if math.isfinite(median_ci[0]) and median_ci[0] == median_ci[1]:
            # "[20k, 20k]": the resamples have no spread (the trials reached the target at one
            # value), which is no certainty about the median: no interval, and a note says why
            median_ci, no_spread = (math.nan, math.nan), True
        if budget is not None:
            p_ci = percentile_ci(p_reach_from_survival(times, surv, budget), ci_level)
            if p_reach is not None and p_ci[0] == p_ci[1] == p_reach:
                p_ci = _exact_p_reach_ci(times, events, budget, p_reach, ci_level)
    return SurvivalSummary(
        axis=axis,
        n=n,
        n_reached=int(events.sum()),
        median=median,
        median_ci=median_ci,
        budget=budget,
        p_reach=p_reach,
        p_reach_ci=p_ci,
        times=uniq,
        p_reached=p_curve,
        followed_to=max(float(times.max()), followed_to or -np.inf),
        median_no_spread=no_spread,
    )
