"""How other hardware pairs' observations are moved into this pair's context (transfer).

Good hyperparameters move smoothly with the hardware: the best batch grows with the GPUs, the
best learning rate with the batch. The optimizer models that as a **linear shift** of every
parameter with the log2 context: an observation made at context features ``z`` (log2 of its
features relative to this pair's) enters the models at

    x' = x - B z        (B: one shift per parameter and context feature, normalized units
                         per doubling)

so that, if the pairs' landscapes are one landscape moved by ``B z``, the other pairs' results
land where they would have been measured here. ``B`` is the maximum a posteriori estimate
under the marginal likelihood of a GP, found coordinate by coordinate on a grid and then a
finer one around the best, in ``SHIFT_SWEEPS`` passes: first under the default kernel (length
scales 0.7, context 3 doublings), then again under each split's fitted kernel. Its prior has
two modes per entry, each ``N(., SHIFT_PRIOR_SD**2)``: 0 (the optimum stays put in absolute
units) and how the pairs' search spaces move with the context (``space_shift``: the presets
scale the batch bounds with the GPUs).

Where the best learning rate follows the batch (the linear scaling rule), the score kernels
measure distances on the learning rate lined up with the batch (``scaling_shear``, the kernel
wrapper ``Sheared``): the ridge runs along an axis, and the learning rate needs no shift of its
own.

What the shift does not explain, the **separable kernel** takes (``separable_kernel``): the
parameters are split into shared ones, which other pairs' results inform across any distance,
and private ones, which only nearby contexts inform. The split is not known, so the optimizer
averages over the most likely ones (``fit_splits``, ``split_weights``; the mixture is
``surrogate.Mixture``).

Where a parameter's optimum differs between pairs without a linear trend, the **alignment**
moves each other pair's results so that its peak lands on this pair's: the peaks are placed by
one bump whose widths all the pairs share (``pair_peaks``, ``alignment_offsets``), and the
splits are fitted again on the moved results; the mixture weighs both sets by likelihood, the
aligned ones less the offsets they spent (``ALIGN_PENALTY``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve, cholesky
from scipy.optimize import least_squares
from sklearn.gaussian_process.kernels import (
    ConstantKernel,
    Hyperparameter,
    Kernel,
    Matern,
    Sum,
    WhiteKernel,
)

from .presets import LR_BATCH_EXPONENT
from .space import Param
from .surrogate import MAX_LENGTH_SCALE, fit_map

SHIFT_PRIOR_SD = 0.3  # normalized units (range 2) per doubling, around each of the two guesses
SHIFT_MAX = 1.0  # |B| bound: half a parameter's range per doubling
SHIFT_COARSE = np.linspace(-SHIFT_MAX, SHIFT_MAX, 17)
SHIFT_FINE = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]) / 32.0
SHIFT_SWEEPS = 2  # coordinate-wise passes over the entries
MIN_SHIFT_POINTS = 6  # with fewer observations of other contexts: the spaces' guess
JITTER = 1e-8
# the learning rate follows the batch (``scaling_shear``): lr ~ batch ** LR_BATCH_EXPONENT
LEARNING_RATE_KEYS = ("learning_rate", "lr")
BATCH_KEYS = ("batch_size", "batch")
BATCH_DISTRIBUTIONS = ("uniform_pow2", "log_normal")


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


# -- the shear: parameters whose optimum follows a moving parameter's ------------------------
class Sheared(Kernel):
    """``kernel`` on inputs whose first ``d`` columns are sheared: ``x - A x`` (``A``: d x d,
    ``shear``). A fixed map, not a hyperparameter: the kernel's own hyperparameters are
    ``kernel``'s, renamed ``kernel__...`` (as scikit-learn's wrapping kernels do)."""

    __hash__ = None  # type: ignore[assignment]  # mutable: unhashable, as scikit-learn's kernels are

    def __init__(self, kernel: Kernel, shear: np.ndarray) -> None:
        self.kernel = kernel
        self.shear = shear

    def _map(self, x: np.ndarray) -> np.ndarray:
        a = np.asarray(self.shear, dtype=float)
        out = np.array(x, dtype=float)
        out[:, : len(a)] -= out[:, : len(a)] @ a.T
        return out

    def get_params(self, deep: bool = True) -> dict[str, object]:
        params: dict[str, object] = {"kernel": self.kernel, "shear": self.shear}
        if deep:
            params.update(("kernel__" + k, v) for k, v in self.kernel.get_params().items())
        return params

    @property
    def hyperparameters(self) -> list[Hyperparameter]:
        return [
            Hyperparameter("kernel__" + h.name, h.value_type, h.bounds, h.n_elements, h.fixed)
            for h in self.kernel.hyperparameters
        ]

    @property
    def theta(self) -> np.ndarray:
        return np.asarray(self.kernel.theta)

    @theta.setter
    def theta(self, theta: np.ndarray) -> None:
        self.kernel.theta = theta

    @property
    def bounds(self) -> np.ndarray:
        return np.asarray(self.kernel.bounds)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sheared)
            and self.kernel == other.kernel
            and np.array_equal(self.shear, other.shear)
        )

    def __call__(
        self, X: np.ndarray, Y: np.ndarray | None = None, eval_gradient: bool = False
    ) -> object:
        return self.kernel(
            self._map(X), None if Y is None else self._map(Y), eval_gradient=eval_gradient
        )

    def diag(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.kernel.diag(self._map(X)))

    def is_stationary(self) -> bool:
        return bool(self.kernel.is_stationary())

    def __repr__(self) -> str:
        return f"Sheared({self.kernel!r})"


def with_shear(kernel: Kernel, shear: np.ndarray | None) -> Kernel:
    """``signal + noise`` with the signal part on sheared inputs (``kernel`` unchanged without a
    shear): the noise stays the sum's second term, as ``Surrogate.condition`` expects."""
    if shear is None or not np.any(shear):
        return kernel
    return Sum(Sheared(kernel.k1, shear), kernel.k2)


