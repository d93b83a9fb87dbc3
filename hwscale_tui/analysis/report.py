"""Reports: the same sections as terminal text (rich) and as Markdown with PNG plots.

Every number printed comes from the result; a missing one is said in words ("not reached",
"unknown", "not enough data: ...") and every estimate carries its interval.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import ensure_private_dir, read_only_file
from .core import AnalysisResult
from .cost import COST_LOGGED_HISTORY, COST_LOGGED_TOTAL, COST_PRICED
from .fits import (
    AmdahlFit,
    CriticalBatchFit,
    NotEnoughData,
    PowerLawFit,
    ThroughputSelection,
    USLFit,
)
from .format import (
    NOT_REACHED,
    fmt_ci,
    fmt_count,
    fmt_level,
    fmt_num,
    fmt_seconds,
    fmt_share,
    fmt_usd,
)

LAW_TITLES = {
    "samples_to_target": ("samples to target vs total {unit}", fmt_count),
    "time_to_target": ("time to target (s) vs total {unit}", fmt_seconds),
    "cost_to_target": ("cost to target ($) vs total {unit}", fmt_usd),
    "throughput": ("throughput (SPS) vs total {unit}", fmt_count),
    "critical_batch": ("critical batch size (McCandlish)", fmt_count),
    "composite": ("composite time and cost model", fmt_num),
}


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _short_source(source: str) -> str:
    if source.startswith("mixed"):
        return "mixed"
    if source in (COST_LOGGED_HISTORY, COST_LOGGED_TOTAL):
        return "logged"
    return "priced" if source == COST_PRICED else "unknown"


def _median_text(value: float, ci: tuple[float, float], fmt: Callable[..., str]) -> str:
    if np.isinf(value):
        return f"{NOT_REACHED} (P<50%)"
    return f"{fmt(value)} {fmt_ci(ci, fmt)}"


def _law_lines(name: str, law: Any, unit: str = "GPUs") -> list[str]:
    if isinstance(law, NotEnoughData):
        title = LAW_TITLES.get(name, (name,))[0].format(unit=unit)
        return [f"{title}: not enough data: {law.reason}"]
    if isinstance(law, PowerLawFit):
        title = LAW_TITLES.get(name, (name, fmt_num))[0].format(unit=unit)
        lines = [
            f"{title}: y = {fmt_num(law.a)} * {unit}^{law.b:.3f}; a {fmt_ci(law.ci.get('a'))}, b {fmt_ci(law.ci.get('b'), lambda v: f'{v:.3f}')}; "
            f"rmse(ln y) {law.rmse_log:.3f}, R2(ln y) {fmt_num(law.r2_log, digits=3)}, n={law.n}"
        ]
        return lines + ([f"  note: {law.note}"] if law.note else [])
    if isinstance(law, ThroughputSelection):
        lines = [f"throughput (SPS) vs total {unit}: chosen {law.reason}"]
        for label, fit in (("Amdahl", law.amdahl), ("USL", law.usl)):
            lines += ["  " + s for s in _law_lines(label, fit, unit)]
        return lines
    if isinstance(law, AmdahlFit):
        return [
            f"Amdahl: lam {fmt_num(law.lam)} {fmt_ci(law.ci.get('lam'))}, sigma {law.sigma:.4f} {fmt_ci(law.ci.get('sigma'))}; "
            f"AICc {fmt_num(law.aicc)}, rmse(ln X) {law.rmse_log:.3f}, n={law.n}"
        ] + ([f"  note: {law.note}"] if law.note else [])
    if isinstance(law, USLFit):
        peak = (
            f"peak at {law.peak_n:.3g} {unit} {fmt_ci(law.ci.get('peak_n'))}"
            if law.peak_n is not None
            else "no peak claimed"
        )
        return [
            f"USL: lam {fmt_num(law.lam)} {fmt_ci(law.ci.get('lam'))}, sigma {law.sigma:.4f} {fmt_ci(law.ci.get('sigma'))}, "
            f"kappa {law.kappa:.3g} {fmt_ci(law.ci.get('kappa'))}; {peak}; AICc {fmt_num(law.aicc)}, "
            f"rmse(ln X) {law.rmse_log:.3f}, n={law.n}"
        ] + ([f"  note: {law.note}"] if law.note else [])
    if isinstance(law, CriticalBatchFit):
        claim = (
            "within the tested batch sizes"
            if law.claimed
            else f"NOT claimed ({law.unclaimed_reason})"
        )
        return [
            f"critical batch (McCandlish): B_crit {fmt_count(law.b_crit)} {fmt_ci(law.ci.get('b_crit'), fmt_count)} {claim}; "
            f"S_min {fmt_count(law.s_min)} {fmt_ci(law.ci.get('s_min'), fmt_count)} updates, "
            f"E_min {fmt_count(law.e_min)} {fmt_ci(law.ci.get('e_min'), fmt_count)} samples; rmse(ln S) {law.rmse_log:.3f}, n={law.n}"
        ] + ([f"  note: {law.note}"] if law.note else [])
    if hasattr(law, "e_min"):  # CompositeModel
        return [
            f"composite: E(G) = {fmt_count(law.e_min)} (1 + {fmt_count(law.batch_per_gpu)} G / {fmt_count(law.b_crit)}), "
            f"T(G) = {fmt_seconds(law.t0_s)} + E(G) / X(G) with X = {law.throughput.chosen}"
        ] + ([f"  note: {law.note}"] if law.note else [])
    return [f"{name}: {law}"]


def report_sections(result: AnalysisResult) -> list[Section]:
    s = result.settings
    pc = result.per_config
    n_trials = int(pc["n_trials"].sum()) if not pc.empty else 0
    summary = Section(
        "Summary",
        [
            f"target: {result.target_rule}",
            f"configs: {len(pc)}, trials: {n_trials} ({int(pc['n_curves'].sum())} with learning curves, {int(pc['n_reached'].sum())} reached the target)",
            f"cost: logged cost where a trial has it, else {result.price.describe(s.unit)} x "
            + ("ranks x hours" if s.unit == "ranks" else "whole billed nodes x hours"),
            (
                f"uncertainty: {fmt_level(s.ci_level)} intervals from {s.n_boot} bootstrap resamples (seed {s.seed}); smoothing: {s.smoothing}"
                if s.n_boot > 1
                else f"uncertainty: no intervals ({s.n_boot} bootstrap resample{'' if s.n_boot == 1 else 's'}); smoothing: {s.smoothing}"
            ),
            f"P(reach) is within a budget of {fmt_count(result.budget_steps)} agent steps; Kaplan-Meier over all trials of a config (censored at their last point)",
        ],
    )
    configs = Section(
        "Per hardware config (best trial by final score; KM = Kaplan-Meier over all trials)",
        headers=[
            "config",
            result.settings.unit,
            "trials (reached)",
            "best score",
            "samples to target",
            "time to target",
            "cost to target",
            "KM median time [CI]",
            "P(reach) [CI]",
            "SPS",
            "cost",
        ],
    )
    for _, r in pc.iterrows():
        p_text = (
            f"{fmt_share(r['p_reach'])} {fmt_ci((r['p_reach_lo'], r['p_reach_hi']), fmt_share)}"
        )
        configs.rows.append(
            [
                r["config"],
                str(r["total_gpus"]),
                f"{r['n_trials']} ({r['n_reached']})",
                fmt_num(r["best_score"]),
                fmt_count(r["samples_to_target"], NOT_REACHED),
                fmt_seconds(
                    r["time_to_target_s"], NOT_REACHED if not r["best_reached"] else "unknown"
                ),
                fmt_usd(
                    r["cost_to_target_usd"], NOT_REACHED if not r["best_reached"] else "unknown"
                ),
                _median_text(
                    r["km_median_time_s"],
                    (r["km_median_time_s_lo"], r["km_median_time_s_hi"]),
                    fmt_seconds,
                ),
                p_text,
                fmt_count(r["sps"]),
                _short_source(r["cost_source"]),
            ]
        )
    laws = Section("Scaling laws (fitted in log space)")
    for name, law in result.laws.items():
        laws.lines += _law_lines(name, law, result.settings.unit)
    names = list(s.scenarios)
    geo = [f"{n}_geometric" for n in names if f"{n}_geometric" in result.fom.columns]
    fom = Section(
        "Figure of merit (efficiency = best / value, 0 if not reached; FOM = weighted sum"
        + ("; geo = weighted geometric mean)" if geo else ")"),
        headers=[
            "config",
            "eff samples",
            "eff time",
            "eff cost",
            *names,
            *(f"geo {n[:3]}" for n in names if f"{n}_geometric" in geo),
        ],
    )
    for config, r in result.fom.iterrows():
        cells = [f"{r[c]:.3f}" for c in ("eff_sample", "eff_time", "eff_cost", *names, *geo)]
        fom.rows.append([str(config), *cells])
    pareto = Section(
        "Time-cost Pareto front",
        [
            "front (fastest first): "
            + (
                ", ".join(
                    f"{p.config} ({fmt_seconds(p.time_s)}, {fmt_usd(p.cost_usd)})"
                    for p in result.pareto.front
                )
                or "empty"
            ),
            f"knee: {result.pareto.knee or 'none'} ({result.pareto.note})",
        ],
    )
    recs = Section(
        "Recommendations",
        headers=[
            "scenario",
            "hardware",
            "FOM",
            "score",
            "time to target",
            "cost to target",
            "samples",
            "bootstrap agrees",
            "runner-up",
        ],
    )
    params_by_run: dict[str, tuple[list[str], str]] = {}
    for rec in result.recommendations:
        if rec.config is None:
            recs.rows.append([rec.scenario, f"none: {rec.reason}", "", "", "", "", "", "", ""])
            continue
        recs.rows.append(
            [
                rec.scenario,
                rec.hardware or "",
                f"{rec.fom:.3f}",
                fmt_num(rec.expected_score),
                fmt_seconds(rec.time_to_target_s),
                fmt_usd(rec.cost_to_target_usd),
                fmt_count(rec.samples_to_target),
                fmt_share(rec.bootstrap_agreement),
                rec.runner_up or "-",
            ]
        )
        params = ", ".join(
            f"{k}={fmt_num(v) if isinstance(v, float) else v}"
            for k, v in sorted(rec.best_params.items())
        )
        params_by_run.setdefault(str(rec.best_run_id), ([], params or "no parameters recorded"))[
            0
        ].append(rec.scenario)
    # no heading without a recommended run (no config reached the target)
    recs.lines = ["best hyperparameters:"] * bool(params_by_run) + [
        f"  {', '.join(scenarios)}: {run_id}: {params}"
        for run_id, (scenarios, params) in params_by_run.items()
    ]
    # minimized: a level's target is the best divided by it (0.5 of a loss of 3 is 6), as the
    # target's rule says it
    of_best = (
        "fractions of the best smoothed score"
        if s.goal == "maximize"
        else "the best smoothed score divided by each level, as the metric is minimized"
    )
    levels = Section(
        f"Target levels ({of_best}): ranking {'stable' if result.ranking_stable else 'NOT stable'}",
        headers=["level", "target", "configs reached", *s.scenarios],
    )
    if result.levels.empty:  # no fraction of a best score <= 0 is a level
        levels = Section(
            "Target levels (fractions of the best smoothed score)",
            [
                "no target levels: they are fractions of the best smoothed score, which is "
                f"{fmt_num(result.reference_score)} (they need a positive one)"
            ],
        )
    for _, r in result.levels.iterrows():
        levels.rows.append(
            [
                f"{r['level']:g}",
                fmt_num(r["target"]),
                str(r["n_configs_reached"]),
                *(str(r[k] or "none") for k in s.scenarios),
            ]
        )
    notes = Section("Notes", [f"- {n}" for n in result.notes] or ["- none"])
    return [summary, configs, laws, fom, pareto, recs, levels, notes]


def render_text(result: AnalysisResult, width: int | None = None) -> str:
    """The report as plain terminal text (rich tables, no colour)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = Console(
        file=buf, width=width or 120, color_system=None, force_terminal=False, highlight=False
    )
    console.print("HARDWARE SCALING ANALYSIS", style="bold")
    for sec in report_sections(result):
        console.print()
        if len(sec.title) + 4 > console.width:  # rich would cut the title with an ellipsis
            console.print(sec.title, markup=False)
            console.rule()
        else:
            console.rule(sec.title, align="left")
        if sec.headers:
            widths = _column_widths(sec, console.width)
            if widths is None:
                _print_records(console, sec)  # a table cell would be cut inside a word
            else:
                table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
                for h, w in zip(sec.headers, widths):
                    table.add_column(Text(h), overflow="fold", width=w)
                for row in sec.rows:  # plain text: "[no interval]" is no markup tag
                    table.add_row(*(Text(cell) for cell in row))
                console.print(table)
        for line in sec.lines:
            console.print(line, markup=False, soft_wrap=False)
    return buf.getvalue()


