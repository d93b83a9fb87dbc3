"""How a trial ended: its exit (from a dispatcher) + its final metrics -> state and result.

Rules (docs/sweep.md): exit 0 with a final ``sweep/score`` -> finished; the runner cancelled it,
or it exited 143/130 (SIGTERM/SIGINT) -> killed; anything else -> failed with the reason. A
process that ended while no runner watched it (exit code unknown) counts as finished only if
it left a final result (its metrics file's final line, or the row the trainer wrote).
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..hardware import HardwarePair
from ..metrics_file import finite
from ..prices import job_cost_usd
from ..records import BUDGETED_STATES

# stopped, not failed: SIGTERM, SIGINT and SIGHUP (a closed terminal; the trainer exits 129
# on it as on SIGTERM), as a shell's 128 + signal or as the signal itself
KILLED_EXIT_CODES = (143, 130, 129, -signal.SIGTERM, -signal.SIGINT, -signal.SIGHUP)
BAD_INPUT_EXIT_CODE = 2


@dataclass(frozen=True)
class TrialExit:
    """What a dispatcher saw: ``code`` None means unknown (not our child, or a remote job)."""

    code: int | None
    reason: str | None = None  # e.g. the last log line, or SkyPilot's status
    final: Mapping[str, Any] | None = None  # the final metrics (file line or W&B summary)
    # the cluster stopped it (preempted, node failure...): killed and replaced, reason kept
    killed: bool = False
    # the dispatcher can run no trial at all (e.g. SkyPilot's API server cannot be reached):
    # the sweep stops with this reason instead of spending its budget on trials that never ran
    abort: str | None = None
    # how long the job ran, as the cluster measured it (Slurm's Elapsed: queue time excluded)
    runtime_s: float | None = None
    # why its metrics file could not be read (a folder, a named pipe, not readable): said in
    # the error of a trial that left no result
    metrics_problem: str | None = None


@dataclass(frozen=True)
class TrialOutcome:
    state: str  # finished | failed | killed
    score: float | None
    cost_usd: float | None
    runtime_s: float | None
    agent_steps: float | None
    error: str | None
    sps: float | None = None

    @property
    def counts_toward_max_trials(self) -> bool:
        return self.state in BUDGETED_STATES


# A trial row's number columns: a hand-damaged row may hold text (or an infinity) there.
NUMBER_COLUMNS = ("score", "cost_usd", "runtime_s", "agent_steps", "sps", "started_at", "ended_at")


def clean_numbers(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with each number column a finite float or None (``damaged``: the columns that
    held something else). ``sweep --status``, its JSON and a resuming runner ended in a
    TypeError traceback on a score of 'x'."""
    out = dict(row)
    damaged = []
    for column in NUMBER_COLUMNS:
        if column in out and out[column] is not None:
            value = finite(out[column])
            if value is None:
                damaged.append(column)
            out[column] = value
    out["damaged"] = damaged
    return out


def first_finite(*values: Any) -> float | None:
    for value in values:
        f = finite(value)
        if f is not None:
            return f
    return None


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _describe_stop(code: int) -> str:
    """A killed trial's exit: a shell's 128 + signal (143, 130) names the signal, as the app and
    the trainer say it ("stopped by SIGTERM (exit code 143)", not a bare "exit code 143")."""
    if code > 128:
        try:
            return f"stopped by {signal.Signals(code - 128).name} (exit code {code})"
        except ValueError:
            pass
    return _describe_exit(code)


# Failure reasons that are the machine's, not the trial's.
INFRASTRUCTURE_FAILURES = (
    "no space left on device",
    "database or disk is full",
    "disk i/o error",
    "database is locked",
)


def _no_result(final: Mapping[str, Any]) -> str:
    """Why a trial that exited 0 has no result: what its final metrics line lacks."""
    if not final:
        return "exited 0 without a final metrics line with sweep/score"
    if "sweep/score" not in final:
        return "exited 0; its final metrics line has no sweep/score"
    if finite(final.get("sweep/score")) is None:
        got = repr(final["sweep/score"])
        got = got if len(got) <= 40 else got[:37] + "..."
        return f"exited 0; its final metrics line's sweep/score is {got}, not a finite number"
    return f"exited 0; its final metrics line says state {str(final.get('state'))[:40]!r}"


def decide_outcome(
    exit: TrialExit,
    *,
    cancelled: bool,
    row: Mapping[str, Any] | None,
    wall_s: float | None,
    price_per_gpu_hour: float,
    pair: HardwarePair,
) -> TrialOutcome:
    """The trial's final state and result; ``row`` is its store row (the trainer may have written it)."""
    final = dict(exit.final or {})
    row = dict(row or {})
    row_finished = row.get("state") == "finished" and finite(row.get("score")) is not None
    runtime = first_finite(final.get("metric/total_time"), row.get("runtime_s"), wall_s)
    agent_steps = first_finite(final.get("metric/agent_step"), row.get("agent_steps"))
    cost = first_finite(final.get("sweep/cost"), row.get("cost_usd"))
    sps = first_finite(final.get("overview/sps"), row.get("sps"))
    if cost is None and runtime is not None:
        cost = job_cost_usd(price_per_gpu_hour, pair.gpus, pair.nodes, runtime)

    def outcome(state: str, score: float | None = None, error: str | None = None) -> TrialOutcome:
        return TrialOutcome(state, score, cost, runtime, agent_steps, error, sps)

    if cancelled or exit.killed or exit.code in KILLED_EXIT_CODES:
        if cancelled:
            error = "cancelled by the sweep runner"
        elif exit.killed and exit.reason:
            error = exit.reason
        else:
            error = _describe_stop(exit.code) if exit.code is not None else "killed"
        return outcome("killed", error=error)
    if exit.code is None or exit.code == 0:
        score = finite(final.get("sweep/score"))
        if score is not None and final.get("state", "finished") == "finished":
            return outcome("finished", score)
        if row_finished:
            return outcome("finished", finite(row["score"]))
        if final.get("state") == "killed":
            return outcome("killed", error="the trial reported that it was killed")
        problem = exit.metrics_problem
        if exit.code == 0:
            return outcome(
                "failed",
                error=f"exited 0, but {problem}, so it left no result"
                if problem
                else _no_result(final),
            )
        error = (
            exit.reason
            or "its process ended while the runner was not watching and left no final result"
        )
        return outcome("failed", error=f"{error} ({problem})" if problem else error)
    detail = _describe_exit(exit.code)
    if exit.code == BAD_INPUT_EXIT_CODE:
        detail += " (the trial rejected its arguments)"
    # The cause the trial reported (e.g. "rank 1 of 2 ... killed by signal SIGKILL") beats the
    # last log line, which is often only its summary.
    cause = final.get("error") if isinstance(final.get("error"), str) else None
    reason = cause or exit.reason
    if exit.metrics_problem and not final:
        reason = f"{reason} ({exit.metrics_problem})" if reason else exit.metrics_problem
    if reason and any(m in reason.lower() for m in INFRASTRUCTURE_FAILURES):
        # The disk or the store failed, not the hyperparameters: never a failure for the
        # optimizer, never counted toward max_trials (a new suggestion replaces it).
        return outcome("killed", error=f"{detail}: {reason} (the disk or the store failed)")
    return outcome("failed", error=f"{detail}: {reason}" if reason else detail)
