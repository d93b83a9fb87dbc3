"""QA 85: W&B run summaries and history rows holding absurd numbers, with the real wandb client
against the loopback server.

A whole number too large for a float (W&B keeps what a run logs: ``10**400`` as JSON) raised
OverflowError while the run was read: the run became an unreadable ``stale`` trial with no pair,
score or cost ("could not read run (OverflowError: int too large to convert to float)"), and in
a history row it failed the run's whole curve ("W&B query failed (OverflowError ...)"), which
``trials --csv --history`` refused to print and ``analyze`` analyzed without."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.sources import SourceSettings, make_source
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs

HUGE_INT = 10**400  # valid JSON; no float holds it


@pytest.fixture
def runs():
    return experiment_runs("hardware_scaling", ["g1n1"], 3, history_points=10)


@pytest.fixture
def serve(tmp_path, monkeypatch):
    servers = []

    def start(runs):
        server = WandbLoopback(runs).start()
        servers.append(server)
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        return server

    yield start
    for server in servers:
        server.stop()
        assert server.unknown == [], "the client sent requests the loopback server does not know"


def wandb_source():
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta"),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [1], "grid.node_counts": [1]},
    )
    settings = SourceSettings(retry_sleep_s=0.01, stale_after_s=1e9)
    return make_source(cfg, "wandb", settings=settings)


def test_a_whole_number_too_large_for_a_float_in_a_summary_is_one_flagged_value(runs, serve):
    runs[0].summary["metric/agent_step"] = HUGE_INT
    serve(runs)
    trials = {t.run_id: t for t in wandb_source().poll().trials}
    t = trials[runs[0].name]
    # the run is read: only the bad value is unknown, and said
    assert (t.sweep, t.gpus, t.nodes, t.state) == ("hardware_scaling.g1n1", 1, 1, "finished")
    assert t.score == runs[0].summary["sweep/score"]
    assert t.agent_steps is None
    assert len(t.flags) == 2
    assert t.flags[0].startswith("metric/agent_step is ")
    assert "10000000000" in t.flags[0] and len(t.flags[0]) < 200
    assert t.flags[1] == "finished without agent steps"
    assert all(not other.flags for other in trials.values() if other is not t)


def test_a_whole_number_too_large_for_a_float_in_a_history_row_skips_that_row(runs, serve):
    runs[0].history[3]["overview/reward"] = HUGE_INT
    runs[1].history[5]["metric/agent_step"] = HUGE_INT
    serve(runs)
    src = wandb_source()
    ids = [t.run_id for t in src.poll().trials]
    curves = src.histories(ids)
    assert src.history_error is None and src.history_unread == []
    lengths = {run_id: len(curves[run_id]) for run_id in ids}
    assert lengths == {runs[0].name: 9, runs[1].name: 9, runs[2].name: 10}