def _column_widths(sec: Section, width: int) -> list[int] | None:
    """Each column's width for a table of ``width`` characters (2 between columns): its widest
    cell when the whole table fits so, else the widest columns cut to one cap (each no
    narrower than its longest word); None when even the longest words do not fit (rich, left
    to squeeze, cut headers inside a word, "researc" over "h", and dropped the last column).
    """
    columns = [(h, *(row[i] for row in sec.rows)) for i, h in enumerate(sec.headers)]
    natural = [max(len(cell) for cell in col) for col in columns]
    least = [max((len(w) for cell in col for w in cell.split()), default=1) for col in columns]
    room = width - 2 * (len(columns) - 1)
    if sum(natural) <= room:
        return natural
    if sum(least) > room:
        return None
    # the widest columns are cut to one common cap, the largest that fits (never below a
    # column's longest word); the narrower ones stay whole
    cap = max(natural)
    while sum(max(m, min(n, cap)) for n, m in zip(natural, least)) > room:
        cap -= 1
    return [max(m, min(n, cap)) for n, m in zip(natural, least)]


def _print_records(console: Any, sec: Section) -> None:
    """A table too wide for the console, one block per row (``header: value`` lines).

    Folded into narrow columns, a table cuts headers and values inside a word or a number
    (``$0.00`` over ``0869``); a block per row keeps every value whole and on one line.
    """
    first, *rest = sec.headers
    pad = max(len(h) for h in rest) + 1
    for row in sec.rows:
        console.print(f"{first} {row[0]}", markup=False)
        for header, value in zip(rest, row[1:], strict=True):
            console.print(f"  {header + ':':<{pad}} {value}", markup=False)


