"""Tick labels of the analysis pane's log axes (plain data, no Textual)."""

from __future__ import annotations

import pytest

from hwscale_tui.tui.plot_data import compact_number, log_ticks


def test_round_values_across_decades() -> None:
    # 1-2-5 would be 7 labels (1 .. 100): thinned to 1-3 per decade
    assert log_ticks(1.0, 100.0) == [1.0, 3.0, 10.0, 30.0, 100.0]
    assert log_ticks(3.0, 40.0) == [5.0, 10.0, 20.0]


def test_wide_ranges_thin_to_decades() -> None:
    ticks = log_ticks(1.0, 1e9)
    assert ticks[0] == 1.0 and len(ticks) <= 6
    assert all(t in {10.0**d for d in range(10)} for t in ticks)


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (1.0, 1.4, [1.0, 1.4]),  # one round value (the low end): the high end is labelled too
        (55_200.0, 77_400.0, [55_200.0, 77_400.0]),  # none inside: both ends
        (0.9, 1.3, [0.9, 1.0, 1.3]),  # one inside: it and both ends
        (0.99, 1.3, [0.99, 1.3]),  # a round value next to an end is left out (labels overlap)
    ],
)
def test_narrow_ranges_label_both_ends(lo: float, hi: float, expected: list[float]) -> None:
    assert log_ticks(lo, hi) == expected


def test_one_value_and_bad_input() -> None:
    assert log_ticks(5.0, 5.0) == [5.0]
    assert log_ticks(0.0, 10.0) == []
    assert log_ticks(20.0, 2.0) == log_ticks(2.0, 20.0)


def test_compact_labels() -> None:
    assert [compact_number(v) for v in (0, 1, 1.4, 20, 5000, 77_400, 2e6, 0.012)] == [
        "0",
        "1",
        "1.4",
        "20",
        "5k",
        "77.4k",
        "2M",
        "0.012",
    ]


def test_recommendation_lines_keep_a_local_runs_small_time_and_cost():
    from hwscale_tui.analysis.core import Recommendation
    from hwscale_tui.tui.analysis_view import describe_recommendation

    rec = Recommendation(
        "budget",
        {"cost": 1.0},
        "g1n1",
        gpus=1,
        nodes=1,
        total_gpus=1,
        expected_score=480.0,
        time_to_target_s=0.391,
        cost_to_target_usd=0.000746,
    )
    line = describe_recommendation(rec)
    assert "time 0.391 s" in line and "cost $0.000746" in line, line  # not "0s" and "$0.00"


def test_plot_caption_puts_each_note_on_its_own_lines_when_they_do_not_fit_one() -> None:
    from hwscale_tui.tui.analysis_view import caption_lines

    long = "samples to target: a power law needs at least 3 points at 2 or more distinct x values"
    short = "time to target ~ GPUs^-0.70 [-0.80, -0.60]"
    assert caption_lines([short, short], 100, 4) == [f"{short} | {short}"]
    assert caption_lines([long, short], 60, 4) == [
        "samples to target: a power law needs at least 3 points at 2",
        "or more distinct x values",
        short,
    ]
    # too long for the lines: each note keeps its share, the cut one ends with an ellipsis
    lines = caption_lines([long, long], 40, 4)
    assert len(lines) == 4 and all(len(line) <= 40 for line in lines)
    assert lines[0].startswith("samples") and lines[2].startswith("samples")
    assert lines[1].endswith("\u2026") and lines[3].endswith("\u2026")
    # a short note leaves its second line to the long one
    assert caption_lines([short, long], 50, 3) == [
        short,
        "samples to target: a power law needs at least 3",
        "points at 2 or more distinct x values",
    ]
    assert caption_lines([], 80, 2) == [] and caption_lines([long], 0, 2) == []


def test_step_counts_pick_their_unit_after_rounding():
    """999,960 steps read 1.0M, not 1000.0k (the unit was chosen before rounding)."""
    from hwscale_tui.tui.formatting import fmt_steps

    cases = {
        0: "0",
        999.4: "999",
        999.6: "1.0k",
        1500: "1.5k",
        999_940: "999.9k",
        999_960: "1.0M",
        2.5e9: "2.5G",
        999_960_000_000: "1000.0G",
        -999_960: "-1.0M",
        None: "-",
        float("nan"): "-",
    }
    assert {x: fmt_steps(x) for x in cases} == cases


def test_scores_below_a_million_keep_their_digits():
    """A score of 12,345 reads 12,345 in the tables, not 1.23e+04; small and huge ones as before."""
    from hwscale_tui.tui.formatting import fmt_number

    cases = [
        (0.5, "0.5"),
        (123.4, "123"),
        (999.6, "1,000"),
        (12_345.4, "12,345"),
        (-4_321.0, "-4,321"),
        (2.5e6, "2.50e+06"),
        (2e-4, "2.00e-04"),
        (float("nan"), "-"),
    ]
    assert [fmt_number(x) for x, _ in cases] == [want for _, want in cases]
    assert fmt_number(12_345.0, 2) == "12,345" and fmt_number(12.3456, 2) == "12"
