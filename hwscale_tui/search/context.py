"""How other hardware pairs' observations are moved into this pair's context (transfer).

Good hyperparameters move smoothly with the hardware: the best batch grows with the GPUs, the
best learning rate with the batch. The optimizer models that as a **linear shift** of every
parameter with the log2 context: an observation made at context features ``z`` (log2 of its
features relative to this pair's) enters the models at

    x' = x - B z        (B: one shift per parameter and context feature, normalized units
                         per doubling)

so that, if the pairs' landscapes are one landscape moved by ``B z``, the other pairs' results
land where they would have been measured here. ``B`` is the maximum a posteriori estimate
under the marginal likelihood of a GP with the default kernel (length scales 0.7, context 3
doublings), found coordinate by coordinate on a grid and then a finer one around the best, in
``SHIFT_SWEEPS`` passes. Its prior has two modes per entry, each ``N(., SHIFT_PRIOR_SD**2)``:
0 (the optimum stays put in absolute units) and how the pairs' search spaces move with the
context (``space_shift``: the presets scale the batch bounds with the GPUs). What the shift does
not explain stays with the context inputs' length scales, which this pair's own results choose
(``tune_context_length``); whether the others are used at all, the own results decide by
leave-one-out (``own_loo_raw_log_density``, the optimizer's guard).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable

import numpy as np
from scipy.linalg import cho_solve, cholesky
from sklearn.gaussian_process.kernels import Kernel, Matern

SHIFT_PRIOR_SD = 0.3  # normalized units (range 2) per doubling, around each of the two guesses
SHIFT_MAX = 1.0  # |B| bound: half a parameter's range per doubling
SHIFT_COARSE = np.linspace(-SHIFT_MAX, SHIFT_MAX, 17)
SHIFT_FINE = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]) / 32.0
SHIFT_SWEEPS = 2  # coordinate-wise passes over the entries
MIN_SHIFT_POINTS = 6  # with fewer observations of other contexts: the spaces' guess
JITTER = 1e-8


def _cholesky(kernel: Kernel, x: np.ndarray) -> np.ndarray | None:
    """The lower Cholesky factor of ``kernel(x)`` (plus jitter); None if it is not PD."""
    k = kernel(x)
    k[np.diag_indices_from(k)] += JITTER
    try:
        return np.asarray(cholesky(k, lower=True))
    except np.linalg.LinAlgError:
        return None


def log_marginal_likelihood(kernel: Kernel, x: np.ndarray, y: np.ndarray) -> float:
    """log p(y | x) of a zero-mean GP with ``kernel`` (noise included); -inf if not PD."""
    low = _cholesky(kernel, x)
    if low is None:
        return -np.inf
    alpha = cho_solve((low, True), y)
    return float(-0.5 * y @ alpha - np.log(np.diag(low)).sum() - 0.5 * len(y) * np.log(2 * np.pi))


def shifted(x: np.ndarray, d: int, shift: np.ndarray) -> np.ndarray:
    """``x`` (parameters then context features) with parameters moved by ``-shift @ z``."""
    out = x.copy()
    out[:, :d] -= x[:, d:] @ shift.T
    return out


def fit_shift(
    kernel: Kernel, x: np.ndarray, y: np.ndarray, d: int, prior_mean: np.ndarray | None = None
) -> np.ndarray:
    """MAP shift ``B`` (d x context features) of the parameters with the context (module doc).

    ``x``: unshifted model inputs (``d`` parameters, then the context features, 0 for this
    pair's own rows); ``y`` the standardized targets; ``kernel`` fixed during the search.
    """
    k = x.shape[1] - d
    z = x[:, d:]
    mean = np.zeros((d, k)) if prior_mean is None else prior_mean
    shift = mean.copy()

    def objective(b: np.ndarray) -> float:
        # per entry: the optimum moves as the spaces do, or stays put in absolute units
        prior = float(
            np.logaddexp(
                -0.5 * (b - mean) ** 2 / SHIFT_PRIOR_SD**2, -0.5 * b**2 / SHIFT_PRIOR_SD**2
            ).sum()
        )
        return log_marginal_likelihood(kernel, shifted(x, d, b), y) + prior

    best = objective(shift)
    for _, j, f in itertools.product(range(SHIFT_SWEEPS), range(d), range(k)):
        if not np.any(z[:, f]):
            continue  # every row at this pair's value of the feature: nothing to learn
        for grid in (SHIFT_COARSE, shift[j, f] + SHIFT_FINE):
            for value in np.clip(grid, -SHIFT_MAX, SHIFT_MAX):
                trial = shift.copy()
                trial[j, f] = value
                v = objective(trial)
                if v > best:
                    best, shift = v, trial
    return shift


CONTEXT_LENGTH_GRID = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)  # doublings
MIN_OWN_FOR_TUNING = 3
CONTEXT_TUNING_MARGIN = 2.0  # log likelihood a grid value must gain over the fitted one  # own results needed before they choose the context length scale


def own_loo_log_likelihood(kernel: Kernel, x: np.ndarray, y: np.ndarray, own: np.ndarray) -> float:
    """Sum of the leave-one-out log predictive densities of the rows ``own`` (closed form)."""
    low = _cholesky(kernel, x)
    if low is None:
        return -np.inf
    inv = cho_solve((low, True), np.eye(len(y)))
    alpha = inv @ y
    diag = np.diag(inv)[own]
    return float(np.sum(0.5 * np.log(diag / (2 * np.pi)) - 0.5 * alpha[own] ** 2 / diag))


def tune_context_length(kernel: Kernel, x: np.ndarray, y: np.ndarray, d: int) -> Kernel:
    """The context length scales that best predict this pair's own results from the rest.

    The marginal likelihood of all pairs' results together is dominated by the other pairs
    (there are more of them); what matters here is how well they predict *this* pair. So the
    context length scales (one value for all context features, from ``CONTEXT_LENGTH_GRID``,
    no shorter than the fitted bound) are chosen by the leave-one-out predictive likelihood of
    this pair's own rows (those at context 0), once there are ``MIN_OWN_FOR_TUNING`` of them;
    the fitted value stays unless another predicts them better by ``CONTEXT_TUNING_MARGIN``.
    """
    own = np.all(x[:, d:] == 0, axis=1)
    if own.sum() < MIN_OWN_FOR_TUNING or own.all():
        return kernel
    floor = float(np.atleast_2d(_matern(kernel).length_scale_bounds)[-1, 0])
    best_value = own_loo_log_likelihood(kernel, x, y, own) + CONTEXT_TUNING_MARGIN
    best_kernel = kernel
    for value in CONTEXT_LENGTH_GRID:
        if value < floor:
            continue
        trial = with_context_length(kernel, d, value)
        v = own_loo_log_likelihood(trial, x, y, own)
        if v > best_value:
            best_value, best_kernel = v, trial
    return best_kernel


def _matern(kernel: Kernel) -> Matern:
    return next(v for v in kernel.get_params(deep=True).values() if isinstance(v, Matern))


def with_context_length(kernel: Kernel, d: int, value: float) -> Kernel:
    """A copy of ``kernel`` whose context length scales (inputs after the ``d`` parameters) are
    all ``value``."""
    out = copy.deepcopy(kernel)
    m = _matern(out)
    scales = np.array(np.atleast_1d(m.length_scale), dtype=float)
    scales[d:] = value
    m.length_scale = scales
    return out


def space_shift(moves: list[tuple[np.ndarray, np.ndarray]], d: int, k: int) -> np.ndarray:
    """How the pairs' search spaces move with the context: the least-squares ``B`` (d x k) with
    ``moved = B z`` over the other pairs' observations (``z``: their log2 context features,
    ``moved``: their coordinates here minus in their own space). Zeros without any.

    Spaces whose bounds scale as a power of the hardware (batch bounds proportional to the GPUs)
    move exactly linearly in ``z``; the least squares is then exact.
    """
    if not moves:
        return np.zeros((d, k))
    z = np.array([m[0] for m in moves])
    moved = np.array([m[1] for m in moves])
    solution = np.linalg.lstsq(z, moved, rcond=None)[0]  # k x d
    return np.asarray(solution.T)


def own_loo_raw_log_density(
    kernel: Kernel,
    x: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    to_raw: Callable[[np.ndarray], np.ndarray],
    floor: float,
) -> float:
    """Sum of the leave-one-out log predictive densities of ``rows``, in the scores' own units.

    Each row is predicted from all the others (closed form); the prediction (mean +- one
    standard deviation, model units) is mapped back through ``to_raw`` so that two models with
    different standardizations and warps compare on one scale. The spread is at least
    ``floor`` (score units): a warp that squeezes the worst scores together must not make a
    model look certain there.
    """
    low = _cholesky(kernel, x)
    if low is None or not rows.any():
        return -np.inf
    inv = cho_solve((low, True), np.eye(len(y)))
    diag = np.diag(inv)[rows]
    mean = y[rows] - (inv @ y)[rows] / diag
    sd = 1.0 / np.sqrt(diag)
    observed = to_raw(y[rows])
    centre = to_raw(mean)
    spread = np.maximum(np.abs(to_raw(mean + sd) - to_raw(mean - sd)) / 2.0, floor)
    z = (observed - centre) / spread
    return float(np.sum(-0.5 * z**2 - np.log(spread) - 0.5 * np.log(2 * np.pi)))