def signal_part(kernel: Kernel) -> Kernel:
    """The signal part of ``signal + noise``, unwrapped from a shear."""
    signal = kernel.k1
    return signal.kernel if isinstance(signal, Sheared) else signal


def unshear(shift: np.ndarray, shear: np.ndarray | None) -> np.ndarray:
    """The shift in raw coordinates whose sheared image is ``shift``: ``(I - A)^-1 B``."""
    if shear is None or not np.any(shear):
        return shift
    return np.asarray(np.linalg.solve(np.eye(len(shear)) - shear, shift))


def scaling_shear(
    params: Sequence[Param], exponent: float = LR_BATCH_EXPONENT
) -> np.ndarray | None:
    """The shear that lines the learning rate up with the batch, by a scaling rule.

    The best learning rate grows with the batch, as ``batch ** exponent`` (Goyal et al. 2017,
    "Accurate, large minibatch SGD": in proportion to it, exponent 1, the default; the
    square-root rule, 0.5, is the usual advice for Adam): within every pair a diagonal ridge.
    In sheared coordinates ``lr - a batch`` the ridge runs along an axis, so the kernels'
    per-parameter length scales can follow it, and a learning rate that follows the batch
    needs no shift of its own across pairs. ``a`` is the rule's slope in this space's
    normalized units (decades of the batch's range over decades of the learning rate's). None
    unless the space has exactly one learning rate (a log-scale parameter named
    ``learning_rate`` or ``lr``, last part of the key) and one batch (``batch_size`` or
    ``batch``, power-of-two or log scale), and None for exponent 0 (no link).
    """
    if exponent == 0:
        return None

    def find(names: tuple[str, ...], distributions: tuple[str, ...]) -> list[int]:
        return [
            i
            for i, p in enumerate(params)
            if p.key.rsplit(".", 1)[-1] in names and p.distribution in distributions
        ]

    lr, batch = find(LEARNING_RATE_KEYS, ("log_normal",)), find(BATCH_KEYS, BATCH_DISTRIBUTIONS)
    if len(lr) != 1 or len(batch) != 1:
        return None
    p, q = params[lr[0]], params[batch[0]]
    decades = math.log10(q.max / q.min) / math.log10(p.max / p.min)
    shear = np.zeros((len(params), len(params)))
    shear[lr[0], batch[0]] = exponent * decades
    return shear


