"""SkyPilot 0.14.1's client boundary as the product uses it, faked with the real signatures and
return shapes: an in-memory API server plus jobs controller, so no test starts SkyPilot's API
server or managed jobs (its jobs controller probes public addresses) and nothing leaves the
machine.

What is real here and what is not (file:line in skypilot 0.14.1 as installed,
``.venv/lib/python3.11/site-packages/sky/``):

* The six functions the product calls keep SkyPilot's exact parameters (names, kinds,
  defaults); ``tests/sweep/test_sky_contract.py`` compares them with ``inspect.signature`` of
  the installed functions, so the fake breaks when SkyPilot's signatures change:
  ``sky.jobs.launch`` (sky/jobs/client/sdk.py:158-170), ``sky.jobs.queue_v2``
  (sky/jobs/client/sdk.py:312-329), ``sky.jobs.cancel`` (sky/jobs/client/sdk.py:545-556),
  ``sky.get`` (sky/client/sdk.py:2407-2409), ``sky.stream_and_get`` (sky/client/sdk.py:2483-2494)
  and ``sky.api_cancel`` (sky/client/sdk.py:2579-2585).
* Each SDK call returns a request id, a ``sky.server.common.RequestId`` (a ``str``,
  sky/server/common.py:159, 810-819), never the result; ``sky.get`` / ``sky.stream_and_get``
  wait for the request and return its value. The value crosses a JSON boundary through
  SkyPilot's own encoder and decoder for the request name (``sky.`` + RequestName,
  sky/server/constants.py:97, sky/server/requests/request_names.py:46-54; encoders.py:104-112
  ``jobs.launch`` -> ``{'job_id', 'handle'}``, encoders.py:161-199 ``jobs.queue_v2``;
  decoders.py:121-136 and 158-187), exactly as ``Request.get_return_value`` does
  (sky/server/requests/requests.py:280-301). So ``sky.get(sky.jobs.launch(...))`` is
  ``(job_ids, handle)`` and ``sky.get(sky.jobs.queue_v2(...))`` is
  ``(records, total, status_counts, total_no_filter)`` with ``records`` a list of
  ``sky.schemas.api.responses.ManagedJobRecord`` whose ``status`` is a
  ``sky.jobs.state.ManagedJobStatus`` (an ``enum.Enum``, not a ``str``: state.py:679).
* ``queue_v2(fields=...)``: the server keeps only the requested fields plus ``job_id``,
  ``task_id`` and ``status`` (sky/jobs/server/core.py:1513-1524) and the encoder drops unset
  ones (encoders.py:183-189). The default ``fields`` (sky/jobs/constants.py:21-27) leave out
  ``failure_reason``: it reads back as ``None`` unless the caller asks for it.
* ``name_match`` is SQL ``LIKE '%<name_match>%'`` (sky/jobs/state.py:2018-2019): ``_`` is any
  character, ``%`` any run, ASCII case-insensitive (SQLite, the default jobs database).
  ``skip_finished`` drops jobs whose status is terminal (state.py:1978-1994).
* ``cancel``: exactly one of ``job_ids``, ``name``, ``pool``, ``all``/``all_users``, else the
  request raises ``ValueError`` (sky/jobs/server/core.py:1822-1835). By name it cancels the one
  non-terminal job of that name; none, or more than one, is only a message, no error
  (sky/jobs/utils.py:1897-1903; core.py:1886 looks for a different text). A cancelled job
  is CANCELLING, then CANCELLED.
* ``api_cancel`` aborts requests not finished yet; ``sky.get`` of an aborted request raises
  ``sky.exceptions.RequestCancelled`` (sky/client/sdk.py:2454-2459).
* ``sky.get`` re-raises a request's error on the client (sky/client/sdk.py:2450-2453); an API
  server that cannot be reached raises ``ApiServerConnectionError`` from the call itself
  (sky/server/common.py:1108-1133, exceptions.py:634-641; with
  ``SKYPILOT_DISABLE_LOCAL_API_SERVER=1`` a ``RuntimeError``, common.py:835-863).

Not modelled: the optimizer, clusters, recovery, pools, pipelines (one task per job), users
and workspaces (every job is the caller's).

Re-checked on 2026-12-03 against the newest SkyPilot code to be had, skypilot-nightly
1.0.0.dev20261027 (built from commit 791e52d087c14fe704fe2f71f87f98d85d9d66b9; the newest
release is still 0.14.1), docs/upstream.md section 10: everything above holds there, at the
lines that section gives. Two functions gained a trailing keyword parameter the product does not
pass (``NEWER_PARAMETERS``), and ``api_cancel`` refuses ``request_ids`` together with
``all_users`` (sky/client/sdk.py:2681-2684 at 791e52d087), which the fake refuses too, so the
product is held to calls both versions take.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

# (module, attribute) of each real function the fake replaces, keyed by the fake's method name.
REAL_FUNCTIONS: dict[str, tuple[str, str]] = {
    "launch": ("sky.jobs.client.sdk", "launch"),
    "queue_v2": ("sky.jobs.client.sdk", "queue_v2"),
    "cancel": ("sky.jobs.client.sdk", "cancel"),
    "get": ("sky.client.sdk", "get"),
    "stream_and_get": ("sky.client.sdk", "stream_and_get"),
    "api_cancel": ("sky.client.sdk", "api_cancel"),
}
# Parameters that SkyPilot newer than 0.14.1 added to those functions, which the fake (0.14.1's
# signature) leaves out so the product cannot pass them: (name, kind, default), each inserted
# where the newer signature has it. At skypilot-nightly 1.0.0.dev20261027 (commit 791e52d087):
# ``launch(..., depends_on=None, _need_confirmation=False)`` (sky/jobs/client/sdk.py:165-177)
# and ``queue_v2(..., name_match=None, include_tree=False)`` (sky/jobs/client/sdk.py:339-357).
NEWER_PARAMETERS: dict[str, tuple[tuple[str, Any, Any], ...]] = {
    "launch": (("depends_on", inspect.Parameter.POSITIONAL_OR_KEYWORD, None),),
    "queue_v2": (("include_tree", inspect.Parameter.POSITIONAL_OR_KEYWORD, False),),
}
# Where the product reaches them: ``sky.<name>`` or ``sky.jobs.<name>``.
JOBS_FUNCTIONS = ("launch", "queue_v2", "cancel")
CLIENT_FUNCTIONS = ("get", "stream_and_get", "api_cancel")


def _sky() -> Any:
    import sky

    return sky


def _defaults() -> tuple[Any, tuple[str, ...]]:
    from sky.jobs.client.sdk import AUTO_JOB_GROUP
    from sky.jobs.constants import DEFAULT_MANAGED_JOB_FIELDS

    return AUTO_JOB_GROUP, DEFAULT_MANAGED_JOB_FIELDS


_AUTO_JOB_GROUP, _DEFAULT_FIELDS = _defaults()


def request_name(kind: str) -> str:
    """The server's name for a request kind, e.g. ``JOBS_QUEUE_V2`` -> ``sky.jobs.queue_v2``."""
    from sky.server import constants
    from sky.server.requests.request_names import RequestName

    return constants.REQUEST_NAME_PREFIX + RequestName[kind].value


