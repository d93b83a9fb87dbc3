"""Gaussian-process surrogates (scikit-learn) on normalized coordinates in [-1, 1].

The kernel is ``C * Matern(nu=1.5, one length scale per parameter) + C * DotProduct + White``:
Protein's linear + Matern 3/2 kernel with a learned noise level. Hyperparameters are fitted by
maximum marginal likelihood (L-BFGS-B with at most ``FIT_MAX_EVALS`` likelihood evaluations
and no random restarts, on at most ``MAX_FIT_POINTS`` observations spread over the history),
which is deterministic and keeps a suggestion fast.
Predictions are of the latent function: the fitted noise goes to ``alpha``, not to the
predictive spread, so a point's uncertainty does not stay high after it was measured.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, DotProduct, Kernel, Matern, WhiteKernel

MAX_FIT_POINTS = 48  # hyperparameters are fitted on at most this many observations
MIN_FIT_POINTS = 3  # with fewer observations the default hyperparameters are used
FIT_MAX_EVALS = 40  # likelihood evaluations per fit (sklearn's own optimizer runs to convergence)
REFIT_GROWTH = 1.25  # hyperparameters are refitted each time the observations grew by this factor
JITTER = 1e-8
MIN_LENGTH_SCALE = 0.05  # of a continuous parameter, in normalized coordinates (range 2)
MAX_LENGTH_SCALE = 30.0


def default_kernel(
    min_length_scales: np.ndarray, trend: bool, start: np.ndarray | None = None
) -> Kernel:
    """``C * Matern 3/2 (+ C * DotProduct when trend) + White``, before fitting.

    ``min_length_scales`` bounds each parameter's length scale from below (a discrete
    parameter's is half its grid spacing, so the fit cannot make its levels uncorrelated).
    ``start``: the length scales before fitting (default 0.7, or the floor if higher); they stay
    there when the data say nothing about an input (e.g. a context all observations share).
    """
    bounds = np.column_stack([min_length_scales, np.full(len(min_length_scales), MAX_LENGTH_SCALE)])
    start = np.maximum(min_length_scales, 0.7 if start is None else start)
    kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
        length_scale=start, length_scale_bounds=bounds, nu=1.5
    )
    if trend:
        kernel = kernel + ConstantKernel(1e-2, (1e-4, 1e1)) * DotProduct(
            sigma_0=1.0, sigma_0_bounds="fixed"
        )
    return kernel + WhiteKernel(1e-2, (1e-6, 1.0))


def _bounded_lbfgs(
    obj_func: Callable[..., Any], initial_theta: np.ndarray, bounds: np.ndarray
) -> tuple[np.ndarray, float]:
    result = minimize(
        obj_func,
        initial_theta,
        method="L-BFGS-B",
        jac=True,
        bounds=bounds,
        options={"maxfun": FIT_MAX_EVALS},
    )
    return result.x, float(result.fun)


def fit_prefix(n: int) -> int:
    """How many leading observations the hyperparameters are fitted on, given ``n``.

    The largest point of the schedule 3, 4, 5, 7, 9, 12, 15, 19, ... (each ``REFIT_GROWTH``
    times the last) not above ``n``: a sweep refits O(log n) times, and since the answer depends
    on ``n`` alone a resumed sweep fits exactly what an uninterrupted one did.
    """
    if n < MIN_FIT_POINTS:
        return n
    m = MIN_FIT_POINTS
    while (step := max(m + 1, math.ceil(m * REFIT_GROWTH))) <= n:
        m = step
    return m


def fit_subset(n: int, cap: int = MAX_FIT_POINTS) -> np.ndarray:
    """Indices of the observations used to fit hyperparameters: all, or ``cap`` evenly spread."""
    if n <= cap:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, cap).round().astype(int))


def fit_kernel(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    min_length_scales: np.ndarray,
    trend: bool,
    start: np.ndarray | None = None,
) -> Kernel:
    """Maximum-likelihood kernel hyperparameters for standardized targets ``y`` at ``x``."""
    kernel = default_kernel(min_length_scales, trend, start)
    if len(y) < MIN_FIT_POINTS:
        return kernel
    idx = fit_subset(len(y))
    gp = GaussianProcessRegressor(
        kernel,
        alpha=JITTER,
        optimizer=_bounded_lbfgs,
        n_restarts_optimizer=0,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x[idx], y[idx])
    return gp.kernel_


@dataclass
class Surrogate:
    """A GP with fixed hyperparameters conditioned on ``(x, y)``; predicts the latent function."""

    gp: GaussianProcessRegressor

    @classmethod
    def condition(cls, kernel: Kernel, x: np.ndarray, y: np.ndarray) -> Surrogate:
        signal, noise = kernel.k1, kernel.k2  # (C*Matern + C*Dot) + White
        gp = GaussianProcessRegressor(signal, alpha=noise.noise_level + JITTER, optimizer=None)
        return cls(gp.fit(x, y))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.gp.predict(x, return_std=True)
        return mean, std
