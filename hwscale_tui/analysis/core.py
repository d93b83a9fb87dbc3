"""``analyze(trials, histories, settings)``: from learning curves to laws, FOM and recommendations.

Steps: (1) smooth every curve and find its first crossing of the target on steps, seconds and
dollars (right-censored when it never crosses); (2) per hardware config, the best trial by final
score (the original's semantics) and, over all the config's trials, Kaplan-Meier medians and
P(reach within budget) with bootstrap CIs; (3) scaling laws; (4) FOM per scenario, Pareto front,
recommendations and how often a bootstrap over trials agrees with each; (5) the ranking at
several target levels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..hardware import HardwarePair, pair_from_sweep_name
from ..records import HistoryPoint, Trial, plural, states_text
from .cost import COST_LOGGED_HISTORY, COST_LOGGED_TOTAL, COST_UNKNOWN, attach_cost_axis
from .curves import AXES, Curve
from .fits import (
    CriticalBatchFit,
    NotEnoughData,
    ThroughputSelection,
    fit_critical_batch,
    fit_power_law,
    select_throughput_model,
)
from .fom import ParetoFront, efficiency_matrix, fom_scores, fom_table, pareto_front
from .format import fmt_count, fmt_level, fmt_num, fmt_seconds
from .jsonable import jsonable
from .selection import flagged_note, left_out_note, no_curve_note
from .settings import AnalysisSettings, PriceInForce
from .stats import min_resamples
from .survival import SurvivalSummary, kaplan_meier

BATCH_KEY = "trainer.batch_size"
# per-config columns holding the best trial's to-target values, in FOM metric order
TO_TARGET_COLUMNS = ("samples_to_target", "time_to_target_s", "cost_to_target_usd")
KM_PREFIX = {
    "agent_step": "km_median_steps",
    "wall_s": "km_median_time_s",
    "cost_usd": "km_median_cost_usd",
}
Progress = Callable[[str], None]


@dataclass
class TrialCurve:
    """One trial with its curve and to-target values at the primary target (NaN = not reached)."""

    trial: Trial
    pair: HardwarePair
    curve: Curve
    cost_source: str
    final_score: float
    to_target: np.ndarray  # (3,) on AXES
    censored_at: np.ndarray  # (3,) last values when not reached, else NaN

    @property
    def reached(self) -> bool:
        return bool(np.isfinite(self.to_target[0]))

    def km_value(self, j: int) -> float:
        return float(self.to_target[j] if self.reached else self.censored_at[j])


@dataclass
class CompositeModel:
    """``E(G) = E_min (1 + b G / B_crit)``, ``T(G) = T0 + E(G) / X(G)``, cost = price x billed GPUs x T.

    ``b`` is the batch per GPU of the best trials, ``X`` the chosen throughput law and ``T0`` the
    median of (observed time - predicted compute time) over configs that reached the target.
    """

    e_min: float
    b_crit: float
    batch_per_gpu: float
    t0_s: float
    throughput: ThroughputSelection
    usd_per_gpu_hour: float
    note: str = ""  # e.g. that its B_crit lies outside the tested batch sizes

    def samples(self, total_gpus: Any) -> np.ndarray:
        g = np.asarray(total_gpus, dtype=float)
        return self.e_min * (1.0 + self.batch_per_gpu * g / self.b_crit)

    def time_s(self, total_gpus: Any) -> np.ndarray:
        g = np.asarray(total_gpus, dtype=float)
        return self.t0_s + self.samples(g) / self.throughput.predict(np.atleast_1d(g)).reshape(
            g.shape
        )

    def cost_usd(self, total_gpus: Any, gpus_per_node: int) -> np.ndarray:
        g = np.asarray(total_gpus, dtype=float)
        billed = np.ceil(g / gpus_per_node) * gpus_per_node
        return self.usd_per_gpu_hour * billed * self.time_s(g) / 3600.0

    def to_json(self) -> dict[str, Any]:
        return {
            "law": "CompositeModel",
            "e_min": self.e_min,
            "b_crit": self.b_crit,
            "batch_per_gpu": self.batch_per_gpu,
            "t0_s": self.t0_s,
            "throughput": self.throughput.chosen,
            "usd_per_gpu_hour": self.usd_per_gpu_hour,
            "note": self.note,
        }


@dataclass
class Recommendation:
    scenario: str
    weights: dict[str, float]
    config: str | None
    gpus: int | None = None
    nodes: int | None = None
    total_gpus: int | None = None
    fom: float | None = None
    fom_geometric: float | None = None
    best_run_id: str | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    expected_score: float | None = None
    samples_to_target: float | None = None
    time_to_target_s: float | None = None
    cost_to_target_usd: float | None = None
    km_median_time_s: float | None = None
    bootstrap_agreement: float | None = (
        None  # share of trial-bootstrap resamples with the same winner
    )
    runner_up: str | None = None
    reason: str = ""
    tied_with: list[str] = field(default_factory=list)  # configs with the very same FOM
    unit: str = "GPUs"  # "ranks" when the pairs ran as local CPU processes

    @property
    def hardware(self) -> str | None:
        """The original script's ``hardware`` text, e.g. ``g4n2 (4 GPUs/node x 2 nodes)``."""
        if self.config is None:
            return None
        g, n = self.gpus or 0, self.nodes or 0
        one = self.unit[:-1]
        return f"{self.config} ({g} {one}{'s' if g != 1 else ''}/node x {n} node{'s' if n != 1 else ''})"

    def to_json(self) -> dict[str, Any]:
        return jsonable({**self.__dict__, "hardware": self.hardware})


