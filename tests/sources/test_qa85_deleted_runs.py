"""QA 85: runs deleted on W&B between polls, with the real wandb client against the loopback
server.

A run listed by a poll and deleted before its curve was asked for made the curves' reason read
"W&B query failed (ValueError: Could not find run <id> in <entity>/<project>)" -- what
``trials --csv --history`` and ``analyze`` printed. It now says the run is no longer on W&B."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.sources import SourceSettings, make_source
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs


@pytest.fixture
def server(tmp_path, monkeypatch):
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 3, history_points=5)
    with WandbLoopback(runs) as s:
        for name, value in s.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        yield s
        assert s.unknown == [], "the client sent requests the loopback server does not know"


def wandb_source():
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta"),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [1, 2], "grid.node_counts": [1]},
    )
    settings = SourceSettings(retry_sleep_s=0.01, stale_after_s=1e9)
    return make_source(cfg, "wandb", settings=settings)


def delete_run(server, name):
    with server._lock:
        del server.runs[name]


def test_a_run_deleted_before_its_curve_is_read_is_said_to_be_gone(server):
    src = wandb_source()
    ids = [t.run_id for t in src.poll().trials]
    delete_run(server, ids[1])
    curves = src.histories(ids)
    assert src.history_unread == [ids[1]]
    assert src.history_error == (
        f"run {ids[1]} is no longer in loopback-entity/hardware-scaling on W&B (deleted since "
        "the trials were listed)"
    )
    assert sorted(curves) == sorted(set(ids) - {ids[1]})  # the others are read
    # the next poll no longer lists it, and its curves are complete
    assert [t.run_id for t in src.poll().trials] == [i for i in ids if i != ids[1]]
    src.histories([i for i in ids if i != ids[1]])
    assert src.history_error is None and src.history_unread == []


def test_runs_deleted_between_polls_leave_the_list(server):
    src = wandb_source()
    first = src.poll()
    gone = {first.trials[0].run_id, first.trials[4].run_id}
    for name in gone:
        delete_run(server, name)
    second = src.poll()
    assert {t.run_id for t in second.trials} == {t.run_id for t in first.trials} - gone
    assert second.changed == set()
    for name in [t.run_id for t in second.trials]:
        delete_run(server, name)
    assert src.poll().trials == []  # every run deleted: no trials, no error


def test_a_project_gone_before_the_curves_are_read_is_named(server):
    src = wandb_source()
    ids = [t.run_id for t in src.poll().trials]
    server.project = "renamed"  # the project as the source knows it is gone
    src.histories(ids)
    assert src.history_error == (
        f"W&B project loopback-entity/hardware-scaling not found at {server.url}"
    )
