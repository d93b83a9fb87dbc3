"""The SkyPilot fake (tests/support/sky_contract.py) against the installed skypilot 0.14.1: its
functions must keep SkyPilot's exact signatures, and what it returns must have SkyPilot's own
shapes. If SkyPilot changes, these fail before the product's fake-backed tests can mislead.

They pass as well against the newest SkyPilot code checked (skypilot-nightly 1.0.0.dev20261027,
commit 791e52d087, docs/upstream.md section 10), whose only differences here are the parameters
listed in ``NEWER_PARAMETERS``; any other change still fails."""

from __future__ import annotations

import importlib
import inspect
import threading

import pytest
from sky import exceptions
from sky.jobs.constants import DEFAULT_MANAGED_JOB_FIELDS
from sky.jobs.state import ManagedJobStatus
from sky.schemas.api.responses import ManagedJobRecord
from sky.server.common import RequestId

from hwscale_tui.launch.remote import SKY_ENDED_STATES
from hwscale_tui.sweep.skypilot import (
    QUEUE_FIELDS,
    SKY_CANCELLED,
    SKY_FAILED,
    SKY_SUCCEEDED,
    SkyJobsSDK,
    newest_statuses,
)
from tests.support.sky_contract import (
    CLIENT_FUNCTIONS,
    JOBS_FUNCTIONS,
    NEWER_PARAMETERS,
    REAL_FUNCTIONS,
    FakeSkyAPI,
    request_name,
)


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", sorted(REAL_FUNCTIONS))
def test_the_fake_has_the_installed_skypilot_signature(name):
    """Exactly 0.14.1's parameters; a newer SkyPilot may also have the ones NEWER_PARAMETERS names
    (each with its kind and default), which the fake leaves out so the product never passes them."""
    module, attr = REAL_FUNCTIONS[name]
    real = getattr(importlib.import_module(module), attr)
    # through functools.wraps of SkyPilot's decorators to the function itself
    newer = set(NEWER_PARAMETERS.get(name, ()))
    assert _params(getattr(FakeSkyAPI(), name)) == [p for p in _params(real) if p not in newer]


def test_parameters_of_newer_skypilot_are_not_in_the_fake():
    """So a product call that used one (0.14.1 would raise TypeError) fails the fake-backed tests."""
    assert set(NEWER_PARAMETERS) <= set(REAL_FUNCTIONS)
    for name, extra in NEWER_PARAMETERS.items():
        fake_names = {p[0] for p in _params(getattr(FakeSkyAPI(), name))}
        assert not fake_names & {p[0] for p in extra}, name
        assert all(not p[0].startswith("_") and p[2] in (None, False) for p in extra), name


def test_the_fake_replaces_the_functions_where_the_product_reaches_them(monkeypatch):
    import sky

    assert set(REAL_FUNCTIONS) == set(JOBS_FUNCTIONS) | set(CLIENT_FUNCTIONS)
    for name in JOBS_FUNCTIONS:  # sky.jobs.<name> is the client SDK's function
        assert getattr(sky.jobs, name) is getattr(
            importlib.import_module(REAL_FUNCTIONS[name][0]), name
        )
    for name in CLIENT_FUNCTIONS:
        assert getattr(sky, name) is getattr(importlib.import_module(REAL_FUNCTIONS[name][0]), name)
    fake = FakeSkyAPI().install(monkeypatch)
    assert sky.jobs.queue_v2 == fake.queue_v2 and sky.get == fake.get


def test_launch_and_queue_results_go_through_skypilots_own_encoders_and_decoders():
    """If SkyPilot renamed a request, the fake would fall back to the default (identity) coders
    and hand back raw dicts; this keeps the names and their coders tied to the installed sky."""
    from sky.server.requests.serializers import decoders, encoders

    for kind in ("JOBS_LAUNCH", "JOBS_QUEUE_V2"):
        name = request_name(kind)
        assert name in encoders.handlers and name in decoders.handlers, name
    assert request_name("JOBS_QUEUE_V2") == "sky.jobs.queue_v2"
    for kind in ("JOBS_CANCEL", "API_CANCEL"):  # their values pass through unchanged
        assert request_name(kind) not in decoders.handlers


def test_the_products_status_names_are_skypilots_terminal_statuses():
    terminal = {s.value for s in ManagedJobStatus.terminal_statuses()}
    assert set(SKY_FAILED) == {s.value for s in ManagedJobStatus.failure_statuses()}
    assert {SKY_SUCCEEDED, SKY_CANCELLED} | set(SKY_FAILED) == terminal
    assert set(SKY_ENDED_STATES) == terminal
    assert not issubclass(ManagedJobStatus, str)  # so records must be read through .value


def test_failure_reason_is_not_a_default_queue_field_so_the_product_asks_for_it():
    assert "failure_reason" not in DEFAULT_MANAGED_JOB_FIELDS
    assert set(QUEUE_FIELDS) <= set(ManagedJobRecord.model_fields)
    assert "failure_reason" in QUEUE_FIELDS


