"""``HardwareScalingAnalyzer``: the original analysis script's class, on top of :func:`analyze`.

The original snippet runs unchanged apart from the import path::

    analyzer = HardwareScalingAnalyzer(target_performance=0.9)
    df = analyzer.analyze_wandb_runs(runs)
    print(analyzer.generate_report(df))
    df.to_csv("hardware_scaling_results.csv", index=False)

Where the original used placeholders (100M samples, the whole runtime, $1.5 per GPU-hour) the
numbers now come from the learning curves, the logged cost or the dated price table; a config
that never reached the target has NaN values, efficiency 0, and the report says "not reached".
``time_to_target`` stays in hours and ``total_cost`` is the cost to reach the target, as before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..hardware import HardwarePair
from ..records import HistoryPoint, Trial
from .core import AnalysisResult, analyze
from .fits import NotEnoughData, PowerLawFit, fit_power_law
from .format import NOT_REACHED, fmt_ci, fmt_level, fmt_share
from .settings import DEFAULT_SCENARIOS, AnalysisSettings

# History metrics tried in order for the learning curve: ours, Metta's eval score, Metta's reward.
CURVE_METRICS = ("score", "evaluator/eval_sweep/score", "overview/reward")
SCORE_METRICS = ("sweep/score", "evaluator/eval_arena/score", "evaluator/eval_sweep/score")
HISTORY_SAMPLES = 10_000
_NAME_PAIR = re.compile(r"(?:^|[._-])g([1-9][0-9]*)_?n([1-9][0-9]*)(?=$|[._-])")
LAWS = {"samples": "samples_to_target", "time": "time_to_target", "cost": "total_cost"}


def _history_rows(run: Any) -> list[Mapping[str, Any]]:
    """A run's history rows, via ``history(samples=, pandas=False)`` else ``scan_history()``."""
    rows: Any
    if hasattr(run, "history"):
        try:
            rows = run.history(samples=HISTORY_SAMPLES, pandas=False)
        except TypeError:
            rows = run.history()
    elif hasattr(run, "scan_history"):
        rows = run.scan_history()
    else:
        return []
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        rows = rows.to_dict(orient="records")
    return [r for r in (rows or []) if isinstance(r, Mapping)]


def _curve(rows: list[Mapping[str, Any]], metrics: tuple[str, ...]) -> list[HistoryPoint]:
    from ..sources.wandb_source import history_points

    for metric in metrics:
        points = history_points(rows, metric)
        if points:
            return points
    return []


def plain(value: Any) -> Any:
    """Dict-like values as plain dicts, all the way down.

    A real ``wandb`` Run's ``summary`` is ``wandb.old.summary.HTTPSummary`` and its nested
    values (``sweep/suggestion``) are ``SummarySubDict``: they have ``keys``/``items`` but are no
    ``Mapping``, so a plain ``dict()`` keeps them opaque. Metta's own store converts them the
    same way (``deep_clean``, metta/adaptive/stores/wandb.py:327-347 at 7c1a7ff418).
    """
    if isinstance(value, Mapping) or (hasattr(value, "items") and hasattr(value, "keys")):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _attr(run: Any, *names: str) -> Any:
    for name in names:
        try:
            value = getattr(run, name)
        except AttributeError:
            continue
        if value is not None:
            return value
    return None


def run_to_trial(run: Any, *, now: float | None = None) -> Trial:
    """A wandb-like run (``.id``/``.name``, ``.group``, ``.state``, ``.config``, ``.summary``) -> ``Trial``."""
    from ..sources.wandb_normalize import WandbRunData, normalize_wandb_run

    created = _attr(run, "created_at", "createdAt")
    heartbeat = _attr(run, "heartbeat_at", "heartbeatAt")
    data = WandbRunData(
        run_id=str(getattr(run, "id", None) or getattr(run, "name", "")),
        group=getattr(run, "group", None),
        state=getattr(run, "state", None),
        tags=list(getattr(run, "tags", None) or ()),
        config=plain(getattr(run, "config", None) or {}),
        summary=plain(getattr(run, "summary", None) or {}),
        created_at=created.isoformat() if hasattr(created, "isoformat") else created,
        heartbeat_at=heartbeat.isoformat() if hasattr(heartbeat, "isoformat") else heartbeat,
    )
    summary = data.summary
    metric = next((k for k in SCORE_METRICS if k in summary), SCORE_METRICS[0])
    trial = normalize_wandb_run(
        data,
        score_metric=metric,
        now=time.time() if now is None else now,
        stale_after_s=float("inf"),
    )
    if trial.gpus is None:
        m = _NAME_PAIR.search(str(getattr(run, "name", "")))
        if m:
            trial.gpus, trial.nodes = int(m[1]), int(m[2])
    return trial


