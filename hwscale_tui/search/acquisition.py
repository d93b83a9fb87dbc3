"""Acquisition functions of the Protein optimizer, on a GP posterior in standardized score units.

All of them are maximized. ``ei`` is returned as log expected improvement so that candidates far
below the incumbent still rank by how much they could improve instead of tying at 0.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx
from scipy.stats import norm

ACQUISITIONS = ("ei", "ucb", "naive")
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_LOG_SQRT_PI_OVER_2 = 0.5 * math.log(math.pi / 2)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x < 0, accurate on both sides of -log 2."""
    return np.where(
        x > -math.log(2), np.log(-np.expm1(np.minimum(x, -1e-300))), np.log1p(-np.exp(x))
    )


def log_expected_improvement(
    mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0
) -> np.ndarray:
    """log E[max(f - best - xi, 0)] for f ~ N(mean, std**2), accurate far below ``best`` too.

    ``EI = std * h(z)`` with ``h(z) = phi(z) + z Phi(z)``; for z <= -1, where that sum cancels,
    ``log h`` is computed through the scaled complementary error function (Ament et al. 2023,
    "Unexpected improvements to expected improvement").
    """
    std = np.maximum(std, 1e-12)
    z = (mean - best - xi) / std
    z_hi = np.maximum(z, -1.0)
    log_h_hi = np.log(norm.pdf(z_hi) + z_hi * norm.cdf(z_hi))
    z_lo = np.minimum(z, -1.0)
    log_h_lo = (
        -0.5 * z_lo**2
        - _LOG_SQRT_2PI
        + _log1mexp(np.log(erfcx(-z_lo / math.sqrt(2)) * -z_lo) + _LOG_SQRT_PI_OVER_2)
    )
    return np.log(std) + np.where(z > -1.0, log_h_hi, log_h_lo)


def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, beta: float) -> np.ndarray:
    return mean + beta * std


def naive_cost_weighted(
    score01: np.ndarray, cost01: np.ndarray | None, target: float
) -> np.ndarray:
    """Protein's ``naive`` rule: predicted score (0..1) weighted toward a drawn cost level ``target``."""
    if cost01 is None:
        return score01
    return score01 * (1.0 - np.abs(target - cost01))
