"""What the runner needs from a dispatcher (local processes, SkyPilot managed jobs, Slurm jobs)."""

from __future__ import annotations

import os
import stat
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


def metrics_problem(path: Path) -> str | None:
    """Why a trial's metrics file cannot be read as one -- a folder, a named pipe or a device
    (opening a pipe with no writer waits forever), a file the runner may not read -- or None
    (a file, or none yet). Said in the trial's error; the runner never stops on it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"its metrics file {path} cannot be read ({e.strerror or e})"
    if stat.S_ISDIR(mode):
        return f"its metrics file {path} is a folder, not a file"
    if not stat.S_ISREG(mode):
        return f"its metrics file {path} is not a regular file (a named pipe, a socket or a device)"
    return None


class TrialMetrics(MetricsTail):
    """A trial's metrics file, read as it grows; a path that cannot be read as a file reads as
    no lines, and ``problem`` says why (it was an IsADirectoryError out of the runner's loop:
    the sweep ended exit 1 with the trial left ``running``; a named pipe hung the runner)."""

    problem: str | None = None

    def _read_chunk(self) -> bytes | None:
        problem = metrics_problem(self.path)
        if problem is None:
            try:
                with open(self.path, "rb") as fh:
                    fh.seek(self.offset)
                    return fh.read()
            except FileNotFoundError:
                return None
            except OSError as e:
                problem = f"its metrics file {self.path} cannot be read ({e.strerror or e})"
        self.problem = problem
        return None


def read_trial_final(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The last ``final: true`` line of a trial's metrics file (or None), and why the file
    could not be read (``metrics_problem``; None when it could)."""
    tail = TrialMetrics(path)
    tail.read_new()
    return tail.final, tail.problem


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
    metrics: TrialMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = TrialMetrics(self.metrics_path)


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
