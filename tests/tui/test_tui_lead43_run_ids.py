"""A W&B run id with control characters or brackets shows as written in the trials table.

Helper 85 (session 43) saw an id ending in ``日本語\\x1b[31mX`` show as "本語X": the table reads a
text cell as markup, so ``[31m`` was taken for a style and the escape character dropped (the
CLI's table had the same problem, fixed in 84ff659).
"""

from __future__ import annotations

from rich.text import Text

from hwscale_tui.tui.widgets.trial_table import trial_number


def test_a_run_ids_tail_is_shown_as_written():
    shown = Text.from_markup(trial_number("abc_日本語\x1b[31mX")).plain
    assert shown == "本語\\x1b[31mX", shown
    assert Text.from_markup(trial_number("run-[bold]x")).plain == "-[bold]x"  # its last 8
    assert trial_number("exp.g1n1_trial_0003_ab12cd") == "#0003"  # ours: unchanged