@dataclass
class AnalysisResult:
    settings: AnalysisSettings
    target: float
    target_rule: str
    reference_score: float
    reference_run: str
    per_config: pd.DataFrame
    per_trial: pd.DataFrame
    laws: dict[str, Any]
    fom: pd.DataFrame
    recommendations: list[Recommendation]
    pareto: ParetoFront
    levels: pd.DataFrame
    ranking_stable: bool
    price: PriceInForce
    budget_steps: float
    survival: dict[str, dict[str, SurvivalSummary]]
    curves: dict[str, Curve] = field(repr=False)
    notes: list[str] = field(default_factory=list)
    # run ids of the trials without a curve, counted in the notes' "no learning curve yet"
    without_curve: list[str] = field(default_factory=list)
    # the pairs none of whose trials has a curve (no row): tag -> their trials' run ids
    left_out: dict[str, list[str]] = field(default_factory=dict)

    def recommendation(self, scenario: str) -> Recommendation:
        """The recommendation for ``scenario``; an unknown name raises ``KeyError`` naming the
        scenarios there are (it raised a bare ``StopIteration``)."""
        for r in self.recommendations:
            if r.scenario == scenario:
                return r
        known = ", ".join(r.scenario for r in self.recommendations)
        raise KeyError(f"scenario {scenario!r} is unknown; accepted: {known}")

    def to_json(self) -> dict[str, Any]:
        s = self.settings
        return jsonable(
            {
                "target": self.target,
                "target_rule": self.target_rule,
                "reference_score": self.reference_score,
                "reference_run": self.reference_run,
                "price": self.price.__dict__ | {"text": self.price.describe(s.unit)},
                "budget_steps": self.budget_steps,
                "settings": {k: getattr(s, k) for k in s.__dataclass_fields__},
                "per_config": never_reached_as_inf(self.per_config, "best_reached"),
                "per_trial": never_reached_as_inf(self.per_trial, "reached"),
                "laws": self.laws,
                "fom": self.fom.reset_index(),
                "recommendations": self.recommendations,
                "pareto": self.pareto,
                "levels": self.levels,
                "ranking_stable": self.ranking_stable,
                "survival": self.survival,
                "notes": self.notes,
            }
        )


def never_reached_as_inf(frame: pd.DataFrame, reached: str) -> pd.DataFrame:
    """``frame`` for output (JSON, CSV): the to-target values of a row that never reached the
    target are infinite ("inf"), not NaN, which says unknown (a time that was not logged). A
    trial without a curve (``n_points`` 0) is unknown, and stays so."""
    if frame.empty or reached not in frame:
        return frame
    out = frame.copy()
    never = ~out[reached].astype(bool)
    if "n_points" in out:
        never &= out["n_points"].fillna(0).to_numpy() > 0
    for col in TO_TARGET_COLUMNS:
        if col in out:
            out[col] = out[col].astype(float).where(~never, np.inf)
    return out


# -- building blocks ------------------------------------------------------------------------


def _pair_of(trial: Trial) -> HardwarePair | None:
    if trial.gpus and trial.nodes:
        return HardwarePair(int(trial.gpus), int(trial.nodes))
    return pair_from_sweep_name(trial.sweep)


def _build_curves(
    trials: Sequence[Trial],
    histories: Mapping[str, Sequence[HistoryPoint] | Any],
    settings: AnalysisSettings,
    price: PriceInForce,
    notes: list[str],
) -> tuple[list[TrialCurve], list[tuple[Trial, HardwarePair]]]:
    """Curves for trials with history; the rest are returned as (trial, pair) without curve."""
    with_curve: list[TrialCurve] = []
    without: list[tuple[Trial, HardwarePair]] = []
    unknown_hw = 0
    for t in trials:
        pair = _pair_of(t)
        if pair is None:
            unknown_hw += 1
            continue
        hist = histories.get(t.run_id)
        curve = (
            Curve.from_history(
                hist,
                smoothing=settings.smoothing,
                window=settings.smoothing_window,
                goal=settings.goal,
            )
            if hist is not None
            else None
        )
        if curve is None or not len(curve):
            without.append((t, pair))
            continue
        if not (np.isfinite(curve.wall_s).any() and np.nanmax(curve.wall_s) > 0):
            curve.wall_s = np.full(
                len(curve), np.nan
            )  # no wall clock logged: time is unknown, not zero
        source = attach_cost_axis(curve, t, pair, price)
        final = t.score if t.score is not None and np.isfinite(t.score) else float(curve.score[-1])
        with_curve.append(
            TrialCurve(t, pair, curve, source, float(final), np.full(3, np.nan), np.full(3, np.nan))
        )
    if unknown_hw:
        notes.append(
            f"{plural(unknown_hw, 'trial')} skipped: no GPU/node counts and no g<G>n<N> in the sweep name"
        )
    return with_curve, without


def _logged_rate(tc: TrialCurve) -> float | None:
    """$ per GPU-hour (rank-hour) of a trial's logged cost: its last logged cost over its billed
    GPUs x wall hours; None without a logged cost and a wall time."""
    if tc.cost_source not in (COST_LOGGED_HISTORY, COST_LOGGED_TOTAL):
        return None
    known = np.isfinite(tc.curve.cost_usd) & np.isfinite(tc.curve.wall_s) & (tc.curve.wall_s > 0)
    if not known.any():
        return None
    i = int(np.flatnonzero(known)[-1])
    hours = float(tc.curve.wall_s[i]) / 3600.0
    return float(tc.curve.cost_usd[i]) / (tc.pair.gpus * tc.pair.nodes * hours)


