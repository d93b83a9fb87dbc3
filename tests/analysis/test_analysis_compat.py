"""The original script's analyzer, driven by wandb-like fakes, with real numbers for its placeholders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hwscale_tui.analysis import HardwareScalingAnalyzer
from hwscale_tui.records import HistoryPoint
from tests.analysis.analysis_helpers import linear_history

ORIGINAL_COLUMNS = [
    "hardware_config",
    "gpus",
    "nodes",
    "best_score",
    "best_hyperparams",
    "time_to_target",
    "samples_to_target",
    "total_cost",
    "sample_efficiency",
    "time_efficiency",
    "cost_efficiency",
]


class FakeRun:
    """What the analyzer touches on a ``wandb.apis.public.Run``."""

    def __init__(
        self,
        run_id,
        group,
        score,
        points,
        *,
        state="finished",
        config=None,
        name=None,
        sps=None,
        history_style="history",
    ):
        self.id, self.name, self.group, self.state = run_id, name or run_id, group, state
        self.tags = []
        self.config = config or {}
        self.summary = {
            "sweep/score": score,
            "sweep/suggestion": {"trainer": {"optimizer": {"learning_rate": 0.001}}},
        }
        if sps is not None:
            self.summary["overview/sps"] = sps
        rows = [
            {"metric/agent_step": p.agent_step, "_runtime": p.wall_s, "overview/reward": p.score}
            for p in points
        ]
        if history_style == "history":
            self.history = lambda samples=500, keys=None, pandas=True: (
                pd.DataFrame(rows) if pandas else rows
            )
        else:
            self.scan_history = lambda: iter(rows)


def capped(slope: float, cap: float, sps: float) -> list[HistoryPoint]:
    return [
        HistoryPoint(p.agent_step, p.wall_s, min(p.score, cap))
        for p in linear_history(slope, steps=21, sps=sps)
    ]


def runs():
    out = []
    for gpus, sps, slope in ((1, 100.0, 1.0), (2, 190.0, 0.9), (4, 350.0, 0.8)):
        for k in range(
            3
        ):  # run k plateaus at 1000 - k; the best run (k = 0) climbs at `slope` per step
            out.append(
                FakeRun(
                    f"r{gpus}{k}",
                    f"hardware_scaling.g{gpus}n1",
                    1000.0 - k,
                    capped(slope - 0.01 * k, 1000.0 - k, sps),
                    sps=sps,
                )
            )
    # a config that never reaches 90% of the best, found by the original's name pattern, read by scan_history
    out.append(
        FakeRun(
            "slow",
            None,
            300.0,
            linear_history(0.3, sps=700.0),
            name="exp_g8_n1_trial",
            history_style="scan",
        )
    )
    return out


def test_original_snippet_runs_unchanged_with_real_numbers(tmp_path):
    analyzer = HardwareScalingAnalyzer(target_performance=0.9)
    df = analyzer.analyze_wandb_runs(runs())
    report = analyzer.generate_report(df)
    df.to_csv(tmp_path / "hardware_scaling_results.csv", index=False)

    assert list(df.columns[: len(ORIGINAL_COLUMNS)]) == ORIGINAL_COLUMNS
    by = df.set_index("hardware_config")
    assert list(by.index) == ["g1n1", "g2n1", "g4n1", "g8n1"]
    # target = 0.9 x best smoothed score (1000) = 900; g1n1's best run crosses at step 900, 9 s at 100 SPS
    assert by.loc["g1n1", "samples_to_target"] == pytest.approx(900.0)
    assert by.loc["g1n1", "time_to_target"] == pytest.approx(9.0 / 3600)
    assert by.loc["g1n1", "total_cost"] == pytest.approx(
        6.88 * 9.0 / 3600
    )  # price table, one GPU, one node
    assert (
        np.isnan(by.loc["g8n1", "samples_to_target"]) and by.loc["g8n1", "sample_efficiency"] == 0
    )
    assert by.loc["g1n1", "best_hyperparams"] == {"trainer.optimizer.learning_rate": 0.001}
    assert "100000000" not in report and "1.5" not in report.split("SCALING LAWS")[0]
    assert "Most sample-efficient: g1n1" in report and "Fastest to target: g4n1" in report
    assert "Bootstrap agreement" in report and "Target: 0.9 x best smoothed score" in report
    assert (tmp_path / "hardware_scaling_results.csv").read_text().startswith("hardware_config,")


def test_fit_scaling_laws_returns_original_tuples_and_keeps_intervals():
    analyzer = HardwareScalingAnalyzer(target_performance=0.9)
    df = analyzer.analyze_wandb_runs(runs())
    laws = analyzer.fit_scaling_laws(df)
    assert set(laws) == {"samples", "time", "cost"}
    _a, b = laws["time"]
    assert b < 0 and analyzer.fits["time"].ci["b"][0] <= b <= analyzer.fits["time"].ci["b"][1]
    assert laws["samples"][1] > 0  # 900, 1000, 1125 samples on 1, 2, 4 GPUs
    assert analyzer.fits["time"].n == 3 and "wide" in analyzer.fits["time"].note


def test_calculate_fom_and_recommendations_follow_the_original_rules():
    analyzer = HardwareScalingAnalyzer(target_performance=0.9)
    df = analyzer.analyze_wandb_runs(runs())
    with pytest.raises(ValueError, match="sum to 1"):
        analyzer.calculate_fom(df.copy(), {"sample": 0.5, "time": 0.6})
    scored = analyzer.calculate_fom(df.copy(), {"sample": 0.0, "time": 1.0, "cost": 0.0})
    assert scored.loc[scored["fom"].idxmax(), "hardware_config"] == "g4n1"
    assert scored.set_index("hardware_config").loc["g8n1", "fom"] == 0
    recs = analyzer.recommend_configurations(df)
    assert list(recs) == ["research", "development", "budget", "balanced"]
    assert recs["development"]["hardware"] == "g4n1" and recs["research"]["hardware"] == "g1n1"
    assert recs["budget"]["hardware"] == "g1n1" and recs["budget"][
        "expected_time_hours"
    ] == pytest.approx(9.0 / 3600)


def test_report_says_not_reached_when_nothing_reaches():
    analyzer = HardwareScalingAnalyzer(target_performance=0.9)
    df = analyzer.analyze_wandb_runs(runs())
    df.loc[:, ["time_to_target", "samples_to_target", "total_cost"]] = np.nan
    df.loc[:, ["sample_efficiency", "time_efficiency", "cost_efficiency"]] = 0.0
    report = analyzer.generate_report(df)
    assert (
        "none (not reached by any config)" in report
        and "Hardware: none (no config reached the target)" in report
    )
    assert "nan" not in report.lower()
