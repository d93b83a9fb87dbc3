"""QA 83: a to-target law that cannot be fitted says why its configs were left out.

With 1 of 5 configs reaching the target, the report said "samples to target vs total ranks:
not enough data: a power law needs at least 3 points ...; got 1 point at 1 distinct value (4
missing or non-positive values left out)": the 4 configs whose best trial never reached the
target read as missing data. At a price of $0 every cost to target is 0 and was called
"missing or non-positive" the same way. The reason now says which: not reached, unknown, or 0.
"""

from __future__ import annotations

from hwscale_tui.analysis import analyze
from hwscale_tui.analysis.fits import NotEnoughData
from hwscale_tui.analysis.settings import AnalysisSettings
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.records import HistoryPoint, Trial


def _trial(g: int, score: float) -> Trial:
    return Trial(
        sweep=f"exp.g{g}n1",
        run_id=f"r{g}",
        gpus=g,
        nodes=1,
        state="finished",
        score=score,
        params={"trainer.batch_size": 512 * g},
    )


def _curve(top: float) -> list[HistoryPoint]:
    return [HistoryPoint(100.0 * i, 1.0 * i, top * i / 10) for i in range(11)]


def test_configs_that_did_not_reach_the_target_are_named_as_such() -> None:
    pairs = [HardwarePair(g, 1) for g in (1, 2, 4, 8)]
    tops = {1: 100.0, 2: 60.0, 4: 50.0, 8: 40.0}  # only g1n1 reaches 0.9 x 100
    trials = [_trial(p.gpus, tops[p.gpus]) for p in pairs]
    histories = {f"r{p.gpus}": _curve(tops[p.gpus]) for p in pairs}
    result = analyze(trials, histories, AnalysisSettings(n_boot=0))
    for name in ("samples_to_target", "time_to_target", "cost_to_target"):
        law = result.laws[name]
        assert isinstance(law, NotEnoughData), name
        assert "3 configs whose best trial did not reach the target left out" in law.reason
        assert "missing" not in law.reason


def test_a_cost_of_0_is_named_as_such() -> None:
    pairs = [HardwarePair(g, 1) for g in (1, 2, 4)]
    trials = [_trial(p.gpus, 100.0) for p in pairs]
    histories = {f"r{p.gpus}": _curve(100.0) for p in pairs}
    result = analyze(trials, histories, AnalysisSettings(n_boot=0, price_per_gpu_hour=0.0))
    law = result.laws["cost_to_target"]
    assert isinstance(law, NotEnoughData)
    assert "3 configs whose cost to target is 0 left out" in law.reason
    assert "missing" not in law.reason
