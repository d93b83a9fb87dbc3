"""What the analysis pane draws, as plain data, and the log-axis arithmetic (no Textual).

textual-plotext's ``xscale("log")`` crashes on a redraw (docs/upstream.md section 8), so log axes
are drawn as log10 values on linear axes with tick labels placed at round numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class PlotSpec:
    key: str
    title: str
    x_label: str
    y_label: str
    points: list[tuple[float, float]] = field(default_factory=list)  # measured, linear units
    fit: list[tuple[float, float]] = field(default_factory=list)  # fitted curve
    band: list[tuple[float, float, float]] = field(default_factory=list)  # x, low, high (CI)
    highlight: list[tuple[float, float]] = field(
        default_factory=list
    )  # e.g. the Pareto front / knee
    log_x: bool = True
    log_y: bool = True
    note: str = ""

    @property
    def empty(self) -> bool:
        return not self.points


def compact_number(v: float) -> str:
    """``1``, ``20``, ``5k``, ``2M``, ``0.01`` -- short tick labels."""
    if v == 0:
        return "0"
    av = abs(v)
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if av >= div:
            q = v / div
            return f"{q:.0f}{unit}" if q == round(q) else f"{q:.1f}{unit}"
    if av >= 1:
        return f"{v:.0f}" if v == round(v) else f"{v:.1f}"
    return f"{v:.2g}"


def log_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """Round values (1-2-5 per decade, thinned to decades when crowded) within [lo, hi] (linear units)."""
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    d0, d1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for mults in ((1, 2, 5), (1, 3), (1,)):
        ticks = [
            m * 10.0**d
            for d in range(d0, d1 + 1)
            for m in mults
            if lo <= m * 10.0**d <= hi * (1 + 1e-9)
        ]
        if len(ticks) <= max_ticks and len(ticks) >= 2:
            return ticks
    step = max(1, math.ceil((d1 - d0) / max_ticks))
    ticks = [10.0**d for d in range(d0, d1 + 1, step) if lo <= 10.0**d <= hi]
    if len(ticks) >= 2 or lo == hi:
        return ticks or [lo]
    # a narrow range (e.g. 1.0 to 1.4): at most one round value inside; label the ends too, so
    # the axis shows its span (a lone "1" would read as if every point were at 1)
    ends = [lo, *(t for t in ticks if not _close(t, lo) and not _close(t, hi)), hi]
    return sorted(ends)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 0.05 * max(abs(a), abs(b))


def to_axis(values: list[float], log: bool) -> list[float]:
    """Values as drawn: log10 on log axes (non-positive values dropped by the caller)."""
    return [math.log10(v) for v in values] if log else list(values)


def positive(
    points: Sequence[tuple[float, ...]], log_x: bool, log_y: bool
) -> list[tuple[float, ...]]:
    return [
        p
        for p in points
        if (not log_x or p[0] > 0)
        and (not log_y or all(v > 0 for v in p[1:]))
        and all(math.isfinite(v) for v in p)
    ]
