"""Scaling laws with bootstrap CIs: power law, Amdahl, USL (chosen by AICc), critical batch size.

Every fit is done in log space (multiplicative noise: the large values must not dominate), with
bounds where the physics has them (``sigma`` in [0, 1], ``kappa >= 0``). Intervals come from a
parametric bootstrap in log space whose noise scale is itself drawn from its sampling
distribution (see :func:`~hwscale_tui.analysis.lsq.parametric_log_bootstrap`), so a law fitted
on three points says its interval is wide. With too few points a function returns
:class:`NotEnoughData` with the reason instead of a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..records import plural
from .lsq import (
    AMDAHL,
    CRITICAL_BATCH,
    USL,
    Grouped,
    LogModel,
    batched_lm,
    fit_point,
    group_log,
    parametric_log_bootstrap,
    weighted_line,
)
from .stats import aicc, percentile_ci


@dataclass(frozen=True)
class NotEnoughData:
    """A law that could not be fitted, and why (said instead of a number)."""

    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"not_enough_data": self.reason}

    def __str__(self) -> str:
        return f"not enough data: {self.reason}"


@dataclass(kw_only=True)
class LogFit:
    """What every fit carries: CIs, goodness of fit in log space, the data and the bootstrap."""

    ci: dict[str, tuple[float, float]]
    rmse_log: float  # root-mean-square residual of ln y
    r2_log: float  # share of the variance of ln y explained
    n: int
    dof: int
    ci_level: float
    note: str = ""
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    model: LogModel | None = field(default=None, repr=False)
    theta: np.ndarray = field(repr=False)
    boot_theta: np.ndarray = field(repr=False)  # (B, p) in the model's internal parameters

    def _log_predict(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        assert self.model is not None
        return self.model.log_predict(theta, x)

    def predict(self, x: Any) -> np.ndarray:
        xs = np.atleast_1d(np.asarray(x, dtype=float))
        return np.exp(self._log_predict(self.theta[None, :], xs)[0])

    def band(self, x: Any, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise bootstrap interval of the fitted curve at ``x``."""
        xs = np.atleast_1d(np.asarray(x, dtype=float))
        if self.boot_theta.shape[0] < 2:  # no resample, or one: no band
            mid = self.predict(xs)
            return mid, mid
        lev = self.ci_level if level is None else level
        with np.errstate(over="ignore"):
            pred = np.exp(self._log_predict(self.boot_theta, xs))
        alpha = (1 - lev) / 2
        lo, hi = np.nanquantile(pred, [alpha, 1 - alpha], axis=0)
        return lo, hi

    def params(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return {
            "law": type(self).__name__,
            **self.params(),
            "ci": {k: list(v) for k, v in self.ci.items()},
            "rmse_log": self.rmse_log,
            "r2_log": self.r2_log,
            "n": self.n,
            "dof": self.dof,
            "ci_level": self.ci_level,
            "note": self.note,
        }


@dataclass(kw_only=True)
class PowerLawFit(LogFit):
    """``y = a * x^b``."""

    a: float
    b: float

    def _log_predict(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        return theta[:, 0:1] + theta[:, 1:2] * np.log(x)[None, :]

    def params(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b}


@dataclass(kw_only=True)
class AmdahlFit(LogFit):
    """``X(N) = lam * N / (1 + sigma * (N - 1))``."""

    lam: float
    sigma: float
    aicc: float | None

    def params(self) -> dict[str, Any]:
        return {"lam": self.lam, "sigma": self.sigma, "aicc": self.aicc}


@dataclass(kw_only=True)
class USLFit(LogFit):
    """``X(N) = lam * N / (1 + sigma * (N - 1) + kappa * N * (N - 1))``; peak at ``sqrt((1 - sigma) / kappa)``.

    ``peak_n`` is None unless kappa > 0 and the peak's whole interval is finite.
    """

    lam: float
    sigma: float
    kappa: float
    peak_n: float | None
    aicc: float | None

    def params(self) -> dict[str, Any]:
        return {
            "lam": self.lam,
            "sigma": self.sigma,
            "kappa": self.kappa,
            "peak_n": self.peak_n,
            "aicc": self.aicc,
        }


MIN_CLAIM_DOF = 2
"""The fewest residual degrees of freedom on which a critical batch size is claimed: with one, the
noise scale rests on a single residual (Student's t at 95% is 12.7 with 1 degree of freedom, 4.3
with 2) and three points leave nothing to tell McCandlish's bend from any other two-parameter
curve."""

B_CRIT_BOUND_FACTOR = 100.0
"""A B_crit interval reaching past 100x the largest tested batch size (or below 1/100 of the
smallest) is unbounded: there, at every tested size, the law differs by under 1% from one with no
critical batch size (steps falling as 1/B, or not falling at all), so the data do not bound it."""


@dataclass(kw_only=True)
class CriticalBatchFit(LogFit):
    """McCandlish et al.: ``S = S_min (1 + B_crit / B)``, ``E = E_min (1 + B / B_crit)``, ``B_crit = E_min / S_min``.

    ``straddled`` says whether the tested batch sizes lie on both sides of ``b_crit``; without
    that the critical batch size is an extrapolation. ``bounded``: whether its interval is finite
    and within :data:`B_CRIT_BOUND_FACTOR` of the tested batch sizes (None without an interval).
    ``claimed``: straddled, at least :data:`MIN_CLAIM_DOF` residual degrees of freedom, and not
    unbounded; only then is it a finding (:attr:`unclaimed_reason` says why not).
    """

    s_min: float
    e_min: float
    b_crit: float
    straddled: bool
    batch_range: tuple[float, float]
    bounded: bool | None = None
    claimed: bool = False

    @property
    def unclaimed_reason(self) -> str:
        """Why B_crit is not claimed, in a few words ("" when it is)."""
        if self.claimed:
            return ""
        if not self.straddled:
            return "outside the tested batch sizes"
        if self.dof < MIN_CLAIM_DOF:
            return f"{plural(self.dof, 'residual degree')} of freedom"
        return "its interval is unbounded"

    def params(self) -> dict[str, Any]:
        return {
            "s_min": self.s_min,
            "e_min": self.e_min,
            "b_crit": self.b_crit,
            "straddled": self.straddled,
            "bounded": self.bounded,
            "claimed": self.claimed,
            "batch_range": list(self.batch_range),
        }


AICC_MARGIN = 2.0
"""How much lower the USL's AICc must be for its extra term (kappa) to be chosen: laws within 2
of the best both have substantial support (Burnham & Anderson 2002, p. 70), and a model within
2 that adds one parameter to the other is close only because of it (ibid., p. 131; Arnold 2010
on such uninformative parameters). Within it the simpler law, Amdahl's, is kept and the two are said to be indistinguishable."""


@dataclass
class ThroughputSelection:
    """Amdahl vs USL on the same points, chosen by AICc (lower is better); the USL only when its
    AICc is lower by more than :data:`AICC_MARGIN`."""

    chosen: str  # "amdahl" or "usl"
    amdahl: AmdahlFit
    usl: USLFit | NotEnoughData
    delta_aicc: float | None  # AICc(amdahl) - AICc(usl); > 0 favours USL
    reason: str
    indistinguishable: bool = False  # |delta_aicc| <= AICC_MARGIN: the data cannot tell them apart

    @property
    def x(self) -> np.ndarray:
        return self.amdahl.x

    @property
    def y(self) -> np.ndarray:
        return self.amdahl.y

    @property
    def fit(self) -> AmdahlFit | USLFit:
        return self.usl if self.chosen == "usl" and isinstance(self.usl, USLFit) else self.amdahl

    def predict(self, n: Any) -> np.ndarray:
        return self.fit.predict(n)

    def band(self, n: Any, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.fit.band(n, level)

    def to_json(self) -> dict[str, Any]:
        return {
            "law": "ThroughputSelection",
            "chosen": self.chosen,
            "delta_aicc": self.delta_aicc,
            "indistinguishable": self.indistinguishable,
            "reason": self.reason,
            "amdahl": self.amdahl.to_json(),
            "usl": self.usl.to_json(),
        }


# -- helpers --------------------------------------------------------------------------------


def _positive_pairs(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, int]:
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if xa.shape != ya.shape:
        raise ValueError(f"x and y differ in length ({xa.size} vs {ya.size})")
    ok = np.isfinite(xa) & np.isfinite(ya) & (xa > 0) & (ya > 0)
    return xa[ok], ya[ok], int((~ok).sum())


def _check_points(
    x: np.ndarray, n_params: int, dropped: int, what: str, left_out: str | None = None
) -> NotEnoughData | None:
    """``left_out``: what the dropped points were, said instead of "missing or non-positive"."""
    distinct = np.unique(x).size
    if x.size < n_params + 1 or distinct < n_params:
        said = left_out or plural(dropped, "missing or non-positive value")
        extra = f" ({said} left out)" if dropped else ""
        return NotEnoughData(
            f"{what} needs at least {n_params + 1} points at {n_params} or more distinct x values; "
            f"got {x.size} point{'s' if x.size != 1 else ''} at {distinct} distinct "
            f"value{'s' if distinct != 1 else ''}{extra}"
        )
    return None


def _fit_quality(logy: np.ndarray, rss: float) -> tuple[float, float]:
    rmse = float(np.sqrt(rss / logy.size))
    tss = float(np.sum((logy - logy.mean()) ** 2))
    r2 = float(1 - rss / tss) if tss > 0 else float("nan")
    return rmse, r2


def _exact(rss: float, n: int) -> bool:
    """The points lie on the law to rounding (an RMS log residual below 1e-6, a millionth in
    relative terms, which a bounded fit's optimizer also stops at): no noise scale to resample."""
    return rss <= 1e-12 * max(n, 1)


def _dof_note(dof: int, n_boot: int, exact: bool = False) -> str:
    """Few residual degrees of freedom: the interval is wide, or, without one (no bootstrap
    resamples), the fit itself is loose. ``exact``: the points lie on the law, so there is no
    interval at all (the bootstrap's was one value, "[a, a]", beside "the interval is wide")."""
    what = f"{dof} residual degree{'' if dof == 1 else 's'} of freedom"
    if exact and n_boot > 1:
        return (
            f"the points lie exactly on the law (no residual, {what}): no noise to resample, "
            "so no interval; an exact fit of so few points is no certainty"
        )
    if dof > 3:
        return ""
    if n_boot <= 1:  # one resample makes no interval either
        return f"{what}: the fit is loose (no interval: {plural(max(n_boot, 0), 'bootstrap resample')})"
    return f"{what}: the interval is wide"


def _shape_note(x: np.ndarray, n_params: int, law: str) -> str:
    """No more sizes than the law has parameters: it is set by each size's value and any such
    curve would do as well, so the fit does not test the law's shape (one more size does)."""
    sizes = int(np.unique(x).size)
    if sizes > n_params:
        return ""
    return (
        f"{sizes} sizes for the {n_params} parameters of {law}: its shape is not tested (that "
        f"takes {n_params + 1} or more sizes)"
    )


def _bound_note(sigma: float) -> str:
    if sigma >= 1.0 - 1e-6:
        return "sigma at its bound 1: the larger pairs gave no speed-up in this data"
    return ""


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _nonlinear(
    model: LogModel, x: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[Grouped, np.ndarray, float, np.ndarray]:
    g = group_log(x, np.log(y))
    theta, rss = fit_point(model, g)
    fitted = model.log_predict(theta[None, :], g.x)[0]
    if n_boot > 0 and not _exact(rss, x.size):
        ystar = parametric_log_bootstrap(g, fitted, rss, len(model.params), n_boot, rng)
        boot = batched_lm(model, g.x, ystar, g.counts, theta)
    else:
        boot = np.empty((0, theta.size))
    return g, theta, rss, boot


# -- public fits ----------------------------------------------------------------------------


def fit_power_law(
    x: Any,
    y: Any,
    *,
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    ci_level: float = 0.95,
    left_out: str | None = None,
) -> PowerLawFit | NotEnoughData:
    """``y = a * x^b`` by least squares on ``ln y = ln a + b ln x``, with bootstrap CIs on a and b.

    ``left_out``: what the points with a missing or non-positive ``y`` are (e.g. "4 configs
    whose best trial did not reach the target"), for the reason when too few remain."""
    xa, ya, dropped = _positive_pairs(x, y)
    bad = _check_points(xa, 2, dropped, "a power law", left_out)
    if bad:
        return bad
    g = group_log(np.log(xa), np.log(ya))
    intercept, slope = weighted_line(g.x, g.mean_logy[None, :], g.counts)
    theta = np.array([intercept[0], slope[0]])
    at_points = theta[0] + theta[1] * np.log(xa)
    rss = float(np.sum((np.log(ya) - at_points) ** 2))
    dof = xa.size - 2
    rng = _rng(seed)
    exact = _exact(rss, xa.size)
    if n_boot > 0 and not exact:
        fitted = theta[0] + theta[1] * g.x
        ystar = parametric_log_bootstrap(g, fitted, rss, 2, n_boot, rng)
        bi, bs = weighted_line(g.x, ystar, g.counts)
        boot = np.column_stack([bi, bs])
    else:
        boot = np.empty((0, 2))
    rmse, r2 = _fit_quality(np.log(ya), rss)
    with np.errstate(over="ignore"):  # with 1 residual dof a resampled noise scale can be huge
        ci = (
            {
                "a": percentile_ci(np.exp(boot[:, 0]), ci_level),
                "b": percentile_ci(boot[:, 1], ci_level),
            }
            if boot.size
            else {}
        )
    return PowerLawFit(
        a=float(np.exp(theta[0])),
        b=float(theta[1]),
        ci=ci,
        rmse_log=rmse,
        r2_log=r2,
        n=int(xa.size),
        dof=dof,
        ci_level=ci_level,
        note="; ".join(
            s for s in (_dof_note(dof, n_boot, exact), _shape_note(xa, 2, "the power law")) if s
        ),
        x=xa,
        y=ya,
        theta=theta,
        boot_theta=boot,
    )


def fit_amdahl(
    n: Any,
    x: Any,
    *,
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    ci_level: float = 0.95,
) -> AmdahlFit | NotEnoughData:
    """Amdahl's law for throughput ``x`` on ``n`` workers, bounded ``0 <= sigma <= 1``, fitted on ln x."""
    na, xa, dropped = _positive_pairs(n, x)
    bad = _check_points(na, 2, dropped, "Amdahl's law")
    if bad:
        return bad
    _g, theta, rss, boot = _nonlinear(AMDAHL, na, xa, n_boot, _rng(seed))
    rmse, r2 = _fit_quality(np.log(xa), rss)
    ci = (
        {
            "lam": percentile_ci(np.exp(boot[:, 0]), ci_level),
            "sigma": percentile_ci(boot[:, 1], ci_level),
        }
        if boot.size
        else {}
    )
    dof = int(na.size - 2)
    notes = [
        _dof_note(dof, n_boot, _exact(rss, na.size)),
        _bound_note(float(theta[1])),
        _shape_note(na, 2, "Amdahl's law"),
    ]
    return AmdahlFit(
        lam=float(np.exp(theta[0])),
        sigma=float(theta[1]),
        aicc=aicc(rss, int(na.size), 3),
        ci=ci,
        rmse_log=rmse,
        r2_log=r2,
        n=int(na.size),
        dof=dof,
        ci_level=ci_level,
        note="; ".join(n for n in notes if n),
        x=na,
        y=xa,
        model=AMDAHL,
        theta=theta,
        boot_theta=boot,
    )


def _peak(sigma: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(kappa > 0, np.sqrt(np.maximum(1.0 - sigma, 0.0) / kappa), np.inf)


def fit_usl(
    n: Any,
    x: Any,
    *,
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    ci_level: float = 0.95,
) -> USLFit | NotEnoughData:
    """Gunther's Universal Scalability Law, bounded ``0 <= sigma <= 1``, ``kappa >= 0``, fitted on ln x."""
    na, xa, dropped = _positive_pairs(n, x)
    bad = _check_points(na, 3, dropped, "the USL")
    if bad:
        return bad
    _g, theta, rss, boot = _nonlinear(USL, na, xa, n_boot, _rng(seed))
    rmse, r2 = _fit_quality(np.log(xa), rss)
    sigma, kappa = float(theta[1]), float(theta[2])
    peak_point = float(_peak(np.array([sigma]), np.array([kappa]))[0])
    ci: dict[str, tuple[float, float]] = {}
    notes = [_dof_note(int(na.size - 3), n_boot, _exact(rss, na.size)), _bound_note(sigma)]
    notes.append(_shape_note(na, 3, "the USL"))  # lam, sigma, kappa
    peak_n: float | None = None
    if boot.shape[0] > 1:  # one resample bounds nothing
        ci = {
            "lam": percentile_ci(np.exp(boot[:, 0]), ci_level),
            "sigma": percentile_ci(boot[:, 1], ci_level),
            "kappa": percentile_ci(boot[:, 2], ci_level),
            "peak_n": percentile_ci(_peak(boot[:, 1], boot[:, 2]), ci_level),
        }
        smallest = float(na.min())
        if np.isfinite(peak_point) and peak_point < smallest:
            # "peak at 0.746 ranks": the fitted throughput falls from the smallest size on, and
            # where below every size that ran it would turn is no measurement
            notes.append(
                f"no peak claimed: the fitted peak ({peak_point:.3g}) lies below the smallest size "
                f"tested ({smallest:g}), so the fitted throughput falls over every tested size"
            )
        elif np.isfinite(peak_point) and np.all(np.isfinite(ci["peak_n"])):
            peak_n = peak_point
        else:
            notes.append(
                "no peak claimed: its interval is not finite (throughput may still be rising)"
            )
    elif np.isfinite(peak_point):
        notes.append("no peak claimed: no bootstrap to bound it")
    dof = int(na.size - 3)
    return USLFit(
        lam=float(np.exp(theta[0])),
        sigma=sigma,
        kappa=kappa,
        peak_n=peak_n,
        aicc=aicc(rss, int(na.size), 4),
        ci=ci,
        rmse_log=rmse,
        r2_log=r2,
        n=int(na.size),
        dof=dof,
        ci_level=ci_level,
        note="; ".join(s for s in notes if s),
        x=na,
        y=xa,
        model=USL,
        theta=theta,
        boot_theta=boot,
    )


def select_throughput_model(
    n: Any,
    x: Any,
    *,
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    ci_level: float = 0.95,
) -> ThroughputSelection | NotEnoughData:
    """Fit Amdahl and USL to the same points and keep the USL only when its AICc is lower by
    more than :data:`AICC_MARGIN`; else Amdahl, the simpler (the USL with kappa = 0)."""
    rng = _rng(seed)
    amdahl = fit_amdahl(n, x, n_boot=n_boot, seed=rng, ci_level=ci_level)
    if isinstance(amdahl, NotEnoughData):
        return amdahl
    usl = fit_usl(n, x, n_boot=n_boot, seed=rng, ci_level=ci_level)
    if isinstance(usl, NotEnoughData):
        return ThroughputSelection(
            "amdahl", amdahl, usl, None, f"Amdahl (the USL could not be fitted: {usl.reason})"
        )
    if amdahl.aicc is None or usl.aicc is None:
        return ThroughputSelection(
            "amdahl", amdahl, usl, None, "Amdahl (too few points for the USL's AICc)"
        )
    delta = amdahl.aicc - usl.aicc
    if delta > AICC_MARGIN:
        sizes = np.unique(usl.x).size
        untested = (
            f"; {sizes} sizes: Amdahl's law misses them, the USL's shape is not tested"
            if sizes <= 3
            else ""
        )
        return ThroughputSelection(
            "usl", amdahl, usl, delta, f"USL (AICc lower by {delta:.1f}{untested})"
        )
    if delta > 0:
        why = (
            f"the USL's AICc is lower by only {delta:.1f}, not by more than {AICC_MARGIN:g}: "
            "the two laws are indistinguishable on these points, so the simpler is kept"
        )
    elif delta >= -AICC_MARGIN:
        why = (
            f"AICc lower by {-delta:.1f}, within {AICC_MARGIN:g} of the USL's: the two laws are "
            "indistinguishable on these points, so the simpler is kept"
        )
    else:
        why = f"AICc lower by {-delta:.1f}; the USL's extra term is not supported"
    return ThroughputSelection(
        "amdahl", amdahl, usl, delta, f"Amdahl ({why})", abs(delta) <= AICC_MARGIN
    )


def fit_critical_batch(
    batch_sizes: Any,
    steps: Any,
    *,
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    ci_level: float = 0.95,
) -> CriticalBatchFit | NotEnoughData:
    """``S = S_min + E_min / B`` fitted as ``ln S`` vs ``ln(S_min + E_min / B)``; ``B_crit = E_min / S_min``.

    ``steps`` are optimizer steps to the target at each batch size (the best run per size).
    """
    ba, sa, dropped = _positive_pairs(batch_sizes, steps)
    sizes = np.unique(ba)
    if sizes.size < 3:  # "at least 3 points at 2 or more distinct x values" read as 2 being enough
        got = f"{sizes.size} ({', '.join(f'{b:g}' for b in sizes)})" if sizes.size else "none"
        extra = f" ({plural(dropped, 'missing or non-positive value')} left out)" if dropped else ""
        return NotEnoughData(
            f"the critical-batch law needs at least 3 distinct batch sizes "
            f"({MIN_CLAIM_DOF + 2} or more to claim a B_crit); got {got}{extra}"
        )
    _g, theta, rss, boot = _nonlinear(CRITICAL_BATCH, ba, sa, n_boot, _rng(seed))
    rmse, r2 = _fit_quality(np.log(sa), rss)
    s_min, e_min = float(np.exp(theta[0])), float(np.exp(theta[1]))
    b_crit = e_min / s_min
    ci: dict[str, tuple[float, float]] = {}
    if boot.size:
        with np.errstate(over="ignore"):  # a resample with no curvature sends B_crit to infinity
            ci = {
                "s_min": percentile_ci(np.exp(boot[:, 0]), ci_level),
                "e_min": percentile_ci(np.exp(boot[:, 1]), ci_level),
                "b_crit": percentile_ci(np.exp(boot[:, 1] - boot[:, 0]), ci_level),
            }
    lo, hi = float(ba.min()), float(ba.max())
    straddled = lo <= b_crit <= hi
    dof = int(ba.size - 2)
    bounded: bool | None = None
    ci_lo, ci_hi = ci.get("b_crit", (float("nan"), float("nan")))
    if not (np.isnan(ci_lo) or np.isnan(ci_hi)):  # NaN: no interval (--bootstrap 0 or 1)
        bounded = bool(lo / B_CRIT_BOUND_FACTOR < ci_lo and ci_hi < hi * B_CRIT_BOUND_FACTOR)
    notes = [_dof_note(dof, n_boot, _exact(rss, ba.size))]
    if not straddled:
        notes.append(
            f"B_crit {b_crit:.4g} lies outside the tested batch sizes [{lo:g}, {hi:g}]: an extrapolation, not claimed"
        )
    elif dof < MIN_CLAIM_DOF:
        notes.append(
            f"B_crit not claimed: {plural(int(ba.size), 'point')} for the law's 2 parameters leave "
            f"{plural(dof, 'residual degree')} of freedom, too few to tell its bend from noise "
            f"(needs {MIN_CLAIM_DOF + 2} or more batch sizes)"
        )
    elif bounded is False:
        level = f"{100 * ci_level:g}%"
        notes.append(
            f"B_crit not claimed: its {level} interval [{ci_lo:.4g}, {ci_hi:.4g}] reaches past "
            f"{B_CRIT_BOUND_FACTOR:g}x the tested batch sizes [{lo:g}, {hi:g}], where the law differs "
            "by under 1% from one with no critical batch size: the data do not bound it"
        )
    claimed = straddled and dof >= MIN_CLAIM_DOF and bounded is not False
    return CriticalBatchFit(
        s_min=s_min,
        e_min=e_min,
        b_crit=b_crit,
        straddled=straddled,
        batch_range=(lo, hi),
        bounded=bounded,
        claimed=claimed,
        ci=ci,
        rmse_log=rmse,
        r2_log=r2,
        n=int(ba.size),
        dof=dof,
        ci_level=ci_level,
        note="; ".join(s for s in notes if s),
        x=ba,
        y=sa,
        model=CRITICAL_BATCH,
        theta=theta,
        boot_theta=boot,
    )
