"""``cancel --remote``: the sweeps' unfinished W&B runs get ``sky jobs cancel -y -n <run_id>``,
through an injected fake boundary (no network, no real ``sky``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.remote import WandbSkyPilotBoundary, cancel_remote_trials
from hwscale_tui.launch.state import LaunchRecords
from hwscale_tui.store import Store


@dataclass
class FakeRun:
    name: str
    id: str
    state: str


class FakeApi:
    def __init__(self, runs_by_group):
        self.runs_by_group = runs_by_group
        self.queries = []

    def runs(self, path, filters=None):
        self.queries.append((path, filters))
        return self.runs_by_group.get(filters["group"], [])


def test_the_real_boundary_asks_wandb_by_group_and_cancels_only_unfinished_runs():
    api = FakeApi(
        {
            "exp.g1n1": [
                FakeRun("exp.g1n1_trial_0001_aaaaaa", "x1", "finished"),
                FakeRun("exp.g1n1_trial_0002_bbbbbb", "x2", "running"),
                FakeRun("exp.g1n1_trial_0003_cccccc", "x3", "crashed"),
                FakeRun("exp.g1n1_trial_0004_dddddd", "x4", "pending"),
            ]
        }
    )
    calls = []

    def fake_run(argv, **kw):
        calls.append(argv)
        ok = not argv[-1].endswith("dddddd")
        return subprocess.CompletedProcess(
            argv,
            0 if ok else 1,
            stdout="Cancelling job\n" if ok else "",
            stderr="" if ok else "no such job\n",
        )

    results = cancel_remote_trials(
        ["exp.g1n1"], "team/proj", WandbSkyPilotBoundary(api=api, run=fake_run)
    )
    assert api.queries == [("team/proj", {"group": "exp.g1n1"})]
    assert [c[1:] for c in calls] == [
        ["jobs", "cancel", "-y", "-n", "exp.g1n1_trial_0002_bbbbbb"],
        ["jobs", "cancel", "-y", "-n", "exp.g1n1_trial_0004_dddddd"],
    ]
    assert [(r.run_id, r.ok) for r in results] == [
        ("exp.g1n1_trial_0002_bbbbbb", True),
        ("exp.g1n1_trial_0004_dddddd", False),
    ]
    assert "no such job" in results[1].detail


class FakeBoundary:
    def __init__(self):
        self.cancelled = []

    def unfinished_run_ids(self, project_path, sweep):
        if sweep.endswith("g2n1"):
            raise ConnectionError("W&B unreachable")
        return [f"{sweep}_trial_0001_abcdef"]

    def cancel_job(self, run_id):
        self.cancelled.append(run_id)
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
        lid = recs.create_launch("exp", snapshot_path("exp"), None, 1.0)
        for i, sweep in enumerate(("exp.g1n1", "exp.g2n1")):
            recs.schedule_pair(
                "exp",
                sweep,
                gpus=i + 1,
                nodes=1,
                launch_id=lid,
                position=i,
                planned_start=1.0,
                argv=["uv"],
                log_path=sweep + ".log",
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
        assert boundary.cancelled == ["exp.g1n1_trial_0001_abcdef"]
        events = [
            (e["kind"], e["sweep"], e["message"])
            for e in store.events()
            if e["kind"] == "remote_cancel"
        ]
        assert events[0][:2] == ("remote_cancel", "exp.g1n1") and "ok" in events[0][2]
        assert (
            events[1][1] == "exp.g2n1"
            and "cannot list W&B runs of exp.g2n1 in team/hardware-scaling" in events[1][2]
        )
