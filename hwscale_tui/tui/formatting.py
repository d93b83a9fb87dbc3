"""Small text formatters shared by the screens (no Textual)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable

from ..records import plural  # noqa: F401 (the screens import it from here)

_FMT_DURATION: Callable[[float | None], str] | None = None


def fmt_duration(seconds: float | None) -> str:
    """The one duration format (``launch.progress.fmt_duration``), imported on first use: the
    progress module is not needed for the app's first frame."""
    global _FMT_DURATION
    if _FMT_DURATION is None:
        from ..launch.progress import fmt_duration as fmt

        _FMT_DURATION = fmt
    return _FMT_DURATION(seconds)


STATE_STYLES = {
    # trial states
    "queued": "dim",
    "running": "bold yellow",
    "awaiting_eval": "cyan",
    "finished": "green",
    "failed": "bold red",
    "killed": "magenta",
    "stale": "dim red",
    # pair statuses (supervisor)
    "not launched": "dim",
    "scheduled": "cyan",
    "starting": "yellow",
    "exited": "green",
    "failed_to_start": "bold red",
    "cancelled": "magenta",
}
ACTIVE_PAIR_STATUSES = ("scheduled", "starting", "running")


def trial_reason(state: str, error: str, stopped_here: bool = False) -> str:
    """Why a failed or killed trial ended, as the trials screen says it: the store's error (what
    ``hwscale-tui trials`` prints), except that a killed trial's bare SIGTERM / SIGINT exit
    (``exit code 143``, ``killed by SIGTERM``) reads as the stop it was, in the trainer's words
    (``stopped by SIGTERM``, docs/train.md), and ``stopped by you`` when this app stopped it."""
    import re
    import signal

    from ..sweep.outcome import KILLED_EXIT_CODES

    signame, code = None, None
    if state == "killed":
        if m := re.fullmatch(r"exit code (\d+)", error.strip()):
            code = int(m.group(1))
            if code in KILLED_EXIT_CODES and code > 128:
                signame = signal.Signals(code - 128).name
        elif m := re.fullmatch(r"killed by (SIGTERM|SIGINT)", error.strip()):
            signame = m.group(1)
        elif m := re.fullmatch(r"stopped by (SIGTERM|SIGINT) \(exit code (\d+)\)", error.strip()):
            signame, code = m.group(1), int(m.group(2))  # as decide_outcome records a stop now
    if signame is None:
        return error
    exit_code = f"exit code {code}" if code is not None else ""
    if stopped_here:
        return f"stopped by you ({', '.join(filter(None, (signame, exit_code)))})"
    return f"stopped by {signame}" + (f" ({exit_code})" if exit_code else "")


def fmt_number(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    ax = abs(x)
    if ax != 0 and (ax >= 1e6 or ax < 1e-3):
        return f"{x:.{digits - 1}e}"
    if round(ax) >= 10**digits:
        return f"{x:,.0f}"  # 12,345 rather than 1.23e+04: below a million every digit fits
    return f"{x:.{digits}g}"


def fmt_steps(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if abs(round(x)) < 1000:
        return f"{x:.0f}"
    # the unit chosen after rounding: 999,960 is 1.0M, not 1000.0k
    for unit, div in (("k", 1e3), ("M", 1e6)):
        if abs(round(x / div, 1)) < 1000:
            return f"{x / div:.1f}{unit}"
    return f"{x / 1e9:.1f}G"


def fmt_money(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"${x:,.2f}" if x < 1000 else f"${x:,.0f}"


def progress_bar(done: int, total: int | None, width: int = 8, ascii_only: bool = False) -> str:
    """``████░░░░ 4/8`` (``####.... 4/8`` in ASCII); the count alone when the total is unknown."""
    if not total:
        return f"{done}/?"
    frac = min(1.0, max(0.0, done / total))
    filled = int(round(frac * width))
    full, empty = ("#", ".") if ascii_only else ("█", "░")
    return f"{full * filled}{empty * (width - filled)} {done}/{total}"


def sparkline_text(values: list[float], width: int = 40, ascii_only: bool = False) -> str:
    """A one-line chart of ``values`` resampled to ``width`` buckets (max of each bucket)."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [
            max(values[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)])
            for i in range(width)
        ]
    lo, hi = min(values), max(values)
    ticks = " .:-=+*#%@" if ascii_only else " ▁▂▃▄▅▆▇█"
    span = (hi - lo) or 1.0
    return "".join(
        ticks[min(len(ticks) - 1, int((v - lo) / span * (len(ticks) - 1) + 0.5))] for v in values
    )


def display_paths(text: str) -> str:
    """:func:`short_paths`, and this interpreter shown as ``python`` (log lines for the screen;
    the full log in the pager keeps every path as written)."""
    import sys

    return short_paths(text).replace(sys.executable, "python")


def short_paths(text: str, env: os._Environ[str] | dict[str, str] | None = None) -> str:
    """Shorten paths for display: the state root to ``$HWSCALE_HOME`` when it is set, else ``$HOME`` to ``~``."""
    env = os.environ if env is None else env
    root = env.get("HWSCALE_HOME")
    if root:
        return text.replace(os.path.abspath(os.path.expanduser(root)), "$HWSCALE_HOME")
    home = env.get("HOME")
    return text.replace(home, "~") if home and home != "/" else text
