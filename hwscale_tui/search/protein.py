"""The Protein-style Bayesian optimizer that the built-in sweep runner asks for hyperparameters.

How a suggestion is made (Protein as Metta and PufferLib implement it, docs/upstream.md
section 3, with Metta's weaknesses fixed):

1. No observations and ``seed_with_search_center``: the search center, exactly.
2. Fewer observations than ``num_random_samples`` (0 in the presets): uniform random points.
3. From the first observation on: two Gaussian processes (``surrogate.py``) on normalized
   coordinates, one of the standardized, Yeo-Johnson-warped score, one of the standardized log
   cost (seconds); hyperparameters by MAP with a log-normal length-scale prior.
   Failed trials enter the score model ``FAILED_MARGIN`` standard deviations below the worst
   score, so their region is avoided; an exact configuration already observed or in flight is
   never suggested again.
4. Candidates: ``suggestions_per_pareto`` uniform samples within ``+-scale`` of every point on
   the score/cost Pareto front, plus ``random_suggestions`` uniform ones over the whole space,
   plus ``2 x LOCAL_PER_SCALE`` small steps (a few coordinates at a time) around the incumbent.
   From ``POLISH_MIN_RESULTS`` successful results on, the ``POLISH_TOP`` best candidates are
   polished by shrinking random local steps that keep whatever raises the acquisition.
   Candidates whose predicted cost reaches ``max_suggestion_cost`` (seconds, like the cost)
   are masked; if all are, the cheapest is taken. Failed trials that ran up to that limit
   enter the cost model at twice the limit (they were stopped there), so their region is masked.
5. The best candidate by the acquisition ``ei`` (log expected improvement over the best
   posterior mean at an observed point), ``ucb`` (mean + ``ucb_beta`` * std) or ``naive``
   (Protein's score weighted toward a randomly drawn cost level).
6. In-flight trials (``pending``) and the suggestions already made in the same call are
   constant-liar fantasies with the mean observed score, so parallel suggestions differ.

With a context (``suggest(context=...)``) observations of other contexts (hardware pairs) enter
both models with their log2 distance from this context as extra inputs (docs/optimizer.md).

Every random draw comes from a generator seeded by (seed, number of observations, number of
pending trials), so ``suggest`` is a pure function of the seed, the observations and pending.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Any, cast

import numpy as np
from sklearn.gaussian_process.kernels import Kernel
from threadpoolctl import ThreadpoolController

from ..errors import UsageError
from ..values import ValueType, ValueTypeError
from .acquisition import (
    ACQUISITIONS,
    log_expected_improvement,
    naive_cost_weighted,
    upper_confidence_bound,
)
from .context import (
    ALIGN_PENALTY,
    MIN_SHIFT_POINTS,
    SPLITS_IN_MIXTURE,
    Split,
    aligned_parameters,
    alignment_offsets,
    fit_separable,
    fit_shift,
    fit_splits,
    private_context_length_scales,
    scaling_shear,
    separable_kernel,
    shifted,
    space_shift,
    split_weights,
    unshear,
    with_shear,
)
from .pareto import pareto_front
from .presets import LR_BATCH_EXPONENT, MAX_LR_BATCH_EXPONENT, PROTEIN_SETTINGS
from .space import Param, SearchSpace
from .surrogate import (
    MIN_FIT_POINTS,
    MIN_LENGTH_SCALE,
    REFIT_GROWTH,
    REFIT_GROWTH_TRANSFER,
    Mixture,
    Surrogate,
    default_kernel,
    fit_kernel,
    fit_prefix,
    fit_subset,
    warp_scores,
)

GOALS = ("maximize", "minimize")
FAILED_MARGIN = (
    1.0  # a failed trial is modelled this many score standard deviations below the worst
)
LIAR_SCORE = 0.0  # constant-liar value in standardized units: the mean observed score
CENSORED_COST_FACTOR = (
    2.0  # a trial stopped at the cost limit is modelled as costing twice the limit
)
MIN_COST_S = 1e-3  # costs are modelled in log space; shorter (or zero) runtimes are clipped to this
DISCRETE = ("uniform_pow2", "int_uniform")
CONTEXT_MIN_LENGTH_SCALE = 0.5  # of a context feature, in log2 units (doublings)
# the shift's search kernel and the cost model: pairs alike, correlation 0.89 one doubling apart
CONTEXT_START_LENGTH_SCALE = 3.0
TRANSFER_TRUST = 0.3  # with transfer: candidates are normal steps of this sd around the centers
TRANSFER_CENTERS = 3  # other pairs' best configurations that seed candidates (with transfer)
# with transfer, candidates step the shared parameters (the most likely split's) by this fraction
# of the private parameters' steps: the other pairs' results already say where those go
TRANSFER_SHARED_STEP = 0.33
LOCAL_SCALES = (0.15, 0.04)  # normal steps around the incumbent, in normalized coordinates
LOCAL_PER_SCALE = 64
LOCAL_DIMS = 2.0  # coordinates changed per local step, on average (at least one)
# polishing starts with this many successful results: earlier, maximizing the acquisition exactly
# drives suggestions to the edges of the box, where the GP is most uncertain
POLISH_MIN_RESULTS = 12
POLISH_TOP = 4
POLISH_SCALES = (0.08, 0.03, 0.01)
POLISH_STEPS = 24


@cache
def _blas_threads() -> ThreadpoolController:
    """Finding the loaded BLAS libraries costs ~20 ms; do it once per process."""
    return ThreadpoolController()


def min_length_scale(p: Param) -> float:
    """Half the grid spacing of a discrete parameter in normalized coordinates; else the floor."""
    if p.distribution == "uniform_pow2":
        levels = round(math.log2(p.max)) - round(math.log2(p.min)) + 1
    elif p.distribution == "int_uniform":
        levels = int(p.max) - int(p.min) + 1
    else:
        return MIN_LENGTH_SCALE
    return max(MIN_LENGTH_SCALE, 1.0 / max(levels - 1, 1))


@dataclass(frozen=True)
class ProteinSettings:
    """The optimizer's settings (docs/optimizer.md); missing keys take the preset defaults."""

    num_random_samples: int
    seed_with_search_center: bool
    global_search_scale: float
    acquisition_fn: str
    ucb_beta: float
    randomize_acquisition: bool
    max_suggestion_cost: float
    resample_frequency: int
    expansion_rate: float
    random_suggestions: int
    suggestions_per_pareto: int
    # with transfer: the best learning rate is taken to grow as batch ** this (0: no link); not
    # one of the Protein config's settings, so its default is added in ``from_mapping``
    lr_batch_exponent: float

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> ProteinSettings:
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise UsageError(
                f"unknown optimizer setting {unknown[0]!r}; accepted settings are {', '.join(names)}."
            )
        merged = {**PROTEIN_SETTINGS, "lr_batch_exponent": LR_BATCH_EXPONENT, **settings}
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = merged[f.name]
            vt = ValueType.of(f.type)
            try:
                values[f.name] = vt.check(value)
            except ValueTypeError:
                raise UsageError(
                    f"optimizer setting {f.name} must be {vt.describe()}, not {value!r}."
                ) from None
        s = cls(**values)
        s.validate()
        return s

    def validate(self) -> None:
        if self.acquisition_fn not in ACQUISITIONS:
            raise UsageError(
                f"acquisition_fn {self.acquisition_fn!r} is not one of {', '.join(ACQUISITIONS)}."
            )
        counts = (
            "num_random_samples",
            "resample_frequency",
            "random_suggestions",
            "suggestions_per_pareto",
        )
        for name in counts:
            if getattr(self, name) < 0:
                raise UsageError(
                    f"optimizer setting {name} must be 0 or more, not {getattr(self, name)}."
                )
        if self.random_suggestions + self.suggestions_per_pareto == 0:
            raise UsageError(
                "random_suggestions and suggestions_per_pareto cannot both be 0; one must be at least 1."
            )
        for name in ("global_search_scale", "max_suggestion_cost"):
            if not getattr(self, name) > 0:
                raise UsageError(
                    f"optimizer setting {name} must be above 0, not {getattr(self, name)}."
                )
        if self.ucb_beta < 0 or self.expansion_rate < 0:
            raise UsageError("ucb_beta and expansion_rate must be 0 or more.")
        if not 0 <= self.lr_batch_exponent <= MAX_LR_BATCH_EXPONENT:
            raise UsageError(
                f"optimizer setting lr_batch_exponent must be a number from 0 to "
                f"{MAX_LR_BATCH_EXPONENT:g} (1: the linear scaling rule, 0.5: the square-root "
                f"rule, 0: no link), not {self.lr_batch_exponent:g}."
            )


