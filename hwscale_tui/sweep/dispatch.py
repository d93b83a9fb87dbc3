"""What the runner needs from a dispatcher (local processes, SkyPilot managed jobs, Slurm jobs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..metrics_file import MetricsTail
from .outcome import TrialExit
from .trial_command import TrialSpec


class NotSubmitted(OSError):
    """The cluster could not be asked to run the trial (its controller did not answer): the
    trial never ran, so it is no failure of its hyperparameters. The runner records it killed
    (not counted toward max_trials, never shown to the optimizer) and replaces it; after
    ``NOT_SUBMITTED_ALLOWED`` in a row it stops the sweep with the reason."""


# Starts in a row the cluster did not take before the sweep stops (each one waited for the
# client command's timeout, so a controller that stays silent ends the sweep within minutes).
NOT_SUBMITTED_ALLOWED = 3


@dataclass
class InFlightTrial:
    """A trial the runner is watching."""

    run_id: str
    params: dict[str, Any]
    started_at: float
    log_path: Path
    metrics_path: Path
    writes_store: bool  # False: the runner copies live metrics from the metrics file to the store
    handle: Any  # the dispatcher's own handle
    cancelled: bool = False
    waiting: str | None = (
        None  # set by a cluster dispatcher: why it has not started ("waiting: Resources")
    )
    where: str | None = None  # set by a cluster dispatcher: where it runs ("on node[1-2]")
    recorded_waiting: str | None = None  # what the runner last wrote to the store
    # Time in the cluster's queue, which runs nothing and costs nothing: kept out of the
    # trial's runtime and cost (the runner tracks it from ``waiting`` after each poll).
    queued_since: float | None = None  # when it was last seen entering the queue
    queued_s: float = 0.0  # queue time before that
    metrics: MetricsTail = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = MetricsTail(self.metrics_path)


class Dispatcher(Protocol):
    kind: str  # "local" | "skypilot" | "slurm"
    job_label: str  # how events name the job_name field ("job_name", "slurm_job")

    def start(self, spec: TrialSpec) -> tuple[Any, dict[str, Any]]:
        """Start a trial; return its handle and the trial-row fields that identify it (pid, job_name...)."""

    def attach(self, row: Mapping[str, Any]) -> Any | None:
        """The handle of a trial recorded in the store that is still running, else None."""

    def poll(self, trials: Sequence[InFlightTrial]) -> dict[str, TrialExit]:
        """Exits of the trials that ended since the last poll, by run id (called every tick: never blocks long)."""

    def cancel(self, trials: Sequence[InFlightTrial], grace_s: float) -> set[str]:
        """Stop the trials (returns within about ``grace_s`` seconds); the run ids whose stop
        could not be confirmed (their cluster job may still run: the runner keeps them in the
        per-launch file, so that ``hwscale-tui cancel`` can try again)."""