def _md_text(text: str) -> str:
    """Text as Markdown shows it: a ``<`` escaped, else ``g<G>n<N>`` in a note (or a ``<`` in a
    run id or a value) reads as HTML tags and the viewer hides them ("no gn in the sweep name")."""
    return text.replace("<", "\\<")


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|")


def _md_line(line: str) -> str:
    if line.startswith("- "):
        return _md_text(line)
    depth = (len(line) - len(line.lstrip(" "))) // 2
    return "  " * depth + "- " + _md_text(line.strip())


def markdown(result: AnalysisResult, images: dict[str, str] | None = None) -> str:
    out = ["# Hardware scaling analysis", ""]
    for sec in report_sections(result):
        out += [f"## {sec.title}", ""]
        if sec.headers:
            out.append("| " + " | ".join(_md_cell(h) for h in sec.headers) + " |")
            out.append("|" + "---|" * len(sec.headers))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in sec.rows]
            out.append("")
        out += [_md_line(line) for line in sec.lines]
        out.append("")
    if images:
        out += ["## Plots", ""]
        for title, rel in images.items():
            out += [f"### {title}", "", f"![{title}]({rel})", ""]
    return "\n".join(out)


def write_report(
    result: AnalysisResult, md_path: str | Path, png_dir: str | Path | None = None
) -> Path:
    """Write the Markdown report and its PNG plots (default: ``<report>_plots/`` beside it).

    All or nothing: the plots and the report are written to temporary files first and renamed
    into place only once every one is written, so a failure (a full disk) leaves the report and
    the figures that were there as they were, and no plots folder it made. A PNG was opened
    in place and truncated first: a full disk left an empty ``curves.png`` (an earlier report's
    figure lost), and the error named the report."""
    import errno

    from .plots import commit_plots, discard_plots, stage_plots

    md = Path(md_path)
    ensure_private_dir(md.parent)
    if read_only_file(md):
        raise PermissionError(
            errno.EACCES, "it is read-only, so it is not replaced (chmod u+w lets it be)", str(md)
        )
    pngs = Path(png_dir) if png_dir is not None else md.with_name(md.stem + "_plots")
    made = not pngs.exists()
    staged: list[tuple[Path, Path]] = []
    tmp = md.with_name(f".{md.name}.{os.getpid()}.tmp")
    try:
        saved, staged, stale = stage_plots(result, pngs)
        images = {title: _relative(path, md.parent) for title, path in saved.items()}
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(markdown(result, images))
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as e:
            if e.filename is None or e.filename == str(tmp):
                raise OSError(e.errno, e.strerror or str(e), str(md)) from e
            raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        discard_plots(staged)
        if made:
            with contextlib.suppress(OSError):
                pngs.rmdir()  # only when empty: nothing of anyone's is removed
        raise
    commit_plots(staged, stale)
    os.replace(tmp, md)
    return md


def _relative(path: Path, base: Path) -> str:
    """The image's link from the report's folder, percent-encoded: a space or a parenthesis
    (``--report "run 2 (final).md"``) ended the Markdown link, which then showed as text."""
    from urllib.parse import quote

    return quote(Path(os.path.relpath(path.resolve(), base.resolve())).as_posix())
