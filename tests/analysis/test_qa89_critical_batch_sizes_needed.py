"""QA 89: too few batch sizes for the critical-batch law says how many it needs.

On a real local store whose trials reached the target at two batch sizes, `analyze` said
"the critical-batch law needs at least 3 points at 2 or more distinct x values; got 2 points
at 2 distinct values": two distinct batch sizes read as enough, and nothing said the sizes
counted are those of the trials that reached the target. The law needs 3 distinct batch sizes
(4 to claim a B_crit, see test_qa89_critical_batch_claim.py).
"""

from __future__ import annotations

from hwscale_tui.analysis import AnalysisSettings, NotEnoughData, analyze, fit_critical_batch

from .analysis_helpers import linear_history, trial


def test_two_batch_sizes_say_three_are_needed() -> None:
    out = fit_critical_batch([1024, 4096], [30.0, 12.0])
    assert isinstance(out, NotEnoughData)
    assert "at least 3 distinct batch sizes" in out.reason
    assert "2 or more distinct" not in out.reason
    assert "got 2 (1024, 4096)" in out.reason


def test_analyze_says_the_sizes_are_those_that_reached_the_target() -> None:
    trials, hist = [], {}
    for i, (batch, slope) in enumerate(((1024, 0.5), (4096, 0.5), (2048, 0.1))):
        t = trial(f"b{i}", 1, 1, 500.0 * slope, params={"trainer.batch_size": batch})
        trials.append(t)
        hist[t.run_id] = linear_history(slope)
    result = analyze(trials, hist, AnalysisSettings(target=250.0, target_kind="absolute", n_boot=0))
    law = result.laws["critical_batch"]
    assert isinstance(law, NotEnoughData)
    assert "at least 3 distinct batch sizes" in law.reason
    assert "got 2 (1024, 4096) among the trials that reached the target" in law.reason
