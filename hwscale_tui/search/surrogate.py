"""Gaussian-process surrogates (scikit-learn) on normalized coordinates in [-1, 1].

The kernel is ``C * Matern(nu=1.5, one length scale per parameter) + C * DotProduct + White``:
Protein's linear + Matern 3/2 kernel with a learned noise level. Hyperparameters are fitted by
maximum a posteriori: the marginal likelihood times a log-normal prior on each parameter's
length scale (L-BFGS-B with at most ``FIT_MAX_EVALS`` likelihood evaluations and no random
restarts, on at most ``MAX_FIT_POINTS`` observations spread over the history), which is
deterministic and keeps a suggestion fast. Scores are warped (``warp_scores``) before the fit.
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
# the same with other pairs' results (transfer): their shift, splits and alignment move with
# every round early on, and stale ones cost the last stretch more than the fits' time
# (BENCHMARKS.md, transfer, session 25)
REFIT_GROWTH_TRANSFER = 1.10
JITTER = 1e-8
MIN_LENGTH_SCALE = 0.05  # of a continuous parameter, in normalized coordinates (range 2)
MAX_LENGTH_SCALE = 30.0
# MAP fit: a normal prior on each parameter's log length scale, median exp(-1.4) = 0.25 times
# sqrt(d) (coordinates of range 2) and standard deviation 1.0: the median grows with the dimension
# as in Hvarfner et al. 2024 ("Vanilla Bayesian optimization performs great in high dimensions"),
# but much shorter than theirs, which was measured worse at 30 trials (BENCHMARKS.md).
LENGTH_PRIOR_LOC: float | None = -1.4  # None: maximum likelihood
LENGTH_PRIOR_SCALE = 1.0
# the power transform's exponents tried (maximum likelihood over this grid)
YJ_LAMBDAS = np.linspace(-3.0, 5.0, 81)


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


def _yeo_johnson(x: np.ndarray, lmbdas: np.ndarray) -> np.ndarray:
    """The Yeo-Johnson transform of the row ``x`` (1 x n) for each exponent (rows of the result)."""
    lam = lmbdas[:, None]
    pos = x >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.log1p(np.abs(x))
        plus = np.where(np.abs(lam) < 1e-8, lp, np.expm1(lam * lp) / np.where(lam == 0, 1, lam))
        l2 = 2.0 - lam
        minus = np.where(np.abs(l2) < 1e-8, -lp, -np.expm1(l2 * lp) / np.where(l2 == 0, 1, l2))
    return np.where(pos, plus, minus)


def _yeo_johnson_inverse(t: np.ndarray, lmbda: float) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    out = np.empty_like(t)
    pos = t >= 0
    if abs(lmbda) < 1e-8:
        out[pos] = np.expm1(t[pos])
    else:
        out[pos] = np.maximum(t[pos] * lmbda + 1.0, 1e-12) ** (1.0 / lmbda) - 1.0
    if abs(lmbda - 2.0) < 1e-8:
        out[~pos] = -np.expm1(-t[~pos])
    else:
        out[~pos] = 1.0 - np.maximum(1.0 - (2.0 - lmbda) * t[~pos], 1e-12) ** (1.0 / (2.0 - lmbda))
    return out


def warp_scores(
    values: np.ndarray, mean: float, std: float
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray] | None]:
    """Standardized, Yeo-Johnson-warped ``values`` and the map from those units back.

    The exponent is the one of ``YJ_LAMBDAS`` that makes the standardized values most normal
    (profile likelihood, as HEBO does): a few very bad results (scores spanning decades) no
    longer flatten the differences among the good ones. Fewer than 3 distinct values: only
    standardized (the map back is None).
    """
    z = (values - mean) / std
    if len(values) < 3 or np.ptp(z) < 1e-12:
        return z, None
    w = _yeo_johnson(z[None, :], YJ_LAMBDAS)
    var = np.maximum(w.var(axis=1), 1e-300)
    llf = -0.5 * len(z) * np.log(var) + (YJ_LAMBDAS - 1.0) * np.sum(
        np.sign(z) * np.log1p(np.abs(z))
    )
    k = int(np.argmax(llf))
    lmbda = float(YJ_LAMBDAS[k])
    w_mean = float(w[k].mean())
    w_std = float(w[k].std()) or 1.0
    return (
        w[k] - w_mean
    ) / w_std, lambda y: _yeo_johnson_inverse(np.asarray(y) * w_std + w_mean, lmbda) * std + mean


def _length_scale_indices(kernel: Kernel) -> np.ndarray:
    """Positions of the Matern length scales in the kernel's (free) hyperparameter vector."""
    out: list[int] = []
    pos = 0
    for hp in kernel.hyperparameters:
        if hp.fixed:
            continue
        if hp.name.endswith("length_scale"):
            out.extend(range(pos, pos + hp.n_elements))
        pos += hp.n_elements
    return np.array(out, dtype=int)


