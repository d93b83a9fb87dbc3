"""The rich console the commands print to stdout with.

On a terminal it is rich's own (the terminal's width). Piped or redirected, rich would lay
everything out for 80 columns: long lines wrapped mid-sentence and table cells cut with an
ellipsis (``hardware_scali…``), so a name could not be grepped. Piped output is therefore laid
out for ``$COLUMNS`` when it is set (a whole number >= 1), else for ``PIPED_WIDTH`` columns,
and lines are not wrapped (tables still take only the width they need).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

PIPED_WIDTH = 200


def stdout_console(**kwargs: Any) -> Any:
    """A ``rich.console.Console`` on stdout (imported here: rich loads on first use).

    A reader that stops reading (``hwscale-tui experiments | head -1``) ends the command as
    every other output of it does: quietly, exit 0 (``cli`` takes the ``BrokenPipeError``).
    rich's own console exits 1 there, so the same pipe gave 0 after ``status`` and 1 after
    ``experiments``."""
    from rich.console import Console

    class _StdoutConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            # what is still buffered for stdout goes nowhere at exit, instead of failing again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            raise BrokenPipeError

    if sys.stdout.isatty():
        # rich takes a COLUMNS (LINES) of 0 as the terminal's size: nothing was printed (a
        # pseudo-terminal that reports 0 x 0, an exported COLUMNS=0); the terminal's own then
        for name, key in (("COLUMNS", "width"), ("LINES", "height")):
            if env_size(name) == 0 and key not in kwargs:
                kwargs[key] = getattr(_terminal_size(), "columns" if key == "width" else "lines")
        return _StdoutConsole(**kwargs)
    # a COLUMNS of 0 (or not a number) is no width: the piped default, not 0 (nothing printed)
    width = env_size("COLUMNS") or PIPED_WIDTH
    return _StdoutConsole(soft_wrap=True, width=width, **kwargs)


def env_size(name: str) -> int | None:
    """``$COLUMNS`` (``name``) as a whole number (0 included), None when unset or not one."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


def _terminal_size() -> os.terminal_size:
    """stdout's terminal size, 80 x 25 where it reports 0 (as rich takes it)."""
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        size = os.terminal_size((0, 0))
    return os.terminal_size((size.columns or 80, size.lines or 25))


def fitted_table(console: Any, build: Callable[[bool], Any]) -> Any:
    """``build(False)``, or ``build(True)`` (the narrow layout: the builder collapses padding,
    breaks ranges) when the first cannot fit ``console`` even with its foldable cells folded
    -- a table narrower than it can be gets its cells cut with an ellipsis."""
    from rich.measure import Measurement

    table = build(False)
    wide = console.options.update_width(10_000)
    if Measurement.get(console, wide, table).minimum > console.width:
        return build(True)
    return table
