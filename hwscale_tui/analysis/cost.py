"""The dollar axis of a curve: logged cost when the trial has it, else price x billed nodes x hours."""

from __future__ import annotations

import math

import numpy as np

from ..hardware import HardwarePair
from ..prices import job_cost_usd
from ..records import Trial
from .curves import Curve
from .settings import PriceInForce

COST_LOGGED_HISTORY = "logged (history)"
COST_LOGGED_TOTAL = "logged (trial total, pro-rated by wall time)"
COST_PRICED = "estimated: price x billed nodes x hours (no cost logged)"
COST_UNKNOWN = "unknown (no wall time)"


def attach_cost_axis(curve: Curve, trial: Trial, pair: HardwarePair, price: PriceInForce) -> str:
    """Fill ``curve.cost_usd`` and return which cost source was used.

    1. cost logged in the history (gaps between logged costs interpolated over wall time;
       before the first and after the last, unknown);
    2. the trial's logged total, spread over its wall time;
    3. ``price`` for every GPU of every billed node (``pair.gpus`` per node x ``pair.nodes``) for the
       wall time -- clouds bill whole nodes for the whole job.
    """
    logged = np.isfinite(curve.cost_usd)
    wall = curve.wall_s
    has_wall = np.isfinite(wall).any() and np.nanmax(wall) > 0 if wall.size else False
    if logged.any():
        if not logged.all():
            # between two logged costs, linear over the wall time; before the first and after
            # the last it stays unknown (np.interp held the end values: a crossing after the
            # last logged cost cost no more than it), and a logged cost is kept as logged
            known = logged & np.isfinite(wall)
            filled = np.full(len(curve), np.nan)
            if known.sum() >= 2:
                filled = np.interp(
                    wall, wall[known], curve.cost_usd[known], left=np.nan, right=np.nan
                )
            curve.cost_usd = np.where(logged, curve.cost_usd, filled)
        return COST_LOGGED_HISTORY
    if not has_wall:
        return COST_UNKNOWN
    if (  # an infinite total or runtime is no rate: $inf to target, or $0 (the best)
        trial.cost_usd is not None
        and trial.runtime_s is not None
        and math.isfinite(trial.cost_usd)
        and math.isfinite(trial.runtime_s)
        and trial.runtime_s > 0
        and trial.cost_usd >= 0
    ):
        curve.cost_usd = wall * (trial.cost_usd / trial.runtime_s)
        return COST_LOGGED_TOTAL
    curve.cost_usd = wall * job_cost_usd(price.usd_per_gpu_hour, pair.gpus, pair.nodes, 1.0)
    return COST_PRICED
