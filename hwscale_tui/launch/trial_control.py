"""One trial at a time: where its log is, and stopping it (the app's trials screen uses these);
and the trials a dead sweep runner left behind: finding them, stopping them, recording them.

A trial of the local dispatcher runs in a process group of its own, recorded in the store
(``trials.pid``, ``pgid``, ``proc_start``). Stopping it sends SIGTERM to that group (SIGKILL
after a grace period), checked against the recorded start time so a reused pid is never
signalled. Its sweep then records the trial as ``killed`` and, as for any killed trial,
starts a new suggestion in its place (a killed trial does not count toward ``max_trials``).

A trial whose sweep runner died (SIGKILL, OOM) keeps running: nobody owns it. The per-launch
file (``registry``) and the store record its process group and identity; ``cancel`` stops such
trials, and so does the supervisor that reaps the dead runner (``run_loop``), with the same
``stop_process_trees``; both then record them with ``end_orphan_trial_rows``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..processes import ProcessGroupTarget, is_running, stop_process_trees
from ..records import plural
from ..store import Store
from . import registry

# what ``cancel`` records for the trials of a dead runner it ends
CANCELLED_WHY = "cancelled after its sweep runner died"
# how long the supervisor gives a dead runner's trials between SIGTERM and SIGKILL (as cancel's
# default --grace)
ORPHAN_GRACE_S = 5.0


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


def cluster_jobs_text(jobs: Sequence[tuple[str, str]]) -> str:
    """``Slurm job 10, 11; SkyPilot job NAME`` for (dispatcher, job) pairs."""
    names = {"slurm": "Slurm", "skypilot": "SkyPilot"}
    kinds: dict[str, list[str]] = {}
    for kind, job in jobs:
        kinds.setdefault(names.get(kind, kind or "cluster"), []).append(job)
    return "; ".join(
        f"{kind} job{'s' if len(ids) > 1 else ''} {', '.join(ids)}" for kind, ids in kinds.items()
    )


def finished_from_metrics(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """A trial's finished result from the final line of its metrics file (as a sweep runner
    that re-attaches reads it), as store fields; None when it left none."""
    from ..metrics_file import finite, read_final

    path = row.get("metrics_path")
    final = read_final(Path(path)) if path else None
    score = finite((final or {}).get("sweep/score"))
    if final is None or score is None or final.get("state", "finished") != "finished":
        return None
    fields: dict[str, Any] = {"state": "finished", "score": score, "error": None}
    for column, key in (
        ("runtime_s", "metric/total_time"),
        ("agent_steps", "metric/agent_step"),
        ("cost_usd", "sweep/cost"),
        ("sps", "overview/sps"),
    ):
        value = finite(final.get(key))
        if value is not None:
            fields[column] = value
    return fields


def end_orphan_trial_rows(
    st: Store,
    sweep: str,
    now: float,
    *,
    why: str = CANCELLED_WHY,
    sweep_status: str | None = "cancelled",
) -> tuple[int, int]:
    """The queued and running trials of a sweep whose runner is gone (SIGKILLed, or killed
    after the grace), recorded killed: they do not count toward max_trials, as a cancelled
    trial's never does, and no longer show as running. A trial that finished meanwhile (a
    cluster job that ran to its end while nobody watched) is recorded finished from its
    metrics file, as a re-attaching runner would: its result is not thrown away. A live runner
    records its own. How many trials it recorded killed, and finished. ``why`` is the killed
    trials' error; ``sweep_status`` the sweep's status once it no longer runs (None: left as
    it is -- the supervisor that stops a dead runner's trials leaves the pair resumable)."""
    sweep_row = st.get_sweep(sweep)
    if sweep_row is None or is_running(sweep_row.get("pid"), sweep_row.get("proc_start")):
        return 0, 0
    ended = done = 0
    with st.transaction():
        for row in st.trial_rows([sweep]):
            if row["state"] not in ("queued", "running"):
                continue
            finished = finished_from_metrics(row)
            if finished is not None:
                st.update_trial(row["run_id"], ended_at=now, **finished)
                st.add_event(
                    "finished",
                    f"score {finished['score']:g}, read from its metrics file: it finished "
                    "while its sweep runner was gone",
                    sweep=sweep,
                    run_id=row["run_id"],
                )
                done += 1
                continue
            st.update_trial(row["run_id"], state="killed", error=why, ended_at=now)
            st.add_event("killed", why, sweep=sweep, run_id=row["run_id"])
            ended += 1
        if sweep_status is not None and sweep_row["status"] == "running":
            st.upsert_sweep(sweep, status=sweep_status)
    return ended, done


def orphan_trials(
    experiment: str, sweeps: Sequence[str], data: dict | None = None
) -> list[tuple[str, ProcessGroupTarget]]:
    """Local trials of ``sweeps`` (from the per-launch file) still running while the sweep runner
    that started them is gone: nobody else will ever stop them."""
    data = registry.read(experiment) if data is None else data
    out: list[tuple[str, ProcessGroupTarget]] = []
    for run_id, t in data["trials"].items():
        if not isinstance(t, dict) or t.get("sweep") not in sweeps or not t.get("pgid"):
            continue
        if is_running(t.get("runner_pid"), t.get("runner_start")):
            continue  # its runner stops it when the pair is cancelled
        if is_running(t.get("pid"), t.get("proc_start")):
            out.append((run_id, ProcessGroupTarget(t["pid"], t["pgid"], t.get("proc_start"))))
    return out


def orphan_jobs(
    experiment: str, sweeps: Sequence[str], data: dict | None = None
) -> dict[str, list[tuple[str, str]]]:
    """Cluster jobs (dispatcher, job) of ``sweeps`` whose sweep runner is gone, per sweep:
    nobody else cancels them."""
    data = registry.read(experiment) if data is None else data
    out: dict[str, list[tuple[str, str]]] = {}
    for t in data["trials"].values():
        if not isinstance(t, dict) or t.get("sweep") not in sweeps:
            continue
        job = registry.cluster_job(t)
        if not job or is_running(t.get("runner_pid"), t.get("runner_start")):
            continue
        out.setdefault(t["sweep"], []).append((str(t.get("dispatcher") or ""), job))
    return out


def left_running(st: Store, experiment: str, sweep: str) -> dict[str, ProcessGroupTarget]:
    """The local trials of ``sweep`` still running while no sweep runner of it runs, by run id:
    those the per-launch file lists under a dead runner, and those the store has queued or
    running with a live process group of their own (a per-launch file that could not be written
    lists nothing). Empty while a live runner owns the sweep: it stops its own. Each process is
    matched by its pid and start time, so a recycled pid is never taken for a trial."""
    found = dict(orphan_trials(experiment, [sweep]))
    sweep_row = st.get_sweep(sweep)
    if sweep_row is None or is_running(sweep_row.get("pid"), sweep_row.get("proc_start")):
        return found
    for row in st.trial_rows([sweep]):
        if row["run_id"] in found or row["state"] not in ("queued", "running"):
            continue
        pid, pgid, start = row.get("pid"), row.get("pgid"), row.get("proc_start")
        if pid and pgid and is_running(pid, start):
            found[row["run_id"]] = ProcessGroupTarget(int(pid), int(pgid), start)
    return found
