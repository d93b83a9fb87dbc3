"""One trial at a time: where its log is, and stopping it (the app's trials screen uses these).

A trial of the local dispatcher runs in a process group of its own, recorded in the store
(``trials.pid``, ``pgid``, ``proc_start``). Stopping it sends SIGTERM to that group (SIGKILL
after a grace period), checked against the recorded start time so a reused pid is never
signalled. Its sweep then records the trial as ``killed`` and, as for any killed trial,
starts a new suggestion in its place (a killed trial does not count toward ``max_trials``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..processes import ProcessGroupTarget, is_running, stop_process_trees
from ..records import plural
from ..store import Store


@dataclass(frozen=True)
class TrialProcess:
    run_id: str
    state: str
    pid: int | None
    pgid: int | None
    proc_start: float | None
    log_path: str | None
    job_name: str | None  # a SkyPilot job's name, a Slurm job's id
    dispatcher: str | None = None  # its sweep's: local, skypilot or slurm (None: unrecorded)


def _row(run_id: str, store: Store | None) -> dict[str, Any] | None:
    own = store is None
    st: Store = Store.open_default() if store is None else store
    try:
        row = st.get_trial_row(run_id)
        if row is not None:
            sweep = st.get_sweep(row["sweep"]) if row.get("sweep") else None
            row = {**row, "dispatcher": (sweep or {}).get("dispatcher")}
        return row
    finally:
        if own:
            st.close()


def trial_process(run_id: str, store: Store | None = None) -> TrialProcess:
    """The store's record of a trial's process and log; UsageError when the store has none."""
    row = _row(run_id, store)
    if row is None:
        raise UsageError(
            f"trial {run_id} is not in the local store; accepted: a trial of a sweep run by the "
            "builtin runner (W&B-only trials are managed in W&B)."
        )
    return TrialProcess(
        run_id,
        row["state"],
        row["pid"],
        row["pgid"],
        row["proc_start"],
        row["log_path"],
        row["job_name"],
        row.get("dispatcher"),
    )


def trial_log_path(run_id: str, store: Store | None = None) -> str | None:
    """The trial's log file, when the store recorded one."""
    return trial_process(run_id, store).log_path


def stop_trial(run_id: str, *, grace_s: float = 5.0, store: Store | None = None) -> str:
    """SIGTERM the trial's process group (SIGKILL after ``grace_s``); returns what happened."""
    proc = trial_process(run_id, store)
    if proc.state != "running":
        raise UsageError(f"trial {run_id} is {proc.state}; accepted: a running trial.")
    if proc.job_name and not proc.pgid:
        # a Slurm trial's job_name is its job id: it was named a SkyPilot job, to be stopped
        # with `sky jobs cancel -y -n 34`
        how = (
            f"Slurm job {proc.job_name}; accepted: a local trial (stop this one with "
            f"`scancel {proc.job_name}`: its sweep records it killed and starts a new suggestion)"
            if proc.dispatcher == "slurm"
            else f"SkyPilot job {proc.job_name}; accepted: a local trial (stop this one with "
            f"`sky jobs cancel -y -n {proc.job_name}`)"
        )
        raise UsageError(f"trial {run_id} runs as {how}.")
    if proc.pid is None or proc.pgid is None or not is_running(proc.pid, proc.proc_start):
        raise UsageError(
            f"trial {run_id} has no live process on this machine; accepted: a running local trial."
        )
    result = stop_process_trees([ProcessGroupTarget(proc.pid, proc.pgid, proc.proc_start)], grace_s)
    how = f", {result.killed} needed SIGKILL" if result.killed else ""
    return (
        f"stopped trial {run_id} ({plural(result.signalled, 'process', 'processes')}{how}); its sweep records it as "
        "killed and starts a new suggestion in its place"
    )
