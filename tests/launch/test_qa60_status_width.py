"""QA 60: ``status`` on a narrow terminal (60 columns) keeps its key columns whole.

Every cell was cut with an ellipsis: trials "2…", best "46…", cost "$0…". Now the columns that
give way (pid, elapsed, cost, next start, ETA, in that order) are left out until the table fits;
pair, status, trials and best stay whole (``--json`` keeps everything)."""

from __future__ import annotations

import io

from rich.console import Console

from hwscale_tui.launch.state import EXITED, SCHEDULED, ExperimentStatus
from hwscale_tui.launch.status_view import render
from tests.launch.test_launch_units import _pair


def _text(status, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(render(status, 100.0, None, width))
    return console.export_text().splitlines()


def _status() -> ExperimentStatus:
    done = _pair(
        sweep_name="exp.g1n1", gpus=1, status=EXITED, exit_code=None, started_at=10.0,
        ended_at=16.0, trials_done=2, max_trials=2, best_score=46.85,
    )  # fmt: skip
    gone = _pair(status=SCHEDULED, never_started=True, planned_start=50.0, trials_done=0,
                 max_trials=2)  # fmt: skip
    return ExperimentStatus("exp", 1, False, 123, None, [done, gone], 100.0)


def test_at_60_columns_the_key_columns_are_whole_and_the_rest_give_way():
    lines = _text(_status(), 60)
    top = next(i for i, line in enumerate(lines) if line.startswith("pair "))
    table = lines[top : top + 4]
    assert all(len(line) <= 60 for line in table), table
    assert not any("…" in line for line in table), table
    header = table[0]
    for kept in ("pair", "status", "trials", "best"):
        assert kept in header, header
    assert "elapsed" not in header and "pid" not in header, header
    assert "2/2" in table[2] and "46.85" in table[2] and "exited (code unknown)" in table[2]


def test_a_wide_console_keeps_every_column():
    header = next(line for line in _text(_status(), 160) if line.startswith("pair "))
    for col in ("elapsed", "next start", "trials", "ETA", "cost", "best", "pid"):
        assert col in header, header


def test_columns_give_way_in_order_only_as_far_as_needed():
    from hwscale_tui.launch.status_view import fitted_columns

    rows = [{c: "x" for c in ("pair", "status", "elapsed", "next start", "ETA", "cost")}]
    cols = ["pair", "status", "elapsed", "next start", "ETA", "cost"]
    # widths: 4 + 6 + 7 + 10 + 3 + 4 = 34, plus 3 between each of 6 columns: 49
    assert fitted_columns(cols, rows, 49) == cols
    assert fitted_columns(cols, rows, 48) == ["pair", "status", "next start", "ETA", "cost"]
    assert fitted_columns(cols, rows, None) == cols