# -- the separable transfer kernel ------------------------------------------------------------
MAX_PRIVATE = 2  # splits with at most this many private parameters (11 of 4 parameters)
MAX_SPLITS = 12  # a refit's budget: sizes of P are added while the splits stay within it
SPLITS_IN_MIXTURE = 4  # the most likely splits whose GPs form the score model
IGNORED_LENGTH_SCALE = 1e5  # the fixed length scale of an input a Matern part does not see
PRIVATE_CONTEXT_START = 1.0  # the private part's context length scale before fitting (doublings)


def separable_kernel(floors: np.ndarray, d: int, k: int, private: tuple[int, ...]) -> Kernel:
    """``C * M_S(x_S) * (m^2 + M_P(x_P, z)) + White`` for the split ``private`` = P.

    ``M_S`` (Matern 3/2) sees the shared parameters S (the ``d`` parameters not in P), ``M_P``
    the private ones and the ``k`` context features; an input a part does not see has the
    fixed length scale ``IGNORED_LENGTH_SCALE``. Between pairs many doublings apart ``M_P``
    vanishes and ``C m^2 M_S`` is left: another pair's result informs this pair's shared
    parameters whatever its private ones were. ``floors``: the length scales' lower bounds
    (parameters, then context features).
    """
    n = d + k
    shared_bounds = np.column_stack([floors, np.full(n, MAX_LENGTH_SCALE)])
    private_bounds = shared_bounds.copy()
    shared_start = np.maximum(floors, 0.7)
    private_start = shared_start.copy()
    for j in range(n):
        if j >= d or j in private:
            shared_bounds[j], shared_start[j] = (IGNORED_LENGTH_SCALE,) * 2, IGNORED_LENGTH_SCALE
        else:
            private_bounds[j], private_start[j] = (IGNORED_LENGTH_SCALE,) * 2, IGNORED_LENGTH_SCALE
    private_start[d:] = np.maximum(floors[d:], PRIVATE_CONTEXT_START)
    shared = Matern(length_scale=shared_start, length_scale_bounds=shared_bounds, nu=1.5)
    own = Matern(length_scale=private_start, length_scale_bounds=private_bounds, nu=1.5)
    return ConstantKernel(1.0, (1e-2, 1e2)) * shared * (
        ConstantKernel(1.0, (1e-3, 1e2)) + own
    ) + WhiteKernel(1e-2, (1e-6, 1.0))


SHARED_LENGTH_SCALE = "k1__k1__k2__length_scale"  # M_S's, in ``separable_kernel``'s naming
# and its name inside ``with_shear`` (the signal part k1 wrapped: k1__kernel__...)
SHARED_LENGTH_SCALES = (SHARED_LENGTH_SCALE, "k1__kernel__" + SHARED_LENGTH_SCALE[4:])


def fit_separable(kernel: Kernel, x: np.ndarray, y: np.ndarray, d: int, seed: int) -> Kernel:
    """MAP fit of a ``separable_kernel``: the length-scale prior on ``M_S``'s free parameters'
    length scales (as ``fit_kernel`` puts it on the default kernel's); the private part and
    the context by maximum likelihood."""
    prior: list[int] = []
    pos = 0
    for hp in kernel.hyperparameters:
        if hp.fixed:
            continue
        if hp.name in SHARED_LENGTH_SCALES:
            bounds = np.atleast_2d(hp.bounds)
            prior += [pos + e for e in range(min(d, hp.n_elements)) if bounds[e][0] != bounds[e][1]]
        pos += hp.n_elements
    return fit_map(kernel, x, y, seed, np.array(prior, dtype=int), d)


def private_context_length_scales(kernel: Kernel, d: int) -> list[float]:
    """The context features' length scales (doublings) of a ``separable_kernel``'s ``M_P``."""
    own = signal_part(kernel).k2.k2  # (C * M_S * (C + M_P)) + White
    return [float(v) for v in np.atleast_1d(own.length_scale)[d:]]