ContextKey = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Observation:
    coords: tuple[float, ...]
    key: tuple[float | int, ...]  # the configuration's values, for duplicate checks
    score: float | None  # maximized internally (negated for goal=minimize); None = failed
    cost: float | None  # seconds
    context: ContextKey | None = None  # hardware features of the run (None: this sweep's own)
    # its coordinates here minus its coordinates in the space it was suggested from (that
    # pair's bounds; None: not given): how the pairs' spaces move, the shift's prior guess
    moved: tuple[float, ...] | None = None


def context_key(context: Mapping[str, Any] | None) -> ContextKey | None:
    """A context as sorted (name, value) pairs; every value a number above 0 (it is logged)."""
    if context is None:
        return None
    items: list[tuple[str, float]] = []
    for name, value in sorted(context.items()):
        try:
            x = float(value)
        except (TypeError, ValueError):
            x = math.nan
        if isinstance(value, bool) or not (math.isfinite(x) and x > 0):
            raise UsageError(f"context feature {name!r} must be a number above 0, not {value!r}.")
        items.append((str(name), x))
    if not items:
        raise UsageError("a context needs at least one feature, for example total_gpus.")
    return tuple(items)


def context_features(context: ContextKey, target: ContextKey) -> tuple[float, ...]:
    """log2 of each of the target's features relative to the target (the target itself: zeros)."""
    values = dict(context)
    missing = [name for name, _ in target if name not in values]
    if missing:
        raise UsageError(
            f"an observation's context lacks {missing[0]!r}; every observation with a context "
            f"needs the features of the context suggestions are for ({', '.join(n for n, _ in target)})."
        )
    return tuple(math.log2(values[name] / v) for name, v in target)


@dataclass(frozen=True)
class Targets:
    """Model inputs and standardized targets, with what it takes to map predictions back."""

    x: np.ndarray
    y: np.ndarray
    mean: float
    std: float
    ok: np.ndarray  # which rows are successful trials (score targets only)
    low: float  # range of the successful targets (the naive acquisition's 0..1 scale)
    high: float
    warp: Any = None  # model units -> the targets' units (None: y * std + mean); scores only

    def to_raw(self, y: np.ndarray) -> np.ndarray:
        """Model units (standardized, warped) -> the targets' own units."""
        y = np.asarray(y, dtype=float)
        return self.warp(y) if self.warp is not None else y * self.std + self.mean


