"""Acquisition functions of the Protein optimizer, on a GP posterior in standardized score units.

All of them are maximized. ``ei`` is returned as log expected improvement so that candidates far
below the incumbent still rank by how much they could improve instead of tying at 0.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

ACQUISITIONS = ("ei", "ucb", "naive")
# Below this z the closed form of EI cancels to 0; the asymptotic form is used instead.
_EI_ASYMPTOTIC_Z = -6.0


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """log E[max(f - best - xi, 0)] for f ~ N(mean, std**2)."""
    std = np.maximum(std, 1e-12)
    z = (mean - best - xi) / std
    tail = z < _EI_ASYMPTOTIC_Z
    z_body = np.where(tail, 0.0, z)
    h_body = norm.pdf(z_body) + z_body * norm.cdf(z_body)
    z_tail = np.where(tail, z, _EI_ASYMPTOTIC_Z)
    # phi(z) + z Phi(z) ~ phi(z) / z**2 as z -> -inf (Mills ratio)
    log_h = np.where(tail, norm.logpdf(z_tail) - 2.0 * np.log(-z_tail), np.log(np.maximum(h_body, 1e-300)))
    return np.log(std) + log_h


def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, beta: float) -> np.ndarray:
    return mean + beta * std


def naive_cost_weighted(score01: np.ndarray, cost01: np.ndarray | None, target: float) -> np.ndarray:
    """Protein's ``naive`` rule: predicted score (0..1) weighted toward a drawn cost level ``target``."""
    if cost01 is None:
        return score01
    return score01 * (1.0 - np.abs(target - cost01))
