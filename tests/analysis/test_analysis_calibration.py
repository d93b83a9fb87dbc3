"""The critical-batch fit on public data: Zhang et al. 2024's steps-to-target table (tests/data/).

The paper's data, not its conclusions: the B_crit values below are what a log-space least-squares
fit of McCandlish et al.'s ``S = S_min + E_min / B`` gives on that table (recorded once, in
sequences). They are *not* numbers quoted from the paper. So the test checks two things that
could fail: our fit agrees with a plain scipy least-squares fit of the same model written out
here, and neither has drifted from the recorded values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwscale_tui.analysis import CriticalBatchFit, NotEnoughData, fit_critical_batch

DATA = Path(__file__).resolve().parent.parent / "data" / "zhang2024_cbs_steps_to_target.csv"
# B_crit (sequences) from a log-space least-squares fit on this table -- the fit's own output.
FIT_B_CRIT_ON_ZHANG_DATA = {"85M": 2191, "151M": 3240, "302M": 5433, "604M": 7907, "1.2B": 11131}


def plain_least_squares_b_crit(batch: np.ndarray, steps: np.ndarray) -> float:
    """The same law fitted independently: minimise sum (log S - log(S_min + E_min / B))^2."""
    from scipy.optimize import least_squares

    def residuals(theta: np.ndarray) -> np.ndarray:
        s_min, e_min = np.exp(theta)
        return np.log(steps) - np.log(s_min + e_min / batch)

    start = np.log([steps.min(), np.median(steps * batch)])
    s_min, e_min = np.exp(least_squares(residuals, start).x)
    return float(e_min / s_min)


@pytest.fixture(scope="module")
def zhang() -> pd.DataFrame:
    return pd.read_csv(DATA)


def test_data_file_is_the_45_row_table_with_provenance(zhang):
    assert list(zhang.columns) == [
        "model",
        "goal_loss",
        "batch_size_seqs",
        "tokens_per_seq",
        "steps_to_goal",
    ]
    assert len(zhang) == 45 and set(zhang["model"]) == set(FIT_B_CRIT_ON_ZHANG_DATA)
    readme = (DATA.parent / "README.md").read_text()
    assert "arXiv:2410.21676" in readme and "zhang2024_cbs_steps_to_target.csv" in readme


@pytest.mark.parametrize("model", list(FIT_B_CRIT_ON_ZHANG_DATA))
def test_critical_batch_agrees_with_a_plain_fit_and_the_recorded_value(zhang, model):
    rows = zhang[zhang["model"] == model]
    fit = fit_critical_batch(rows["batch_size_seqs"], rows["steps_to_goal"], n_boot=300, seed=1)
    assert isinstance(fit, CriticalBatchFit)
    plain = plain_least_squares_b_crit(
        rows["batch_size_seqs"].to_numpy(float), rows["steps_to_goal"].to_numpy(float)
    )
    assert fit.b_crit == pytest.approx(plain, rel=0.01)
    assert fit.b_crit == pytest.approx(FIT_B_CRIT_ON_ZHANG_DATA[model], rel=0.05)
    assert fit.b_crit == pytest.approx(fit.e_min / fit.s_min)
    lo, hi = fit.ci["b_crit"]
    assert lo < fit.b_crit < hi and fit.straddled
    assert fit.r2_log > 0.99 and fit.rmse_log < 0.1


def test_85m_minimum_steps_and_examples(zhang):
    rows = zhang[zhang["model"] == "85M"]
    fit = fit_critical_batch(rows["batch_size_seqs"], rows["steps_to_goal"], n_boot=0)
    assert fit.s_min == pytest.approx(1294, rel=0.02)
    assert fit.e_min == pytest.approx(2.83e6, rel=0.02)
    assert fit.predict([64.0, 16384.0]) == pytest.approx(
        fit.s_min + fit.e_min / np.array([64.0, 16384.0])
    )


def test_b_crit_outside_the_tested_sizes_is_not_claimed(zhang):
    rows = zhang[(zhang["model"] == "1.2B") & (zhang["batch_size_seqs"] <= 1024)]
    fit = fit_critical_batch(rows["batch_size_seqs"], rows["steps_to_goal"], n_boot=200)
    assert isinstance(fit, CriticalBatchFit)
    assert not fit.straddled and "not claimed" in fit.note


def test_two_batch_sizes_are_not_enough():
    out = fit_critical_batch([256, 512, 512], [100.0, 60.0, 61.0])
    assert isinstance(out, NotEnoughData) and "3 distinct batch sizes" in out.reason
