"""Turn an ``AnalysisResult`` into what the analysis pane shows (plain data, no Textual).

This is the one place that knows the analysis result's shape; the pane draws the
:class:`AnalysisView` it returns.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any

from ..analysis.format import fmt_seconds, fmt_share, fmt_usd
from .formatting import fmt_number, fmt_steps, plural
from .plot_data import PlotSpec

PLOT_KEYS = ("samples", "time", "cost", "throughput", "pareto")
TARGET_LEVELS = (0.5, 0.75, 0.9)
GRID_POINTS = 40


@dataclass
class AnalysisView:
    summary: str
    plots: dict[str, PlotSpec]
    fom_columns: list[str]
    fom_rows: list[list[str]]
    recommendations: list[str]
    notes: list[str] = field(default_factory=list)


def target_choices(cfg: Any) -> list[tuple[str, tuple[str, float]]]:
    """Select options ``(label, (target_kind, target))``: the file's target and the usual levels."""
    options: list[tuple[str, tuple[str, float]]] = []
    current = (cfg.analysis.target_kind, float(cfg.analysis.target))
    for level in TARGET_LEVELS:
        options.append((f"{100 * level:.4g}% of best", ("fraction", level)))
    if current not in [v for _, v in options]:
        label = (
            f"{100 * current[1]:.4g}% of best"
            if current[0] == "fraction"
            else f"score {current[1]:g}"
        )
        options.append((label, current))
    return options


def _grid(xs: list[float]) -> list[float]:
    lo, hi = min(xs), max(xs)
    if lo <= 0 or hi <= lo:
        return sorted(set(xs))
    step = (math.log(hi) - math.log(lo)) / (GRID_POINTS - 1)
    return [math.exp(math.log(lo) + i * step) for i in range(GRID_POINTS)]


def law_plot(
    key: str,
    title: str,
    y_label: str,
    law: Any,
    measured: list[tuple[float, float]],
    unit: str = "GPUs",
) -> PlotSpec:
    """Points the law was fitted on, its curve over the GPU range, and its CI band.

    Without a fit (``NotEnoughData``), the per-config measurements are still drawn.
    """
    spec = PlotSpec(key, title, f"total {unit}", y_label)
    if law is None or not hasattr(law, "predict"):
        spec.points = measured
        spec.note = f"{title}: {getattr(law, 'reason', 'no fit')}"
        return spec
    xs = [float(v) for v in law.x]
    ys = [float(v) for v in law.y]
    spec.points = list(zip(xs, ys))
    grid = _grid(xs) if xs else []
    if grid:
        fit = [float(v) for v in law.predict(grid)]
        lo, hi = law.band(grid)
        spec.fit = list(zip(grid, fit))
        spec.band = [(x, float(a), float(b)) for x, a, b in zip(grid, lo, hi)]
    spec.note = describe_law(title, law, unit)
    return spec


def describe_law(title: str, law: Any, unit: str = "GPUs") -> str:
    if hasattr(law, "chosen"):  # ThroughputSelection: Amdahl or USL, chosen by AICc
        chosen = law.fit
        peak = getattr(chosen, "peak_n", None)
        # fmt_number, as the report: a peak of 1.4 read "peak at 1" with :.0f (helper 83)
        extra = f", peak at {fmt_number(peak)} {unit}" if peak else ""
        # the reason reads "Amdahl (why)": the name is said once, in front
        reason = str(law.reason)
        for name in ("Amdahl", "USL"):
            if reason.startswith(f"{name} (") and reason.endswith(")"):
                reason = reason[len(name) + 2 : -1]
        return f"{title}: {law.chosen.upper()} (sigma {fmt_number(chosen.sigma)}{extra}; {reason})"
    if hasattr(law, "b"):
        lo, hi = law.ci.get("b", (math.nan, math.nan))
        # no interval (--bootstrap 0 or 1, points exactly on the law): said as the report
        # says it, not "[nan, nan]" (helper 89)
        shown = (
            f"[{lo:.2f}, {hi:.2f}]" if math.isfinite(lo) and math.isfinite(hi) else "[no interval]"
        )
        return f"{title} ~ {unit}^{law.b:.2f} {shown}" + (f" ({law.note})" if law.note else "")
    return title


