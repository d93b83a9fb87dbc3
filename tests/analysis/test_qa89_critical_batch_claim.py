"""QA 89: a critical batch size the data do not bound is no finding.

Helper 83 saw "B_crit 1.94M [0, inf] within the tested batch sizes" on 1 residual degree of
freedom (3 batch sizes for the law's 2 parameters), and the composite time and cost model built
on it without a word. A B_crit is now claimed only when it lies inside the tested batch sizes,
the fit has at least 2 residual degrees of freedom, and its interval is bounded: finite, and
within 100x of the tested batch sizes (past that, over every tested size, the law differs by
under 1% from one without a critical batch size). Otherwise the report says "NOT claimed" with
the reason, and the composite model built on it says so too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwscale_tui.analysis import (
    AnalysisSettings,
    CompositeModel,
    CriticalBatchFit,
    analyze,
    fit_critical_batch,
    render_text,
)

from .analysis_helpers import linear_history, trial

DATA = Path(__file__).parents[1] / "data" / "zhang2024_cbs_steps_to_target.csv"


def noisy_steps(sizes: np.ndarray, seed: int, sd: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1300.0 * (1 + 2000.0 / sizes) * np.exp(rng.normal(0, sd, sizes.size))


def test_one_residual_degree_of_freedom_is_no_finding() -> None:
    sizes = np.array([256.0, 1024.0, 4096.0])
    fit = fit_critical_batch(sizes, noisy_steps(sizes, 1), n_boot=400, seed=0)
    assert isinstance(fit, CriticalBatchFit) and fit.straddled and fit.dof == 1
    assert not fit.claimed
    assert "B_crit not claimed" in fit.note and "residual degree" in fit.note


def test_an_unbounded_interval_is_no_finding() -> None:
    sizes = 256.0 * 2.0 ** np.arange(4)  # 4 sizes: 2 residual degrees of freedom
    for seed in range(60):
        fit = fit_critical_batch(sizes, noisy_steps(sizes, seed, 0.2), n_boot=400, seed=seed)
        assert isinstance(fit, CriticalBatchFit)
        lo, hi = fit.ci["b_crit"]
        if fit.straddled and not (np.isfinite(hi) and lo > 0):
            break
    else:  # pragma: no cover
        raise AssertionError("no seed gave an unbounded interval")
    assert fit.dof == 2 and not fit.claimed and fit.bounded is False
    assert "B_crit not claimed" in fit.note and "interval" in fit.note


@pytest.mark.parametrize("model", ["85M", "151M", "302M", "604M", "1.2B"])
def test_a_bounded_fit_on_the_calibration_data_is_still_claimed(model: str) -> None:
    rows = pd.read_csv(DATA).query("model == @model")
    fit = fit_critical_batch(rows["batch_size_seqs"], rows["steps_to_goal"], n_boot=300, seed=1)
    assert isinstance(fit, CriticalBatchFit)
    assert fit.claimed and fit.bounded and "not claimed" not in fit.note


def test_the_report_and_the_composite_say_it_is_not_claimed() -> None:
    trials, hist = [], {}
    rng = np.random.default_rng(5)
    for i, batch in enumerate((256, 1024, 4096)):  # 3 sizes: 1 residual degree of freedom
        samples = 1300.0 * (batch + 2000.0) * float(np.exp(rng.normal(0, 0.1)))
        g = 2**i
        t = trial(f"b{i}", g, 1, 500.0, params={"trainer.batch_size": batch}, sps=100.0 * g)
        trials.append(t)
        hist[t.run_id] = [
            type(p)(p.agent_step * samples / 500.0, p.wall_s * samples / 500.0 / g, p.score)
            for p in linear_history(0.5)
        ]
    result = analyze(
        trials, hist, AnalysisSettings(target=250.0, target_kind="absolute", n_boot=100)
    )
    cbs, composite = result.laws["critical_batch"], result.laws["composite"]
    assert isinstance(cbs, CriticalBatchFit) and cbs.straddled and not cbs.claimed
    assert isinstance(composite, CompositeModel)
    assert "not claim" in composite.note and "not a measurement" in composite.note
    text = render_text(result, width=300)
    assert "within the tested batch sizes" not in text
    assert "NOT claimed" in text and f"note: {composite.note}" in text
    laws = result.to_json()["laws"]
    assert laws["critical_batch"]["claimed"] is False
    assert laws["composite"]["note"] == composite.note
