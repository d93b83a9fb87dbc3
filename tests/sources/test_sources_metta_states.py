"""Metta's runs read through the real W&B client and the loopback server, the way Metta means them
(metta/adaptive/stores/wandb.py at Metta-AI/metta 7c1a7ff418; docs/metta.md)."""

from __future__ import annotations

import pytest

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.sources import SourceSettings, make_source, make_wandb_api
from tests.support.wandb_loopback import DEFAULT_ENTITY, EPOCH0, LoopbackRun, WandbLoopback

NOW = EPOCH0 + 10_000.0
SWEEP = "hardware_scaling.g4n1"


@pytest.fixture(autouse=True)
def wandb_env(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")


def _run(trial: int, state: str, summary: dict) -> LoopbackRun:
    return LoopbackRun(
        name=f"{SWEEP}_trial_{trial:04d}_a1b2c3",
        group=SWEEP,
        state=state,
        tags=["user:alice"],
        config={"TrainTool": {"trainer": {"total_timesteps": 1_000_000}}},
        summary=summary,
        created_at=EPOCH0 + trial,
        heartbeat_at=NOW - 60,
    )


TRAINED = {
    "initialized": True,
    "_runtime": 3600.0,
    "metric/agent_step": 1_000_000,
    "metric/total_time": 3500.0,
    "sweep/suggestion": {"trainer.optimizer.learning_rate": 0.001},
}


def test_poll_reads_placeholders_pending_eval_and_unknown_cost():
    runs = [
        # init_run's placeholder: finished at once (stores/wandb.py:49-70)
        _run(1, "finished", {"initialized": True, "_runtime": 0}),
        # trained to its timesteps, evaluation not in yet
        _run(2, "finished", TRAINED),
        # evaluated locally: sweep/cost copied Metta's default 0 (no monitor key)
        _run(
            3,
            "finished",
            {**TRAINED, "evaluator/eval_sweep/score": 0.7, "sweep/score": 0.7, "sweep/cost": 0},
        ),
        # evaluated on SkyPilot: the cost monitor logged the bill
        _run(
            4,
            "finished",
            {
                **TRAINED,
                "evaluator/eval_sweep/score": 0.8,
                "sweep/score": 0.8,
                "sweep/cost": 0,
                "monitor/cost/accrued_total": 4.5,
            },
        ),
        _run(5, "running", {**TRAINED, "_runtime": 100.0}),
    ]
    cfg = apply_overrides(
        default_config("metta", env={}),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [4], "grid.node_counts": [1]},
    )
    with WandbLoopback(runs) as server:
        src = make_source(
            cfg,
            "wandb",
            settings=SourceSettings(retry_sleep_s=0.01, stale_after_s=1e9),
            clock=lambda: NOW,
            api_factory=lambda: make_wandb_api(
                base_url=server.url, entity=DEFAULT_ENTITY, timeout_s=30
            ),
        )
        result = src.poll()
        assert server.unknown == []
    got = {t.run_id[-len("trial_0001_a1b2c3") :][:10]: t for t in result.trials}
    assert {k: t.state for k, t in got.items()} == {
        "trial_0001": "queued",
        "trial_0002": "awaiting_eval",
        "trial_0003": "finished",
        "trial_0004": "finished",
        "trial_0005": "running",
    }
    assert got["trial_0003"].cost_usd is None
    assert any("cost unknown" in f for f in got["trial_0003"].flags)
    assert got["trial_0004"].cost_usd == 4.5
    assert got["trial_0002"].params == {"trainer.optimizer.learning_rate": 0.001}
