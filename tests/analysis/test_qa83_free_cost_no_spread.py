"""QA 83: a cost to target of $0 at a price of $0 is not called uncertain.

`analyze --price-per-gpu-hour 0` (trials that logged no cost) made every trial's cost to the
target $0, so every bootstrap resample gave a Kaplan-Meier median of $0 and the notes said
"Kaplan-Meier medians of g1n1 (cost), g2n1 (cost), ... have no interval: every bootstrap
resample gave the same median ...; so few equal values are no certainty" -- of a value the
price fixes. The note leaves out a median cost of $0; other axes are named as before.
"""

from __future__ import annotations

from hwscale_tui.analysis import analyze
from hwscale_tui.analysis.settings import AnalysisSettings
from hwscale_tui.records import HistoryPoint, Trial


def _trial(run_id: str, gpus: int) -> Trial:
    return Trial(
        sweep=f"exp.g{gpus}n1", run_id=run_id, gpus=gpus, nodes=1, state="finished", score=100.0
    )


def _notes(price: float, same_step: bool) -> list[str]:
    trials, histories = [], {}
    for gpus in (1, 2):
        for k in range(3):
            run_id = f"g{gpus}_{k}"
            trials.append(_trial(run_id, gpus))
            # same_step: every trial crosses at one logged step (a real no-spread median)
            slope = 10.0 if same_step else 10.0 + 3 * k
            histories[run_id] = [
                HistoryPoint(100.0 * i, float(i) * (1 + k), min(100.0, slope * i))
                for i in range(12)
            ]
    result = analyze(trials, histories, AnalysisSettings(n_boot=200, price_per_gpu_hour=price))
    return [n for n in result.notes if n.startswith("Kaplan-Meier medians")]


def test_a_free_cost_is_not_called_uncertain() -> None:
    assert _notes(0.0, same_step=False) == []


def test_a_median_every_resample_repeats_is_still_named() -> None:
    said = _notes(0.0, same_step=True)
    assert len(said) == 1 and "g1n1 (samples)" in said[0] and "cost" not in said[0]
    assert "g1n1 (samples" in _notes(2.0, same_step=True)[0]
