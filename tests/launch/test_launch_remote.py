"""``cancel --remote``: the sweeps' queued or running SkyPilot managed jobs, found with
``sky.jobs.queue_v2`` and kept only when their name is exactly one of the sweep's trial run ids.
The product's real SDK calls run against tests/support/sky_contract.py (no API server)."""

from __future__ import annotations

import pytest

from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.remote import SkyPilotJobsBoundary, cancel_remote_trials, sweep_jobs
from hwscale_tui.launch.state import LaunchRecords
from hwscale_tui.store import Store
from tests.support.launches import recorded_launch
from tests.support.sky_contract import FakeSkyAPI


@pytest.fixture
def fake_sky(monkeypatch):
    """SkyPilot's client boundary (tests/support/sky_contract.py: real signatures, request ids,
    records through SkyPilot's own encoder/decoder, LIKE name matching), no API server."""
    fake = FakeSkyAPI().install(monkeypatch)
    for job_id, name, status in [
        (11, "exp.g1n1_trial_0001_aaaaaa", "RUNNING"),
        (12, "exp.g1n1_trial_0002_bbbbbb", "PENDING"),  # queued: W&B has a placeholder
        (13, "exp.g1n1_trial_0003_cccccc", "SUCCEEDED"),
        (14, "exp.g1n10_trial_0001_dddddd", "RUNNING"),  # LIKE '%exp.g1n1%' matches
        (15, "expXg1n1_trial_0004_eeeeee", "RUNNING"),  # '.' is literal; '_' is not
        (16, "exp.g1n1_trial_0002_bbbbbb", "RECOVERING"),  # same trial, resubmitted
        (17, "exp.g1n1_eval_0001", "RUNNING"),
    ]:
        fake.add_job(name, status, job_id=job_id)
    fake.cancel_error = lambda args: (
        RuntimeError("controller busy") if 16 in (args["job_ids"] or []) else None
    )
    return fake


def test_queue_v2_finds_queued_jobs_and_keeps_only_exact_trial_names(fake_sky):
    results = cancel_remote_trials(["exp.g1n1"], SkyPilotJobsBoundary())
    assert [
        (q["refresh"], q["skip_finished"], q["name_match"]) for q in fake_sky.called("queue_v2")
    ] == [(False, True, "exp.g1n1")]
    # g1n10's and expXg1n1's jobs matched the LIKE filter but are not this sweep's trials
    assert [c["job_ids"] for c in fake_sky.called("cancel")] == [[11], [12, 16]]
    assert fake_sky.job("exp.g1n1_trial_0001_aaaaaa").status.value == "CANCELLING"
    assert [(r.run_id, r.ok) for r in results] == [
        ("exp.g1n1_trial_0001_aaaaaa", True),
        ("exp.g1n1_trial_0002_bbbbbb", False),
    ]
    assert "controller busy" in results[1].detail and "11" in results[0].detail


def test_sweep_jobs_filters_names_and_ended_states_from_plain_records():
    recs = [
        {"job_id": 1, "job_name": "a.g2n1_trial_0001_0a1b2c", "status": "STARTING"},
        {"job_id": 2, "job_name": "a.g2n1_trial_12345_0a1b2c", "status": "RUNNING"},
        {"job_id": 3, "job_name": "a.g2n1_trial_0001_0A1B2C", "status": "RUNNING"},  # not hex
        {"job_id": 4, "job_name": "a.g2n1_trial_0002_ffffff", "status": "FAILED_SETUP"},
        {"job_id": 5, "job_name": "a.g2n1_trial_0003_ffffff", "status": "CANCELLING"},
    ]
    assert sweep_jobs("a.g2n1", recs) == {
        "a.g2n1_trial_0001_0a1b2c": [1],
        "a.g2n1_trial_12345_0a1b2c": [2],
        "a.g2n1_trial_0003_ffffff": [5],
    }


class FakeBoundary:
    def __init__(self):
        self.cancelled = []

    def unfinished_jobs(self, sweep):
        if sweep.endswith("g2n1"):
            raise ConnectionError("API server unreachable")
        return {f"{sweep}_trial_0001_abcdef": [7]}

    def cancel_jobs(self, job_ids):
        self.cancelled.append(job_ids)
        return True, "cancelled"


