"""The note about pairs whose best trial is chosen among unfinished trials names those pairs."""

from __future__ import annotations

from hwscale_tui.analysis import AnalysisSettings, analyze
from tests.analysis.analysis_helpers import linear_history, trial


def test_the_pool_note_names_the_pair_it_is_about():
    trials = [
        trial("a1", 1, 1, 1000.0),
        trial("a2", 1, 1, 900.0),
        trial("b1", 2, 1, 700.0, state="running"),
    ]
    histories = {
        "a1": linear_history(1.0),
        "a2": linear_history(0.9),
        "b1": linear_history(0.7, sps=200.0),
    }
    result = analyze(trials, histories, AnalysisSettings(target=500.0, target_kind="absolute"))
    notes = [n for n in result.notes if "no finished trial" in n]
    assert len(notes) == 1
    assert notes[0].startswith("g2n1: no finished trial yet") and "g1n1" not in notes[0]
    assert not any("none finished yet); finished trials" in n for n in result.notes)