def test_requests_return_ids_and_get_returns_skypilots_shapes(monkeypatch):
    import sky

    fake = FakeSkyAPI(lambda n: ["PENDING", "FAILED_SETUP"], failure=lambda n: "setup exited 1")
    fake.install(monkeypatch)
    task = sky.Task(name="t", run="echo hi")
    rid = sky.jobs.launch(task, name="exp.g1n1_trial_0001_abcdef")
    assert isinstance(rid, RequestId) and isinstance(rid, str)
    job_ids, handle = sky.get(rid)
    assert job_ids == [1] and handle is None
    assert sky.stream_and_get(rid) == ([1], None)

    records, total, counts, total_no_filter = sky.get(sky.jobs.queue_v2(refresh=False))
    (rec,) = records
    assert isinstance(rec, ManagedJobRecord) and rec.status is ManagedJobStatus.PENDING
    assert (total, counts, total_no_filter) == (1, {"PENDING": 1}, 1)
    assert rec.job_name == "exp.g1n1_trial_0001_abcdef" and rec["job_id"] == 1

    # default fields: failure_reason is left out (None, never set) even for a failed job
    (rec,) = sky.get(sky.jobs.queue_v2(refresh=False))[0]
    assert rec.status is ManagedJobStatus.FAILED_SETUP
    assert rec.failure_reason is None and "failure_reason" not in rec.model_fields_set
    assert "resources" in rec.model_fields_set
    # asked for: it is there, and the record carries only the fields asked for (plus the ids)
    (rec,) = sky.get(sky.jobs.queue_v2(refresh=False, fields=list(QUEUE_FIELDS)))[0]
    assert rec.failure_reason == "setup exited 1"
    assert rec.model_fields_set == set(QUEUE_FIELDS) | {"task_id"}
    assert newest_statuses([rec]) == {
        "exp.g1n1_trial_0001_abcdef": ("FAILED_SETUP", "setup exited 1")
    }
    assert sky.get(sky.jobs.cancel(name="exp.g1n1_trial_0001_abcdef")) is None


def test_queue_filters_like_the_jobs_database(monkeypatch):
    import sky

    fake = FakeSkyAPI().install(monkeypatch)
    for name, status in [
        ("exp.g1n1_trial_0001_aaaaaa", "RUNNING"),
        ("EXP.G1N1_trial_0002_bbbbbb", "PENDING"),  # SQLite LIKE folds ASCII case
        ("expxg1n1_trial_0003_cccccc", "SUCCEEDED"),  # '.' in the pattern is literal
        ("exp_g1n1_trial_0004_dddddd", "RUNNING"),
    ]:
        fake.add_job(name, status)
    names = {
        r.job_name for r in sky.get(sky.jobs.queue_v2(refresh=False, name_match="exp.g1n1"))[0]
    }
    assert names == {"exp.g1n1_trial_0001_aaaaaa", "EXP.G1N1_trial_0002_bbbbbb"}
    names = {
        r.job_name
        for r in sky.get(sky.jobs.queue_v2(refresh=False, skip_finished=True, name_match="g1n1_"))[
            0
        ]
    }
    assert names == {
        "exp.g1n1_trial_0001_aaaaaa",
        "EXP.G1N1_trial_0002_bbbbbb",
        "exp_g1n1_trial_0004_dddddd",
    }


def test_cancel_arguments_and_names_follow_skypilot(monkeypatch):
    import sky

    fake = FakeSkyAPI().install(monkeypatch)
    a = fake.add_job("dup", "RUNNING")
    b = fake.add_job("dup", "PENDING")
    with pytest.raises(ValueError, match="Can only specify one of"):
        sky.get(sky.jobs.cancel(name="dup", job_ids=[a.job_id]))
    with pytest.raises(ValueError, match="Can only specify one of"):
        sky.get(sky.jobs.cancel())
    # two running jobs share the name: SkyPilot cancels neither and raises nothing
    assert sky.get(sky.jobs.cancel(name="dup")) is None
    assert (a.status, b.status) == (ManagedJobStatus.RUNNING, ManagedJobStatus.PENDING)
    sky.get(sky.jobs.cancel(job_ids=[b.job_id]))
    assert b.status is ManagedJobStatus.CANCELLING
    sky.get(sky.jobs.queue_v2(refresh=False))
    assert b.status is ManagedJobStatus.CANCELLED


def test_an_aborted_request_raises_request_cancelled_and_creates_no_job(monkeypatch):
    import sky

    fake = FakeSkyAPI().install(monkeypatch)
    fake.hold_launches = threading.Event()
    rid = sky.jobs.launch(sky.Task(name="t", run="true"), name="x")
    assert sky.get(sky.api_cancel(rid)) == [rid]
    with pytest.raises(exceptions.RequestCancelled):
        sky.get(rid)
    fake.hold_launches.set()
    assert fake.jobs == []
    # ids together with all_users: refused (newer SkyPilot raises ValueError on the client)
    with pytest.raises(ValueError, match="one of request_ids or all_users"):
        sky.api_cancel(rid, all_users=True)


def test_an_unreachable_api_server_raises_skypilots_error(monkeypatch):
    fake = FakeSkyAPI().install(monkeypatch)
    fake.unreachable["queue_v2"] = 1
    sdk = SkyJobsSDK()
    with pytest.raises(exceptions.ApiServerConnectionError, match="API server"):
        sdk.statuses("exp.g1n1")
    assert sdk.statuses("exp.g1n1") == {}


def test_the_products_sdk_launches_and_reads_back_through_the_fake(monkeypatch):
    import sky

    fake = FakeSkyAPI(lambda n: ["STARTING", "RUNNING", "SUCCEEDED"]).install(monkeypatch)
    sdk = SkyJobsSDK()
    assert sdk.launch(sky.Task(name="t", run="true"), "exp.g1n1_trial_0001_abcdef") == [1]
    assert sdk.launch(sky.Task(name="t", run="true"), "exp.g1n1_trial_0001_abcdef") == [2]
    # two jobs of one name (a relaunch): the newest one's status is the trial's
    fake.job("exp.g1n1_trial_0001_abcdef").script = ["FAILED"]
    assert sdk.statuses("exp.g1n1") == {"exp.g1n1_trial_0001_abcdef": ("FAILED", None)}
    assert fake.called("queue_v2")[0]["fields"] == list(QUEUE_FIELDS)