def _standardize(values: np.ndarray) -> tuple[float, float]:
    mean = float(values.mean()) if len(values) else 0.0
    std = float(values.std()) if len(values) > 1 else 0.0
    return mean, (std if std > 1e-12 else 1.0)


def score_targets(obs: Sequence[Observation]) -> Targets:
    """Standardized, power-warped scores (``warp_scores``); failed trials ``FAILED_MARGIN``
    below the worst successful one."""
    x = np.array([o.coords for o in obs]).reshape(len(obs), -1)
    ok = np.array([o.score is not None for o in obs], dtype=bool)
    raw = np.array([o.score if o.score is not None else np.nan for o in obs])
    mean, std = _standardize(raw[ok])
    y_ok, warp = warp_scores(raw[ok], mean, std)
    low, high = (float(y_ok.min()), float(y_ok.max())) if ok.any() else (0.0, 0.0)
    y = np.full(len(obs), low - FAILED_MARGIN)
    y[ok] = y_ok
    return Targets(x, y, mean, std, ok, low, high, warp)


def cost_targets(obs: Sequence[Observation], limit_s: float) -> Targets | None:
    """Standardized log seconds of the trials that report a cost (None: no such trial).

    Successful trials, and failed ones that ran up to ``limit_s``: those were stopped there, so
    their full cost is unknown but higher; they enter at ``CENSORED_COST_FACTOR * limit_s`` so
    that their region is masked. A failure that stopped early says nothing about a full run.
    """
    rows = [o for o in obs if o.cost is not None and (o.score is not None or o.cost >= limit_s)]
    if not rows:
        return None
    seconds = [
        cast(float, o.cost) if o.score is not None else CENSORED_COST_FACTOR * limit_s for o in rows
    ]
    log_c = np.log(seconds)
    mean, std = _standardize(log_c)
    x = np.array([o.coords for o in rows])
    return Targets(
        x,
        (log_c - mean) / std,
        mean,
        std,
        np.ones(len(rows), bool),
        float(log_c.min()),
        float(log_c.max()),
    )


def transfer_steps(
    rng: np.random.Generator, shape: tuple[int, ...], private: tuple[int, ...] | None
) -> np.ndarray:
    """Candidate steps around the centers with transfer: normal, sd ``TRANSFER_TRUST``; once
    the splits are fitted, the shared parameters' steps are ``TRANSFER_SHARED_STEP`` of that."""
    step = rng.normal(0.0, TRANSFER_TRUST, shape)
    if private is None:
        return step
    scale = np.full(shape[-1], TRANSFER_SHARED_STEP)
    scale[list(private)] = 1.0
    return step * scale


@dataclass
class _Models:
    """Everything fitted from one set of observations (reused for every suggestion in a call)."""

    score_data: Targets
    # the score model: one GP, or with transfer the mixture over the most likely splits
    score: Surrogate | Mixture
    best: float  # incumbent for EI: best posterior mean at a successful observation
    cost_data: Targets | None
    cost: Surrogate | None
    front: (
        np.ndarray
    )  # candidate centers: the own Pareto front (+ other pairs' best, with transfer)
    own_front: np.ndarray  # coords of this sweep's own score/cost Pareto front
    context_dims: int  # trailing model columns that are context features (0: no transfer)
    incumbent: np.ndarray | None  # coords of the own observation with the best predicted score
    transfer: dict[str, Any] | None  # how much came from other contexts (for last_info)
    # with transfer: the most likely split's private parameters (None before splits are fitted)
    private: tuple[int, ...] | None = None