def _logged_price_note(
    curves: list[TrialCurve], price: PriceInForce, settings: AnalysisSettings
) -> str | None:
    """Local mode: the trainer logs its cost at the price in force when it ran, and a logged
    cost is used as it is (the price in force prices only a trial that logged none). When the
    logged rate is not that price (``--gpu-type vCPU`` after an H100-priced launch), the notes'
    "costs use $X/rank-hour" would be wrong without this one."""
    if settings.unit != "ranks":
        return None
    rates = [r for r in (_logged_rate(tc) for tc in curves) if r is not None and r > 0]
    p = price.usd_per_gpu_hour
    if not rates or all(abs(r - p) <= 0.01 * p for r in rates):
        return None
    lo, hi = min(rates), max(rates)
    rate = f"${lo:.3g}/rank-hour" if hi <= 1.01 * lo else f"${lo:.3g} to ${hi:.3g}/rank-hour"
    n, m = len(rates), len(curves)
    who = f"the {n} trials' trainer" if n == m else f"{n} of the {m} trials' trainer"
    return (
        f"The costs are those {who} logged when they ran, at {rate}, not the ${p:g}/rank-hour "
        "in force (it prices only a trial that logged no cost); launch with the [cost] you want "
        "to change them."
    )


class FractionNeedsPositiveBest(UsageError):
    """A fractional target over a best smoothed score <= 0 (returns below 0: Acrobot-v1,
    MountainCar-v0): the command line's refusal; the app says it in its own words."""

    def __init__(self, reference: float):
        self.reference = reference
        super().__init__(
            "a fractional target needs a positive best score, but the best smoothed score is "
            # not "--target-kind absolute", which read the target 0.9 as a score: every
            # config "not reached" on returns below 0
            f"{reference:g}; accepted: an absolute target, a score: --target SCORE (with "
            "--target-kind absolute when SCORE is between 0 and 1)."
        )


def _resolve_target(
    curves: list[TrialCurve], settings: AnalysisSettings
) -> tuple[float, str, float, str, list[float]]:
    sign = 1.0 if settings.goal == "maximize" else -1.0
    bests = np.array([tc.curve.best_smoothed for tc in curves])
    i = int(np.argmax(sign * bests))
    reference, ref_run = float(bests[i]), curves[i].trial.run_id

    def from_fraction(f: float) -> float:
        if reference <= 0:
            raise FractionNeedsPositiveBest(reference)
        return reference * f if sign > 0 else reference / f

    levels = [from_fraction(lv) for lv in settings.levels] if reference > 0 else []
    if settings.target_kind == "absolute":
        rule = f"absolute target {settings.target:g}"
        return float(settings.target), rule, reference, ref_run, levels
    target = from_fraction(settings.target)
    rule = (
        f"{settings.target:g} x best smoothed score {reference:.6g} ({ref_run}) = {target:.6g}"
        if sign > 0  # minimizing: the best divided by the fraction, written in that order
        else f"best smoothed score {reference:.6g} ({ref_run}) / {settings.target:g} = {target:.6g}"
    )
    return target, rule, reference, ref_run, levels


def _to_target_arrays(curve: Curve, target: float) -> tuple[np.ndarray, np.ndarray]:
    values, censored = np.full(3, np.nan), np.full(3, np.nan)
    for j, ax in enumerate(AXES):
        tt = curve.to_target(target, ax)
        if tt.reached:
            values[j] = np.nan if tt.value is None else tt.value
        else:
            censored[j] = np.nan if tt.censored_at is None else tt.censored_at
    return values, censored


def _best_pool(members: list[TrialCurve]) -> tuple[list[TrialCurve], str]:
    finished = [tc for tc in members if tc.trial.state == "finished"]
    if finished:
        return finished, "finished trials"
    return members, "all trials (none finished yet)"


def _best_index(pool: list[TrialCurve], sign: float) -> int:
    return int(np.argmax([sign * tc.final_score for tc in pool]))


def _followed_to(members: list[TrialCurve], axis: str) -> float | None:
    """The largest last logged value on ``axis`` of the trials (None when none is known)."""
    ends = [x[np.isfinite(x)] for x in (tc.curve.axis(axis) for tc in members)]
    known = [float(e.max()) for e in ends if e.size]
    return max(known) if known else None


def _median_sps(members: list[TrialCurve]) -> float:
    vals = [v for v in (_trial_sps(tc) for tc in members) if v is not None]
    return float(np.median(vals)) if vals else float("nan")


def _trial_sps(tc: TrialCurve) -> float | None:
    """Logged SPS, else the curve's last step over its last wall second."""
    if tc.trial.sps is not None and np.isfinite(tc.trial.sps) and tc.trial.sps > 0:
        return float(tc.trial.sps)
    wall = tc.curve.wall_s[-1]
    if np.isfinite(wall) and wall > 0:
        return float(tc.curve.agent_step[-1] / wall)
    return None


def _batch_size(trial: Trial) -> float | None:
    v = trial.params.get(BATCH_KEY)
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f > 0 else None


# -- the analysis ---------------------------------------------------------------------------


def _states_of(trials: Sequence[Trial]) -> str:
    """' (of 2 trials: 2 failed; ...)': why there may be no curve, for the refusal."""
    if not trials:
        return ""
    why = (
        "; a failed trial's reason is in its pair's log"
        if any(t.state == "failed" for t in trials)
        else ""
    )
    return f" (of {len(trials)} trial{'s' if len(trials) != 1 else ''}: {states_text(trials)}{why})"


