"""Bounded least squares in log space: models, one fit with scipy, many refits at once in numpy.

Each model predicts ``log y`` from ``x`` and parameters ``theta`` (some in log form so they stay
positive). Data are grouped by distinct ``x``: the fit to the weighted group means equals the fit
to every point, which keeps the bootstrap cheap when many trials share one hardware config.

The point estimate uses ``scipy.optimize.least_squares`` (trust-region reflective, with bounds)
from a few starts. Bootstrap refits use :func:`batched_lm`, a projected Levenberg-Marquardt run
on all resamples together, warm-started at the point estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LogModel:
    name: str
    params: tuple[str, ...]  # internal parameter names (theta order)
    lower: np.ndarray
    upper: np.ndarray
    log_predict: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (B,p), (G,) -> (B,G)
    jacobian: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (B,p), (G,) -> (B,G,p)
    starts: Callable[[np.ndarray, np.ndarray], list[np.ndarray]]  # x, log y -> initial thetas


def _usl_denominator(theta: np.ndarray, n: np.ndarray) -> np.ndarray:
    sigma = theta[:, 1:2]
    kappa = theta[:, 2:3] if theta.shape[1] > 2 else 0.0
    return 1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0)


def _usl_predict(theta: np.ndarray, n: np.ndarray) -> np.ndarray:
    return theta[:, 0:1] + np.log(n) - np.log(_usl_denominator(theta, n))


def _usl_jacobian(theta: np.ndarray, n: np.ndarray) -> np.ndarray:
    d = _usl_denominator(theta, n)
    cols = [np.ones_like(d), -(n - 1.0) / d]
    if theta.shape[1] > 2:
        cols.append(-(n * (n - 1.0)) / d)
    return np.stack(cols, axis=-1)


def _lam_for(n: np.ndarray, logx: np.ndarray, sigma: float, kappa: float = 0.0) -> float:
    return float(np.mean(logx - np.log(n) + np.log(1 + sigma * (n - 1) + kappa * n * (n - 1))))


def _amdahl_starts(n: np.ndarray, logx: np.ndarray) -> list[np.ndarray]:
    return [np.array([_lam_for(n, logx, s), s]) for s in (0.0, 0.05, 0.3)]


def _usl_starts(n: np.ndarray, logx: np.ndarray) -> list[np.ndarray]:
    return [
        np.array([_lam_for(n, logx, s, k), s, k])
        for s in (0.0, 0.05, 0.3)
        for k in (0.0, 1e-3, 0.02)
    ]


def _cbs_predict(theta: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.logaddexp(theta[:, 0:1], theta[:, 1:2] - np.log(b))


def _cbs_jacobian(theta: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    share = expit(theta[:, 0:1] - (theta[:, 1:2] - np.log(b)))  # S_min / S
    return np.stack([share, 1.0 - share], axis=-1)


def _cbs_starts(b: np.ndarray, logs: np.ndarray) -> list[np.ndarray]:
    s_min = np.min(logs)
    e_guess = np.max(logs + np.log(b))
    return [
        np.array([s_min, e_guess]),
        np.array([s_min - 1.0, np.median(logs + np.log(b))]),
        np.array([s_min + 0.5, e_guess - 1.0]),
    ]


INF = np.inf
AMDAHL = LogModel(
    "amdahl",
    ("log_lam", "sigma"),
    np.array([-INF, 0.0]),
    np.array([INF, 1.0]),
    _usl_predict,
    _usl_jacobian,
    _amdahl_starts,
)
USL = LogModel(
    "usl",
    ("log_lam", "sigma", "kappa"),
    np.array([-INF, 0.0, 0.0]),
    np.array([INF, 1.0, INF]),
    _usl_predict,
    _usl_jacobian,
    _usl_starts,
)
CRITICAL_BATCH = LogModel(
    "critical_batch",
    ("log_s_min", "log_e_min"),
    np.array([-INF, -INF]),
    np.array([INF, INF]),
    _cbs_predict,
    _cbs_jacobian,
    _cbs_starts,
)


@dataclass(frozen=True)
class Grouped:
    """Points grouped by distinct x: weighted means of log y and the within-group squares."""

    x: np.ndarray  # (G,)
    mean_logy: np.ndarray  # (G,)
    counts: np.ndarray  # (G,)
    within_ss: float
    n: int


def group_log(x: np.ndarray, logy: np.ndarray) -> Grouped:
    ux, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=logy, minlength=ux.size)
    means = sums / counts
    within = float(np.sum((logy - means[inv]) ** 2))
    return Grouped(ux, means, counts.astype(float), within, int(x.size))


def fit_point(model: LogModel, g: Grouped) -> tuple[np.ndarray, float]:
    """Best theta from several starts, and the residual sum of squares over all points."""
    from scipy.optimize import least_squares

    w = np.sqrt(g.counts)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return w * (model.log_predict(theta[None, :], g.x)[0] - g.mean_logy)

    def jac(theta: np.ndarray) -> np.ndarray:
        return w[:, None] * model.jacobian(theta[None, :], g.x)[0]

    best: tuple[np.ndarray, float] | None = None
    for start in model.starts(g.x, g.mean_logy):
        x0 = np.clip(start, model.lower, model.upper)
        finite_lo, finite_hi = np.isfinite(model.lower), np.isfinite(model.upper)
        # trf needs a strictly feasible start
        x0 = np.where(finite_lo & (x0 <= model.lower), model.lower + 1e-9, x0)
        x0 = np.where(finite_hi & (x0 >= model.upper), model.upper - 1e-9, x0)
        res = least_squares(
            residuals, x0, jac=jac, bounds=(model.lower, model.upper), method="trf", x_scale="jac"
        )
        cost = float(np.sum(res.fun**2))
        if best is None or cost < best[1]:
            best = (res.x, cost)
    assert best is not None
    return best[0], best[1] + g.within_ss


def batched_lm(
    model: LogModel,
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    theta0: np.ndarray,
    max_iter: int = 60,
) -> np.ndarray:
    """Projected Levenberg-Marquardt for every row of ``y`` (B, G) at once; returns (B, p)."""
    b, p = y.shape[0], theta0.shape[-1]
    theta = np.broadcast_to(np.clip(theta0, model.lower, model.upper), (b, p)).copy()
    sw = np.sqrt(w)[None, :]

    def evaluate(th: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r = sw * (model.log_predict(th, x) - y[rows])
        return r, sw[..., None] * model.jacobian(th, x), np.sum(r * r, axis=1)

    r, jac, cost = evaluate(theta, np.arange(b))
    mu = np.full(b, 1e-3)
    active = np.ones(b, dtype=bool)
    eye = np.eye(p)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        ja, ra = jac[idx], r[idx]
        hess = np.einsum("bgp,bgq->bpq", ja, ja)
        grad = np.einsum("bgp,bg->bp", ja, ra)
        damp = mu[idx, None, None] * (hess * eye + 1e-12 * eye)
        try:
            step = np.linalg.solve(hess + damp, -grad[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -grad * 1e-3
        trial = np.clip(theta[idx] + step, model.lower, model.upper)
        r_new, j_new, c_new = evaluate(trial, idx)
        better = c_new < cost[idx]
        good = idx[better]
        theta[good], r[good], jac[good] = trial[better], r_new[better], j_new[better]
        gain = np.where(better, (cost[idx] - c_new) / np.maximum(cost[idx], 1e-300), 0.0)
        cost[good] = c_new[better]
        mu[idx] = np.where(better, mu[idx] * 0.3, mu[idx] * 10.0)
        done = (better & (gain < 1e-10)) | (mu[idx] > 1e8)
        active[idx[done]] = False
    return theta


def parametric_log_bootstrap(
    g: Grouped,
    fitted_logy: np.ndarray,
    rss: float,
    n_params: int,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(B, G) resampled group means of log y.

    Noise is Gaussian in log space with a scale drawn from its own sampling distribution
    (``sigma*^2 = s^2 * dof / chi2(dof)``), so a fit with few residual degrees of freedom gets
    the wide interval it deserves (it reproduces Student-t intervals for a linear model).
    """
    dof = g.n - n_params
    s2 = rss / dof
    sigma = np.sqrt(s2 * dof / rng.chisquare(dof, size=n_boot))
    noise = rng.standard_normal((n_boot, g.x.size)) * sigma[:, None] / np.sqrt(g.counts)[None, :]
    return fitted_logy[None, :] + noise


def weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares intercepts and slopes of every row of ``y`` (B, G) on ``x`` (G,)."""
    wn = w / w.sum()
    xm = float(np.sum(wn * x))
    dx = x - xm
    sxx = float(np.sum(wn * dx * dx))
    ym = y @ wn
    slope = (y @ (wn * dx)) / sxx
    return ym - slope * xm, slope
