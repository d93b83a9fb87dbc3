"""``cancel --remote``: stop a sweep's trials that still run on SkyPilot.

Metta's sweep leaves its trials running as SkyPilot managed jobs when the sweep process dies,
each job named by its trial's run id. We find the sweep's runs in W&B (group = sweep name),
keep those not finished, and run ``sky jobs cancel -y -n <run_id>`` for each. The W&B query and
the ``sky`` call are one small boundary object, so tests inject a fake and nothing reaches the
network.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# W&B run states after which nothing runs any more (docs/upstream.md section 6).
WANDB_ENDED_STATES = ("finished", "crashed", "failed", "killed")
SKY_CANCEL_TIMEOUT_S = 120.0


@dataclass
class RemoteCancel:
    sweep: str
    run_id: str | None  # None: the lookup itself failed
    ok: bool
    detail: str


class RemoteTrialsBoundary(Protocol):
    def unfinished_run_ids(self, project_path: str, sweep: str) -> list[str]:
        """Run ids of the sweep's W&B runs that have not ended."""

    def cancel_job(self, run_id: str) -> tuple[bool, str]:
        """Cancel the SkyPilot managed job named ``run_id``: (ok, what happened)."""


def sky_cancel_argv(run_id: str) -> list[str]:
    return [shutil.which("sky") or "sky", "jobs", "cancel", "-y", "-n", run_id]


class WandbSkyPilotBoundary:
    """The real boundary: ``wandb.Api`` (imported lazily) and the ``sky`` command line."""

    def __init__(
        self, api: Any = None, run: Callable[..., subprocess.CompletedProcess] = subprocess.run
    ):
        self._api = api
        self._run = run

    def api(self) -> Any:
        if self._api is None:
            import wandb

            self._api = wandb.Api()
        return self._api

    def unfinished_run_ids(self, project_path: str, sweep: str) -> list[str]:
        runs = self.api().runs(project_path, filters={"group": sweep})
        return [r.name or r.id for r in runs if r.state not in WANDB_ENDED_STATES]

    def cancel_job(self, run_id: str) -> tuple[bool, str]:
        try:
            done = self._run(
                sky_cancel_argv(run_id),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=SKY_CANCEL_TIMEOUT_S,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, f"sky jobs cancel failed: {e}"
        lines = ((done.stdout or "") + (done.stderr or "")).strip().splitlines()
        last = f": {lines[-1]}" if lines else ""
        return done.returncode == 0, f"sky jobs cancel exit {done.returncode}{last}"


def wandb_project_path(entity: str | None, project: str) -> str:
    return f"{entity}/{project}" if entity else project


def cancel_remote_trials(
    sweeps: Sequence[str], project_path: str, boundary: RemoteTrialsBoundary | None = None
) -> list[RemoteCancel]:
    """Cancel every unfinished trial job of ``sweeps``; one result per job (or per failed lookup)."""
    boundary = boundary or WandbSkyPilotBoundary()
    results: list[RemoteCancel] = []
    for sweep in sweeps:
        try:
            run_ids = boundary.unfinished_run_ids(project_path, sweep)
        except Exception as e:  # the W&B client raises many types (network, auth, HTTP)
            results.append(
                RemoteCancel(
                    sweep, None, False, f"cannot list W&B runs of {sweep} in {project_path}: {e}"
                )
            )
            continue
        for run_id in run_ids:
            ok, detail = boundary.cancel_job(run_id)
            results.append(RemoteCancel(sweep, run_id, ok, detail))
    return results
