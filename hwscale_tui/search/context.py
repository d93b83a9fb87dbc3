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
doublings) and a Gaussian prior ``N(0, SHIFT_PRIOR_SD**2)`` per entry (no shift until the data
show one), found coordinate by coordinate on a grid and then a finer one around the best, in
``SHIFT_SWEEPS`` passes. What the shift does not explain stays with the context inputs' length
scales, which this pair's own results choose (``tune_context_length``).
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
from scipy.linalg import cho_solve, cholesky
from sklearn.gaussian_process.kernels import Kernel, Matern

SHIFT_PRIOR_SD = 0.5  # normalized units (range 2) per doubling
SHIFT_MAX = 1.0  # |B| bound: half a parameter's range per doubling
SHIFT_COARSE = np.linspace(-SHIFT_MAX, SHIFT_MAX, 17)
SHIFT_FINE = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]) / 32.0
SHIFT_SWEEPS = 2  # coordinate-wise passes over the entries
MIN_SHIFT_POINTS = 6  # with fewer observations of other contexts no shift is fitted
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


def fit_shift(kernel: Kernel, x: np.ndarray, y: np.ndarray, d: int) -> np.ndarray:
    """MAP shift ``B`` (d x context features) of the parameters with the context (module doc).

    ``x``: unshifted model inputs (``d`` parameters, then the context features, 0 for this
    pair's own rows); ``y`` the standardized targets; ``kernel`` fixed during the search.
    """
    k = x.shape[1] - d
    z = x[:, d:]
    shift = np.zeros((d, k))

    def objective(b: np.ndarray) -> float:
        prior = -0.5 * float((b**2).sum()) / SHIFT_PRIOR_SD**2
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
