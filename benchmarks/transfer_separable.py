"""Issue 15 experiment: transfer with a separable kernel averaged over which parameters are shared.

    python benchmarks/transfer_separable.py [benchmarks/transfer.py's options]

Not the product's model: this runs ``benchmarks/transfer.py`` with ``ProteinOptimizer``'s
transfer model replaced (in this process and its workers) by the one measured in BENCHMARKS.md
("A separable transfer kernel"), so that the next step can start from the exact code measured.
Without a context (independent sweeps) nothing changes.

The score kernel, for a split of the parameters into shared ``S`` and private ``P``:

    k((x, c), (x', c')) = C * M_S(x_S, x_S') * (m^2 + M_P(x_P, x_P', c, c')) + White

(Matern 3/2 on the named inputs only). Between pairs far apart only ``C m^2 M_S`` is left: another
pair's result informs the shared parameters whatever its private ones were. For every ``P`` of
at most ``MAX_PRIVATE`` parameters: the kernel is fitted (MAP, the package's length-scale prior on
``M_S``) on the results moved by main's fitted shift, the shift is fitted again under that kernel
(``fit_shift``), and the marginal likelihood at that shift weighs the split (a uniform prior over
splits). The score model is the mixture of the ``TOP`` most likely splits' GPs (each on its own
shift), weighted by their likelihoods; the best split's shift moves the observations for the rest
of the optimizer (incumbent, the other pairs' best as candidate centers, the cost model). The
guard is off. Each refit fits 11 kernels and 11 shifts: suggestions take 0.2-0.7 s (median).
"""

from __future__ import annotations

import itertools
import math
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Kernel, Matern, WhiteKernel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transfer

import hwscale_tui.search.protein as protein
import hwscale_tui.search.surrogate as surrogate
from hwscale_tui.search.context import (
    MIN_SHIFT_POINTS,
    fit_shift,
    log_marginal_likelihood,
    shifted,
    space_shift,
)

MAX_PRIVATE = 2  # splits with at most this many private parameters (11 of 4 parameters)
TOP = 4  # splits in the mixture
FIXED = 1e5  # the length scale of an input a Matern part ignores
CONTEXT_START = 1.0  # the private part's context length scale before fitting (doublings)


def separable_kernel(floors: np.ndarray, d: int, k: int, private: tuple[int, ...]) -> Kernel:
    n = d + k
    shared_bounds = np.column_stack([floors, np.full(n, surrogate.MAX_LENGTH_SCALE)])
    private_bounds = shared_bounds.copy()
    shared_start = np.maximum(floors, 0.7)
    private_start = shared_start.copy()
    for j in range(n):
        if j >= d or j in private:
            shared_bounds[j], shared_start[j] = (FIXED, FIXED), FIXED
        else:
            private_bounds[j], private_start[j] = (FIXED, FIXED), FIXED
    private_start[d:] = np.maximum(floors[d:], CONTEXT_START)
    shared = Matern(length_scale=shared_start, length_scale_bounds=shared_bounds, nu=1.5)
    own = Matern(length_scale=private_start, length_scale_bounds=private_bounds, nu=1.5)
    return ConstantKernel(1.0, (1e-2, 1e2)) * shared * (
        ConstantKernel(1.0, (1e-3, 1e2)) + own
    ) + WhiteKernel(1e-2, (1e-6, 1.0))