def sql_like(value: str, pattern: str) -> bool:
    """SQLite's ``value LIKE pattern`` (``%`` any run, ``_`` one character, ASCII case folded)."""
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(rx, value.lower(), flags=re.DOTALL) is not None


@dataclass
class FakeJob:
    """One managed job in the fake controller."""

    job_id: int
    name: str
    task: Any  # the sky.Task or sky.Dag given to launch (None for seeded jobs)
    script: list[str]  # status values, one per queue request; the last one sticks
    failure_reason: str | None = None
    submitted_at: float = field(default_factory=time.time)
    step: int = 0
    cancelled: bool = False

    @property
    def status(self) -> Any:
        from sky.jobs.state import ManagedJobStatus

        if self.cancelled:
            return ManagedJobStatus.CANCELLED if self.step > 0 else ManagedJobStatus.CANCELLING
        return ManagedJobStatus(self.script[min(self.step, len(self.script) - 1)])

    def advance(self) -> None:
        if not self.status.is_terminal():
            self.step += 1

    def server_record(self) -> dict[str, Any]:
        """Every column the server's queue carries for this job (core.py:1513-1516)."""
        status = self.status
        return {
            "job_id": self.job_id,
            "task_id": 0,
            "job_name": self.name,
            "task_name": self.name,
            "workspace": "default",
            "status": status,
            "resources": "1x[A100:1]",
            "submitted_at": self.submitted_at,
            "end_at": time.time() if status.is_terminal() else None,
            "job_duration": 0.0,
            "recovery_count": 0,
            "failure_reason": self.failure_reason if status.is_failed() else None,
            "user_name": "hwscale-test",
            "user_hash": "abcd1234",
            "details": None,
            "pool": None,
        }


