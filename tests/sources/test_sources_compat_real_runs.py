"""The original analysis snippet on real ``wandb`` Run objects, against the loopback server.

The experiment's README (experiments/adaptive/hardware_scaling/README.md:84-97 at Metta-AI/metta
7c1a7ff418) documents ``HardwareScalingAnalyzer(target_performance=0.9).analyze_wandb_runs(
wandb.Api().runs(...))``. On a real Run, ``run.summary`` is ``wandb.old.summary.HTTPSummary``
and a nested value such as ``sweep/suggestion`` is a ``SummarySubDict`` (no ``Mapping``); the
creation time is the Run's ``created_at``; Metta's history rows carry ``metric/total_time``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from hwscale_tui.analysis.compat import HardwareScalingAnalyzer, run_to_trial
from hwscale_tui.sources.wandb_source import make_wandb_api
from tests.support.wandb_loopback import EPOCH0, LoopbackRun, WandbLoopback

ENTITY, PROJECT = "team", "hardware-scaling"


def _metta_run(pair: str, trial: int, speed: float, lr: float) -> LoopbackRun:
    """A finished, evaluated Metta trial: history without _runtime (Metta logs metric/total_time)."""
    steps = [i * 1_000_000 for i in range(1, 11)]
    history = [
        {
            "_step": i,
            "metric/agent_step": s,
            "metric/total_time": s / speed,
            "overview/reward": min(1.0, s / 8e6),
        }
        for i, s in enumerate(steps)
    ]
    return LoopbackRun(
        name=f"exp.{pair}_trial_{trial:04d}_abc123",
        group=f"exp.{pair}",
        state="finished",
        tags=["user:alice"],
        config={"TrainTool": {"trainer": {"total_timesteps": 10_000_000}}},
        summary={
            "initialized": True,
            "_runtime": steps[-1] / speed + 60,
            "metric/agent_step": steps[-1],
            "metric/total_time": steps[-1] / speed,
            "overview/reward": 1.0,
            "evaluator/eval_sweep/score": 0.9,
            "sweep/score": 0.9,
            "sweep/cost": 0,
            "sweep/suggestion": {
                "trainer.optimizer.learning_rate": lr,
                "trainer.batch_size": 2**19,
            },
        },
        created_at=EPOCH0 + trial * 100,
        history=history,
    )


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")  # no Sentry: nothing leaves the machine
    with WandbLoopback(entity=ENTITY, project=PROJECT) as srv:
        srv.add_runs(
            [
                _metta_run("g1n1", 1, 20_000.0, 0.001),
                _metta_run("g2n1", 2, 36_000.0, 0.002),
                _metta_run("g4n1", 3, 64_000.0, 0.0015),
            ]
        )
        yield srv


def test_analyze_wandb_runs_on_real_run_objects(server):
    api = make_wandb_api(base_url=server.url, entity=ENTITY)
    runs = list(api.runs(f"{ENTITY}/{PROJECT}"))
    assert len(runs) == 3
    # the premise: what a real Run hands back is not a Mapping
    suggestion = runs[0].summary["sweep/suggestion"]
    assert type(suggestion).__name__ == "SummarySubDict" and not isinstance(suggestion, Mapping)

    analyzer = HardwareScalingAnalyzer(target_performance=0.9)
    df = analyzer.analyze_wandb_runs(runs)
    assert sorted(df["hardware_config"]) == ["g1n1", "g2n1", "g4n1"]
    by = df.set_index("hardware_config")
    assert by.loc["g2n1", "best_hyperparams"] == {
        "trainer.optimizer.learning_rate": 0.002,
        "trainer.batch_size": 2**19,
    }
    for run in runs:
        t = run_to_trial(run)
        assert t.params and t.created_at is not None and t.state == "finished"
        assert not any("createdAt" in f or "sweep/suggestion" in f for f in t.flags), t.flags
    # curves came from metric/total_time: target 0.9 of the best reward 1.0 is reached at
    # 8e6 * 0.9 = 7.2e6 steps, i.e. 7.2e6 / speed seconds
    assert by.loc["g1n1", "time_to_target"] == pytest.approx(7.2e6 / 20_000.0 / 3600.0, rel=0.15)
    assert by.loc["g4n1", "time_to_target"] < by.loc["g1n1", "time_to_target"]
    # cost 0 without monitor/cost/accrued_total is unknown, so the dollars are estimated
    assert all(str(s).startswith("estimated") for s in df["cost_source"])
