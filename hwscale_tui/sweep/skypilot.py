"""SkyPilot dispatcher: each trial is a managed job named by its run id.

The task is a real ``sky.Task`` (run command, non-secret ``envs``, ``num_nodes``,
``accelerators={gpu_type: gpus}``). ``WANDB_API_KEY`` is never in the task we build (so never
in its YAML): it is added as a SkyPilot *secret* (``Task.update_secrets``) right before launch,
from this process's environment. Only the SDK calls -- launch, queue, cancel -- go through
:class:`SkyJobsSDK`, so tests swap that boundary and keep the task real. Results come back
from W&B (the trial logs ``sweep/score`` there), through :class:`WandbTrialResults`.
``sky`` and ``wandb`` are imported lazily.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import ExperimentConfig
from ..launch.commands import SECRET_ENV
from .dispatch import InFlightTrial
from .outcome import TrialExit
from .trial_command import TrialSpec

# SkyPilot managed-job statuses that end a trial (ManagedJobStatus.terminal_statuses and
# failure_statuses, skypilot 0.14.1 sky/jobs/state.py:784-802); every other status (PENDING,
# STARTING, RUNNING, WINDING_DOWN, RECOVERING, CANCELLING, ...) means it is still in flight.
# tests/sweep/test_sky_contract.py checks these against the installed enum.
SKY_SUCCEEDED = "SUCCEEDED"
SKY_CANCELLED = "CANCELLED"
SKY_FAILED = (
    "FAILED",
    "FAILED_SETUP",
    "FAILED_PRECHECKS",
    "FAILED_NO_RESOURCE",
    "FAILED_CONTROLLER",
)
# Final keys read from a trial's W&B summary (W&B key contract, docs/architecture.md).
RESULT_KEYS = (
    "sweep/score",
    "sweep/cost",
    "metric/agent_step",
    "metric/total_time",
    "overview/sps",
)
# Polls in a row a launched job may be missing from the queue before it counts as lost.
MISSING_POLLS_ALLOWED = 3
# Launches in a row that SkyPilot never accepted (the launch call raised before it had a request
# id: API server unreachable or not configured, the task refused by the client) before the sweep
# stops: each such trial never ran, so it is killed and replaced, not counted as a failure.
NOT_SUBMITTED_ALLOWED = 3
# A cancel that finds a launch request still being sent waits this long for its request id (the
# dispatcher's cancel grace bounds the wait the runner sees; this bounds the daemon thread's).
SUBMIT_WAIT_S = 30.0


class LaunchNotSubmitted(Exception):
    """``sky.jobs.launch`` raised before the API server took the request: nothing was launched."""


def build_task(spec: TrialSpec, cfg: ExperimentConfig) -> Any:
    """The trial as a real ``sky.Task`` (no secrets in it)."""
    import sky

    leaked = sorted(set(SECRET_ENV) & set(spec.remote_env))
    if leaked:
        raise ValueError(f"secret variables must not be task envs: {leaked}")
    task = sky.Task(
        name=spec.run_id,
        setup=spec.setup_script or None,
        run=spec.remote_script,
        envs=dict(spec.remote_env),
        num_nodes=spec.pair.nodes,
    )
    task.set_resources(
        sky.Resources(accelerators={cfg.cost.gpu_type: spec.pair.gpus}, use_spot=cfg.cost.spot)
    )
    return task


def secrets_from_env(env: Mapping[str, str]) -> dict[str, str]:
    return {name: env[name] for name in SECRET_ENV if env.get(name)}


class SkyJobsBoundary(Protocol):
    def launch(self, task: Any, name: str) -> list[int]: ...
    def statuses(self, name_prefix: str) -> dict[str, tuple[str, str | None]]: ...
    def cancel(self, name: str) -> None: ...


# The queue fields the runner reads. SkyPilot's default ``fields`` leave out ``failure_reason``
# (skypilot 0.14.1 sky/jobs/constants.py:21-27) and the server returns only the fields asked for
# plus job_id/task_id/status (sky/jobs/server/core.py:1513-1524), so it must be asked for.
QUEUE_FIELDS = ("job_id", "job_name", "status", "failure_reason")


def status_name(status: Any) -> str | None:
    """A queue record's status as its name: ``ManagedJobStatus`` is an ``enum.Enum`` whose value
    is the name (sky/jobs/state.py:679-767); a plain string is taken as it is."""
    if status is None:
        return None
    value = getattr(status, "value", status)
    return value if isinstance(value, str) else str(value)


def record_field(rec: Any, name: str) -> Any:
    """A field of a queue record: a ``ManagedJobRecord`` (pydantic) or a plain dict."""
    if isinstance(rec, Mapping):
        return rec.get(name)
    return getattr(rec, name, None)


def newest_statuses(records: Sequence[Any]) -> dict[str, tuple[str, str | None]]:
    """job name -> (status name, failure reason) of the newest job (highest id) of each name."""
    newest: dict[str, Any] = {}
    for rec in records:
        name = record_field(rec, "job_name")
        if (
            not isinstance(name, str)
            or not name
            or status_name(record_field(rec, "status")) is None
        ):
            continue
        old = newest.get(name)
        if old is None or (record_field(rec, "job_id") or 0) > (record_field(old, "job_id") or 0):
            newest[name] = rec
    return {
        name: (
            status_name(record_field(rec, "status")) or "",
            record_field(rec, "failure_reason") or None,
        )
        for name, rec in newest.items()
    }


class SkyJobsSDK:
    """The real SkyPilot SDK calls (each blocks until the API server answers).

    Every call returns a request id; ``sky.get`` waits for it and returns the request's value
    (skypilot 0.14.1 sky/client/sdk.py:2407-2460). tests/support/sky_contract.py fakes exactly
    this boundary, with the installed SkyPilot's signatures, encoders and decoders. Everything
    after the task is passed by keyword: newer SkyPilot adds parameters (``launch(depends_on=)``,
    ``queue_v2(include_tree=)``), and what these calls rely on holds there too (re-checked
    2026-12-03, docs/upstream.md section 10).
    """

    def __init__(self) -> None:
        self._launching: dict[str, Any] = {}  # job name -> request id of a launch in flight
        self._submitting: set[str] = set()  # job names whose launch request is being sent
        self._lock = threading.Condition()

    def launch(self, task: Any, name: str) -> list[int]:
        """Launch the managed job; its job ids (``sky.get`` gives ``(job_ids, handle)``)."""
        import sky

        with self._lock:
            self._submitting.add(name)
        try:
            request_id = sky.jobs.launch(task, name=name)
        except Exception as e:  # the SDK raises many types (API server, network, validation)
            raise LaunchNotSubmitted(f"{type(e).__name__}: {str(e)[:300]}") from e
        else:
            with self._lock:
                self._launching[name] = request_id
        finally:
            with self._lock:
                self._submitting.discard(name)
                self._lock.notify_all()
        try:
            job_ids, _handle = sky.get(request_id)[:2]
        finally:
            with self._lock:
                self._launching.pop(name, None)
        return list(job_ids or [])

    def statuses(self, name_prefix: str) -> dict[str, tuple[str, str | None]]:
        """job name -> (status name, failure reason) for the newest job of each name."""
        import sky

        records, *_ = sky.get(
            sky.jobs.queue_v2(
                refresh=False,
                skip_finished=False,
                fields=list(QUEUE_FIELDS),
                name_match=name_prefix,
            )
        )
        return newest_statuses(records)

    def cancel(self, name: str) -> None:
        """Abort a launch still in flight, then cancel the managed job by name (works before it
        has an id). A failed abort does not keep the job from being cancelled by name."""
        import sky

        with self._lock:
            # a launch whose request is still being sent has no id to abort yet: wait for it,
            # else the job that request makes afterwards outlives the cancel by name below
            self._lock.wait_for(lambda: name not in self._submitting, timeout=SUBMIT_WAIT_S)
            request_id = self._launching.get(name)
        abort_error: Exception | None = None
        if request_id is not None:
            try:
                sky.get(sky.api_cancel(request_id))
            except Exception as e:  # the SDK raises many types (API server, network)
                abort_error = e
        sky.get(sky.jobs.cancel(name=name))
        if abort_error is not None:
            raise abort_error


class TrialResults(Protocol):
    def final(self, run_id: str) -> dict[str, Any] | None: ...


class WandbTrialResults:
    """A finished trial's final metrics from its W&B run summary."""

    def __init__(self, entity: str | None, project: str, api_factory: Any = None):
        self.entity = entity
        self.project = project
        self.api_factory = api_factory

    def final(self, run_id: str) -> dict[str, Any] | None:
        if self.api_factory is None:
            import wandb

            api = wandb.Api()
        else:
            api = self.api_factory()
        entity = self.entity or api.default_entity
        try:
            summary = dict(api.run(f"{entity}/{self.project}/{run_id}").summary)
        except Exception:  # the run may not exist (the trial died before wandb.init)
            return None
        result = {k: summary[k] for k in RESULT_KEYS if k in summary}
        return result if "sweep/score" in result else None


