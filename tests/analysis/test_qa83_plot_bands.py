"""QA 83: a report plot shows a law's band only when the law has one.

With ``--bootstrap 0`` (or points lying exactly on a law) the text says "[no interval]", but
to_target.png's legend still said "95% band" and throughput.png's "usl band": an empty fill
from the fitted curve to itself, read as a band too narrow to see -- a certain law. The band
and its legend entry are drawn only from two or more bootstrap resamples.
"""

from __future__ import annotations

import pytest

from hwscale_tui.analysis import analyze
from hwscale_tui.analysis.plots import _pyplot, _throughput, _to_target
from hwscale_tui.analysis.settings import AnalysisSettings
from hwscale_tui.hardware import HardwarePair
from tests.support.synthetic import synthetic_experiment

PAIRS = [HardwarePair(g, n) for n in (1, 2) for g in (1, 2, 4)]


def _legends(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def _result(n_boot: int):
    trials, histories, _ = synthetic_experiment(PAIRS, 4, 30, seed=2)
    settings = AnalysisSettings(target=400.0, target_kind="absolute", n_boot=n_boot)
    return analyze(trials, histories, settings)


@pytest.mark.parametrize("draw", [_to_target, _throughput])
def test_no_band_in_the_legend_without_bootstrap_resamples(draw) -> None:
    plt = _pyplot()
    fig = draw(plt, _result(0))
    try:
        labels = _legends(fig)
        assert labels  # the fitted laws and the points are drawn
        assert not [label for label in labels if "band" in label]
    finally:
        plt.close(fig)


@pytest.mark.parametrize("draw", [_to_target, _throughput])
def test_the_band_is_drawn_from_resamples(draw) -> None:
    plt = _pyplot()
    fig = draw(plt, _result(200))
    try:
        assert [label for label in _legends(fig) if "band" in label]
    finally:
        plt.close(fig)