def test_cancel_remote_covers_every_chosen_pair_even_ended_ones_and_records_events(tmp_path):
    from hwscale_tui import config as cfgmod
    from hwscale_tui.paths import snapshot_path

    cfg = cfgmod.from_dict(
        {"experiment": {"name": "exp", "runner": "metta"}, "wandb": {"entity": "team"}}, env={}
    )
    cfgmod.save(cfg, snapshot_path("exp"))
    with Store.open_default() as store:
        recs = LaunchRecords(store)
        lid = recorded_launch(
            store, "exp", ["exp.g1n1", "exp.g2n1"], snapshot_path("exp"), argv=["uv"]
        )
        # g1n1's local sweep has exited (Metta's sweep dies and leaves its SkyPilot jobs running)
        assert recs.claim_for_start("exp", "exp.g1n1", lid)
        assert recs.mark_running("exp", "exp.g1n1", pid=1, pgid=1, proc_start=0.0, started_at=1.5)
        recs.mark_ended("exp", "exp.g1n1", 1, None, 2.0)
        boundary = FakeBoundary()
        cancelled = sup.cancel(
            "exp", None, by="t", grace_s=0, remote=True, store=store, remote_boundary=boundary
        )
        assert cancelled == ["exp.g2n1"]  # only the scheduled pair had anything to cancel locally
        assert boundary.cancelled == [[7]]
        events = [
            (e["kind"], e["sweep"], e["message"])
            for e in store.events()
            if e["kind"] == "remote_cancel"
        ]
        assert events[0][:2] == ("remote_cancel", "exp.g1n1") and "ok" in events[0][2]
        assert (
            events[1][1] == "exp.g2n1"
            and "cannot list SkyPilot managed jobs of exp.g2n1" in events[1][2]
            and "API server unreachable" in events[1][2]
        )


def test_cli_remote_is_refused_for_an_experiment_off_skypilot_before_anything_runs(
    tmp_path, capsys, monkeypatch
):
    """A local experiment has no SkyPilot jobs: asking SkyPilot would start its API server on
    this machine (the SDK does so when none answers). One sentence, exit 2, nothing cancelled."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.cli import main
    from hwscale_tui.paths import snapshot_path

    asked: list[str] = []

    def no_sky(self, sweep):
        asked.append(sweep)
        return {}

    monkeypatch.setattr(SkyPilotJobsBoundary, "unfinished_jobs", no_sky)
    cfgmod.save(cfgmod.from_dict({"experiment": {"name": "exp"}}, env={}), snapshot_path("exp"))
    with Store.open_default() as store:
        recorded_launch(store, "exp", ["exp.g1n1"], snapshot_path("exp"), argv=["uv"])
    assert main(["cancel", "--all", "--remote", "--experiment-name", "exp"]) == 2
    err = capsys.readouterr().err
    assert "--remote cancels SkyPilot managed jobs" in err and "local dispatcher" in err
    assert asked == []
    with Store.open_default() as store:
        assert [p.status for p in LaunchRecords(store).pair_rows("exp")] == ["scheduled"]


def test_no_jobs_controller_is_no_jobs_to_cancel_not_a_failed_lookup(monkeypatch):
    """With no jobs controller (never launched, or autostopped once every job ended) SkyPilot
    answers ClusterNotUpError('No in-progress managed jobs.'): cancel --remote reported that
    as 'FAILED: cannot list SkyPilot managed jobs' and exited 1. An unreachable controller
    (another message) is still a failure."""
    from sky.exceptions import ClusterNotUpError

    fake = FakeSkyAPI().install(monkeypatch)
    fake.queue_error = lambda: ClusterNotUpError("No in-progress managed jobs.")
    assert cancel_remote_trials(["exp.g1n1"], SkyPilotJobsBoundary()) == []
    assert fake.called("cancel") == []
    fake.queue_error = lambda: ClusterNotUpError("Failed to connect to jobs controller.")
    (result,) = cancel_remote_trials(["exp.g1n1"], SkyPilotJobsBoundary())
    assert not result.ok and "Failed to connect to jobs controller" in result.detail
