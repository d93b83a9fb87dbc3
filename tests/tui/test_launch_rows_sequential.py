"""The launch table's `starts` column for a pair that waits for the one before it (sequential,
the local default when the pairs cannot run together): it said "-", as for a pair that runs."""

from __future__ import annotations

from types import SimpleNamespace

from hwscale_tui.tui.launch_rows import launch_rows


def _status(planned_start: float | None, never_started: bool = False) -> SimpleNamespace:
    return SimpleNamespace(
        sweep_name="e.g2n1",
        status="scheduled",
        planned_start=planned_start,
        never_started=never_started,
        started_at=None,
        ended_at=None,
        exit_code=None,
        pid=None,
        log_path=None,
        trials_done=0,
        max_trials=3,
        best_score=None,
        gpus=2,
        nodes=1,
    )


def _countdown(ps: SimpleNamespace) -> str:
    plan = [SimpleNamespace(sweep_name="e.g2n1", pair=SimpleNamespace(tag="g2n1", total_gpus=2))]
    (row,) = launch_rows(plan, SimpleNamespace(pairs=[ps]), now=100.0, max_trials=3)
    return row.countdown


def test_a_pair_waiting_for_the_one_before_it_says_in_turn():
    assert _countdown(_status(None)) == "in turn"
    assert len("in turn") <= 8  # the starts column's fixed width (screens/launch.py)


def test_a_staggered_pair_counts_down_and_a_pair_that_never_starts_says_nothing_here():
    assert _countdown(_status(130.0)) == "in 30s"
    assert _countdown(_status(None, never_started=True)) == "-"  # its status says never started