def _map_objective(
    obj_func: Callable[..., Any], indices: np.ndarray, loc: np.ndarray, scale: float
) -> Callable[..., Any]:
    """Negative log marginal likelihood minus the log prior of the log length scales."""

    def objective(theta: np.ndarray, eval_gradient: bool = True) -> Any:
        f, g = obj_func(theta, eval_gradient=True)
        z = (theta[indices] - loc) / scale
        g = np.array(g, dtype=float)
        g[indices] += z / scale
        return f + 0.5 * float(np.sum(z**2)), g

    return objective


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


def fit_prefix(n: int, growth: float = REFIT_GROWTH) -> int:
    """How many leading observations the hyperparameters are fitted on, given ``n``.

    The largest point of the schedule 3, 4, 5, 7, 9, 12, 15, 19, ... (each ``growth`` times the
    last, at least one more) not above ``n``: a sweep refits O(log n) times, and since the
    answer depends on ``n`` and ``growth`` alone a resumed sweep fits exactly what an
    uninterrupted one did.
    """
    if n < MIN_FIT_POINTS:
        return n
    m = MIN_FIT_POINTS
    while (step := max(m + 1, math.ceil(m * growth))) <= n:
        m = step
    return m


def fit_subset(n: int, cap: int = MAX_FIT_POINTS) -> np.ndarray:
    """Indices of the observations used to fit hyperparameters: all, or ``cap`` evenly spread."""
    if n <= cap:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, cap).round().astype(int))


def fit_map(
    kernel: Kernel, x: np.ndarray, y: np.ndarray, seed: int, prior: np.ndarray, prior_dims: int
) -> Kernel:
    """``kernel`` with hyperparameters fitted by MAP to standardized targets ``y`` at ``x``.

    The log-normal length-scale prior (``LENGTH_PRIOR_LOC`` + 0.5 log ``prior_dims``, sd
    ``LENGTH_PRIOR_SCALE``) applies to the free hyperparameters at positions ``prior``;
    the others are fitted by maximum likelihood.
    """
    optimizer: Callable[..., Any] = _bounded_lbfgs
    if LENGTH_PRIOR_LOC is not None:
        loc = np.full(len(prior), LENGTH_PRIOR_LOC + 0.5 * math.log(max(prior_dims, 1)))

        def optimizer(obj: Callable[..., Any], theta0: np.ndarray, bounds: np.ndarray) -> Any:
            return _bounded_lbfgs(
                _map_objective(obj, prior, loc, LENGTH_PRIOR_SCALE), theta0, bounds
            )

    gp = GaussianProcessRegressor(
        kernel,
        alpha=JITTER,
        optimizer=optimizer,
        n_restarts_optimizer=0,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x, y)
    return gp.kernel_


def fit_kernel(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    min_length_scales: np.ndarray,
    trend: bool,
    start: np.ndarray | None = None,
    prior_dims: int | None = None,
) -> Kernel:
    """MAP hyperparameters of ``default_kernel`` for standardized targets ``y`` at ``x``.

    The length-scale prior applies to the first ``prior_dims`` inputs (default: all); inputs
    after them (context features) are fitted by maximum likelihood.
    """
    kernel = default_kernel(min_length_scales, trend, start)
    if len(y) < MIN_FIT_POINTS:
        return kernel
    idx = fit_subset(len(y))
    indices = _length_scale_indices(kernel)
    d = len(indices) if prior_dims is None else prior_dims
    return fit_map(kernel, x[idx], y[idx], seed, indices[:d], d)


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

    def with_points(self, x: np.ndarray, y: np.ndarray) -> Surrogate:
        """The same GP conditioned on its data plus ``(x, y)`` (e.g. constant-liar fantasies)."""
        gp = GaussianProcessRegressor(self.gp.kernel, alpha=self.gp.alpha, optimizer=None)
        return Surrogate(
            gp.fit(np.vstack([self.gp.X_train_, x]), np.concatenate([self.gp.y_train_, y]))
        )


@dataclass
class Mixture:
    """A weighted mixture of GPs (weights summing to 1): its mean and standard deviation.

    Each part may see the same observations at different inputs (each its own context shift).
    """

    parts: list[Surrogate]
    weights: np.ndarray

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = [p.predict(x) for p in self.parts]
        means = np.array([m for m, _ in out])
        second = np.array([s**2 + m**2 for m, s in out])
        mean = self.weights @ means
        return mean, np.sqrt(np.maximum(self.weights @ second - mean**2, 1e-12))

    def with_points(self, x: np.ndarray, y: np.ndarray) -> Mixture:
        """Every part conditioned on ``(x, y)`` too (points of this context: no shift applies)."""
        return Mixture([p.with_points(x, y) for p in self.parts], self.weights)
