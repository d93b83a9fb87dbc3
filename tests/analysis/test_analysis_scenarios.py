"""Scenario (priority) names and weights: an unknown one is refused by name, never ignored."""

from __future__ import annotations

import pytest

from hwscale_tui.analysis import AnalysisSettings, HardwareScalingAnalyzer, analyze
from tests.analysis.analysis_helpers import linear_history, trial
from tests.analysis.test_analysis_compat import runs


def test_an_unknown_scenario_name_is_a_key_error_naming_the_known_ones():
    """``result.recommendation("speed")`` raised a bare StopIteration, with no message (and
    inside a generator a RuntimeError)."""
    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 100.0)]
    histories = {"a": linear_history(0.1), "b": linear_history(0.2)}
    result = analyze(trials, histories, AnalysisSettings(n_boot=0))
    assert result.recommendation("budget").scenario == "budget"
    with pytest.raises(KeyError, match="'speed' is unknown; accepted: research, development"):
        result.recommendation("speed")


@pytest.mark.parametrize(
    "weights, message",
    [
        # summed to 1, so it was taken, and weighed the samples 0
        ({"samples": 0.6, "time": 0.2, "cost": 0.2}, r"\['samples'\] are unknown; accepted"),
        ({"sample": 1.5, "time": -0.5, "cost": 0.0}, "must be >= 0"),
    ],
)
def test_original_calculate_fom_refuses_unknown_or_negative_weights(weights, message):
    analyzer = HardwareScalingAnalyzer(target_performance=0.9)
    df = analyzer.analyze_wandb_runs(runs())
    with pytest.raises(ValueError, match=message):
        analyzer.calculate_fom(df.copy(), weights)