def caption_lines(notes: list[str], width: int, max_lines: int) -> list[str]:
    """The shown plots' notes in at most ``max_lines`` lines of ``width`` columns.

    One line (``a | b``) when they fit; else one note per line, each wrapped, so a long first
    note never pushes the second off the end. When they need more than ``max_lines``, each note
    keeps an equal share of the lines (those a short note leaves go to the others) and a cut
    note ends with an ellipsis after its last whole word.
    """
    notes = [n for n in notes if n]
    if not notes or width <= 0 or max_lines <= 0:
        return []
    joined = " | ".join(notes)
    if len(joined) <= width:
        return [joined]
    notes = notes[:max_lines]  # fewer lines than notes (the screen gives each plot two)
    wrapped = [textwrap.wrap(n, width, break_on_hyphens=False) for n in notes]
    shares = [max_lines // len(notes) + (i < max_lines % len(notes)) for i in range(len(notes))]
    spare = sum(max(0, share - len(lines)) for share, lines in zip(shares, wrapped))
    out: list[str] = []
    for share, lines in zip(shares, wrapped):
        take = min(len(lines), share + spare)
        spare -= max(0, take - share)
        if take < len(lines):
            last = lines[take - 1]
            if len(last) > width - 1:  # no room for the ellipsis: its last word gives way
                cut = last[: width - 1]
                if last[width - 1] != " " and " " in cut:
                    cut = cut[: cut.rindex(" ")]
                last = cut
            lines = [*lines[: take - 1], last.rstrip() + "\u2026"]
        out.extend(lines)
    return out


def build_view(result: Any, settings: Any, n_trials: int) -> AnalysisView:
    laws = dict(getattr(result, "laws", {}) or {})
    per_config = result.per_config

    def measured(column: str) -> list[tuple[float, float]]:
        if column not in per_config or "total_gpus" not in per_config:
            return []
        pairs = zip(per_config["total_gpus"].tolist(), per_config[column].tolist())
        return [(float(x), float(y)) for x, y in pairs if y is not None and math.isfinite(float(y))]

    unit = str(getattr(settings, "unit", "GPUs"))
    plots = {
        "samples": law_plot(
            "samples",
            "samples to target",
            "agent steps",
            laws.get("samples_to_target"),
            measured("samples_to_target"),
            unit,
        ),
        "time": law_plot(
            "time",
            "time to target",
            "seconds",
            laws.get("time_to_target"),
            measured("time_to_target_s"),
            unit,
        ),
        "cost": law_plot(
            "cost",
            "cost to target",
            "USD",
            laws.get("cost_to_target"),
            measured("cost_to_target_usd"),
            unit,
        ),
        "throughput": law_plot(
            "throughput", "throughput", "steps/s", laws.get("throughput"), measured("sps"), unit
        ),
        "pareto": pareto_plot(getattr(result, "pareto", None)),
    }
    columns, rows = fom_table(getattr(result, "fom", None))
    recs = [describe_recommendation(r) for r in (getattr(result, "recommendations", None) or [])]
    target = result.target
    target_text = (
        f"target {fmt_number(target)}"
        if target is not None and math.isfinite(target)
        else "no target"
    )
    notes = [str(n) for n in result.notes]
    if getattr(result, "ranking_stable", True) is False:
        notes.insert(0, "ranking changes across target levels: read the recommendations with care")
    return AnalysisView(
        f"{target_text}, {plural(n_trials, 'trial')}, {plural(len(per_config), 'config')}",
        plots,
        columns,
        rows,
        recs,
        notes,
    )


def pareto_plot(pareto: Any) -> PlotSpec:
    spec = PlotSpec(
        "pareto", "time-cost Pareto front", "seconds", "USD"
    )  # short: both labels share one line
    if pareto is None:
        spec.note = "Pareto: no configuration reached the target"
        return spec
    spec.points = [(float(p.time_s), float(p.cost_usd)) for p in pareto.points]
    spec.highlight = [(float(p.time_s), float(p.cost_usd)) for p in pareto.front]
    front = ", ".join(p.config for p in pareto.front)
    spec.note = (
        f"front: {front}" + (f"; knee {pareto.knee}" if pareto.knee else "")
        if front
        else pareto.note
    )
    return spec


def fom_table(fom: Any) -> tuple[list[str], list[list[str]]]:
    """Config x scenario FOM (the arithmetic scenarios; efficiencies and geometric means stay in the report)."""
    if fom is None or len(fom) == 0:
        return ["config"], []
    scenarios = [
        c
        for c in fom.columns
        if not str(c).startswith("eff_") and not str(c).endswith("_geometric")
    ]
    rows = [
        [str(idx), *(fmt_number(float(fom.at[idx, c]), 2) for c in scenarios)] for idx in fom.index
    ]
    return ["config", *map(str, scenarios)], rows


def describe_recommendation(rec: Any) -> str:
    """``research: g4n1 (4 GPUs x 1 nodes), score 480, time 12 s, cost $0.03, bootstrap agrees 80%``."""
    if rec.config is None:
        return f"{rec.scenario}: no recommendation ({rec.reason or 'no configuration reached the target'})"
    parts = [f"{rec.scenario}: {rec.hardware}"]
    for label, value, fmt in (
        ("score", rec.expected_score, fmt_number),
        ("steps", rec.samples_to_target, fmt_steps),
        # the report's formats: a local run's 0.391 s and $0.000746 are not "0s" and "$0.00"
        ("time", rec.time_to_target_s, fmt_seconds),
        ("cost", rec.cost_to_target_usd, fmt_usd),
    ):
        if value is not None:
            parts.append(f"{label} {fmt(value)}")
    if rec.bootstrap_agreement is not None:
        parts.append(f"bootstrap agrees {fmt_share(rec.bootstrap_agreement)}")
    return ", ".join(parts)
