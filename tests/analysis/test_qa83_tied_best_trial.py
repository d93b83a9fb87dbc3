"""QA 83: a config whose best trial ties others on the final score says so.

CartPole-v1 caps its return at 500: in a real 6-trial sweep of g1n1, 4 trials finished at 500
and the "best trial by final score" was the first listed (55.2k samples to the target), while
the tied ones reached it in 32.8k to 82.6k samples -- the config's to-target values, and the
laws, FOM and recommendations built on them, rested on list order without a word. The
choice (the first listed, as the original script's idxmax) stays; a note names the tie and
the spread of the tied trials' values.
"""

from __future__ import annotations

from hwscale_tui.analysis import analyze
from hwscale_tui.analysis.settings import AnalysisSettings
from hwscale_tui.records import HistoryPoint, Trial


def _trial(run_id: str, score: float) -> Trial:
    return Trial(sweep="exp.g1n1", run_id=run_id, gpus=1, nodes=1, state="finished", score=score)


def _curve(slope: float) -> list[HistoryPoint]:
    """Climbs at ``slope`` per 100 steps to 500, then stays there (a capped return)."""
    return [HistoryPoint(100.0 * i, float(i), min(500.0, slope * i)) for i in range(21)]


def _notes(slopes: dict[str, float], scores: dict[str, float]) -> list[str]:
    trials = [_trial(r, scores[r]) for r in slopes]
    histories = {r: _curve(s) for r, s in slopes.items()}
    result = analyze(trials, histories, AnalysisSettings(n_boot=0))
    return [n for n in result.notes if n.startswith("Tied on the final score")]


def test_a_best_trial_tied_on_the_final_score_is_named() -> None:
    said = _notes({"a": 50.0, "b": 100.0, "c": 25.0}, {"a": 500.0, "b": 500.0, "c": 500.0})
    assert said == [
        "Tied on the final score: g1n1's best trial a is the first listed of 3 trials with "
        "its final score 500, which reached the target in 450 to 1.8k samples (4.5 s to 18 s); "
        "the config's to-target values, and the laws, figures of merit and recommendations "
        "built on them, are a's."
    ]


def test_no_tie_or_a_tie_that_changes_nothing_says_nothing() -> None:
    assert not _notes({"a": 50.0, "b": 100.0}, {"a": 500.0, "b": 400.0})
    assert not _notes({"a": 50.0, "b": 50.0}, {"a": 500.0, "b": 500.0})
