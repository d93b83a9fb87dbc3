"""Metta's runs read through the real W&B client and the loopback server, the way Metta means them
(metta/adaptive/stores/wandb.py at Metta-AI/metta 7c1a7ff418 and a8d1ecee19; docs/metta.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import pytest

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.sources import SourceSettings, make_source, make_wandb_api
from tests.support.wandb_loopback import (
    DEFAULT_ENTITY,
    EPOCH0,
    LoopbackRun,
    WandbLoopback,
    requested_run_fields,
)

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


def _poll(cfg: Any, server: WandbLoopback) -> Any:
    """One poll of the product's W&B source (the real client) against the loopback server."""
    src = make_source(
        cfg,
        "wandb",
        settings=SourceSettings(retry_sleep_s=0.01, stale_after_s=1e9),
        clock=lambda: NOW,
        api_factory=lambda: make_wandb_api(
            base_url=server.url, entity=DEFAULT_ENTITY, timeout_s=30
        ),
    )
    return src.poll()


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
        result = _poll(cfg, server)
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


@dataclass
class _RunWithDuration(LoopbackRun):
    """A run whose server-side record also holds a ``duration`` (seconds). The loopback, like a
    GraphQL server, sends a field only when the query's Run fragment asks for it."""

    duration: float = 0.0

    def _build_node(self, project_id: int) -> dict[str, Any]:
        return {**super()._build_node(project_id), "duration": self.duration}


def _metta_runtime_and_started(run: Any) -> tuple[float, bool]:
    """Metta's reading of one ``wandb.Api().runs()`` Run, transcribed from
    metta/adaptive/stores/wandb.py:191-209 at Metta-AI/metta a8d1ecee19 (runtime, and whether
    a finished run has started training)."""
    summary = dict(run.summary._json_dict)
    runtime = float(summary.get("_runtime", 0))
    if runtime == 0 and hasattr(run, "duration"):
        try:
            runtime = float(run.duration) if run.duration else 0.0
        except Exception:
            runtime = 0.0
    return runtime, run.state == "running" or runtime > 0


def test_zero_or_missing_runtime_is_read_as_metta_reads_it_whatever_the_duration():
    """Metta falls back to ``run.duration`` when ``_runtime`` is 0 (stores/wandb.py:191-196 and
    :233-235 at a8d1ecee19), but a public-API Run has only what wandb's RunFragment fetches, which
    has no ``duration`` (wandb 0.23.0, Metta's uv.lock, and 0.26.1, ours): the fallback never
    fires, so a finished run with ``_runtime`` 0 or missing is pending to Metta, and queued here."""
    from wandb.apis.public.runs import LIGHTWEIGHT_RUN_FRAGMENT, RUN_FRAGMENT

    for fragment in (RUN_FRAGMENT, LIGHTWEIGHT_RUN_FRAGMENT):  # api.runs(), lazy or not
        assert "duration" not in (requested_run_fields(fragment) or set())

    def with_duration(trial: int, summary: dict) -> _RunWithDuration:
        base = _run(trial, "finished", summary)
        return _RunWithDuration(
            **{f.name: getattr(base, f.name) for f in fields(LoopbackRun)}, duration=5400.0
        )

    runs = [
        with_duration(1, {"initialized": True, "_runtime": 0}),  # a placeholder
        with_duration(2, {"initialized": True}),  # no _runtime at all
        with_duration(3, {"_runtime": 0}),  # not even initialized
    ]
    cfg = apply_overrides(
        default_config("metta", env={}),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [4], "grid.node_counts": [1]},
    )
    with WandbLoopback(runs) as server:
        api = make_wandb_api(base_url=server.url, entity=DEFAULT_ENTITY, timeout_s=30)
        real = {
            r.name[-len("trial_0001_a1b2c3") :][:10]: r
            for r in api.runs(f"{DEFAULT_ENTITY}/{server.project}", filters={"group": SWEEP})
        }
        result = _poll(cfg, server)
        assert sorted(real) == ["trial_0001", "trial_0002", "trial_0003"]
        for run in real.values():  # with the server up: run.summary sends a request of its own
            assert not hasattr(run, "duration")  # the server has it; the client never asked
            assert _metta_runtime_and_started(run) == (0.0, False)  # Metta: PENDING
        assert server.unknown == []
    got = {t.run_id[-len("trial_0001_a1b2c3") :][:10]: t for t in result.trials}
    assert {k: t.state for k, t in got.items()} == dict.fromkeys(real, "queued")
    assert [got[k].runtime_s for k in sorted(got)] == [0.0, None, 0.0]  # Metta's 0 or unknown
    assert all(t.cost_usd is None and t.flags == [] for t in got.values())