@dataclass(frozen=True)
class Split:
    """One split of the parameters into shared and ``private``, fitted."""

    private: tuple[int, ...]  # parameter indices
    shift: np.ndarray  # the context shift fitted under this split's kernel
    kernel: Kernel  # fitted on the observations moved by the default kernel's shift
    log_likelihood: float  # log marginal likelihood at ``shift``
    aligned: bool = False  # fitted on the observations moved by the pairs' alignment


def private_sets(d: int) -> list[tuple[int, ...]]:
    """The splits tried, as their private parameters: none, then every single one, then every
    pair, ... up to ``MAX_PRIVATE``, a size only if all its sets fit within ``MAX_SPLITS``
    (4 parameters: 1 + 4 + 6 = 11 splits; 8 parameters: 1 + 8 = 9, the 28 pairs left out)."""
    out: list[tuple[int, ...]] = []
    for size in range(min(MAX_PRIVATE, d) + 1):
        sets = list(itertools.combinations(range(d), size))
        if out and len(out) + len(sets) > MAX_SPLITS:
            break
        out += sets
    return out


def fit_splits(
    x: np.ndarray,
    y: np.ndarray,
    d: int,
    floors: np.ndarray,
    first: np.ndarray,
    guess: np.ndarray,
    seed: int,
    shear: np.ndarray | None = None,
) -> list[Split]:
    """The splits of ``private_sets(d)``, fitted, most likely first.

    ``x``: unshifted model inputs (parameters, then context features), ``y`` standardized
    targets, ``first`` the shift fitted under the default kernel, ``guess`` the shift's prior
    guess (``space_shift``). Per split: the kernel is fitted (``fit_separable``) on the
    observations moved by ``first``, the shift fitted again under it (``fit_shift``), and the
    marginal likelihood at that shift weighs the split (a uniform prior over splits).
    """
    k = x.shape[1] - d
    out = []
    for private in private_sets(d):
        kernel = fit_separable(
            with_shear(separable_kernel(floors, d, k, private), shear),
            shifted(x, d, first),
            y,
            d,
            seed,
        )
        b = fit_shift(kernel, x, y, d, guess)
        out.append(Split(private, b, kernel, log_marginal_likelihood(kernel, shifted(x, d, b), y)))
    out.sort(key=lambda s: -s.log_likelihood)  # stable: ties keep the enumeration order
    return out


def split_weights(splits: list[Split]) -> np.ndarray:
    """The splits' posterior weights (their likelihoods normalized; a uniform prior)."""
    v = np.array([s.log_likelihood for s in splits])
    w = np.exp(v - v.max())
    return np.asarray(w / w.sum())


# -- per-pair alignment -----------------------------------------------------------------------
ALIGN_MIN_ROWS = 3  # results a pair needs before its peak is placed
ALIGN_SPREAD_SD = 3.0  # prior sd of a pair's peak around the pairs' mean: aligned parameters
ALIGN_SHARED_SD = 0.1  # the same for the other parameters (the shift lines those up)
ALIGN_LOG_CURVATURE_SD = 2.0  # prior sd of each parameter's log curvature, around 0
ALIGN_F_SCALE = 0.5  # soft-L1 loss: residuals beyond this (standardized score) count less
ALIGN_MAX = 1.0  # bound on an offset: half a parameter's range
ALIGN_MAX_EVALUATIONS = 400
ALIGN_PENALTY = 1.0  # nats per offset placed, off an aligned split's log likelihood (AIC)
ALIGN_NEGLIGIBLE = 1e-6  # an offset below this (normalized units) is no move


def aligned_parameters(d: int, shear: np.ndarray | None) -> tuple[int, ...]:
    """The parameters whose optimum may move from pair to pair in a way the shift cannot
    express: all but the learning rate and the batch when the scaling rule links them (their
    move is the shift's and the rule's), else all."""
    if shear is None:
        return tuple(range(d))
    linked = set(np.nonzero(shear)[0].tolist()) | set(np.nonzero(shear)[1].tolist())
    return tuple(j for j in range(d) if j not in linked)