class HardwareScalingAnalyzer:
    """The original analyzer's interface, computed by :func:`~hwscale_tui.analysis.analyze`."""

    def __init__(
        self,
        target_performance: float = 0.9,
        *,
        settings: AnalysisSettings | None = None,
        curve_metrics: tuple[str, ...] = CURVE_METRICS,
    ):
        self.target_performance = target_performance
        self.settings = (settings or AnalysisSettings()).with_changes(
            target=target_performance, target_kind="fraction"
        )
        self.curve_metrics = curve_metrics
        self.results: list[dict[str, Any]] = []
        self.result: AnalysisResult | None = None  # the full analysis behind the last DataFrame
        self.fits: dict[str, PowerLawFit | NotEnoughData] = {}

    # -- the original methods ---------------------------------------------------------------
    def analyze_wandb_runs(self, runs: Iterable[Any]) -> pd.DataFrame:
        """One row per hardware config: the best finished run and its to-target values."""
        trials, histories = [], {}
        for run in runs:
            trial = run_to_trial(run)
            trials.append(trial)
            points = _curve(_history_rows(run), self.curve_metrics)
            if points:
                histories[trial.run_id] = points
        self.result = analyze(trials, histories, self.settings)
        df = self.results_frame(self.result)
        self.results.extend(df.to_dict(orient="records"))
        return df

    def fit_scaling_laws(self, df: pd.DataFrame) -> dict[str, tuple[float, float]]:
        """``{"samples"|"time"|"cost": (a, b)}`` of ``y = a * GPUs^b``, fitted in log space.

        Laws without enough reached configs are left out of the dict; ``self.fits`` keeps every
        fit (with CIs) or the reason it could not be made.
        """
        gpus = (df["gpus"] * df["nodes"]).to_numpy(dtype=float)
        out: dict[str, tuple[float, float]] = {}
        for name, col in LAWS.items():
            if col not in df.columns:
                continue
            fit = fit_power_law(
                gpus,
                df[col].to_numpy(dtype=float),
                n_boot=self.settings.n_boot,
                seed=self.settings.seed,
                ci_level=self.settings.ci_level,
            )
            self.fits[name] = fit
            if isinstance(fit, PowerLawFit):
                out[name] = (fit.a, fit.b)
        return out

    def calculate_fom(self, df: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
        """Adds ``*_efficiency_norm`` (efficiency / max) and ``fom`` = weighted sum; weights must sum to 1."""
        unknown = sorted(set(weights) - {"sample", "time", "cost"})
        if unknown:  # {"samples": 0.6, ...} summed to 1 and weighed the samples 0
            raise ValueError(
                f"weights {unknown} are unknown; accepted weight keys: sample, time, cost"
            )
        if any(w < 0 for w in weights.values()):
            raise ValueError(f"weights must be >= 0, got {dict(weights)}")
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, got {total:g}")
        for key in ("sample", "time", "cost"):
            col = df[f"{key}_efficiency"].fillna(0.0)
            top = col.max()
            df[f"{key}_efficiency_norm"] = col / top if top > 0 else 0.0
        df["fom"] = sum(
            weights.get(k, 0.0) * df[f"{k}_efficiency_norm"] for k in ("sample", "time", "cost")
        )
        return df

    def recommend_configurations(self, df: pd.DataFrame) -> dict[str, dict[str, Any]]:
        """The highest-FOM config per scenario; a scenario where nothing reached the target gets ``hardware: None``."""
        recs: dict[str, dict[str, Any]] = {}
        for name, weights in (self.settings.scenarios or DEFAULT_SCENARIOS).items():
            scored = self.calculate_fom(df.copy(), dict(weights))
            if scored.empty or not (scored["fom"] > 0).any():
                recs[name] = {"hardware": None, "reason": "no config reached the target"}
                continue
            best = scored.loc[scored["fom"].idxmax()]
            recs[name] = {
                "hardware": best["hardware_config"],
                "gpus": int(best["gpus"]),
                "nodes": int(best["nodes"]),
                "fom": float(best["fom"]),
                "best_hyperparams": best["best_hyperparams"],
                "expected_score": float(best["best_score"]),
                "expected_time_hours": float(best["time_to_target"]),
                "expected_cost": float(best["total_cost"]),
            }
        return recs

    def generate_report(self, df: pd.DataFrame) -> str:
        lines = [
            "=" * 80,
            "HARDWARE SCALING EXPERIMENT REPORT",
            "=" * 80,
            "",
            "SUMMARY STATISTICS",
            "-" * 40,
        ]
        lines.append(f"Total configurations tested: {len(df)}")
        lines.append(
            f"Best absolute score: {df['best_score'].max():.4f}"
            if len(df)
            else "Best absolute score: unknown"
        )
        for label, col in (
            ("Most sample-efficient", "sample_efficiency"),
            ("Fastest to target", "time_efficiency"),
            ("Most cost-effective", "cost_efficiency"),
        ):
            eff = df[col].fillna(0.0) if col in df else pd.Series(dtype=float)
            best = (
                df.loc[eff.idxmax(), "hardware_config"]
                if len(eff) and eff.max() > 0
                else f"none ({NOT_REACHED} by any config)"
            )
            lines.append(f"{label}: {best}")
        if self.result is not None:
            lines.append(f"Target: {self.result.target_rule}")
        lines.append("")
        self.fit_scaling_laws(df)
        lines += ["SCALING LAWS", "-" * 40]
        for name, fit in self.fits.items():
            if isinstance(fit, PowerLawFit):
                lines.append(
                    f"{name.capitalize()}: {fit.a:.2e} * GPUs^{fit.b:.3f} "
                    f"(exponent {fmt_level(fit.ci_level)} CI {fmt_ci(fit.ci.get('b'), lambda v: f'{v:.3f}')}, "
                    f"n={fit.n}{'; ' + fit.note if fit.note else ''})"
                )
            else:
                lines.append(f"{name.capitalize()}: not enough data: {fit.reason}")
        lines += ["", "RECOMMENDED CONFIGURATIONS", "-" * 40]
        for scenario, rec in self.recommend_configurations(df).items():
            lines.append(f"\n{scenario.upper()} PRIORITY:")
            if rec["hardware"] is None:
                lines.append(f"  Hardware: none ({rec['reason']})")
                continue
            # per node x nodes, as analyze's recommendations say it: "g2n2 (2 GPUs on 2 nodes)"
            # read as 2 GPUs in all, for 4
            g, n = rec["gpus"], rec["nodes"]
            lines.append(
                f"  Hardware: {rec['hardware']} ({g} GPU{'s' if g != 1 else ''}/node x "
                f"{n} node{'s' if n != 1 else ''})"
            )
            lines.append(f"  Expected score: {rec['expected_score']:.4f}")
            t, c = rec["expected_time_hours"], rec["expected_cost"]
            lines.append(
                f"  Time to target: {t:.3g} hours"
                if np.isfinite(t)
                else f"  Time to target: {NOT_REACHED}"
            )
            lines.append(
                f"  Total cost: ${c:.3g}" if np.isfinite(c) else f"  Total cost: {NOT_REACHED}"
            )
            lines.append(f"  FOM score: {rec['fom']:.4f}")
            agreement = self._agreement(scenario, rec["hardware"])
            if agreement is not None:
                lines.append(f"  Bootstrap agreement: {fmt_share(agreement)}")
        lines += ["", "=" * 80]
        return "\n".join(lines)

    # -- helpers ----------------------------------------------------------------------------
    def _agreement(self, scenario: str, hardware: str) -> float | None:
        if self.result is None:
            return None
        rec = next((r for r in self.result.recommendations if r.scenario == scenario), None)
        return rec.bootstrap_agreement if rec is not None and rec.config == hardware else None

    @staticmethod
    def results_frame(result: AnalysisResult) -> pd.DataFrame:
        """The original DataFrame columns (plus ``reached``, ``cost_source``, KM median and P(reach))."""
        pc, fom = result.per_config, result.fom
        rows = []
        for _, r in pc.iterrows():
            pair = HardwarePair(int(r["gpus"]), int(r["nodes"]))
            eff = fom.loc[r["config"]]
            rows.append(
                {
                    "hardware_config": pair.tag,
                    "gpus": pair.gpus,
                    "nodes": pair.nodes,
                    "best_score": r["best_score"],
                    "best_hyperparams": r["best_params"],
                    "time_to_target": r["time_to_target_s"] / 3600.0,
                    "samples_to_target": r["samples_to_target"],
                    "total_cost": r["cost_to_target_usd"],
                    "sample_efficiency": eff["eff_sample"],
                    "time_efficiency": eff["eff_time"],
                    "cost_efficiency": eff["eff_cost"],
                    "reached": bool(r["best_reached"]),
                    "km_median_time_hours": r["km_median_time_s"] / 3600.0,
                    "p_reach": r["p_reach"],
                    "cost_source": r["cost_source"],
                }
            )
        return pd.DataFrame(rows)
