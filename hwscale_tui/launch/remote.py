"""``cancel --remote``: stop a sweep's trials that are queued or running as SkyPilot managed jobs.

Metta's sweep leaves its trials as SkyPilot managed jobs when the sweep process dies; each job is
named by its trial's run id ``<sweep>_trial_NNNN_xxxxxx`` (metta/adaptive/utils.py:243-258,
devops/skypilot/launch.py:250 and devops/skypilot/utils/job_helpers.py:33 at Metta-AI/metta
7c1a7ff418). We ask SkyPilot itself for them,
not W&B: a job still queued has only Metta's finished placeholder run in W&B, so W&B states miss
it. ``sky.jobs.queue_v2(..., name_match=...)`` (skypilot 0.14.1, sky/jobs/client/sdk.py:315-330)
filters with SQL ``LIKE '%<name_match>%'`` (sky/jobs/state.py:2018-2019), where ``_`` matches any
character: ``exp.g1n1`` also matches ``exp.g1n10``'s jobs. So only names that are exactly
``<sweep>_trial_<digits>_<hex>`` are kept, and jobs are cancelled by id. The SDK calls are one
small boundary object, so tests replace them and nothing reaches a server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# SkyPilot's managed job states after which nothing runs any more (sky/jobs/state.py,
# ManagedJobStatus: SUCCEEDED, CANCELLED and the FAILED* family are terminal).
SKY_ENDED_STATES = (
    "SUCCEEDED",
    "CANCELLED",
    "FAILED",
    "FAILED_SETUP",
    "FAILED_PRECHECKS",
    "FAILED_NO_RESOURCE",
    "FAILED_CONTROLLER",
)


# SkyPilot's ClusterNotUpError message when the jobs controller does not exist or is stopped:
# the jobs controller's ``default_hint_if_non_existent`` (sky/utils/controller_utils.py:155 in
# 0.14.1, raised from sky/backends/backend_utils.py:3709; docs/upstream.md section 10).
NO_JOBS_CONTROLLER = "No in-progress managed jobs"


@dataclass
class RemoteCancel:
    sweep: str
    run_id: str | None  # the job (= trial run id) name; None: the lookup itself failed
    ok: bool
    detail: str


def trial_job_pattern(sweep: str) -> re.Pattern[str]:
    """Exactly the job names Metta gives the trials of ``sweep`` (utils.py:258)."""
    return re.compile(re.escape(sweep) + r"_trial_[0-9]{4,}_[0-9a-f]{6}")


def sweep_jobs(sweep: str, records: Sequence[Any]) -> dict[str, list[int]]:
    """job name -> ids of the sweep's jobs that have not ended, from queue_v2 records."""
    pattern = trial_job_pattern(sweep)
    out: dict[str, list[int]] = {}
    for rec in records:
        name = _field(rec, "job_name")
        status = _field(rec, "status")
        status = getattr(status, "value", status)
        job_id = _field(rec, "job_id")
        if not isinstance(name, str) or not pattern.fullmatch(name):
            continue  # LIKE matched a longer sweep name (g1n1 vs g1n10) or another job
        if str(status) in SKY_ENDED_STATES or not isinstance(job_id, int):
            continue
        out.setdefault(name, []).append(job_id)
    return out


def _field(rec: Any, name: str) -> Any:
    if isinstance(rec, dict):
        return rec.get(name)
    return getattr(rec, name, None)


class RemoteTrialsBoundary(Protocol):
    def unfinished_jobs(self, sweep: str) -> dict[str, list[int]]:
        """The sweep's managed jobs that have not ended: job name -> job ids."""

    def cancel_jobs(self, job_ids: list[int]) -> tuple[bool, str]:
        """Cancel these managed jobs: (ok, what happened)."""


class SkyPilotJobsBoundary:
    """The real boundary: SkyPilot's SDK (imported lazily), one queue request per sweep."""

    def unfinished_jobs(self, sweep: str) -> dict[str, list[int]]:
        import sky
        from sky import exceptions as sky_exceptions

        try:
            records, *_ = sky.get(
                sky.jobs.queue_v2(refresh=False, skip_finished=True, name_match=sweep)
            )
        except sky_exceptions.ClusterNotUpError as e:
            # No jobs controller, or one stopped (it autostops once no job is in progress):
            # SkyPilot says so in these words (skypilot 0.14.1, sky/jobs/server/core.py:1605,
            # sky/utils/controller_utils.py:155). Nothing to cancel, not a failed lookup; an
            # unreachable controller says something else and stays a failure.
            if NO_JOBS_CONTROLLER in str(e):
                return {}
            raise
        return sweep_jobs(sweep, records)

    def cancel_jobs(self, job_ids: list[int]) -> tuple[bool, str]:
        import sky

        try:
            sky.get(sky.jobs.cancel(job_ids=job_ids))
        except Exception as e:  # the SDK raises many types (API server, network, cluster)
            return False, f"sky.jobs.cancel failed: {type(e).__name__}: {str(e)[:160]}"
        return (
            True,
            f"cancelled {'job id' if len(job_ids) == 1 else 'job ids'} {', '.join(map(str, job_ids))}",
        )


def cancel_remote_trials(
    sweeps: Sequence[str], boundary: RemoteTrialsBoundary | None = None
) -> list[RemoteCancel]:
    """Cancel every unfinished trial job of ``sweeps``; one result per job (or per failed lookup)."""
    boundary = boundary or SkyPilotJobsBoundary()
    results: list[RemoteCancel] = []
    for sweep in sweeps:
        try:
            jobs = boundary.unfinished_jobs(sweep)
        except Exception as e:  # the SDK raises many types (API server down, network, auth)
            results.append(
                RemoteCancel(
                    sweep,
                    None,
                    False,
                    f"cannot list SkyPilot managed jobs of {sweep}: {type(e).__name__}: {str(e)[:160]}",
                )
            )
            continue
        for name, ids in sorted(jobs.items()):
            ok, detail = boundary.cancel_jobs(sorted(ids))
            results.append(RemoteCancel(sweep, name, ok, detail))
    return results