def pair_peaks(
    x: np.ndarray,
    y: np.ndarray,
    d: int,
    group: np.ndarray,
    n_groups: int,
    shear: np.ndarray | None,
    aligned: Sequence[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's peak, placed by one bump whose widths all the pairs share.

    ``x``: model inputs, moved by the shift (parameters first); ``y`` standardized scores;
    ``group`` each row's pair (0: this one). Every result is fitted by
    ``y = f + exp(a_g) exp(-sum_j c_j (x_j - p_gj)^2)`` (robust least squares, scipy): one floor
    ``f`` for all (a run far from its optimum scores about as badly however far), a height per
    pair, and one curvature ``c_j`` per parameter learned from every pair's results, so that a
    pair's few results place its own peak ``p_g``. In ``aligned`` parameters a pair's peak may
    lie far from the others' (prior sd ``ALIGN_SPREAD_SD``), in the rest it stays with them.
    Returns the peaks (``n_groups`` x ``d``, normalized units, sheared as the kernels see them)
    and how many results placed each.
    """
    xs = np.array(x[:, :d], dtype=float)
    if shear is not None:
        xs -= xs @ np.asarray(shear, dtype=float).T
    counts = np.bincount(group, minlength=n_groups)
    spread = np.full(d, ALIGN_SHARED_SD)
    spread[list(aligned)] = ALIGN_SPREAD_SD

    def unpack(p: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        log_heights, rest = p[1 : 1 + n_groups], p[1 + n_groups :]
        return float(p[0]), log_heights, rest[:d], rest[d:].reshape(n_groups, d)

    def residuals(p: np.ndarray) -> np.ndarray:
        floor, log_height, log_curvature, peaks = unpack(p)
        distance = ((xs - peaks[group]) ** 2 * np.exp(log_curvature)).sum(axis=1)
        fitted = floor + np.exp(log_height[group]) * np.exp(-distance)
        return np.concatenate(
            [
                y - fitted,
                ((peaks - peaks.mean(axis=0)) / spread).ravel(),
                log_curvature / ALIGN_LOG_CURVATURE_SD,
            ]
        )

    # start: the floor at the worst result, each pair's peak at its best result, curvature 1
    floor = float(y.min()) if len(y) else 0.0
    start_height, start_peaks = np.zeros(n_groups), np.zeros((n_groups, d))
    for g in range(n_groups):
        mine = group == g
        if mine.any():
            start_peaks[g] = xs[mine][np.argmax(y[mine])]
            start_height[g] = np.log(max(y[mine].max() - floor, 0.1))
    fit = least_squares(
        residuals,
        np.concatenate([[floor], start_height, np.zeros(d), start_peaks.ravel()]),
        loss="soft_l1",
        f_scale=ALIGN_F_SCALE,
        max_nfev=ALIGN_MAX_EVALUATIONS,
    )
    return unpack(fit.x)[3], counts


def alignment_offsets(
    x: np.ndarray,
    y: np.ndarray,
    d: int,
    group: np.ndarray,
    n_groups: int,
    shear: np.ndarray | None,
    aligned: Sequence[int],
) -> np.ndarray:
    """How far each other pair's peak lies from this pair's (``pair_peaks``), in the
    ``aligned`` parameters: ``(n_groups - 1) x d``, 0 where either pair has fewer than
    ``ALIGN_MIN_ROWS`` results. Subtracted from that pair's results, it moves its peak onto
    this pair's."""
    peaks, counts = pair_peaks(x, y, d, group, n_groups, shear, aligned)
    offsets = np.zeros((n_groups - 1, d))
    cols = list(aligned)
    for g in range(1, n_groups):
        if counts[g] >= ALIGN_MIN_ROWS and counts[0] >= ALIGN_MIN_ROWS:
            offsets[g - 1, cols] = np.clip((peaks[g] - peaks[0])[cols], -ALIGN_MAX, ALIGN_MAX)
    # results that do not tell the peaks apart (e.g. every score the same) leave them on one
    # another up to rounding: no move
    offsets[np.abs(offsets) < ALIGN_NEGLIGIBLE] = 0.0
    return offsets