@dataclass
class _Request:
    name: str  # the server's request name, e.g. "sky.jobs.queue_v2"
    run: Callable[[], Any]  # computes the request's return value on the "server"
    hold: threading.Event | None = None  # the request finishes only once this is set
    done: threading.Event = field(default_factory=threading.Event)
    wire: Any = None  # the encoded return value, as JSON
    error: BaseException | None = None
    cancelled: bool = False


class FakeSkyAPI:
    """SkyPilot's API server and jobs controller in memory, behind the real client signatures.

    ``script(name)`` gives each launched job its statuses (ManagedJobStatus values), one per queue
    request; ``failure(name)`` the failure reason a failed job reports. ``install`` puts the six
    functions in place of ``sky.*`` / ``sky.jobs.*``.
    """

    def __init__(
        self,
        script: Callable[[str], Sequence[str]] = lambda name: ["PENDING", "RUNNING"],
        failure: Callable[[str], str | None] = lambda name: None,
    ) -> None:
        self.script = script
        self.failure = failure
        self.jobs: list[FakeJob] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (function, its arguments)
        self.lock = threading.RLock()
        self._requests: dict[str, _Request] = {}
        self._next_job_id = 1
        self._next_request = 1
        # Test controls
        self.hold_launches: threading.Event | None = None  # launches wait for it
        # the launch call itself (the client's POST) waits for it before it returns a request id
        self.slow_launch_post: threading.Event | None = None
        self.hold_queues: threading.Event | None = None  # queue requests wait for it
        # function name -> how many of its next calls raise ApiServerConnectionError
        self.unreachable: dict[str, int] = {}
        # raised by the request on the "server" (so by sky.get), given the call's arguments
        self.launch_error: Callable[[str], BaseException | None] = lambda name: None
        self.cancel_error: Callable[[dict[str, Any]], BaseException | None] = lambda args: None
        # e.g. the jobs controller not up: ClusterNotUpError("No in-progress managed jobs.")
        self.queue_error: Callable[[], BaseException | None] = lambda: None

    # --- set-up -----------------------------------------------------------------------------

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeSkyAPI:
        sky = _sky()
        for name in JOBS_FUNCTIONS:
            monkeypatch.setattr(sky.jobs, name, getattr(self, name))
        for name in CLIENT_FUNCTIONS:
            monkeypatch.setattr(sky, name, getattr(self, name))
        return self

    def add_job(
        self, name: str, status: str, failure_reason: str | None = None, job_id: int | None = None
    ) -> FakeJob:
        """A job already in the controller (launched by someone else, e.g. Metta's sweep)."""
        with self.lock:
            job_id = self._next_job_id if job_id is None else job_id
            job = FakeJob(job_id, name, None, [status], failure_reason)
            self._next_job_id = max(self._next_job_id, job_id + 1)
            self.jobs.append(job)
            return job

    def job(self, name: str) -> FakeJob:
        with self.lock:
            return max((j for j in self.jobs if j.name == name), key=lambda j: j.job_id)

    def called(self, function: str) -> list[dict[str, Any]]:
        with self.lock:
            return [args for f, args in self.calls if f == function]

    # --- the client functions (exact signatures of skypilot 0.14.1) ----------------------------

    def launch(
        self,
        task: Any,
        name: str | None = None,
        pool: str | None = None,
        num_jobs: int | None = None,
        job_group: Any = _AUTO_JOB_GROUP,
        _need_confirmation: bool = False,
    ) -> Any:
        from sky.utils import dag_utils

        self._record("launch", task=task, name=name, pool=pool, num_jobs=num_jobs)
        dag = dag_utils.convert_entrypoint_to_dag(task)  # what the real client does first
        if name is not None:
            dag.name = name
        dag_utils.dump_dag_to_yaml_str(dag)  # the real client sends the DAG as YAML
        if self.slow_launch_post is not None:
            self.slow_launch_post.wait(10)

        def run() -> Any:
            job_name = dag.name
            assert job_name is not None  # callers name their jobs (name=, else the task's name)
            error = self.launch_error(job_name)
            if error is not None:
                raise error
            with self.lock:
                job = FakeJob(
                    self._next_job_id,
                    job_name,
                    task,
                    list(self.script(job_name)),
                    self.failure(job_name),
                )
                self._next_job_id += 1
                self.jobs.append(job)
            return [job.job_id], None  # (job_ids, controller handle)

        return self._submit("JOBS_LAUNCH", run, hold=self.hold_launches)

    def queue_v2(
        self,
        refresh: bool,
        skip_finished: bool = False,
        all_users: bool = False,
        job_ids: list[int] | None = None,
        limit: int | None = None,
        fields: Sequence[str] | None = _DEFAULT_FIELDS,
        sort_by: str | None = None,
        sort_order: str | None = None,
        statuses: list[str] | None = None,
        submitted_after: float | None = None,
        submitted_before: float | None = None,
        infra_match: str | None = None,
        name_match: str | None = None,
    ) -> Any:
        self._record(
            "queue_v2",
            refresh=refresh,
            skip_finished=skip_finished,
            job_ids=job_ids,
            fields=None if fields is None else list(fields),
            statuses=statuses,
            name_match=name_match,
        )

        def run() -> Any:
            from sky.schemas.api.responses import ManagedJobRecord

            error = self.queue_error()
            if error is not None:
                raise error
            known = {f.alias or n for n, f in ManagedJobRecord.model_fields.items()}
            with self.lock:
                total_no_filter = len(self.jobs)
                jobs = [
                    j
                    for j in self.jobs
                    if (name_match is None or sql_like(j.name, f"%{name_match}%"))
                    and not (skip_finished and j.status.is_terminal())
                    and (not job_ids or j.job_id in job_ids)
                    and (not statuses or j.status.value in statuses)
                ]
                jobs.sort(key=lambda j: j.job_id, reverse=True)
                rows = [j.server_record() for j in jobs]
                for job in self.jobs:  # the controller moves on between two queue requests
                    job.advance()
            counts: dict[str, int] = {}
            for row in rows:
                unknown = set(row) - known
                assert not unknown, f"not ManagedJobRecord fields: {unknown}"
                counts[row["status"].value] = counts.get(row["status"].value, 0) + 1
            total = len(rows)
            if limit:
                rows = rows[:limit]
            if fields:
                keep = set(fields) | {"job_id", "task_id", "status"}
                rows = [{k: v for k, v in row.items() if k in keep} for row in rows]
            return [ManagedJobRecord(**row) for row in rows], total, counts, total_no_filter

        return self._submit("JOBS_QUEUE_V2", run, hold=self.hold_queues)

    def cancel(
        self,
        name: str | None = None,
        job_ids: Sequence[int] | None = None,
        all: bool = False,  # SkyPilot's parameter name
        all_users: bool = False,
        pool: str | None = None,
        graceful: bool = False,
        graceful_timeout: int | None = None,
        task: str | int | None = None,
    ) -> Any:
        args = {"name": name, "job_ids": None if job_ids is None else list(job_ids)}
        self._record("cancel", **args, all=all, all_users=all_users, pool=pool)

        def run() -> None:
            chosen = [bool(job_ids), name is not None, pool is not None, all or all_users]
            if sum(chosen) != 1:
                raise ValueError("Can only specify one of JOB_IDS, name, pool, or all/all_users.")
            error = self.cancel_error(args)
            if error is not None:
                raise error
            with self.lock:
                live = [j for j in self.jobs if not j.status.is_terminal()]
                if job_ids:
                    targets = [j for j in live if j.job_id in set(job_ids)]
                elif name is not None:
                    targets = [j for j in live if j.name == name]
                    if len(targets) != 1:  # "No running job found" / "Multiple running jobs"
                        targets = []
                elif pool is not None:
                    targets = []
                else:
                    targets = live
                for job in targets:
                    if job.status.value != "CANCELLING":
                        job.cancelled, job.step = True, 0

        return self._submit("JOBS_CANCEL", run)

    def get(self, request_id: Any) -> Any:
        self._check_reachable("get")
        return self._result(request_id)

    def stream_and_get(
        self,
        request_id: Any = None,
        log_path: str | None = None,
        tail: int | None = None,
        follow: bool = True,
        output_stream: Any = None,
        relay_rich_status: bool = False,
    ) -> Any:
        self._check_reachable("stream_and_get")
        if request_id is None:  # the real one streams the latest request then
            with self.lock:
                request_id = list(self._requests)[-1]
        return self._result(request_id)

    def api_cancel(
        self,
        request_ids: Any = None,
        all_users: bool = False,
        silent: bool = False,
    ) -> Any:
        if request_ids is not None and all_users:  # newer SkyPilot refuses it (see the top)
            raise ValueError("Can only specify one of request_ids or all_users.")
        ids = [request_ids] if isinstance(request_ids, str) else list(request_ids or [])
        self._record("api_cancel", request_ids=ids, all_users=all_users)

        def run() -> list[str]:
            aborted = []
            with self.lock:
                targets = ids or list(self._requests)
                for rid in targets:
                    req = self._requests.get(rid)
                    if req is not None and not req.done.is_set():
                        req.cancelled = True
                        req.done.set()
                        aborted.append(str(rid))
            return aborted

        return self._submit("API_CANCEL", run)

    # --- the "server" ---------------------------------------------------------------------------

    def _record(self, function: str, **args: Any) -> None:
        self._check_reachable(function)
        with self.lock:
            self.calls.append((function, args))

    def _check_reachable(self, function: str) -> None:
        from sky import exceptions

        with self.lock:
            if self.unreachable.get(function, 0) <= 0:
                return
            self.unreachable[function] -= 1
        raise exceptions.ApiServerConnectionError("http://127.0.0.1:46580")

    def _submit(
        self, kind: str, run: Callable[[], Any], hold: threading.Event | None = None
    ) -> Any:
        """A request as the server names it, ``sky.`` + ``RequestName.<kind>``: the name picks
        its encoder and decoder."""
        from sky.server.common import RequestId

        name = request_name(kind)
        with self.lock:
            rid: RequestId[Any] = RequestId(f"fake-{self._next_request:04d}-{name}")
            self._next_request += 1
            req = _Request(name, run, hold)
            self._requests[rid] = req
        if hold is None:
            self._execute(req)
        else:
            threading.Thread(target=self._execute_when_released, args=(req,), daemon=True).start()
        return rid

    def _execute_when_released(self, req: _Request) -> None:
        assert req.hold is not None
        while not req.hold.wait(0.02):
            if req.cancelled:
                return
        self._execute(req)

    def _execute(self, req: _Request) -> None:
        from sky.server.requests.serializers import encoders

        if req.cancelled:
            return
        try:
            value = req.run()
            wire = json.loads(json.dumps(encoders.get_encoder(req.name)(value)))
        except Exception as e:  # the server stores it; sky.get raises it on the client
            req.error = e
        else:
            req.wire = wire
        req.done.set()

    def _result(self, request_id: Any) -> Any:
        from sky import exceptions
        from sky.server.requests.serializers import decoders

        with self.lock:
            req = self._requests.get(request_id)
        if req is None:
            raise RuntimeError(f"Failed to get request {request_id}: 404")
        req.done.wait()
        if req.error is not None:
            raise req.error
        if req.cancelled:
            raise exceptions.RequestCancelled(f"Request ({request_id}) is cancelled.")
        return decoders.get_decoder(req.name)(req.wire)