def fit_separable(kernel: Kernel, x: np.ndarray, y: np.ndarray, d: int, seed: int) -> Kernel:
    """MAP fit: the package's log-normal prior on the shared part's free parameter length scales."""
    prior: list[int] = []
    pos = 0
    for hp in kernel.hyperparameters:
        if hp.fixed:
            continue
        if hp.name == "k1__k1__k2__length_scale":  # M_S
            bounds = np.atleast_2d(hp.bounds)
            prior += [pos + e for e in range(min(d, hp.n_elements)) if bounds[e][0] != bounds[e][1]]
        pos += hp.n_elements
    idx = np.array(prior, dtype=int)
    loc = (surrogate.LENGTH_PRIOR_LOC or 0.0) + 0.5 * math.log(d)
    scale = surrogate.LENGTH_PRIOR_SCALE

    def optimizer(obj: Any, theta0: np.ndarray, bounds: np.ndarray) -> Any:
        objective = surrogate._map_objective(obj, idx, np.full(len(idx), loc), scale)
        return surrogate._bounded_lbfgs(objective, theta0, bounds)

    gp = GaussianProcessRegressor(
        kernel, alpha=surrogate.JITTER, optimizer=optimizer, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gp.fit(x, y)
    return gp.kernel_


class Mixture:
    """A likelihood-weighted mixture of GPs: its mean and standard deviation."""

    def __init__(self, parts: list[surrogate.Surrogate], weights: np.ndarray) -> None:
        self.parts, self.weights = parts, weights

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = [p.predict(x) for p in self.parts]
        mus = np.array([m for m, _ in out])
        second = np.array([s**2 + m**2 for m, s in out])
        mean = self.weights @ mus
        return mean, np.sqrt(np.maximum(self.weights @ second - mean**2, 1e-12))


def _shift(self: Any, raw: Any, context_dims: int) -> np.ndarray:
    m = surrogate.fit_prefix(len(raw))
    key = (m, self._target)
    if key in self._shifts:
        return np.asarray(self._shifts[key])
    d = len(self.space)
    prefix = raw[:m]
    moves = [
        (np.array(o.coords[d:]), np.array(o.moved))
        for o in prefix
        if not self._is_own(o) and o.moved is not None
    ]
    guess = space_shift(moves, d, context_dims)
    shift = guess
    data = protein.score_targets(prefix)
    others = sum(not self._is_own(o) for o in prefix)
    floors, start = self._kernel_bounds(context_dims)
    if others >= MIN_SHIFT_POINTS and data.ok.sum() >= surrogate.MIN_FIT_POINTS:
        idx = surrogate.fit_subset(m)
        x, y = data.x[idx], data.y[idx]
        first = fit_shift(
            surrogate.default_kernel(floors, trend=False, start=start), x, y, d, guess
        )
        splits = []
        for size in range(MAX_PRIVATE + 1):
            for private in itertools.combinations(range(d), size):
                kernel = fit_separable(
                    separable_kernel(floors, d, context_dims, private),
                    shifted(x, d, first),
                    y,
                    d,
                    self.seed,
                )
                b = fit_shift(kernel, x, y, d, guess)
                splits.append(
                    (log_marginal_likelihood(kernel, shifted(x, d, b), y), b, private, kernel)
                )
        splits.sort(key=lambda s: -s[0])
        shift = splits[0][1]
        best = fit_separable(
            separable_kernel(floors, d, context_dims, splits[0][2]),
            shifted(x, d, shift),
            y,
            d,
            self.seed,
        )
        self._kernels[("separable", m, self._target)] = best
        self._separable_splits[key] = splits[:TOP]
    self._shifts[key] = shift
    return shift


_kernel_before = protein.ProteinOptimizer._kernel
_models_before = protein.ProteinOptimizer._models


def _kernel(self: Any, name: str, obs: Any, context_dims: int, own_only: bool = False) -> Kernel:
    if name != "score" or not context_dims:
        return _kernel_before(self, name, obs, context_dims, own_only)
    m = surrogate.fit_prefix(len(obs))
    key = ("separable", m, self._target)
    if key not in self._kernels:  # too few results to weigh splits: every parameter shared
        d = len(self.space)
        floors, _ = self._kernel_bounds(context_dims)
        kernel = separable_kernel(floors, d, context_dims, ())
        data = protein.score_targets(obs[:m])
        if len(data.y) >= surrogate.MIN_FIT_POINTS:
            idx = surrogate.fit_subset(m)
            kernel = fit_separable(kernel, data.x[idx], data.y[idx], d, self.seed)
        self._kernels[key] = kernel
    return self._kernels[key]


def _models(self: Any) -> Any:
    models = _models_before(self)
    splits = self._separable_splits.get(
        (surrogate.fit_prefix(len(self.observations)), self._target)
    )
    if not models.context_dims or not splits:
        return models
    d, target = len(self.space), self._target
    zeros = (0.0,) * len(target)
    raw = [
        replace(
            o,
            coords=o.coords
            + (zeros if self._is_own(o) else protein.context_features(o.context or (), target)),
        )
        for o in self.observations
    ]
    data = protein.score_targets(raw)
    v = np.array([s[0] for s in splits])
    weights = np.exp(v - v.max())
    mixture = Mixture(
        [protein.Surrogate.condition(s[3], shifted(data.x, d, s[1]), data.y) for s in splits],
        weights / weights.sum(),
    )
    own = np.array([self._is_own(o) for o in self.observations]) & data.ok
    best = float(mixture.predict(data.x[own])[0].max()) if own.any() else models.best
    return replace(models, score=cast(Any, mixture), best=best)  # duck-typed: predict()


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    _init_before(self, *args, **kwargs)
    self._separable_splits = {}


_init_before = protein.ProteinOptimizer.__init__


def patch() -> None:
    """Replace the transfer model in this process (idempotent)."""
    cls = protein.ProteinOptimizer
    if getattr(cls, "_separable", False):
        return
    cls.__init__ = _init  # type: ignore[method-assign]
    cls._shift = _shift  # type: ignore[method-assign]
    cls._kernel = _kernel  # type: ignore[method-assign]
    cls._models = _models  # type: ignore[method-assign]
    cls._separable = True  # type: ignore[attr-defined]
    protein.TRANSFER_GUARD = False


def main() -> None:
    patch()
    # workers patch themselves too (a fork inherits the patch; other start methods would not)
    transfer.ProcessPoolExecutor = partial(ProcessPoolExecutor, initializer=patch)  # type: ignore[misc, assignment]
    transfer.main()


if __name__ == "__main__":
    main()