def analyze(
    trials: Sequence[Trial],
    histories: Mapping[str, Any],
    settings: AnalysisSettings | None = None,
    *,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Analyze trials and their learning curves (``histories``: run_id -> HistoryPoints or a DataFrame)."""
    settings = settings or AnalysisSettings()
    say = progress or (lambda _msg: None)
    notes: list[str] = []
    price = settings.price()
    curves, without = _build_curves(trials, histories, settings, price, notes)
    if not curves:
        raise UsageError(
            f"no trial has a learning curve to analyze{_states_of(trials)}; accepted: trials with "
            "history (agent_step, wall_s, score)."
        )
    sign = 1.0 if settings.goal == "maximize" else -1.0
    target, rule, reference, ref_run, level_targets = _resolve_target(curves, settings)
    for tc in curves:
        tc.to_target, tc.censored_at = _to_target_arrays(tc.curve, target)
    unseen = _unseen_crossing_note(curves, target)
    if unseen:
        notes.append(unseen)
    rng = np.random.default_rng(settings.seed)
    few = _few_resamples_note(settings)
    if few:
        notes.append(few)
    budget_steps = float(
        settings.budget_steps or max(float(tc.curve.agent_step[-1]) for tc in curves)
    )
    followed = max(float(tc.curve.agent_step[-1]) for tc in curves)
    if budget_steps > followed:  # Kaplan-Meier says nothing past the last point followed
        notes.append(
            f"The step budget ({fmt_count(budget_steps)} agent steps) is past the longest trial "
            f"({fmt_count(followed)} steps): P(reach) is the Kaplan-Meier value at the end of "
            "the trials, a lower bound (no trial was followed further)."
        )
    budgets = {
        "agent_step": budget_steps,
        "wall_s": settings.budget_time_s,
        "cost_usd": settings.budget_cost_usd,
    }

    groups: dict[HardwarePair, list[TrialCurve]] = {}
    for tc in curves:
        groups.setdefault(tc.pair, []).append(tc)
    n_all: dict[HardwarePair, int] = {}
    for pair in [tc.pair for tc in curves] + [p for _, p in without]:
        n_all[pair] = n_all.get(pair, 0) + 1
    pairs = sorted(groups, key=lambda p: (p.total_gpus, p.nodes, p.gpus))
    configs = [p.tag for p in pairs]
    # trials without a curve: counted in their pair's n_trials when it has a row; a pair none
    # of whose trials has a curve has no row, so its trials are counted nowhere: named instead
    counted = [t.run_id for t, p in without if p in groups]
    if counted:
        notes.append(no_curve_note(len(counted)))
    left_out: dict[str, list[str]] = {}
    for t, p in sorted(
        ((t, p) for t, p in without if p not in groups),
        key=lambda tp: (tp[1].total_gpus, tp[1].nodes, tp[1].gpus),
    ):
        left_out.setdefault(p.tag, []).append(t.run_id)
    if left_out:  # no trial count: a trial whose W&B curve could not be read is that note's
        notes.append(left_out_note(list(left_out)))
    flagged = flagged_note(trials)
    if flagged:
        notes.append(flagged)

    rows, survival, pools = [], {}, []
    unfinished_pairs: list[str] = []  # pairs with no finished trial: best among all of theirs
    ties: list[tuple[str, TrialCurve, list[TrialCurve]]] = []
    for pair in pairs:
        members = groups[pair]
        pool, why = _best_pool(members)
        if why != "finished trials":
            unfinished_pairs.append(pair.tag)
        pools.append(pool)
        best = pool[_best_index(pool, sign)]
        tied = [tc for tc in pool if tc.final_score == best.final_score]
        if len(tied) > 1:
            ties.append((pair.tag, best, tied))
        say(
            f"bootstrap: Kaplan-Meier for {pair.tag} ({len(members)} trial{'s' if len(members) != 1 else ''}, "
            f"{settings.n_boot} resample{'s' if settings.n_boot != 1 else ''})"
        )
        km = {}
        for j, ax in enumerate(AXES):
            vals = np.array([tc.km_value(j) for tc in members])
            reached = np.array([tc.reached for tc in members])
            summary = kaplan_meier(
                vals,
                reached,
                axis=ax,
                budget=budgets[ax],
                n_boot=settings.n_boot,
                rng=rng,
                ci_level=settings.ci_level,
                followed_to=_followed_to(members, ax),
            )
            if summary is not None:
                km[ax] = summary
        survival[pair.tag] = km
        sources = sorted({tc.cost_source for tc in members})
        row: dict[str, Any] = {
            "config": pair.tag,
            "gpus": pair.gpus,
            "nodes": pair.nodes,
            "total_gpus": pair.total_gpus,
            "n_trials": n_all[pair],
            "n_curves": len(members),
            "n_reached": sum(tc.reached for tc in members),
            "best_run_id": best.trial.run_id,
            "best_score": best.final_score,
            "best_reached": best.reached,
            **{col: best.to_target[j] for j, col in enumerate(TO_TARGET_COLUMNS)},
            "best_censored_at_steps": best.censored_at[0],
        }
        for ax, prefix in KM_PREFIX.items():
            s = km.get(ax)
            row[prefix] = s.median if s else np.nan
            row[f"{prefix}_lo"], row[f"{prefix}_hi"] = s.median_ci if s else (np.nan, np.nan)
        steps_km = km.get("agent_step")
        row["p_reach"] = steps_km.p_reach if steps_km else np.nan
        row["p_reach_lo"], row["p_reach_hi"] = (
            steps_km.p_reach_ci if steps_km and steps_km.p_reach_ci else (np.nan, np.nan)
        )
        for ax, col in (("wall_s", "p_reach_time"), ("cost_usd", "p_reach_cost")):
            s = km.get(ax)
            if budgets[ax] is not None:
                row[col] = s.p_reach if s else np.nan
        row["sps"] = _median_sps(members)
        row["batch_size"] = _batch_size(best.trial)
        row["cost_source"] = sources[0] if len(sources) == 1 else "mixed: " + ", ".join(sources)
        row["best_params"] = dict(best.trial.params)
        rows.append(row)
    per_config = pd.DataFrame(rows)
    no_spread = _no_spread_note(survival)
    if no_spread:
        notes.append(no_spread)
    if budget_steps <= followed:  # else the note above says it of every pair
        short = _short_of_budget_note(survival, curves, budget_steps)
        if short:
            notes.append(short)
    tied_note = _tied_best_note(ties)
    if tied_note:
        notes.append(tied_note)
    if unfinished_pairs:
        notes.append(
            f"{', '.join(unfinished_pairs)}: no finished trial yet, so the best trial is chosen "
            "among all of its trials (running or failed ones included); other pairs: among "
            "finished trials"
            if len(unfinished_pairs) < len(pairs)
            else "no pair has a finished trial yet: each best trial is chosen among all trials"
        )
    logged_price = _logged_price_note(curves, price, settings)
    if logged_price:
        notes.append(logged_price)
    if any(tc.cost_source == COST_UNKNOWN for tc in curves):
        notes.append("some trials logged no wall time: their time and cost to target are unknown")
    unknown_fom = _unknown_fom_note(per_config)
    if unknown_fom:
        notes.append(unknown_fom)

    values = per_config[list(TO_TARGET_COLUMNS)].to_numpy(dtype=float)
    fom = fom_table(configs, values, settings.scenarios, settings.geometric)
    say(f"bootstrap: recommendation agreement ({settings.n_boot} resamples over trials)")
    boot_values = _bootstrap_best_values(pools, sign, settings.n_boot, rng)
    if settings.n_boot < 2 or all(len(pool) == 1 for pool in pools):
        # every resample is every config's one trial: agreement would be 100% by construction
        # (drawn all the same, so the random stream of what follows is unchanged); one
        # resample is no share either
        boot_values = boot_values[:0]
    recommendations = _recommend(per_config, fom, boot_values, settings, survival)
    tie = _tie_note(recommendations)
    if tie:
        notes.append(tie)
    pareto = pareto_front(configs, values[:, 1], values[:, 2])
    say("fitting scaling laws")
    laws = _fit_laws(per_config, curves, settings, rng, price)
    levels, stable = _level_stability(pairs, pools, sign, level_targets, settings)
    if not stable:
        notes.append("the recommendation changes with the target level: see the level table")
    per_trial = _per_trial_frame(curves, without)
    return AnalysisResult(
        settings=settings,
        target=target,
        target_rule=rule,
        reference_score=reference,
        reference_run=ref_run,
        per_config=per_config,
        per_trial=per_trial,
        laws=laws,
        fom=fom,
        recommendations=recommendations,
        pareto=pareto,
        levels=levels,
        ranking_stable=stable,
        price=price,
        budget_steps=budget_steps,
        survival=survival,
        curves={tc.trial.run_id: tc.curve for tc in curves},
        notes=notes,
        without_curve=counted,
        left_out=left_out,
    )


def _tied_best_note(ties: list[tuple[str, TrialCurve, list[TrialCurve]]]) -> str | None:
    """The configs whose best trial by final score ties others there (CartPole-v1 caps its
    return at 500: 4 of 6 trials of a real sweep finished at 500) while the tied trials reached
    the target at different values: the first listed is taken (as the original's idxmax), and
    the config's to-target values -- 32.8k or 82.6k samples, by list order -- rested on it
    without a word. (tag, best trial, the tied trials) each."""
    said: list[str] = []
    named: list[str] = []
    for tag, best, tied in ties:
        samples = [float(tc.to_target[0]) for tc in tied]
        if len({round(v, 9) if np.isfinite(v) else "not" for v in samples}) < 2:
            continue  # they reached it at one value (or none did): the choice changes nothing
        reached = [tc for tc in tied if tc.reached]
        if not reached:
            continue
        steps = [float(tc.to_target[0]) for tc in reached]
        secs = [float(tc.to_target[1]) for tc in reached if np.isfinite(tc.to_target[1])]
        which = (
            "which reached the target"
            if len(reached) == len(tied)
            else f"{len(reached)} of which reached the target"
        )
        span = f"in {fmt_count(min(steps))} to {fmt_count(max(steps))} samples"
        if secs:
            span += f" ({fmt_seconds(min(secs))} to {fmt_seconds(max(secs))})"
        said.append(
            f"{tag}'s best trial {best.trial.run_id} is the first listed of {len(tied)} trials "
            f"with its final score {fmt_num(best.final_score)}, {which} {span}"
        )
        named.append(best.trial.run_id)
    if not said:
        return None
    whose = (
        f"the config's to-target values, and the laws, figures of merit and recommendations "
        f"built on them, are {named[0]}'s"
        if len(said) == 1
        else "each config's to-target values, and the laws, figures of merit and "
        "recommendations built on them, are its first listed trial's"
    )
    return f"Tied on the final score: {'; '.join(said)}; {whose}."


def _tie_note(recommendations: list[Recommendation]) -> str | None:
    """The scenarios whose winner ties another config on the FOM: the table shows the first
    listed (fewest GPUs in all, then nodes), which reads as a better config without this."""
    ties: dict[str, list[str]] = {}
    for rec in recommendations:
        if rec.config is not None and rec.tied_with:
            said = f"{rec.config} ties {', '.join(rec.tied_with)}"
            ties.setdefault(said, []).append(rec.scenario)
    if not ties:
        return None
    said = "; ".join(f"{', '.join(scenarios)}: {what}" for what, scenarios in ties.items())
    return (
        f"Tied on the figure of merit ({said}): the recommendation shows the config listed "
        "first (fewest GPUs in all, then fewest nodes), not a better one."
    )


def _unseen_crossing_note(curves: list[TrialCurve], target: float) -> str | None:
    """The trials already at or past the target at their first logged point, past step 0: no
    point before it, so their crossing was never logged and their samples, time and cost to
    target are where logging began -- the logging interval (a batch), not a measurement. With a
    target below every curve's start (``--target 20`` on CartPole), every pair's values and the
    laws fitted to them measured only that, without a word."""
    early = [
        tc
        for tc in curves
        if tc.reached and tc.curve.crossing_index(target) == 0 and float(tc.curve.agent_step[0]) > 0
    ]
    if not early:
        return None
    pairs = ", ".join(dict.fromkeys(tc.pair.tag for tc in early))
    n, m = len(early), len(curves)
    were = "was" if n == 1 else "were"
    whose = "its" if n == 1 else "their"
    share = f"{n} of {m} trials" if n < m else ("the trial" if m == 1 else f"all {m} trials")
    return (
        f"{share[0].upper()}{share[1:]} ({pairs}) {were} already at or past the target at "
        f"{whose} first logged point, past step 0: {whose} samples, time and cost to target "
        "are where logging began (an upper bound; the crossing itself was not logged), not a "
        "measured crossing; a target above where the curves start measures one."
    )


KM_AXIS_WORD = {"agent_step": "samples", "wall_s": "time", "cost_usd": "cost"}


def _no_spread_note(survival: dict[str, dict[str, SurvivalSummary]]) -> str | None:
    """Pairs whose Kaplan-Meier median every bootstrap resample repeated (its trials reached
    the target at one value): no interval, said why -- as a law whose points lie exactly on it
    gets none ("[20k, 20k]" read as a certain median)."""

    def named(ax: str, s: SurvivalSummary) -> bool:
        # a cost of $0 (a price of 0) is fixed by the price, not a few equal values
        return s.median_no_spread and not (ax == "cost_usd" and s.median == 0)

    where = [
        f"{tag} ({', '.join(KM_AXIS_WORD.get(ax, ax) for ax, s in km.items() if named(ax, s))})"
        for tag, km in survival.items()
        if any(named(ax, s) for ax, s in km.items())
    ]
    if not where:
        return None
    return (
        f"Kaplan-Meier medians of {', '.join(where)} have no interval: every bootstrap resample "
        "gave the same median (the trials reached the target at one value), so there is no "
        "spread to resample; so few equal values are no certainty."
    )


def _few_resamples_note(settings: AnalysisSettings) -> str | None:
    """Fewer bootstrap resamples than an interval at the level needs (``--bootstrap 10``): each
    end is the smallest or largest resample, narrower than the level says; one makes none."""
    n, need = settings.n_boot, min_resamples(settings.ci_level)
    if not 0 < n < need:
        return None
    level = fmt_level(settings.ci_level)
    what = (
        "there is no interval"
        if n == 1
        else "each interval runs from the smallest to the largest resample, narrower than "
        f"{level} of the uncertainty"
    )
    return (
        f"{plural(n, 'bootstrap resample')} {'is' if n == 1 else 'are'} too few for {level} "
        f"intervals (each end needs {fmt_level((1 - settings.ci_level) / 2)} of the resamples, "
        f"at least one: {need} or more): {what}."
    )


def _short_of_budget_note(
    survival: dict[str, dict[str, SurvivalSummary]],
    curves: list[TrialCurve],
    budget_steps: float,
) -> str | None:
    """The pairs whose trials all end before the step budget with some of them short of the
    target (a pair still running, or whose trials stopped early): their P(reach) is the
    Kaplan-Meier value where their trials end, a lower bound, which the table does not say.
    A pair that ends within one logging interval of the budget (the longest of the curves'
    median intervals) is not named: trials of one length end up to a batch apart when their
    batch sizes differ, as they stop at the first whole batch past their steps."""
    intervals = [
        float(np.median(np.diff(tc.curve.agent_step))) for tc in curves if len(tc.curve) > 1
    ]
    slack = max(intervals, default=0.0)
    short = [
        (tag, km["agent_step"].followed_to)
        for tag, km in survival.items()
        if "agent_step" in km
        and (km["agent_step"].p_reach or 0.0) < 1.0
        and km["agent_step"].followed_to < budget_steps - slack
    ]
    if not short:
        return None
    if len(short) == 1:
        tag, end = short[0]
        which = f"of {tag} is the Kaplan-Meier value where its trials end ({fmt_count(end)} steps)"
    else:
        shown = ", ".join(f"{t} ({fmt_count(e)} steps)" for t, e in short[:-1])
        which = (
            f"of {shown} and {short[-1][0]} ({fmt_count(short[-1][1])} steps) is the "
            "Kaplan-Meier value where their trials end"
        )
    return (
        f"P(reach) {which}, short of the {fmt_count(budget_steps)}-step budget: a lower bound "
        "(no trial was followed further)."
    )


def _unknown_fom_note(per_config: pd.DataFrame) -> str | None:
    """The configs whose best trial reached the target with its time or cost to target unknown
    (no wall time or cost logged there): the figure of merit scores an unknown as 0, as it does
    a target not reached, which ranks them low without the tables saying why."""
    named: list[tuple[str, str]] = []
    for _, r in per_config.iterrows():
        if not r["best_reached"]:
            continue
        unknown = [
            m
            for m, col in (("time", "time_to_target_s"), ("cost", "cost_to_target_usd"))
            if not np.isfinite(float(r[col]))
        ]
        if unknown:
            named.append((str(r["config"]), " and ".join(unknown)))
    if not named:
        return None
    if len(named) == 1:
        (config, what), two = named[0], " and " in named[0][1]
        which = (
            f"the best trial of {config} reached the target, but its {what} to target "
            f"{'are' if two else 'is'} unknown (no wall time or cost logged there), so the "
            f"recommendations rank {config} low on {'them' if two else 'it'}"
        )
    else:
        shown = ", ".join(f"{c} ({w})" for c, w in named[:-1]) + " and {} ({})".format(*named[-1])
        which = (
            f"the best trials of {shown} reached the target, but those values are unknown (no "
            "wall time or cost logged there), so the recommendations rank them low on those measures"
        )
    return (
        "The figure of merit counts an unknown to-target value as 0, as it does a target not "
        f"reached: {which}."
    )


def _bootstrap_best_values(
    pools: list[list[TrialCurve]], sign: float, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """(B, C, 3): the to-target values of each config's best trial in resamples of its trials."""
    out = np.full((n_boot, len(pools), 3), np.nan)
    for c, pool in enumerate(pools):
        scores = np.array([sign * tc.final_score for tc in pool])
        tt = np.array([tc.to_target for tc in pool])
        idx = rng.integers(0, len(pool), size=(n_boot, len(pool)))
        best = idx[np.arange(n_boot), np.argmax(scores[idx], axis=1)]
        out[:, c, :] = tt[best]
    return out


def _recommend(
    per_config: pd.DataFrame,
    fom: pd.DataFrame,
    boot_values: np.ndarray,
    settings: AnalysisSettings,
    survival: dict[str, dict[str, SurvivalSummary]],
) -> list[Recommendation]:
    boot_eff = efficiency_matrix(boot_values) if boot_values.size else None
    out = []
    for name, weights in settings.scenarios.items():
        scores = fom[name].to_numpy()
        if not np.any(scores > 0):
            out.append(
                Recommendation(
                    name,
                    dict(weights),
                    None,
                    reason="no config reached the target",
                    unit=settings.unit,
                )
            )
            continue
        order = np.argsort(-scores, kind="stable")
        win = int(order[0])
        row = per_config.iloc[win]
        # configs with the winner's very FOM: it is shown as listed first, not as better
        tied = [
            str(per_config.iloc[int(i)]["config"])
            for i in order[1:]
            if np.isclose(scores[i], scores[win], rtol=1e-9, atol=1e-12)
        ]
        agreement = None
        if boot_eff is not None:
            boot_fom = fom_scores(boot_eff, weights)
            others = np.delete(boot_fom, win, axis=1)
            # a resample where another config ties the winner is no win for it (argmax took
            # the first listed: identical pairs "agreed" 80%); FOMs lie in [0, 1]
            wins = (
                boot_fom[:, win] > others.max(axis=1) + 1e-12
                if others.shape[1]
                else np.ones(len(boot_fom), dtype=bool)
            )
            agreement = float(np.mean((boot_fom[:, win] > 0) & wins))
        km_time = survival[row["config"]].get("wall_s")
        out.append(
            Recommendation(
                scenario=name,
                weights=dict(weights),
                config=row["config"],
                gpus=int(row["gpus"]),
                nodes=int(row["nodes"]),
                total_gpus=int(row["total_gpus"]),
                fom=float(scores[win]),
                fom_geometric=float(fom[f"{name}_geometric"].iloc[win])
                if f"{name}_geometric" in fom
                else None,
                best_run_id=row["best_run_id"],
                best_params=dict(row["best_params"]),
                expected_score=float(row["best_score"]),
                samples_to_target=_num(row["samples_to_target"]),
                time_to_target_s=_num(row["time_to_target_s"]),
                cost_to_target_usd=_num(row["cost_to_target_usd"]),
                km_median_time_s=km_time.median if km_time else None,
                bootstrap_agreement=agreement,
                runner_up=per_config.iloc[int(order[1])]["config"]
                if len(order) > 1 and scores[order[1]] > 0
                else None,
                reason=(
                    f"highest FOM, tied with {', '.join(tied)} (shown as listed first)"
                    if tied
                    else "highest FOM"
                ),
                tied_with=tied,
                unit=settings.unit,
            )
        )
    return out


def _num(v: Any) -> float | None:
    f = float(v)
    return f if np.isfinite(f) else None


def _fit_laws(
    per_config: pd.DataFrame,
    curves: list[TrialCurve],
    settings: AnalysisSettings,
    rng: np.random.Generator,
    price: PriceInForce,
) -> dict[str, Any]:
    kw: dict[str, Any] = {"n_boot": settings.n_boot, "seed": rng, "ci_level": settings.ci_level}
    gpus = per_config["total_gpus"].to_numpy(dtype=float)
    laws: dict[str, Any] = {}
    for col, name in zip(
        TO_TARGET_COLUMNS, ("samples_to_target", "time_to_target", "cost_to_target")
    ):
        y = per_config[col].to_numpy(dtype=float)
        laws[name] = fit_power_law(gpus, y, left_out=_left_out_text(per_config, y, col), **kw)
    sps_points = [(tc.pair.total_gpus, _trial_sps(tc)) for tc in curves]
    sps_points = [(g, s) for g, s in sps_points if s is not None]
    if sps_points:
        n, x = np.array(sps_points, dtype=float).T
        laws["throughput"] = select_throughput_model(n, x, **kw)
    else:
        laws["throughput"] = NotEnoughData("no trial logged its steps per second or wall time")
    per_batch: dict[float, float] = {}
    for tc in curves:
        b = _batch_size(tc.trial)
        if b is not None and tc.reached:
            steps = tc.to_target[0] / b
            per_batch[b] = min(per_batch.get(b, np.inf), steps)
    if per_batch:
        bs = np.array(sorted(per_batch))
        cbs = fit_critical_batch(bs, np.array([per_batch[b] for b in bs]), **kw)
        if isinstance(cbs, NotEnoughData):  # why a sweep over 5 batch sizes gave only 2
            cbs = NotEnoughData(f"{cbs.reason} among the trials that reached the target")
        laws["critical_batch"] = cbs
    else:
        # with no trial at the target, "no trial that reached the target records
        # trainer.batch_size" read as if the trainer failed to record its batch size
        reached = sum(tc.reached for tc in curves)
        laws["critical_batch"] = NotEnoughData(
            "no trial reached the target"
            if not reached
            else f"the one trial that reached the target does not record {BATCH_KEY}"
            if reached == 1
            else f"none of the {reached} trials that reached the target records {BATCH_KEY}"
        )
    laws["composite"] = _composite(per_config, laws, price)
    return laws


LAW_MEASURE = {
    "samples_to_target": "samples",
    "time_to_target_s": "time",
    "cost_to_target_usd": "cost",
}


def _left_out_text(per_config: pd.DataFrame, y: np.ndarray, col: str) -> str | None:
    """Why configs have no point on a to-target law: their best trial did not reach the
    target, its value there is unknown (no wall time or cost logged), or it is 0 (a price of
    $0) -- "4 missing or non-positive values" read as missing data."""
    reached = per_config["best_reached"].to_numpy(dtype=bool)
    measure = LAW_MEASURE[col]
    parts = [
        (int(np.sum(~reached)), "whose best trial did not reach the target"),
        (int(np.sum(reached & ~np.isfinite(y))), f"whose {measure} to target is unknown"),
        (int(np.sum(reached & np.isfinite(y) & (y <= 0))), f"whose {measure} to target is 0"),
    ]
    said = [f"{plural(n, 'config')} {why}" for n, why in parts if n]
    return "; ".join(said) or None


def _composite(
    per_config: pd.DataFrame, laws: dict[str, Any], price: PriceInForce
) -> CompositeModel | NotEnoughData:
    cbs, thr = laws["critical_batch"], laws["throughput"]
    if not isinstance(cbs, CriticalBatchFit) or not isinstance(thr, ThroughputSelection):
        missing = [
            k
            for k, v in (("critical batch", cbs), ("throughput", thr))
            if isinstance(v, NotEnoughData)
        ]
        return NotEnoughData(
            "needs the " + " and ".join(missing) + (" law" if len(missing) == 1 else " laws")
        )
    reached = per_config[np.isfinite(per_config["time_to_target_s"].to_numpy(dtype=float))]
    per_gpu = (reached["batch_size"] / reached["total_gpus"]).dropna()
    if reached.empty or per_gpu.empty:
        return NotEnoughData("no config reached the target with a known batch size")
    model = CompositeModel(
        cbs.e_min, cbs.b_crit, float(per_gpu.median()), 0.0, thr, price.usd_per_gpu_hour
    )
    overhead = reached["time_to_target_s"].to_numpy(dtype=float) - model.time_s(
        reached["total_gpus"].to_numpy(dtype=float)
    )
    model.t0_s = float(max(0.0, np.median(overhead)))
    if not cbs.straddled:  # the critical-batch law does not claim it: neither may this model
        lo, hi = cbs.batch_range
        model.note = (
            f"built on B_crit {fmt_count(cbs.b_crit)}, outside the tested batch sizes "
            f"[{fmt_count(lo)}, {fmt_count(hi)}]: an extrapolation, not a measurement"
        )
    elif not cbs.claimed:  # too few points, or an interval the data do not bound
        model.note = (
            f"built on B_crit {fmt_count(cbs.b_crit)}, which the critical-batch law does not "
            f"claim ({cbs.unclaimed_reason}): an illustration, not a measurement"
        )
    return model


def _level_stability(
    pairs: list[HardwarePair],
    pools: list[list[TrialCurve]],
    sign: float,
    level_targets: list[float],
    settings: AnalysisSettings,
) -> tuple[pd.DataFrame, bool]:
    rows = []
    for level, target in zip(settings.levels, level_targets):
        values = np.full((len(pairs), 3), np.nan)
        for c, pool in enumerate(pools):
            best = pool[_best_index(pool, sign)]
            values[c] = _to_target_arrays(best.curve, target)[0]
        eff = efficiency_matrix(values)
        row: dict[str, Any] = {
            "level": level,
            "target": target,
            "n_configs_reached": int(np.isfinite(values[:, 0]).sum()),
        }
        for name, weights in settings.scenarios.items():
            f = fom_scores(eff, weights)
            row[name] = pairs[int(np.argmax(f))].tag if np.any(f > 0) else None
        rows.append(row)
    levels = pd.DataFrame(rows)
    stable = bool(
        levels.empty or all(levels[name].nunique(dropna=False) == 1 for name in settings.scenarios)
    )
    return levels, stable


def _per_trial_frame(
    curves: list[TrialCurve], without: list[tuple[Trial, HardwarePair]]
) -> pd.DataFrame:
    rows = []
    for tc in curves:
        t = tc.trial
        rows.append(
            {
                "run_id": t.run_id,
                "sweep": t.sweep,
                "config": tc.pair.tag,
                "total_gpus": tc.pair.total_gpus,
                "state": t.state,
                "final_score": tc.final_score,
                "best_smoothed": tc.curve.best_smoothed,
                "reached": tc.reached,
                **{col: tc.to_target[j] for j, col in enumerate(TO_TARGET_COLUMNS)},
                "censored_at_steps": tc.censored_at[0],
                "censored_at_s": tc.censored_at[1],
                "censored_at_usd": tc.censored_at[2],
                "sps": _trial_sps(tc),
                "batch_size": _batch_size(t),
                "cost_source": tc.cost_source,
                "n_points": len(tc.curve),
            }
        )
    for t, pair in without:
        rows.append(
            {
                "run_id": t.run_id,
                "sweep": t.sweep,
                "config": pair.tag,
                "total_gpus": pair.total_gpus,
                "state": t.state,
                "final_score": t.score,
                "reached": False,
                "n_points": 0,
            }
        )
    return pd.DataFrame(rows)