def in_daemon_thread(fn: Callable[..., Any], *args: Any) -> Future:
    """Run ``fn`` in a daemon thread (a hung SDK call never keeps the runner from exiting)."""
    future: Future = Future()

    def target() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as e:  # handed to whoever reads the future
            future.set_exception(e)

    threading.Thread(
        target=target, daemon=True, name=f"sky-{getattr(fn, '__name__', 'call')}"
    ).start()
    return future


@dataclass
class SkyJob:
    name: str
    launch: Future | None = None  # None when re-attached
    missing_polls: int = 0
    submitted: bool = False  # the launch request finished: SkyPilot has the job


@dataclass(frozen=True)
class QueueSnapshot:
    """One look at the jobs queue, with the W&B results of the jobs that succeeded."""

    statuses: dict[str, tuple[str, str | None]]  # job name -> (status, failure reason)
    finals: dict[str, dict[str, Any] | None]


class SkyPilotDispatcher:
    """Launches, watches and cancels managed jobs without ever blocking the runner's loop:
    launches, queue queries and result reads run in daemon threads."""

    kind = "skypilot"
    job_label = "job_name"

    def __init__(
        self,
        cfg: ExperimentConfig,
        sweep: str,
        *,
        sdk: SkyJobsBoundary | None = None,
        results: TrialResults | None = None,
        query_interval_s: float = 15.0,
        env: Mapping[str, str] | None = None,
    ):
        self.cfg = cfg
        self.sweep = sweep
        self.sdk = sdk or SkyJobsSDK()
        self.results = results or WandbTrialResults(cfg.wandb.entity, cfg.wandb.effective_project)
        self.query_interval_s = query_interval_s
        self.env = os.environ if env is None else env
        self._query: Future | None = None
        self._last_query = -math.inf
        self._not_submitted_in_a_row = 0

    def start(self, spec: TrialSpec) -> tuple[SkyJob, dict[str, Any]]:
        task = build_task(spec, self.cfg)
        secrets = secrets_from_env(self.env)
        if secrets:
            task.update_secrets(secrets)
        job = SkyJob(spec.run_id, in_daemon_thread(self.sdk.launch, task, spec.run_id))
        return job, {"job_name": spec.run_id}

    def attach(self, row: Mapping[str, Any]) -> SkyJob | None:
        """A handle for any job the queue still knows (running or ended); None if it is unknown."""
        name = row.get("job_name")
        if not name:
            return None
        if name not in self.sdk.statuses(self.sweep):
            return None
        return SkyJob(name)  # poll() maps its state, running or already ended

    def poll(self, trials: Sequence[InFlightTrial]) -> dict[str, TrialExit]:
        exits: dict[str, TrialExit] = {}
        launched = []
        for trial in trials:
            job: SkyJob = trial.handle
            if job.launch is not None and not job.launch.done():
                continue
            error = job.launch.exception() if job.launch is not None else None
            if isinstance(error, LaunchNotSubmitted):
                exits[trial.run_id] = self._not_submitted(error)
                continue
            if error is not None:
                exits[trial.run_id] = TrialExit(1, f"launch failed: {error}")
                continue
            if job.launch is not None and not job.submitted:
                job.submitted = True
                self._not_submitted_in_a_row = 0
            launched.append(trial)
        snapshot = self._snapshot([t.handle.name for t in launched])
        if snapshot is None:
            return exits
        for trial in launched:
            job = trial.handle
            status, reason = snapshot.statuses.get(job.name, (None, None))
            if status is None:
                job.missing_polls += 1
                if job.missing_polls > MISSING_POLLS_ALLOWED:
                    exits[trial.run_id] = TrialExit(
                        1, "the managed job is missing from the SkyPilot jobs queue"
                    )
                continue
            job.missing_polls = 0
            if status == SKY_SUCCEEDED:
                final = snapshot.finals.get(job.name)
                exits[trial.run_id] = TrialExit(
                    0, None if final else "no sweep/score in the trial's W&B run", final
                )
            elif status == SKY_CANCELLED:
                exits[trial.run_id] = TrialExit(143, "cancelled (SkyPilot)")
            elif status in SKY_FAILED:
                exits[trial.run_id] = TrialExit(
                    1, f"SkyPilot job {status}" + (f": {reason}" if reason else "")
                )
        return exits

    def _not_submitted(self, error: LaunchNotSubmitted) -> TrialExit:
        """A trial SkyPilot never took: killed (not counted) and replaced, or, after
        ``NOT_SUBMITTED_ALLOWED`` in a row, the end of the sweep with SkyPilot's reason."""
        self._not_submitted_in_a_row += 1
        abort = None
        if self._not_submitted_in_a_row >= NOT_SUBMITTED_ALLOWED:
            abort = (
                f"SkyPilot took none of the last {self._not_submitted_in_a_row} launches, so no "
                f"trial can run: {error}"
            )
        return TrialExit(
            None,
            f"not submitted to SkyPilot: {error}",
            {"sweep/cost": 0.0, "metric/total_time": 0.0},  # it never ran, so it cost nothing
            killed=True,
            abort=abort,
        )

    def _snapshot(self, names: list[str]) -> QueueSnapshot | None:
        """The result of the last finished queue query (if any); starts the next one when due.

        A query that raised (API server unreachable, ...) is dropped and simply tried again.
        """
        snapshot = None
        if self._query is not None and self._query.done():
            query, self._query = self._query, None
            snapshot = query.result() if query.exception() is None else None
        now = time.monotonic()
        if self._query is None and names and now - self._last_query >= self.query_interval_s:
            self._last_query = now
            self._query = in_daemon_thread(self._query_jobs, names)
        return snapshot

    def _query_jobs(self, names: list[str]) -> QueueSnapshot:
        statuses = self.sdk.statuses(self.sweep)
        finals = {
            n: self.results.final(n) for n in names if statuses.get(n, (None,))[0] == SKY_SUCCEEDED
        }
        return QueueSnapshot(statuses, finals)

    def cancel(self, trials: Sequence[InFlightTrial], grace_s: float) -> set[str]:
        """Ask SkyPilot to cancel each job by name; wait at most ``grace_s`` for the requests.
        Returns the trials whose request failed or got no answer in time."""
        requests = [in_daemon_thread(self.sdk.cancel, t.handle.name) for t in trials]
        deadline = time.monotonic() + grace_s
        unconfirmed: set[str] = set()
        for trial, request in zip(trials, requests):
            try:
                if request.exception(timeout=max(0.0, deadline - time.monotonic())) is not None:
                    unconfirmed.add(trial.run_id)
            except TimeoutError:
                unconfirmed.add(trial.run_id)
        return unconfirmed
