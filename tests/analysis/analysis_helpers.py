"""Shared builders for the analysis tests: hand-made curves and small synthetic experiments."""

from __future__ import annotations

import numpy as np

from hwscale_tui.hardware import HardwarePair
from hwscale_tui.records import HistoryPoint, Trial

GRID = [HardwarePair(g, n) for n in (1, 2) for g in (1, 2, 4)]


def linear_history(
    slope: float, steps: int = 11, sps: float = 100.0, cost_per_s: float | None = None
) -> list[HistoryPoint]:
    """score = slope * step at steps 0, 100, ..., wall = step / sps."""
    pts = []
    for i in range(steps):
        s = 100.0 * i
        w = s / sps
        pts.append(HistoryPoint(s, w, slope * s, None if cost_per_s is None else w * cost_per_s))
    return pts


def trial(
    run_id: str, gpus: int, nodes: int, score: float | None, state: str = "finished", **kw
) -> Trial:
    return Trial(
        sweep=f"exp.g{gpus}n{nodes}",
        run_id=run_id,
        gpus=gpus,
        nodes=nodes,
        state=state,
        score=score,
        **kw,
    )


def lognormal_power_law(
    rng: np.random.Generator, x: np.ndarray, a: float, b: float, sd: float
) -> np.ndarray:
    return a * x**b * np.exp(rng.normal(0, sd, x.size))