class ProteinOptimizer:
    """Suggest hyperparameters for a sweep from its observed trials (see the module docstring)."""

    def __init__(
        self,
        space: SearchSpace,
        settings: Mapping[str, Any] | None = None,
        goal: str = "maximize",
        seed: int = 0,
    ) -> None:
        if goal not in GOALS:
            raise UsageError(f"goal {goal!r} is not one of {', '.join(GOALS)}.")
        self.space = space
        self.settings = ProteinSettings.from_mapping(
            space.settings if settings is None else settings
        )
        self.goal = goal
        self.seed = int(seed)
        self.observations: list[Observation] = []
        self.last_info: list[dict[str, Any]] = []
        self._scale = (
            np.array([p.search_scale for p in space.params]) * self.settings.global_search_scale
        )
        self._discrete = [j for j, p in enumerate(space.params) if p.distribution in DISCRETE]
        self._min_length_scales = np.array([min_length_scale(p) for p in space.params])
        self._center = space.center()
        self._kernels: dict[tuple[Any, ...], Kernel] = {}
        self._shifts: dict[tuple[Any, ...], np.ndarray] = {}
        # with transfer, the score kernels see the learning rate lined up with the batch
        self._shear = scaling_shear(space.params, self.settings.lr_batch_exponent)
        self._splits: dict[tuple[Any, ...], list[Split]] = {}  # the mixture's, per refit
        # per refit: per other context, the offset that moves its peak onto this pair's
        self._offsets: dict[tuple[Any, ...], dict[ContextKey, np.ndarray]] = {}
        self._shift_now = np.zeros((len(space), 0))  # the shift the models were last built with
        self._models_cache: tuple[Any, _Models] | None = None
        self._target: ContextKey | None = None  # the context suggestions are for (last given)

    # -- observations --------------------------------------------------------------------
    def _coords(self, params: Mapping[str, Any]) -> tuple[float, ...]:
        missing = [k for k in self.space.keys if k not in params]
        if missing:
            raise UsageError(
                f"trial parameters lack {missing[0]!r}; every key of the search space is needed."
            )
        return tuple(self.space.normalize(params))

    def _key(self, coords: Sequence[float] | np.ndarray) -> tuple[float | int, ...]:
        return tuple(self.space.unnormalize(coords).values())

    def observe(
        self,
        params: Mapping[str, Any],
        score: float | None,
        cost: float | None,
        failed: bool = False,
        context: Mapping[str, Any] | None = None,
        space: SearchSpace | None = None,
    ) -> None:
        """Record one trial. A missing or non-finite score counts as a failure; cost is seconds.

        ``context``: the hardware features the trial ran on (e.g. ``{"total_gpus": 8}``); a trial
        of another context informs suggestions for this one (see ``suggest``). Its parameters
        may lie outside this space's bounds: they are used in absolute units.
        ``space``: the search space that trial was suggested from (its pair's bounds), if it
        differs from this one. How the spaces move with the context (e.g. batch bounds that
        double with the GPUs) is the transfer model's first guess of how the optimum moves.
        """
        ctx = context_key(context)
        coords = self._coords(params)
        moved = None
        if space is not None:
            if space.keys != self.space.keys:
                raise UsageError(
                    "an observation's space must have the same parameters as the optimizer's "
                    f"({', '.join(self.space.keys)})."
                )
            moved = tuple(float(a - b) for a, b in zip(coords, space.normalize(params)))
        failed = failed or score is None or not math.isfinite(score)
        internal = (
            None
            if failed or score is None
            else (float(score) if self.goal == "maximize" else -float(score))
        )
        seconds = None if cost is None or not math.isfinite(cost) else max(float(cost), MIN_COST_S)
        self.observations.append(
            Observation(coords, self._key(coords), internal, seconds, ctx, moved)
        )

    # -- suggestions ---------------------------------------------------------------------
    def suggest(
        self,
        n: int = 1,
        pending: Sequence[Mapping[str, Any]] = (),
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """``n`` new configurations (dotted keys, the space's units); details in ``last_info``.

        ``context``: the hardware the suggestions are for. Observations without a context, or
        with this one, are this sweep's own; those of other contexts enter the model with their
        log2 distance as extra inputs. It is remembered: later calls without one use it too.
        Before any context was given, contexts are ignored (every observation is own).
        """
        if n < 1:
            raise UsageError(f"the number of suggestions must be at least 1, not {n}.")
        if context is not None:
            self._target = context_key(context)
        # The GP matrices are small: one BLAS thread is faster, and far faster on a busy machine.
        with _blas_threads().limit(limits=1, user_api="blas"):
            return self._suggest(n, pending)

    def _suggest(self, n: int, pending: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        s = self.settings
        obs = self.observations
        own = [o for o in obs if self._is_own(o)]
        transfer = len(own) < len(obs)
        chosen = [np.array(self._coords(p)) for p in pending]
        taken = {o.key for o in own} | {self._key(c) for c in chosen}
        rng = np.random.default_rng([self.seed, len(obs), len(pending)])
        center_key = self._key(self.space.normalize(self._center))
        out: list[dict[str, Any]] = []
        infos: list[dict[str, Any]] = []
        for i in range(n):
            index = len(obs) + len(pending) + i  # 0-based number of this suggestion in the sweep
            # with other pairs' results (transfer) the model decides from the first suggestion on
            if not transfer and not own and s.seed_with_search_center and center_key not in taken:
                coords, info = np.array(self.space.normalize(self._center)), {"how": "center"}
            elif not transfer and (len(own) < s.num_random_samples or (not own and not chosen)):
                candidates = self._snap(rng.uniform(-1, 1, (64, len(self.space))))
                coords, info = candidates[self._first_unseen(candidates, taken)], {"how": "random"}
            elif not transfer and not own:
                coords, info = self._explore(rng, chosen, taken), {"how": "explore"}
            elif (
                s.resample_frequency
                and (index + 1) % s.resample_frequency == 0
                and any(o.score is not None for o in own)
            ):
                front = self._models().own_front
                coords, info = front[rng.integers(len(front))], {"how": "resample"}
            else:
                coords, info = self._gp_suggestion(rng, chosen, taken)
            key = self._key(coords)
            out.append(self._center if info["how"] == "center" else dict(zip(self.space.keys, key)))
            infos.append(
                {"predicted_score": None, "predicted_cost": None, "acquisition": None, **info}
            )
            chosen.append(np.asarray(coords, dtype=float))
            taken.add(key)
        self.last_info = infos
        return [dict(o) for o in out]

    def _fit_prefix(self, n: int) -> int:
        """``fit_prefix`` on the schedule in use: every 10% growth once other pairs' results
        are in (transfer), else every 25%. A function of the observations alone (resumes fit
        the same)."""
        transfer = any(not self._is_own(o) for o in self.observations)
        return fit_prefix(n, REFIT_GROWTH_TRANSFER if transfer else REFIT_GROWTH)

    def _is_own(self, o: Observation) -> bool:
        return self._target is None or o.context is None or o.context == self._target

    def _snap(self, coords: np.ndarray) -> np.ndarray:
        """Move discrete coordinates onto the values they stand for (pow2 and integer grids)."""
        for j in self._discrete:
            p = self.space.params[j]
            coords[:, j] = [p.normalize(p.unnormalize(c)) for c in coords[:, j]]
        return coords

    def _first_unseen(
        self, candidates: np.ndarray, taken: set, order: np.ndarray | None = None
    ) -> int:
        """Index of the first candidate (in ``order``) whose configuration is not taken; else the first."""
        order = np.arange(len(candidates)) if order is None else order
        for j in order:
            if self._key(candidates[j]) not in taken:
                return int(j)
        return int(order[0])

    def _explore(
        self, rng: np.random.Generator, chosen: list[np.ndarray], taken: set
    ) -> np.ndarray:
        """No results yet but trials in flight: the candidate farthest from all of them."""
        center = np.array(self.space.normalize(self._center))[None, :]
        candidates = self._candidates(rng, center)
        distance = np.min(
            np.linalg.norm(candidates[:, None, :] - np.array(chosen)[None, :, :], axis=2), axis=1
        )
        return candidates[
            self._first_unseen(candidates, taken, np.argsort(-distance, kind="stable"))
        ]

    def _candidates(self, rng: np.random.Generator, centers: np.ndarray) -> np.ndarray:
        s = self.settings
        d = len(self.space)
        local = np.repeat(centers, s.suggestions_per_pareto, axis=0)
        local = local + rng.uniform(-1, 1, local.shape) * self._scale
        global_ = rng.uniform(-1, 1, (s.random_suggestions, d))
        return self._snap(np.clip(np.vstack([local, global_]), -1.0, 1.0))

    def _model_observations(self) -> tuple[list[Observation], int]:
        """The observations as the models see them, and how many context columns they carry.

        Without observations of another context: this sweep's own, coordinates only. With them
        (transfer): every observation, its coordinates moved by the fitted context shift
        (``context.py``; the sweep's own are not moved; when the most likely split is an aligned
        one, the other pairs' also by the alignment, ``_align``) followed by its context's log2
        distance from the target context (zeros for the sweep's own).
        """
        obs, target = self.observations, self._target
        if target is None or all(self._is_own(o) for o in obs):
            return list(obs), 0
        shift = self._shift(self._with_context(), len(target))
        splits = self._splits.get((self._fit_prefix(len(obs)), target))
        raw = self._with_context(aligned=bool(splits and splits[0].aligned))
        self._shift_now = shift
        if not shift.any():
            return raw, len(target)
        x = shifted(np.array([o.coords for o in raw]), len(self.space), shift)
        return [replace(o, coords=tuple(map(float, row))) for o, row in zip(raw, x)], len(target)

    def _with_context(self, aligned: bool = False) -> list[Observation]:
        """Every observation with its context's log2 distance from the target context appended
        to its coordinates (zeros for the sweep's own), unshifted; ``aligned``: the other pairs'
        coordinates moved by the alignment fitted with the current shift (``_align``)."""
        target = self._target or ()
        zeros = (0.0,) * len(target)
        offsets = (
            self._offsets.get((self._fit_prefix(len(self.observations)), self._target), {})
            if aligned
            else {}
        )

        def coords(o: Observation) -> tuple[float, ...]:
            if self._is_own(o) or o.context not in offsets:
                return o.coords
            return tuple(map(float, np.array(o.coords) - offsets[o.context]))

        return [
            replace(
                o,
                coords=coords(o)
                + (zeros if self._is_own(o) else context_features(o.context or (), target)),
            )
            for o in self.observations
        ]

    def _shift(self, raw: Sequence[Observation], context_dims: int) -> np.ndarray:
        """The context shift fitted on the first ``fit_prefix(n)`` observations (cached)."""
        m = self._fit_prefix(len(raw))
        cache_key = (m, self._target)
        if cache_key not in self._shifts:
            d = len(self.space)
            prefix = raw[:m]
            guess = space_shift(
                [
                    (np.array(o.coords[d:]), np.array(o.moved))
                    for o in prefix
                    if not self._is_own(o) and o.moved is not None
                ],
                d,
                context_dims,
            )
            # the spaces' move as the sheared kernels see it (the learning rate follows the batch)
            guess = unshear(guess, self._shear)
            shift = guess
            others = sum(not self._is_own(o) for o in prefix)
            data = score_targets(prefix)
            if others >= MIN_SHIFT_POINTS and data.ok.sum() >= MIN_FIT_POINTS:
                idx = fit_subset(m)
                x, y = data.x[idx], data.y[idx]
                floors, start = self._kernel_bounds(context_dims)
                # the first search's kernel: the default one (moderate length scales, context 3
                # doublings), not one fitted to these few points: early fits often call a
                # parameter irrelevant (length scale 30), and then no shift of it shows
                shear = self._shear
                base = with_shear(default_kernel(floors, trend=False, start=start), shear)
                first = fit_shift(base, x, y, d, guess)
                splits = fit_splits(x, y, d, floors, first, guess, self.seed, shear)
                # the same splits again on the results moved by the pairs' alignment (when it
                # moves any): the mixture weighs both by their likelihoods, the aligned ones less
                # the offsets fitted to these same results (AIC, ``ALIGN_PENALTY`` each)
                moved = self._align(prefix, idx, x, y, first)
                if moved is not None and any(o.any() for o in moved[0].values()):
                    offsets, x_aligned = moved
                    self._offsets[cache_key] = offsets
                    spent = ALIGN_PENALTY * sum(np.count_nonzero(o) for o in offsets.values())
                    splits = sorted(
                        splits
                        + [
                            replace(s, aligned=True, log_likelihood=s.log_likelihood - spent)
                            for s in fit_splits(
                                x_aligned, y, d, floors, first, guess, self.seed, shear
                            )
                        ],
                        key=lambda s: -s.log_likelihood,
                    )
                    if splits[0].aligned:
                        x = x_aligned
                shift = splits[0].shift
                # the best split's kernel, fitted again on the observations at its own shift
                self._kernels[("separable", m, self._target)] = fit_separable(
                    with_shear(separable_kernel(floors, d, context_dims, splits[0].private), shear),
                    shifted(x, d, shift),
                    y,
                    d,
                    self.seed,
                )
                self._splits[cache_key] = splits[:SPLITS_IN_MIXTURE]
            self._shifts[cache_key] = shift
        return self._shifts[cache_key]

    def _align(
        self,
        prefix: Sequence[Observation],
        idx: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        first: np.ndarray,
    ) -> tuple[dict[ContextKey, np.ndarray], np.ndarray] | None:
        """Per other pair, the offset that moves its peak onto this pair's (``context.py``,
        ``alignment_offsets``), and ``x`` with the other pairs' rows so moved; None before this
        pair has a result, or when no parameter is aligned.

        ``prefix[idx]`` are the rows of ``x`` (unshifted model inputs) and ``y``; the peaks are
        placed on the inputs moved by ``first``, the shift under the default kernel.
        """
        d = len(self.space)
        aligned = aligned_parameters(d, self._shear)
        if not aligned or not any(self._is_own(o) and o.score is not None for o in prefix):
            return None
        contexts = sorted({cast(ContextKey, o.context) for o in prefix if not self._is_own(o)})
        index = {c: g for g, c in enumerate(contexts, start=1)}
        group = np.array(
            [0 if self._is_own(o) else index[cast(ContextKey, o.context)] for o in prefix]
        )[idx]
        offsets = alignment_offsets(
            shifted(x, d, first), y, d, group, len(contexts) + 1, self._shear, aligned
        )
        moved = x.copy()
        others = group > 0
        moved[others, :d] -= offsets[group[others] - 1]
        return dict(zip(contexts, offsets)), moved

    def _kernel_bounds(self, context_dims: int) -> tuple[np.ndarray, np.ndarray]:
        """Length-scale floors and starting values: the parameters', then the context's."""
        floors = np.concatenate(
            [self._min_length_scales, np.full(context_dims, CONTEXT_MIN_LENGTH_SCALE)]
        )
        start = np.concatenate(
            [np.full(len(self.space), 0.7), np.full(context_dims, CONTEXT_START_LENGTH_SCALE)]
        )
        return floors, start

    def _kernel(self, name: str, obs: Sequence[Observation], context_dims: int) -> Kernel:
        """Hyperparameters fitted on the first ``fit_prefix(n)`` observations (cached per prefix).

        With transfer the score's kernel is separable (``context.separable_kernel``): the best
        split's, fitted when the shift was (``_shift``); before the shift is fitted from the
        data, the split with every parameter shared. A pure function of those observations, so
        a rebuilt optimizer fits exactly the same.
        """
        m = self._fit_prefix(len(obs))
        if name == "score" and context_dims:
            cache_key: tuple[Any, ...] = ("separable", m, self._target)
            if cache_key not in self._kernels:  # too few results to weigh splits
                d = len(self.space)
                floors, _ = self._kernel_bounds(context_dims)
                kernel = with_shear(separable_kernel(floors, d, context_dims, ()), self._shear)
                prefix_data = score_targets(obs[:m])
                if len(prefix_data.y) >= MIN_FIT_POINTS:
                    idx = fit_subset(m)
                    kernel = fit_separable(
                        kernel, prefix_data.x[idx], prefix_data.y[idx], d, self.seed
                    )
                self._kernels[cache_key] = kernel
            return self._kernels[cache_key]
        cache_key = (name, m, self._target if context_dims else None)
        if cache_key not in self._kernels:
            prefix = obs[:m]
            data = (
                score_targets(prefix)
                if name == "score"
                else cost_targets(prefix, self.settings.max_suggestion_cost)
            )
            width = len(self.space) + context_dims
            x, y = (data.x, data.y) if data is not None else (np.zeros((0, width)), np.zeros(0))
            floors, start = self._kernel_bounds(context_dims)
            self._kernels[cache_key] = fit_kernel(
                x,
                y,
                self.seed,
                floors,
                trend=name == "cost",
                start=start,
                prior_dims=len(self.space),
            )
        return self._kernels[cache_key]

    def _mixture(self, splits: list[Split]) -> Mixture:
        """The score model with transfer: the splits' GPs, each on the observations moved by its
        own shift, weighted by the splits' likelihoods."""
        d = len(self.space)
        data = score_targets(self._with_context())
        x_aligned = score_targets(self._with_context(aligned=True)).x
        parts = [
            Surrogate.condition(
                s.kernel, shifted(x_aligned if s.aligned else data.x, d, s.shift), data.y
            )
            for s in splits
        ]
        return Mixture(parts, split_weights(splits))

    def _models(self) -> _Models:
        cache_key = (len(self.observations), self._target)
        if self._models_cache is not None and self._models_cache[0] == cache_key:
            return self._models_cache[1]
        obs, c = self._model_observations()
        d = len(self.space)
        sd = score_targets(obs)
        kernel = self._kernel("score", obs, c)
        score = Surrogate.condition(kernel, sd.x, sd.y)
        ok = sd.ok
        own = np.array([self._is_own(o) for o in obs], dtype=bool)
        # the incumbent: the best predicted score, in the target context, at a measured config
        at = sd.x[ok].copy()
        at[:, d:] = 0.0
        predicted = score.predict(at)[0] if ok.any() else np.zeros(0)
        best = float(predicted.max()) if ok.any() else float(sd.y.max())
        cd = cost_targets(obs, self.settings.max_suggestion_cost)
        cost = (
            Surrogate.condition(self._kernel("cost", obs, c), cd.x, cd.y)
            if cd is not None
            else None
        )
        own_ok = ok & own
        incumbent = None
        if own_ok.any():
            own_pred = score.predict(sd.x[own_ok])[0]
            incumbent = sd.x[own_ok][int(np.argmax(own_pred)), :d]
            if c:  # improve on this pair's own best: the others' are not reached here yet
                best = float(own_pred.max())
        if own_ok.any():
            costs = np.array([o.cost if o.cost is not None else np.inf for o in obs])[own_ok]
            own_front = sd.x[own_ok][pareto_front(sd.y[own_ok], costs)][:, :d]
        else:
            own_front = np.array(self.space.normalize(self._center))[None, :]
        front, transfer = own_front, None
        private: tuple[int, ...] | None = None  # the most likely split's, once fitted
        acquire: Surrogate | Mixture = score
        if c:
            # other pairs' best configurations (moved into this space's bounds) seed candidates too
            splits = self._splits.get((self._fit_prefix(len(self.observations)), self._target))
            private = splits[0].private if splits else None
            top = np.argsort(-predicted, kind="stable")[:TRANSFER_CENTERS]
            borrowed = self._snap(np.clip(at[top, :d], -1.0, 1.0))
            if private:
                # their best says where the shared parameters go; the private values are theirs,
                # so those centers take this pair's incumbent's (the search center before one)
                here = (
                    incumbent
                    if incumbent is not None
                    else np.array(self.space.normalize(self._center))
                )
                borrowed[:, list(private)] = here[list(private)]
                borrowed = self._snap(borrowed)
            front = np.vstack([own_front, borrowed]) if own_ok.any() else borrowed
            others = [o for o, mine in zip(obs, own) if not mine]
            names = [name for name, _ in self._target or ()]
            transfer = {
                "own": int(own.sum()),
                "other": len(others),
                "other_contexts": len({o.context for o in others}),
                # of the private part: how fast a pair's private parameters stop applying here
                "context_length_scales": dict(zip(names, private_context_length_scales(kernel, d))),
                # per parameter and feature: the optimum's move per doubling, in fractions of
                # the parameter's search range (0: the pairs' landscapes line up unmoved)
                "context_shift": {
                    key: {name: round(float(b) / 2, 4) for name, b in zip(names, row)}
                    for key, row in zip(self.space.keys, self._shift_now)
                },
            }
            if self._shear is not None:  # one entry: the learning rate's slope on the batch
                (row,), (col,) = np.nonzero(self._shear)
                keys = self.space.keys
                transfer["shear"] = {keys[row]: {keys[col]: round(float(self._shear[row, col]), 4)}}
            if splits:
                acquire = self._mixture(splits)
                own_rows = own & ok
                if own_rows.any():
                    best = float(acquire.predict(sd.x[own_rows])[0].max())
                transfer["splits"] = [
                    {
                        "private": [self.space.keys[j] for j in s.private],
                        "aligned": s.aligned,
                        "weight": round(float(w), 4),
                    }
                    for s, w in zip(splits, acquire.weights)
                ]
                offsets = self._offsets.get(
                    (self._fit_prefix(len(self.observations)), self._target)
                )
                if offsets:
                    # per other pair: how far its peak lies from this pair's, in fractions of
                    # each aligned parameter's range (what the aligned splits move it by)
                    cols = aligned_parameters(d, self._shear)
                    transfer["alignment"] = {
                        ",".join(f"{k}={v:g}" for k, v in ctx): {
                            self.space.keys[j]: round(float(off[j]) / 2, 4) for j in cols
                        }
                        for ctx, off in offsets.items()
                    }
        models = _Models(
            private=private,
            score_data=sd,
            score=acquire,
            best=best,
            cost_data=cd,
            cost=cost,
            front=front,
            own_front=own_front,
            context_dims=c,
            incumbent=incumbent,
            transfer=transfer,
        )
        self._models_cache = (cache_key, models)
        return models

    def _gp_suggestion(
        self, rng: np.random.Generator, chosen: list[np.ndarray], taken: set
    ) -> tuple[np.ndarray, dict[str, Any]]:
        s = self.settings
        m = self._models()
        sd, cd = m.score_data, m.cost_data
        if m.context_dims:  # transfer: search around the own front and the others' best only
            local = np.repeat(m.front, self.settings.suggestions_per_pareto, axis=0)
            local = local + transfer_steps(rng, local.shape, m.private)
            candidates = self._snap(np.clip(local, -1.0, 1.0))
        else:
            candidates = self._candidates(rng, m.front)
        if m.incumbent is not None:
            candidates = np.vstack([candidates, self._local(rng, m.incumbent)])
        score = m.score
        if chosen:  # constant-liar fantasies for trials in flight and earlier picks of this call
            fantasies = np.hstack([np.array(chosen), np.zeros((len(chosen), m.context_dims))])
            score = score.with_points(fantasies, np.full(len(fantasies), LIAR_SCORE))
        # the acquisition's random knob is drawn once per suggestion
        if s.acquisition_fn == "ei":
            knob = rng.exponential(0.1) if s.randomize_acquisition else 0.0
        elif s.acquisition_fn == "ucb":
            knob = s.ucb_beta * rng.exponential(1.0) if s.randomize_acquisition else s.ucb_beta
        else:
            knob = (1.0 + s.expansion_rate) * rng.random()

        def evaluate(points: np.ndarray) -> tuple[np.ndarray, ...]:
            """Acquisition (cost-masked), mean, std and log cost at ``points`` (target context)."""
            inputs = np.hstack([points, np.zeros((len(points), m.context_dims))])
            mean, std = score.predict(inputs)
            log_cost = cost01 = None
            if m.cost is not None and cd is not None:
                log_cost = m.cost.predict(inputs)[0] * cd.std + cd.mean
                span = cd.high - cd.low
                cost01 = (log_cost - cd.low) / span if span > 1e-12 else np.zeros_like(log_cost)
            if s.acquisition_fn == "ei":
                acq = log_expected_improvement(mean, std, m.best, knob)
            elif s.acquisition_fn == "ucb":
                acq = upper_confidence_bound(mean, std, knob)
            else:
                span = sd.high - sd.low
                score01 = (mean - sd.low) / span if span > 1e-12 else mean - sd.low
                acq = naive_cost_weighted(score01, cost01, knob)
            if log_cost is None:
                return acq, mean, std, np.full(len(points), np.nan), np.ones(len(points), bool)
            allowed = log_cost < math.log(s.max_suggestion_cost)
            return np.where(allowed, acq, -np.inf), mean, std, log_cost, allowed

        acq, mean, std, log_cost, allowed = evaluate(candidates)
        how = "gp"
        if not allowed.any():
            acq, how = -log_cost, "gp-cheapest"
        elif int(sd.ok.sum()) >= POLISH_MIN_RESULTS:
            candidates, acq, mean, std, log_cost = self._polish(
                rng, evaluate, candidates, acq, mean, std, log_cost
            )
        order = np.argsort(-acq, kind="stable")
        j = self._first_unseen(candidates, taken, order)
        sign = 1.0 if self.goal == "maximize" else -1.0
        has_cost = m.cost is not None
        info = {
            "how": how,
            "predicted_score": sign * float(sd.to_raw(mean[j])),
            "predicted_score_std": float(sd.to_raw(mean[j] + std[j]) - sd.to_raw(mean[j] - std[j]))
            / 2,
            "predicted_cost": float(np.exp(log_cost[j])) if has_cost else None,
            "acquisition": float(acq[j])
            if np.isfinite(acq[j])
            else None,  # -inf: only masked ones were left
            "acquisition_fn": s.acquisition_fn,
            "candidates": len(candidates),
        }
        if m.transfer is not None:
            info["transfer"] = m.transfer
        return candidates[j], info

    def _local(self, rng: np.random.Generator, incumbent: np.ndarray) -> np.ndarray:
        """Candidates close to the incumbent: small steps in a few coordinates at a time."""
        d = len(self.space)
        out = []
        for scale in LOCAL_SCALES:
            step = rng.normal(0.0, scale, (LOCAL_PER_SCALE, d))
            mask = rng.random((LOCAL_PER_SCALE, d)) < min(1.0, LOCAL_DIMS / d)
            mask[np.arange(LOCAL_PER_SCALE), rng.integers(d, size=LOCAL_PER_SCALE)] = True
            out.append(incumbent[None, :] + step * mask)
        return self._snap(np.clip(np.vstack(out), -1.0, 1.0))

    def _polish(
        self,
        rng: np.random.Generator,
        evaluate: Any,
        candidates: np.ndarray,
        acq: np.ndarray,
        mean: np.ndarray,
        std: np.ndarray,
        log_cost: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        """Refine the best candidates by shrinking random local steps on the acquisition."""
        top = np.argsort(-acq, kind="stable")[:POLISH_TOP]
        points, best = candidates[top].copy(), acq[top].copy()
        d = len(self.space)
        for scale in POLISH_SCALES:
            trial = np.repeat(points, POLISH_STEPS, axis=0)
            trial = self._snap(np.clip(trial + rng.normal(0.0, scale, trial.shape), -1.0, 1.0))
            a = evaluate(trial)[0].reshape(len(points), POLISH_STEPS)
            k = a.argmax(axis=1)
            better = a[np.arange(len(points)), k] > best
            points[better] = trial.reshape(len(points), POLISH_STEPS, d)[better, k[better]]
            best[better] = a[better, k[better]]
        a, mu, sd_, lc, _ = evaluate(points)
        return (
            np.vstack([candidates, points]),
            np.concatenate([acq, a]),
            np.concatenate([mean, mu]),
            np.concatenate([std, sd_]),
            np.concatenate([log_cost, lc]),
        )
