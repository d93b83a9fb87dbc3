"""Number formatting for reports: units, intervals, and words instead of missing numbers."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

NOT_REACHED = "not reached"
UNKNOWN = "unknown"
# the report's PNGs in its plots folder (plots.py writes them; the command keeps its other
# outputs off these paths, without importing matplotlib or numpy)
PLOT_FILES = ("curves.png", "to_target.png", "throughput.png", "survival.png", "pareto.png")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_count(v: Any, missing: str = UNKNOWN) -> str:
    """1234567 -> 1.23M; inf -> 'not reached'."""
    if _missing(v):
        return missing
    f = float(v)
    if math.isinf(f):
        return NOT_REACHED if f > 0 else "-inf"
    f = float(f"{f:.3g}")  # round first: 999,500 is 1M, not '1e+03k'
    if abs(f) >= 1e15:
        return f"{f:.3g}"  # 1e+15, not '1e+03T'
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(f) >= div:
            return f"{f / div:.3g}{suffix}"
    return f"{f:.3g}"


def fmt_seconds(v: Any, missing: str = UNKNOWN) -> str:
    if _missing(v):
        return missing
    f = float(v)
    if math.isinf(f):
        return NOT_REACHED
    if abs(f) >= 7200:
        return f"{f / 3600:.3g} h"
    if abs(f) >= 120:
        return f"{f / 60:.3g} min"
    return f"{f:.3g} s"


def fmt_usd(v: Any, missing: str = UNKNOWN) -> str:
    if _missing(v):
        return missing
    f = float(v)
    if math.isinf(f):
        return NOT_REACHED
    if abs(f) >= 100:
        return f"${f:,.0f}"
    return f"${f:.3g}" if abs(f) < 1 else f"${f:.2f}"


def fmt_num(v: Any, missing: str = UNKNOWN, digits: int = 4) -> str:
    if _missing(v):
        return missing
    f = float(v)
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f"{f:.{digits}g}"


def fmt_level(level: float) -> str:
    """A confidence level as a percentage, as precise as it was given: 0.95 -> '95%',
    0.999 -> '99.9%' (not '99%')."""
    return f"{round(100 * level, 6):g}%"


def fmt_share(v: Any, missing: str = UNKNOWN) -> str:
    """0.42 -> '42%'; a share strictly between 0 and 1 never reads 100% or 0%: 0.999 -> '99.9%',
    0.004 -> '0.4%', and '>99.9%' / '<0.1%' closer still."""
    if _missing(v):
        return missing
    pct = 100 * float(v)
    text = f"{pct:.0f}"
    if 0 < pct < 100 and text in ("0", "100"):
        text = f"{pct:.1f}"
        if text == "100.0":
            return ">99.9%"
        if text == "0.0":
            return "<0.1%"
    return f"{text}%"


def fmt_ci(ci: Any, fmt: Callable[..., str] = fmt_num) -> str:
    """'[lo, hi]' with 'inf' for an unbounded end."""
    if not ci or any(_missing(c) for c in ci):
        return "[no interval]"
    lo, hi = ci

    def end(x: float) -> str:
        return "inf" if math.isinf(x) and x > 0 else fmt(x)

    return f"[{end(lo)}, {end(hi)}]"
