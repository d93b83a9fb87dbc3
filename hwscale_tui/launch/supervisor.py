"""The launch supervisor: what the CLI and the TUI call, and the detached process itself.

``launch`` freezes the experiment to its snapshot file, records one row per pair in the store
(planned start, argv, log path) and starts a supervisor process in a session of its own --
``python -m hwscale_tui.launch.supervisor --experiment NAME --launch-id N`` -- that starts the
sweeps on schedule and outlives the terminal, the app and the SSH link (see ``run_loop``).
``pair_status`` reads the truth back from the store and the process table; ``cancel`` stops
pairs without needing the supervisor; ``relaunch`` and ``launch(resume=True)`` start pairs
again without ever duplicating one that still runs.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, cast

from .. import config as cfgmod
from ..config import ExperimentConfig
from ..errors import ConfigError, StoreError, UsageError
from ..hardware import generation_of_sweep, pair_tag_of, parse_pair, strip_generation
from ..paths import app_paths, snapshot_path
from ..processes import (
    ProcessGroupTarget,
    SignalSafeEvent,
    StopResult,
    is_running,
    open_private_log,
    process_start_time,
    spawn_in_new_session,
    stop_process_trees,
)
from ..records import plural
from ..store import Store
from . import registry
from .commands import ExperimentPlan, plan_experiment, resolve_executable
from .files import (
    experiment_lock,
    experiment_logs_dir,
    log_tail,
    pair_log_path,
    supervisor_log_path,
)
from .remote import RemoteCancel, RemoteTrialsBoundary, cancel_remote_trials
from .run_loop import SupervisorLoop
from .schedule import DETACHED_START_LEAD_S, stagger_schedule
from .slurm_options import SLURM_CMD_TIMEOUT_S, checked_env, leftover_slurm_jobs
from .state import (
    CANCELLED,
    ENDED_STATUSES,
    EXITED,
    PENDING_STATUSES,
    RUNNING,
    SCHEDULED,
    STARTING,
    ExperimentStatus,
    LaunchInfo,
    LaunchRecords,
    PairRow,
    PairStatus,
    budget_spent,
    launch_label,
)
from .trial_control import cluster_jobs_text
from .trial_control import end_orphan_trial_rows as _end_orphan_trial_rows
from .trial_control import orphan_jobs as _orphan_jobs
from .trial_control import orphan_trials as _orphan_trials

__all__ = [
    "CancelOutcome",
    "ExperimentStatus",
    "LaunchInfo",
    "PairStatus",
    "cancel",
    "cancel_pairs",
    "cancel_remote",
    "current_experiment",
    "ended_runners",
    "launch",
    "log_tail",
    "pair_status",
    "relaunch",
    "resolve_experiment",
    "restart_command",
]

DEFAULT_GRACE_S = 5.0


@dataclass
class CancelOutcome:
    """What ``cancel`` did to one pair."""

    sweep: str
    previous_status: str
    cancelled: bool  # False: it had already ended
    stopped: StopResult | None = (
        None  # when its processes were signalled (shared by pairs stopped together)
    )
    detail: str = ""
    failed: bool = False  # a cluster's cancel command failed: its jobs are still recorded


@dataclass(frozen=True)
class _PairEntry:
    sweep: str
    gpus: int
    nodes: int
    argv: list[str]


@contextmanager
def _open_store(store: Store | None, *, readonly: bool = False) -> Iterator[Store]:
    """``store``, else the default store (``readonly``: never created, written or migrated)."""
    if store is not None:
        yield store
        return
    opened = Store.open_default(readonly=readonly)
    try:
        yield opened
    finally:
        opened.close()


def _pairs_text(sweeps: Sequence[str]) -> str:
    return ", ".join(pair_tag_of(s) for s in sweeps) or "none"


def _resolve_sweeps(experiment: str, names: Sequence[str], known: Sequence[str]) -> list[str]:
    """Pair names as the user wrote them (``g4n1``, ``4x1`` or a sweep name) -> sweep names of
    ``known`` (one generation's sweeps, so a pair tag is unambiguous)."""
    by_tag = {pair_tag_of(s): s for s in known}
    out: list[str] = []
    for text in names:
        t = text.strip()
        qualified = f"{experiment}.{t}"  # g4n1.gen2, as trials --sweep takes it
        if t in known:
            sweep = t
        elif qualified in known:
            sweep = qualified
        else:
            try:
                tag = parse_pair(t).tag
            except ValueError:
                raise UsageError(
                    f"{text!r} is not a pair; write pairs like g4n1 or {experiment}.g4n1."
                ) from None
            sweep = by_tag.get(tag, "")
            named = t if t.startswith(f"{experiment}.") else qualified
            if (
                sweep
                and "." in t
                and named != sweep
                and strip_generation(named) == strip_generation(sweep)
            ):
                # the same pair's sweep of another generation (exp.g4n1 once exp is on gen 2)
                if generation_of_sweep(t) == generation_of_sweep(sweep):
                    # g4n1.gen1: no sweep is named so (it read "generation 1's sweep of g4n1,
                    # and the pairs are generation 1's")
                    raise UsageError(
                        f"{text!r} names no sweep of experiment {experiment} (generation 1's "
                        f"sweeps have no .gen suffix); accepted: {tag} or {sweep}."
                    )
                raise UsageError(
                    f"{text!r} is generation {generation_of_sweep(t)}'s sweep of {tag}, and "
                    f"experiment {experiment}'s pairs are generation "
                    f"{generation_of_sweep(sweep)}'s; accepted: {tag} or {sweep}."
                )
            if not sweep or ("." in t and t != sweep):
                raise UsageError(
                    f"{text!r} is not a pair of experiment {experiment}; its pairs are: {_pairs_text(known)}."
                )
        if sweep not in out:
            out.append(sweep)
    return out


def _tag_or_text(text: str) -> str:
    """The pair tag ``text`` names (``g4n1`` for ``exp.g4n1.gen2``), else ``text`` itself."""
    try:
        return parse_pair(text.strip()).tag
    except ValueError:
        return text


def _snapshot_sweep(experiment: str) -> tuple[str, int | None]:
    """The launched snapshot's sweep goal and max trials (``"maximize"``, None without one)."""
    try:
        sweep = cfgmod.load(snapshot_path(experiment)).sweep
    except ConfigError:
        return "maximize", None
    return sweep.goal, sweep.max_trials


# -- status -------------------------------------------------------------------------------------


def _pair_view(
    experiment: str,
    row: PairRow,
    supervisor_alive: bool,
    progress: tuple[int | None, int | None, float | None] | None,
    own_end: tuple[str, float] | None = None,
) -> PairStatus:
    alive = row.status in (STARTING, RUNNING, CANCELLED) and is_running(row.pid, row.proc_start)
    status, note, never_started = row.status, None, False
    ended_at = row.ended_at
    if row.status == RUNNING and not alive and not supervisor_alive:
        status, note = EXITED, "ended while no supervisor was watching it: exit code unknown"
        if own_end is not None:  # it ended by itself, it did not die: nothing to resume
            note = (
                "ended while no supervisor was watching it (exit code unknown), after its "
                f"sweep recorded its own end ({own_end[0]})"
            )
            ended_at = own_end[1]
    elif row.status in PENDING_STATUSES and not supervisor_alive:
        status, never_started = SCHEDULED, True
        note = (
            "never started: its supervisor is gone "
            f"(hwscale-tui launch --experiment-name {experiment} --resume starts it)"
        )
    done, max_trials, best = progress or (None, None, None)
    return PairStatus(
        sweep_name=row.sweep,
        gpus=row.gpus,
        nodes=row.nodes,
        status=status,
        pid=row.pid,
        pgid=row.pgid,
        proc_start=row.proc_start,
        planned_start=row.planned_start,
        started_at=row.started_at,
        ended_at=ended_at,
        exit_code=row.exit_code,
        log_path=row.log_path,
        cancelled_by=row.cancelled_by,
        cancelled_at=row.cancelled_at,
        first_log_lines=row.first_log_lines,
        argv=row.argv,
        launch_id=row.launch_id,
        position=row.position,
        alive=alive,
        never_started=never_started,
        trials_done=done,
        max_trials=max_trials,
        best_score=best,
        note=note,
        generation=generation_of_sweep(row.sweep),
    )


def _own_end(st: Store, row: PairRow) -> tuple[str, float] | None:
    """(status, when) if the built-in sweep runner of a pair recorded as running recorded its
    own end (finished, failed, cancelled) after this pair started: it ended by itself
    while no supervisor watched, it did not die (SIGKILL, OOM), so ``launch --resume`` has
    nothing to resume and ``cancel`` nothing to end. None for a runner that died or for
    sweeps the store does not keep (Metta's, a custom ``launch.command``)."""
    if row.status != RUNNING or row.started_at is None:
        return None
    sweep = st.get_sweep(row.sweep)
    status = sweep.get("status") if sweep else None
    if status in (None, "running") or str(status).startswith("stopped"):
        return None  # died, or stopped on a full disk: --resume continues it (as ever)
    when = sweep.get("updated_at") if sweep else None
    if not isinstance(when, (int, float)) or when < row.started_at:
        return None  # an earlier run's end: this one died before recording anything
    return str(status), float(when)


def pair_status(
    experiment: str, store: Store | None = None, *, clock: Callable[[], float] = time.time
) -> ExperimentStatus:
    """The newest generation's pairs as they are now: the store's records checked against the
    process table (a sweep that died unwatched shows as exited; a pair whose supervisor is gone
    shows as never started). A pair of an earlier generation is left out once it has ended (its
    trials: ``status --generation N``); one that still runs, is due to start or left trials
    running stays, so nothing running hides."""
    with _open_store(store, readonly=True) as st:
        records = LaunchRecords(st)
        launches = records.launches(experiment)
        alive_ids = {
            ln.id
            for ln in launches
            if ln.ended_at is None and is_running(ln.supervisor_pid, ln.supervisor_start)
        }
        newest = st.latest_generation(experiment)
        # in the grid's order (GPUs per node, then nodes), also after one pair was relaunched
        rows = sorted(records.pair_rows(experiment), key=lambda r: (r.gpus, r.nodes))
        goal, launched_max = _snapshot_sweep(experiment) if rows else ("maximize", None)
        progress = records.trial_progress([r.sweep for r in rows], goal) if rows else {}
        for r in rows:
            # a pair not started yet runs to the launch's max trials, not to what its sweep
            # recorded in an earlier run (the runner records the new one when it starts)
            if r.status in PENDING_STATUSES and r.sweep in progress and launched_max:
                done, _, best = progress[r.sweep]
                progress[r.sweep] = (done, launched_max, best)
            elif (
                r.sweep not in progress and launched_max and generation_of_sweep(r.sweep) == newest
            ):
                # no sweep recorded yet (scheduled, or ended before its first trial): 0 of
                # the launch's max, as the app shows it (status showed "-")
                progress[r.sweep] = (0, launched_max, None)
        pairs = [
            _pair_view(
                experiment,
                r,
                r.launch_id in alive_ids,
                progress.get(r.sweep),
                _own_end(st, r) if r.launch_id not in alive_ids else None,
            )
            for r in rows
        ]
        orphaned = _note_orphans(experiment, pairs, supervisor_alive=bool(alive_ids))
        pairs = [p for p in pairs if p.generation == newest or _still_going(p, orphaned)]
        for p in pairs:
            if _stopped_on_full_disk(p):
                p.note = (
                    "stopped cleanly because the disk stayed full; free space, then "
                    f"hwscale-tui launch --experiment-name {experiment} --resume continues it"
                )
            elif _killed_short(p, newest):
                p.note = _restart_note(st, experiment, p)
        latest = launches[-1] if launches else None
        return ExperimentStatus(
            experiment=experiment,
            launch_id=latest.id if latest else None,
            supervisor_alive=bool(alive_ids),
            supervisor_pid=latest.supervisor_pid if latest else None,
            supervisor_log=latest.log_path if latest else None,
            pairs=pairs,
            checked_at=clock(),
            launch_status=latest.status if latest else None,
            generation=newest,
            generations=max(1, len(st.generations(experiment))),
            launch_number=len(launches) if latest else None,
        )


def ended_pair_tags(experiment: str) -> set[str]:
    """Tags of the newest generation's pairs whose sweeps ended (exited, cancelled, failed to
    start); empty when nothing was launched or the store cannot be read."""
    from .progress import ENDED_PAIR_STATUSES

    try:
        status = pair_status(experiment)
    except (StoreError, OSError, sqlite3.Error):
        return set()
    return {
        p.tag
        for p in status.pairs
        if p.generation == status.generation and p.status in ENDED_PAIR_STATUSES
    }


def _still_going(p: PairStatus, orphaned: set[str]) -> bool:
    """Running, due to start under a live supervisor, or with trials left running."""
    return (
        p.alive
        or (p.status in PENDING_STATUSES and not p.never_started)
        or p.sweep_name in orphaned
    )


def _note_orphans(
    experiment: str, pairs: list[PairStatus], *, supervisor_alive: bool = False
) -> set[str]:
    """A pair whose sweep runner is gone but whose trials still run says so (cancel stops them);
    returns those pairs' sweep names. Cluster jobs are re-attached by a new runner: ``launch
    --resume`` starts one for a pair that died while no supervisor watched it, ``launch --only
    PAIR`` for one whose death a supervisor recorded, even if that supervisor has ended since
    (``--resume`` then finds nothing to resume)."""
    data = registry.read(experiment)
    paused: dict[str, Any] = data["paused"] if isinstance(data.get("paused"), dict) else {}
    for p in pairs:
        if p.alive and p.sweep_name in paused:
            p.note = f"paused: {paused[p.sweep_name]}"
    orphaned: set[str] = set()
    for p in pairs:
        if p.alive:
            continue
        orphans = _orphan_trials(experiment, [p.sweep_name], data)
        if orphans:
            orphaned.add(p.sweep_name)
            pids = ", ".join(str(t.pid) for _, t in orphans)
            p.note = (
                f"{plural(len(orphans), 'trial')} still running without "
                f"{'its' if len(orphans) == 1 else 'their'} sweep runner "
                f"({'pid' if len(orphans) == 1 else 'pids'} {pids}); "
                f"hwscale-tui cancel --experiment-name {experiment} {pair_tag_of(p.sweep_name)} stops them"
            )
            continue
        jobs = _orphan_jobs(experiment, [p.sweep_name], data).get(p.sweep_name, [])
        if jobs:
            orphaned.add(p.sweep_name)
            resume = (
                ""
                if p.status == "cancelled"
                else f"{restart_command(experiment, p, supervisor_alive)} re-attaches them, "
            )
            p.note = (
                f"{plural(len(jobs), 'trial')} left in flight as cluster jobs by their dead sweep runner "
                f"({cluster_jobs_text(jobs)}); {resume}hwscale-tui cancel --experiment-name "
                f"{experiment} {pair_tag_of(p.sweep_name)} cancels them"
            )
    return orphaned


def restart_command(experiment: str, p: PairStatus, supervisor_alive: bool) -> str:
    """The command that starts ``p``'s gone sweep runner again (the new runner re-attaches the
    trials still in flight and submits those never submitted): ``launch --resume`` for a pair
    that died (or never started) while no supervisor watched it, ``launch --only PAIR`` for one
    whose death a supervisor recorded, even if that supervisor has ended since (``--resume``
    then finds nothing to resume)."""
    unwatched = p.never_started or _died_unwatched(p) or _stopped_on_full_disk(p)
    again = (
        "--resume" if unwatched and not supervisor_alive else f"--only {pair_tag_of(p.sweep_name)}"
    )
    return f"hwscale-tui launch --experiment-name {experiment} {again}"


def ended_runners(status: ExperimentStatus) -> dict[str, str]:
    """The pairs whose sweep runner is gone and that no live supervisor is about to start, by
    sweep, each with the command that starts it again (:func:`restart_command`): nothing of
    theirs is watched or submitted until then."""
    return {
        p.sweep_name: restart_command(status.experiment, p, status.supervisor_alive)
        for p in status.pairs
        if not p.alive and not (p.status in PENDING_STATUSES and not p.never_started)
    }


def current_experiment(store: Store | None = None) -> str | None:
    """The current experiment (docs/experiments.md): last saved, launched or selected."""
    from .experiments import current_name

    return current_name()


def resolve_experiment(
    name: str | None = None, experiment_file: str | None = None, store: Store | None = None
) -> str:
    """The experiment a command acts on: the name given, else the file's, else the current one."""
    from .experiments import current_name, resolve

    try:
        return resolve(name, experiment_file, select=False)[0].name
    except ConfigError:
        if experiment_file is not None:
            raise
        # a bad value in the experiment's own file: status and cancel need only its name
        return name or current_name()
    except StoreError:  # the store is damaged: the newest per-launch file names it
        latest = registry.latest_experiment()
        if latest is None:
            raise
        return latest


# -- launch -------------------------------------------------------------------------------------


@contextmanager
def _supervisor_log(experiment: str) -> Iterator[tuple[Path, int]]:
    """The detached supervisor's log, open for appending: (path, fd)."""
    path = supervisor_log_path(experiment)
    try:
        fd = open_private_log(path)
    except OSError as e:
        raise UsageError(
            f"cannot write the supervisor log {path} ({e.strerror or e}); accepted: a writable state location "
            "(set HWSCALE_HOME to one)."
        ) from None
    try:
        yield path, fd
    finally:
        os.close(fd)


def _schedule_and_start(
    st: Store,
    experiment: str,
    snapshot: Path,
    entries: list[_PairEntry],
    *,
    delay_s: float,
    sequential: bool,
    log: tuple[Path, int] | None,
    clock: Callable[[], float],
    drop: Sequence[str] = (),
    after_running: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, float | None], int]:
    """One transaction: the launch row, the pairs' rows (``drop``: rows of pairs no longer in the
    grid) and the supervisor process (detached when ``log`` is given, else this process).
    Readers see all of it or none of it. ``after_running`` (sequential): the first pair, too,
    waits until the experiment's pairs still running from an earlier launch have exited.
    ``extra_env``: variables the detached supervisor (and so its pairs) gets beside ours."""
    records = LaunchRecords(st)
    now = clock()
    planned = stagger_schedule(
        now + (DETACHED_START_LEAD_S if log else 0.0), len(entries), delay_s, sequential
    )
    if sequential and after_running and planned:
        planned[0] = None
    with st.transaction():
        records.delete_pairs(experiment, drop)
        launch_id = records.create_launch(experiment, snapshot, log[0] if log else None, now)
        # its place among the experiment's launches, with the store's id for the logs
        named = f"{launch_label(records.launch_number(experiment, launch_id), launch_id)} (id {launch_id})"
        for position, (entry, start) in enumerate(zip(entries, planned)):
            records.schedule_pair(
                experiment,
                entry.sweep,
                gpus=entry.gpus,
                nodes=entry.nodes,
                launch_id=launch_id,
                position=position,
                planned_start=start,
                argv=entry.argv,
                log_path=pair_log_path(experiment, entry.sweep),
            )
        if log is None:
            pid = os.getpid()
        else:
            argv = [
                sys.executable,
                "-m",
                "hwscale_tui.launch.supervisor",
                "--experiment",
                experiment,
                "--launch-id",
                str(launch_id),
            ]
            os.write(
                log[1],
                f"--- {named} of {experiment}: {plural(len(entries), 'pair')} ---\n".encode(),
            )
            proc = spawn_in_new_session(
                argv, log[1], env={**os.environ, **extra_env} if extra_env else None
            )
            # Reap it if it ends while we still run (the TUI), so it never lingers as a zombie.
            threading.Thread(
                target=proc.wait, name=f"reap-supervisor-{launch_id}", daemon=True
            ).start()
            pid = proc.pid
        records.set_supervisor(launch_id, pid, process_start_time(pid))
        st.add_event(
            "launch",
            f"{named}: {plural(len(entries), 'pair')} ({_pairs_text([e.sweep for e in entries])})",
        )
    return launch_id, {e.sweep: p for e, p in zip(entries, planned)}, pid


def _launch_info(
    experiment: str,
    st: Store,
    snapshot: Path,
    launch_id: int | None,
    pid: int | None,
    log: tuple[Path, int] | None,
    planned: dict[str, float | None],
    **more,
) -> LaunchInfo:
    return LaunchInfo(
        experiment=experiment,
        launch_id=launch_id,
        launch_number=(
            LaunchRecords(st).launch_number(experiment, launch_id)
            if launch_id is not None
            else None
        ),
        experiment_file=str(snapshot),
        store_path=str(st.path),
        logs_dir=str(experiment_logs_dir(experiment)),
        supervisor_pid=pid,
        supervisor_log=str(log[0]) if log else None,
        sweeps=list(planned),
        planned_start=planned,
        **more,
    )


def launch(
    cfg: ExperimentConfig,
    *,
    extra_args: Sequence[str] = (),
    foreground: bool = False,
    resume: bool = False,
    only: list[str] | None = None,
    new_generation: bool = False,
    hint_command: str | None = None,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    on_started: Callable[[], None] | None = None,
) -> LaunchInfo:
    """Start the experiment's pairs under a supervisor; returns at once unless ``foreground``.

    Refused (UsageError) while a supervisor of the experiment runs, or when a pair to start
    still runs from an earlier launch. ``resume`` starts only the pairs that never started
    (their supervisor died), with their recorded commands. ``only`` limits the launch to some
    pairs (``g4n1`` or sweep names); it is allowed beside a running supervisor as long as the
    pairs it names are not scheduled or running.

    Refused too (GenerationChangeRequired) when settings that decide comparability changed since
    the experiment's newest generation ran, unless ``new_generation``: then the pairs run as a new
    generation (sweep names ``<name>.g<G>n<N>.gen<K>``) and earlier trials are kept apart. A
    price change re-costs the generation's trials instead. ``hint_command`` is the command the
    refusal tells the user to re-run with ``--new-generation``. ``on_started`` is called once the
    pairs are scheduled (before a foreground launch supervises them), never on a refusal.
    """
    from .experiments import remember
    from .generations import GenerationChangeRequired, decide_for_launch, same_as_ran_command

    snapshot = snapshot_path(cfg.name)
    cfg = cfg.copy()
    plan = plan_experiment(cfg, snapshot, list(extra_args))
    plan_warnings = list(plan.warnings) + [
        f"{pp.pair.tag}: {w}" for pp in plan.pairs for w in pp.warnings
    ]
    warnings = list(plan_warnings)
    if plan.blockers and not resume:
        raise UsageError(plan.blockers[0] + ".")
    if not plan.pairs and not resume:
        raise UsageError(
            f"experiment {cfg.name} has no valid pair to launch; accepted: a grid with at least one valid pair "
            "(see hwscale-tui plan)."
        )
    if only and not resume:
        # A pair's tag is the same in every generation: refuse a pair the grid does not have
        # before the store, its folders and the launch lock are created (a full sweep name is
        # checked again below, once the generation is known).
        known = [pp.sweep_name for pp in plan.pairs]
        _resolve_sweeps(cfg.name, [_tag_or_text(t) for t in only], known)
        for text in only:  # a sweep name of another experiment: refused here, not below
            t = text.strip()
            if "." in t and not t.startswith(f"{cfg.name}."):
                raise UsageError(
                    f"{text!r} is not a pair of experiment {cfg.name}; its pairs are: {_pairs_text(known)}."
                )
    if resume and store is None and not pair_status(cfg.name).pairs:
        # refused before the store, its folders and the launch lock are created (a read-only
        # look: a refused resume of a never-launched experiment left them behind, exit 2)
        _refuse_resume_of_nothing(cfg.name)
    hint = hint_command or f"hwscale-tui launch --experiment-name {cfg.name}"
    with _open_store(store) as st:
        with experiment_lock(cfg.name):
            status = pair_status(cfg.name, st)
            # before the generation check: its hint (--new-generation) would be refused next
            _refuse_beside_a_live_supervisor(cfg.name, status, resume=resume, only=only)
            decision = None
            if resume:
                cfg.generation = st.latest_generation(cfg.name)
                if status.pairs:  # never launched: _pairs_to_launch says so
                    _refuse_an_edited_snapshot(st, cfg.name)
            else:
                try:
                    decision = decide_for_launch(
                        st,
                        cfg,
                        [*cfg.launch.extra_args, *extra_args],
                        new_generation=new_generation,
                        # and the pairs a live supervisor is still to start: one started after
                        # the new generation began ran the new snapshot as the new generation's
                        # sweep of a pair that generation never launched
                        running=[
                            pair_tag_of(p.sweep_name)
                            for p in status.pairs
                            if p.alive or (p.status in PENDING_STATUSES and not p.never_started)
                        ],
                        hint_command=hint,
                    )
                except GenerationChangeRequired as refused:
                    # `launch --only PAIR`, as status offers it for a pair whose runner died,
                    # reads the experiment's file: after a launch given settings on its command
                    # line (--total-timesteps 600000) it differs from what the generation ran.
                    # Offer the launch that goes on with what ran (re-attaching its jobs).
                    same = (
                        same_as_ran_command(st, cfg.name, [_tag_or_text(t) for t in only])
                        if only
                        else None
                    )
                    if same is None:
                        raise
                    raise GenerationChangeRequired(refused.comparison, hint, same) from None
                cfg.generation = decision.generation
                plan = plan_experiment(cfg, snapshot, list(extra_args))
            entries, left_running, drop, spent = _pairs_to_launch(
                cfg, plan, status, resume=resume, only=only, store=st
            )
            if spent:
                warnings.append(
                    f"{_pairs_text(spent)} already ran {plural(cfg.sweep.max_trials, 'trial')} in "
                    f"generation {cfg.generation}: not started again (a higher sweep.max_trials "
                    "runs more)"
                )
            if not entries:  # the plan's warnings are of pairs that start: none does now
                return _launch_info(
                    cfg.name,
                    st,
                    snapshot,
                    None,
                    None,
                    None,
                    {},
                    left_running=left_running,
                    warnings=[w for w in warnings if w not in plan_warnings],
                    generation=cfg.generation,
                )
            if only and not resume:  # before anything is written
                _refuse_changing_what_pending_pairs_read(cfg, status, [e.sweep for e in entries])
            beside = _local_pairs_elsewhere(st, cfg)
            if beside:
                warnings.append(beside)
            with nullcontext() if foreground else _supervisor_log(cfg.name) as log:
                if decision is not None:
                    decision.record(st)
                    if decision.note:
                        warnings.insert(0, decision.note)
                if not resume:
                    cfgmod.save(cfg.copy(), snapshot)
                # the sbatch --test-only checks made for this launch: its sweeps skip repeats
                checked = checked_env([e.sweep for e in entries])
                # sequential: the first pair, too, waits for the experiment's pairs still
                # running (a resume: the one its dead supervisor left running; --only: those
                # a live supervisor runs or is still to start)
                waits_for = _sequential_waits_for(
                    cfg.launch.sequential, status, [e.sweep for e in entries]
                )
                launch_id, planned, pid = _schedule_and_start(
                    st,
                    cfg.name,
                    snapshot,
                    entries,
                    delay_s=cfg.launch.delay_s,
                    sequential=cfg.launch.sequential,
                    log=log,
                    clock=clock,
                    drop=drop,
                    extra_env=checked,
                    after_running=bool(waits_for),
                )
            remember(cfg.name, cfg.path, store=st)
        if on_started is not None:
            on_started()
        info = _launch_info(
            cfg.name,
            st,
            snapshot,
            launch_id,
            pid,
            log,
            planned,
            left_running=left_running,
            foreground=foreground,
            warnings=warnings,
            generation=cfg.generation,
            new_generation=bool(decision and decision.started_new),
            spent=spent,
            waits_for=waits_for,
        )
        if foreground:  # progress lines go to stderr, so stdout stays for the result (--json)
            SupervisorLoop(
                st, launch_id, clock=clock, out=sys.stderr, foreground=True, extra_env=checked
            ).run()
        return info


def _local_pairs_elsewhere(st: Store, cfg: ExperimentConfig) -> str | None:
    """A local launch beside another experiment's local pairs that run now or are due to
    start under a live supervisor (two experiments launched together: the other's first pair
    starts a second after its launch): their trials and this launch's share this machine's
    cores, and neither experiment's times are its own. A sequential launch waits only for
    its own experiment's pairs, and analyze sees one experiment's trials, so nothing else
    would say so."""
    if cfg.experiment.dispatcher != "local":
        return None
    records = LaunchRecords(st)
    live: dict[int, bool] = {}

    def supervised(launch_id: int | None) -> bool:
        if launch_id is None:
            return False
        if launch_id not in live:
            ln = records.get_launch(launch_id)
            live[launch_id] = bool(
                ln is not None
                and ln.ended_at is None
                and is_running(ln.supervisor_pid, ln.supervisor_start)
            )
        return live[launch_id]

    running: dict[str, list[str]] = {}
    for r in records.active_pair_rows_elsewhere(cfg.name):
        due = r.status in PENDING_STATUSES and r.pid is None
        if due and not supervised(r.launch_id):
            continue  # never starts unless resumed: nothing shares the cores
        if not due and not is_running(r.pid, r.proc_start):
            continue
        row = st.get_sweep(r.sweep)
        dispatcher = row.get("dispatcher") if row else None
        if dispatcher is None:  # its runner has not recorded the sweep yet: its snapshot says
            with contextlib.suppress(ConfigError, OSError):
                dispatcher = cfgmod.load(snapshot_path(r.experiment)).experiment.dispatcher
        if dispatcher == "local":
            running.setdefault(r.experiment, []).append(f"{r.tag} (due to start)" if due else r.tag)
    if not running:
        return None
    from ..hardware import usable_cores

    cores = usable_cores()
    which = "; ".join(f"experiment {name}: {', '.join(tags)}" for name, tags in running.items())
    due_text = (
        " or are due to start"
        if any(t.endswith("(due to start)") for tags in running.values() for t in tags)
        else ""
    )
    first = next(iter(running))
    return (
        f"other experiments' pairs run on this machine now{due_text} ({which}): this "
        "launch's trials "
        f"share the {plural(cores, 'usable core')} with theirs, so the times and steps per "
        "second of both include the other's load (analyze sees one experiment and cannot "
        f"tell); to measure each alone, wait until they end (hwscale-tui status "
        f"--experiment-name {first}) or cancel them"
    )


def _sequential_waits_for(
    sequential: bool, status: ExperimentStatus, starting: Sequence[str]
) -> list[str]:
    """The experiment's pairs a sequential launch of ``starting`` waits for: those still
    running (also cancelled and still stopping) and those a live supervisor is still to start.
    Its first pair starts once they have ended (``SupervisorLoop.others_busy``), as the
    experiment's pairs run one after another: on one machine, pairs running at once share its
    cores and each pair's measured times carry the other's load."""
    if not sequential:
        return []
    return [
        p.sweep_name
        for p in status.pairs
        if p.sweep_name not in starting
        and (p.alive or (p.status in PENDING_STATUSES and not p.never_started))
    ]


def _refuse_an_edited_snapshot(st: Store, name: str) -> None:
    """``--resume`` starts pairs that read the launch snapshot. Edited by hand since the
    generation ran, in a setting that decides comparability, every pair exited 2 at once (its
    sweep refuses to mix trials) while the resume said it launched them; unreadable, every pair
    failed. Refused first, nothing started. Forwarded arguments come from the pairs' recorded
    commands and the price only re-costs, so neither is compared."""
    from .generations import snapshot_edits

    path = snapshot_path(name)
    if not path.is_file():
        return  # _pairs_to_launch says it is gone
    try:
        snap = cfgmod.load(path)
    except ConfigError:
        raise UsageError(
            f"the launch snapshot {path} of experiment {name} no longer reads as an experiment "
            f"file (hwscale-tui doctor says why), so no pair --resume starts could run; "
            f"accepted: the snapshot put back, or a fresh start with hwscale-tui launch "
            f"--experiment-name {name}."
        ) from None
    comp = snapshot_edits(st, snap)
    if comp is not None:
        raise UsageError(
            f"the launch snapshot {path} of experiment {name} was changed since generation "
            f"{comp.generation} ran ({comp.describe()}), and every pair --resume starts reads "
            "it and would exit at once (its sweep refuses to mix trials); accepted: the "
            "settings put back in the snapshot, or the change made in the experiment's own "
            "file and launched with --new-generation."
        )


def _died_unwatched(p: PairStatus) -> bool:
    """A pair whose sweep runner died (SIGKILL, OOM...) while no supervisor watched: its sweep
    never recorded an end, so ``--resume`` starts its runner again, which resumes the sweep
    from the store and re-attaches the trials still running (local pids, Slurm job ids)."""
    return p.status == EXITED and p.exit_code is None and p.ended_at is None and not p.alive


def _stopped_on_full_disk(p: PairStatus) -> bool:
    """A sweep that stopped cleanly because the disk stayed full: ``--resume`` continues it."""
    return p.status == EXITED and p.exit_code == registry.EXIT_STORE_UNAVAILABLE and not p.alive


def _killed_short(p: PairStatus, newest: int) -> bool:
    """A sweep runner of the newest generation killed by a signal (SIGKILL, the OOM killer)
    while its supervisor watched, before its trials were done: ``launch --only`` starts it
    again (``--resume`` does not: it was seen to end)."""
    return (
        p.status == EXITED
        and p.exit_code is not None
        and p.exit_code < 0
        and p.note is None
        and not p.alive
        and p.generation == newest
        and not (p.max_trials and p.trials_done is not None and p.trials_done >= p.max_trials)
    )


def _restart_note(st: Store, experiment: str, p: PairStatus) -> str:
    """``killed by signal 9 before its trials were done: hwscale-tui launch ... --only g1n1
    starts it again ...``: the launch with the settings its generation ran with (its launch
    snapshot, which differs from the experiment's file after a launch given settings on its
    command line), else by the experiment's name."""
    from .generations import same_as_ran_command

    command = None
    with contextlib.suppress(StoreError, sqlite3.Error, OSError):
        command = same_as_ran_command(st, experiment, [p.tag])
    command = command or f"hwscale-tui launch --experiment-name {experiment} --only {p.tag}"
    return (
        f"killed by signal {-(p.exit_code or 0)} before its trials were done: {command} "
        "starts it again (a built-in sweep resumes: its finished trials count, the trials "
        "the kill stopped are replaced)"
    )


def _refuse_resume_of_nothing(name: str) -> NoReturn:
    raise UsageError(
        f"experiment {name} has never been launched, so there is nothing to resume; run "
        f"hwscale-tui launch --experiment-name {name}."
    )


def _refuse_beside_a_live_supervisor(
    name: str, status: ExperimentStatus, *, resume: bool, only: list[str] | None
) -> None:
    """A launch of every pair (or a resume) while a supervisor of the experiment runs would
    duplicate it (``--only`` adds pairs beside it)."""
    if status.supervisor_alive and (only is None or resume):
        raise UsageError(
            f"experiment {name} is already running (supervisor pid {status.supervisor_pid}, "
            f"{status.launch_text}); watch it with hwscale-tui status --experiment-name {name}, or stop it with hwscale-tui cancel --experiment-name {name} --all first."
        )


# Keys a scheduled pair's sweep never reads from the snapshot: its place in the grid and its
# start time are recorded in the store when it is scheduled, and the analysis is not the sweep's.
_SNAPSHOT_KEYS_PENDING_PAIRS_IGNORE = (
    "grid.gpu_counts",
    "grid.node_counts",
    "grid.exclude",
    "grid.max_gpus_per_node",
    "launch.delay_s",
    "launch.sequential",
)


def _changed_settings(old: ExperimentConfig, new: ExperimentConfig) -> list[str]:
    """Dotted keys whose values differ between two experiments, but for those a pair that is
    already scheduled does not read (above) and the ``[analysis]`` section."""
    a, b = old.to_dict(), new.to_dict()
    keys = sorted(
        f"{section}.{key}"
        for section in set(a) | set(b)
        if section != "analysis"
        for key in set(a.get(section, {})) | set(b.get(section, {}))
        if a.get(section, {}).get(key) != b.get(section, {}).get(key)
    )
    return [k for k in keys if k not in _SNAPSHOT_KEYS_PENDING_PAIRS_IGNORE]


def _refuse_changing_what_pending_pairs_read(
    cfg: ExperimentConfig, status: ExperimentStatus, starting: Sequence[str]
) -> None:
    """``launch --only`` rewrites the experiment's snapshot, which every pair of the experiment
    reads when its sweep starts: pairs still waiting to start (scheduled by a live supervisor,
    or left by a dead one for ``--resume``) would start with settings they were not launched
    with. Refused when the settings they read changed; adding pairs to the grid is allowed."""
    waiting = [
        p.sweep_name
        for p in status.pairs
        if p.status in PENDING_STATUSES and p.sweep_name not in starting
    ]
    if not waiting:
        return
    try:
        old = cfgmod.load(snapshot_path(cfg.name), env={})
    except ConfigError:
        return  # no readable snapshot: nothing the waiting pairs were launched with to keep
    changed = _changed_settings(old, cfg)
    if not changed:
        return
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    tags, one = _pairs_text(waiting), len(waiting) == 1
    orphans = {p.sweep_name for p in status.pairs if p.never_started} & set(waiting)
    resume = (
        f" (hwscale-tui launch --experiment-name {cfg.name} --resume starts "
        f"{_pairs_text(sorted(orphans))}: {'its' if len(orphans) == 1 else 'their'} supervisor "
        "is gone)"
        if orphans
        else ""
    )
    raise UsageError(
        f"launching {_pairs_text(starting)} now would change {shown} for {tags} of experiment "
        f"{cfg.name}, which {'is' if one else 'are'} still to start with the settings "
        f"{'it was' if one else 'they were'} launched with; accepted: the launched settings "
        f"(only pairs added to the grid), or this launch once {tags} started{resume} or after "
        f"hwscale-tui cancel {','.join(pair_tag_of(s) for s in waiting)}."
    )


def _pairs_to_launch(
    cfg: ExperimentConfig,
    plan: ExperimentPlan,
    status: ExperimentStatus,
    *,
    resume: bool,
    only: list[str] | None,
    store: Store | None = None,
) -> tuple[list[_PairEntry], list[str], list[str], list[str]]:
    """The pairs this launch starts, the live pairs it leaves alone, the rows of pairs no
    longer in the grid, and the pairs left out because their sweep's budget is spent
    (``state.budget_spent``). Raises UsageError when the launch would duplicate a supervisor or a
    running sweep, or when every pair's budget is spent."""
    name = cfg.name
    live = [p.sweep_name for p in status.pairs if p.alive]
    busy = {
        p.sweep_name
        for p in status.pairs
        if p.alive or (p.status in PENDING_STATUSES and not p.never_started)
    }
    _refuse_beside_a_live_supervisor(name, status, resume=resume, only=only)
    if resume:
        if not status.pairs:
            _refuse_resume_of_nothing(name)
        if not snapshot_path(name).is_file():
            raise UsageError(
                f"the snapshot {snapshot_path(name)} of experiment {name} is gone; start afresh with hwscale-tui launch --experiment-name {name}."
            )
        known = [p.sweep_name for p in status.pairs]
        wanted = set(_resolve_sweeps(name, only, known) if only else known)
        todo = [
            p
            for p in status.pairs
            if (p.never_started or _died_unwatched(p) or _stopped_on_full_disk(p))
            and p.sweep_name in wanted
        ]
        return [_PairEntry(p.sweep_name, p.gpus, p.nodes, p.argv) for p in todo], live, [], []
    known = [pp.sweep_name for pp in plan.pairs]
    chosen = _resolve_sweeps(name, only, known) if only else known
    done = budget_spent(cfg, status, chosen, store)
    # a spent sweep started again resumes, finds its trials done and ends at once: --only
    # PAIR was offered as the way to 'start it anyway', and started a sweep that did nothing
    more = (
        "a higher sweep.max_trials (--max-trials), or --new-generation to run the experiment again"
    )
    if done and only:
        one = len(done) == 1
        raise UsageError(
            f"{_pairs_text(done)} of experiment {name} already ran "
            f"{plural(cfg.sweep.max_trials, 'trial')} in generation {cfg.generation}, so "
            f"{'its sweep' if one else 'their sweeps'} would find {'its' if one else 'their'} "
            f"trials done and end at once; accepted: {more}."
        )
    if done and len(done) == len(chosen):
        raise UsageError(
            f"every pair of experiment {name} has already run its "
            f"{plural(cfg.sweep.max_trials, 'trial')} (generation {cfg.generation}); accepted: "
            f"{more}."
        )
    chosen = [s for s in chosen if s not in done]
    clash = [s for s in chosen if s in busy]
    if clash and status.supervisor_alive:  # --only beside it: --resume would be refused
        raise UsageError(
            f"{_pairs_text(clash)} of experiment {name} still scheduled or running under its "
            f"live supervisor ({status.launch_text}), which starts a scheduled pair "
            f"itself; accepted: hwscale-tui status --experiment-name {name} to follow it, or "
            f"hwscale-tui cancel --experiment-name {name} {' '.join(pair_tag_of(s) for s in clash)} "
            "first to launch it again."
        )
    if clash:
        raise UsageError(
            f"{_pairs_text(clash)} of experiment {name} still scheduled or running from an earlier launch; "
            f"accepted: hwscale-tui launch --experiment-name {name} --resume (starts only pairs that never started), or cancel them first."
        )
    # A full launch replaces the experiment's pair list (rows of live sweeps stay visible).
    drop = (
        []
        if only
        else [p.sweep_name for p in status.pairs if p.sweep_name not in known and not p.alive]
    )
    entries = [
        _PairEntry(pp.sweep_name, pp.pair.gpus, pp.pair.nodes, resolve_executable(pp.argv))
        for pp in plan.pairs
        if pp.sweep_name in chosen
    ]
    return entries, [s for s in live if s not in chosen], drop, done


def relaunch(
    experiment: str,
    sweeps: Sequence[str],
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
) -> LaunchInfo:
    """Start ended pairs again (exited, failed to start, cancelled, or never started), with
    their recorded commands, under a new supervisor; the others keep running undisturbed."""
    snapshot = snapshot_path(experiment)
    if not snapshot.is_file():
        raise UsageError(
            f"experiment {experiment} has never been launched (no {snapshot}); run hwscale-tui launch --experiment-name {experiment} first."
        )
    cfg = cfgmod.load(snapshot)
    if not sweeps:
        raise UsageError("name at least one pair to relaunch, like g4n1.")
    with _open_store(store) as st, experiment_lock(experiment):
        status = pair_status(experiment, st)
        chosen = _resolve_sweeps(experiment, sweeps, [p.sweep_name for p in status.pairs])
        views = [p for p in status.pairs if p.sweep_name in chosen]
        busy = [
            p.sweep_name
            for p in views
            if p.alive or (p.status not in ENDED_STATUSES and not p.never_started)
        ]
        if busy:
            raise UsageError(
                f"{_pairs_text(busy)} still scheduled or running; accepted: pairs that exited, failed to start "
                "or were cancelled."
            )
        entries = [_PairEntry(p.sweep_name, p.gpus, p.nodes, p.argv) for p in views]
        # sequential: it waits for the pairs still running or still to start (it started at
        # once beside them: 3 ranks on 2 cores, both pairs' times carrying the other's load)
        waits_for = _sequential_waits_for(cfg.launch.sequential, status, chosen)
        with _supervisor_log(experiment) as log:
            launch_id, planned, pid = _schedule_and_start(
                st,
                experiment,
                snapshot,
                entries,
                delay_s=cfg.launch.delay_s,
                sequential=cfg.launch.sequential,
                log=log,
                clock=clock,
                after_running=bool(waits_for),
            )
        return _launch_info(
            experiment, st, snapshot, launch_id, pid, log, planned, waits_for=waits_for
        )


# -- cancel -------------------------------------------------------------------------------------


def cancel_pairs(
    experiment: str,
    sweeps: Sequence[str] | None,
    *,
    by: str,
    grace_s: float = DEFAULT_GRACE_S,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    launch_id: int | None = None,
) -> list[CancelOutcome]:
    """Cancel pairs (all when ``sweeps`` is None): a scheduled pair never starts; a running one
    gets SIGTERM to its whole process tree, SIGKILL after ``grace_s``. Works without the
    supervisor. Records who cancelled and when. ``launch_id``: only the pairs that launch
    still owns (an interrupted ``launch --foreground``); a pair a newer launch started again
    since is left alone, and its outcome says so."""
    if not math.isfinite(grace_s) or grace_s < 0:
        raise UsageError(
            f"grace period {grace_s:g} s is not allowed; accepted: a number of seconds >= 0, like 5."
        )
    try:
        return _cancel_with_store(experiment, sweeps, by, grace_s, store, clock, launch_id)
    except StoreError as e:  # damaged, locked or unwritable: the per-launch file still knows
        outcomes = _cancel_from_registry(experiment, sweeps, grace_s, str(e))
        if outcomes is None:
            raise
        return outcomes


def _nothing_to_cancel(experiment: str) -> UsageError:
    return UsageError(
        f"experiment {experiment} has no launched pairs, so there is nothing to cancel; see hwscale-tui status --experiment-name {experiment}."
    )


def _cancel_with_store(
    experiment: str,
    sweeps: Sequence[str] | None,
    by: str,
    grace_s: float,
    store: Store | None,
    clock: Callable[[], float],
    launch_id: int | None = None,
) -> list[CancelOutcome]:
    if store is None and not app_paths().store.exists():
        # Nothing was launched here (or the store was deleted while pairs run): never create
        # the store, or its folders, just to refuse.
        from_registry = _cancel_from_registry(
            experiment, sweeps, grace_s, f"the store {app_paths().store} does not exist"
        )
        if from_registry is not None:
            return from_registry
        raise _nothing_to_cancel(experiment)
    with _open_store(store) as st:
        records = LaunchRecords(st)
        status = pair_status(experiment, st)
        if not status.pairs:
            from_registry = _cancel_from_registry(
                experiment, sweeps, grace_s, f"the store {st.path} has no record of it"
            )
            if from_registry is not None:  # the store was deleted or replaced while pairs run
                return from_registry
            raise _nothing_to_cancel(experiment)
        views = {p.sweep_name: p for p in status.pairs}
        chosen = list(views) if sweeps is None else _resolve_sweeps(experiment, sweeps, list(views))
        # pairs a newer launch took over since: theirs to cancel, not this launch's (cancelling
        # them stopped the newer launch's sweep and answered as if it were this one's)
        taken = {
            sweep: views[sweep].launch_id
            for sweep in chosen
            if launch_id is not None and views[sweep].launch_id != launch_id
        }
        left_alone = [
            CancelOutcome(
                sweep,
                views[sweep].status,
                False,
                detail=f"left alone: {_launch_name(records, experiment, other)} started it "
                "again since, and owns it now",
            )
            for sweep, other in taken.items()
        ]
        chosen = [sweep for sweep in chosen if sweep not in taken]
        outcomes: list[CancelOutcome] = []
        to_stop: list[tuple[CancelOutcome, ProcessGroupTarget]] = []
        dead: list[CancelOutcome] = []  # pairs whose runner died unwatched: nothing to signal
        for sweep in chosen:
            view = views[sweep]
            # a pair whose runner died unwatched shows as exited, but its row still says
            # running and ``launch --resume`` would start it again: cancelling it ends it
            died = _died_unwatched(view)
            before = (
                records.mark_cancelled(experiment, sweep, by, clock())
                if view.status not in ENDED_STATUSES or died
                else None
            )
            if before is not None and died:
                outcome = CancelOutcome(
                    sweep,
                    EXITED,
                    True,
                    detail="its sweep runner had died; launch --resume no longer starts it",
                )
                outcomes.append(outcome)
                dead.append(outcome)
                st.add_event(
                    "pair_cancelled",
                    f"{sweep} cancelled by {by} (its sweep runner had died)",
                    sweep=sweep,
                )
                continue
            if before is None:
                outcome = CancelOutcome(sweep, view.status, False, detail=f"already {view.status}")
                if view.alive:  # cancelled earlier and still going: stop it again
                    to_stop.append(
                        (
                            outcome,
                            ProcessGroupTarget(
                                cast(int, view.pid),  # alive: it has a pid
                                cast(int, view.pgid or view.pid),
                                view.proc_start,
                            ),
                        )
                    )
                outcomes.append(outcome)
                continue
            outcome = CancelOutcome(sweep, before.status, True)
            if before.status == RUNNING and before.pid:
                to_stop.append(
                    (
                        outcome,
                        ProcessGroupTarget(
                            before.pid, before.pgid or before.pid, before.proc_start
                        ),
                    )
                )
            elif before.status == STARTING:
                outcome.detail = (
                    "was starting: its supervisor stops it as soon as its process exists"
                )
            else:
                outcome.detail = "will not start"
            outcomes.append(outcome)
            st.add_event(
                "pair_cancelled", f"{sweep} cancelled by {by} (was {before.status})", sweep=sweep
            )
        orphaned: dict[str, set[str]] = {}  # cluster jobs cancelled through the per-launch file
        orphans: dict[int, int] = {}  # per outcome: trials its dead sweep runner left running
        for outcome in outcomes:  # trials whose sweep runner died keep running unowned
            for run_id, target in _orphan_trials(experiment, [outcome.sweep]):
                to_stop.append((outcome, target))
                orphans[id(outcome)] = orphans.get(id(outcome), 0) + 1
                st.add_event(
                    "orphan_cancelled", f"{run_id}: its sweep runner is gone", sweep=outcome.sweep
                )
            jobs = _orphan_jobs(experiment, [outcome.sweep]).get(outcome.sweep, [])
            orphaned[outcome.sweep] = {job for _, job in jobs}
            if jobs:
                said, _, failed = cancel_cluster_jobs(jobs, experiment=experiment)
                outcome.failed = outcome.failed or failed
                outcome.detail = (outcome.detail + "; " if outcome.detail else "") + (
                    f"orphaned cluster jobs: {said}"
                )
                st.add_event("orphan_cancelled", said, sweep=outcome.sweep)
        if to_stop:
            result = stop_process_trees([target for _, target in to_stop], grace_s)
            now = clock()
            stopped: dict[int, int] = {}  # per outcome: processes of all its targets' trees
            for outcome, target in to_stop:
                outcome.stopped = result
                stopped[id(outcome)] = stopped.get(id(outcome), 0) + result.per_group.get(
                    target.pgid, 0
                )
            for outcome in {id(o): o for o, _ in to_stop}.values():
                left = orphans.get(id(outcome), 0)
                said = (
                    f"stopped {plural(stopped[id(outcome)], 'process', 'processes')}"
                    + (
                        f" of {plural(left, 'trial')} its dead sweep runner left running"
                        if left
                        else ""
                    )
                    + f" in {result.elapsed_s:.2f} s"
                    + (" (SIGKILL needed)" if result.killed else "")
                    + (f"; still alive: {result.survivors}" if result.survivors else "")
                )
                # an ended pair keeps its 'already exited': what was stopped is its trials
                outcome.detail = f"{outcome.detail}; {said}" if outcome.detail else said
                records.mark_stopped(experiment, outcome.sweep, now)
        for outcome in outcomes:
            handled = orphaned.get(outcome.sweep, set())
            # A live Slurm runner scancels its jobs when stopped; one whose scancel failed or
            # got no answer (a controller down) keeps them in the per-launch file under itself,
            # now dead: cancel them here, as the jobs of a runner that died. They were looked
            # for only before the runner was stopped, so cancel exited 0 without a word while
            # the job ran on (seen with slurmctld stopped, session 75).
            runner_left = [
                (kind, job)
                for kind, job in _orphan_jobs(experiment, [outcome.sweep]).get(outcome.sweep, [])
                if job not in handled
            ]
            if runner_left:
                said, _, failed = cancel_cluster_jobs(
                    runner_left, SLURM_CMD_TIMEOUT_S, experiment=experiment
                )
                outcome.failed = outcome.failed or failed
                outcome.detail = "; ".join(
                    x for x in (outcome.detail, f"jobs its sweep runner left: {said}") if x
                )
                st.add_event("orphan_cancelled", said, sweep=outcome.sweep)
                handled = handled | {job for _, job in runner_left}
            # jobs the store still has in flight (and the per-launch file did not list) belong
            # to a runner that died.
            leftover = [j for j in leftover_slurm_jobs(st, outcome.sweep) if j not in handled]
            if leftover:
                # as for the per-launch file's jobs: a cancel that worked forgets them (no one's
                # to cancel again: doctor, status); one that failed (the controller cannot be
                # reached) fails the cancel and keeps them for a later one -- it said
                # 'scancel 9: <error>', exited 0 and recorded the trials killed, forgetting
                # jobs the per-launch file did not list
                said, _, failed = cancel_cluster_jobs(
                    [("slurm", job) for job in leftover],
                    SLURM_CMD_TIMEOUT_S,  # as the runner's own Slurm commands
                    experiment=experiment,
                )
                outcome.failed = outcome.failed or failed
                outcome.detail = "; ".join(x for x in (outcome.detail, said) if x)
                st.add_event("slurm_cancel", said, sweep=outcome.sweep)
                if failed:
                    _keep_recorded(experiment, st, outcome.sweep, set(leftover))
        for outcome in outcomes:  # no runner will ever record these trials' end: cancel does
            ended, done = _end_orphan_trial_rows(st, outcome.sweep, clock())
            said = "; ".join(
                f"{n} trial{'s' if n != 1 else ''} recorded {what}"
                for n, what in ((ended, "killed"), (done, "finished (from their metrics files)"))
                if n
            )
            if said:
                outcome.detail = f"{outcome.detail}; {said}" if outcome.detail else said
        for outcome in dead:
            records.mark_stopped(experiment, outcome.sweep, clock())
        return outcomes + left_alone


def _launch_name(records: LaunchRecords, experiment: str, launch_id: int | None) -> str:
    """``launch 3 (id 7)``, as the supervisor's log names a launch."""
    if launch_id is None:
        return "another launch"
    number = records.launch_number(experiment, launch_id)
    return f"{launch_label(number, launch_id)} (id {launch_id})"


def _keep_recorded(experiment: str, st: Store, sweep: str, jobs: set[str]) -> None:
    """Slurm jobs the store had in flight and ``scancel`` could not cancel: put those the
    per-launch file does not list yet in it, under the sweep's dead runner, so a later
    ``cancel`` retries them and ``status``, ``doctor`` and ``experiments delete`` name them
    (their trials are recorded killed next: no runner watches them)."""
    sweep_row = st.get_sweep(sweep) or {}
    listed = registry.read(experiment)["trials"]
    for row in st.trial_rows([sweep]):
        job = str(row["job_name"] or "")
        if job in jobs and row["state"] in ("queued", "running") and row["run_id"] not in listed:
            registry.record_trial(
                experiment,
                sweep,
                row["run_id"],
                runner_pid=int(sweep_row.get("pid") or 0),
                runner_start=sweep_row.get("proc_start"),
                fields={"slurm_job_id": job},
                dispatcher="slurm",
            )


def cancel_cluster_jobs(
    jobs: Sequence[tuple[str, str]],
    timeout_s: float = 60.0,
    *,
    experiment: str | None = None,
) -> tuple[str, bool, bool]:
    """Cancel orphaned cluster jobs with the cluster's own command (``scancel IDS`` for Slurm,
    ``sky jobs cancel -y -n NAME`` for SkyPilot); one line saying what happened, whether any
    command succeeded and whether any failed (or could not be run). With ``experiment``, the jobs a command cancelled leave its
    per-launch file: they are no one's to cancel again (a later cancel said 'scancel ID: ok'
    for them once more); the others stay, to be cancelled again when their cluster answers."""
    import shutil
    import subprocess

    slurm = [job for kind, job in jobs if kind == "slurm"]
    sky = [job for kind, job in jobs if kind == "skypilot"]
    done: list[str] = []
    any_ok = any_failed = False
    commands = ([["scancel", *slurm]] if slurm else []) + [
        ["sky", "jobs", "cancel", "-y", "-n", name] for name in sky
    ]
    for argv in commands:
        if shutil.which(argv[0]) is None:
            any_failed = True
            done.append(f"{argv[0]} is not on PATH: cancel {' '.join(argv[1:])} by hand")
            continue
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired) as e:
            any_failed = True
            done.append(f"{' '.join(argv)} failed: {e}; still recorded")
            continue
        if r.returncode != 0:
            # the tool's last line says why (scancel prints a chain of errors ending in the
            # fatal one); one line, so the cancel's own line stays whole
            lines = [line.strip() for line in r.stderr.splitlines() if line.strip()]
            why = lines[-1][:160] if lines else f"exit code {r.returncode}"
            any_failed = True
            done.append(f"{' '.join(argv)} failed ({why}); still recorded")
            continue
        any_ok = True
        done.append(f"{' '.join(argv)}: ok")
        if experiment is not None:
            _forget_cluster_jobs(experiment, set(argv[1:] if argv[0] == "scancel" else argv[-1:]))
    return "; ".join(done), any_ok, any_failed


def _forget_cluster_jobs(experiment: str, jobs: set[str]) -> None:
    """Drop the per-launch file's trials whose cluster job is one of ``jobs``."""

    def change(d: dict[str, Any]) -> None:
        for run_id, t in list(d["trials"].items()):
            if registry.cluster_job(t) in jobs:
                del d["trials"][run_id]

    registry.update(experiment, change)


def _cancel_from_registry(
    experiment: str, sweeps: Sequence[str] | None, grace_s: float, why: str
) -> list[CancelOutcome] | None:
    """Cancel from the per-launch file alone (the store is damaged, locked or gone): stop the
    chosen pairs' process groups, trials whose runner died, and -- for all pairs -- the
    supervisor, so no further pair starts. None when the file lists nothing to stop."""
    data = registry.read(experiment)
    pairs = {k: v for k, v in data["pairs"].items() if isinstance(v, dict)}
    known = list(dict.fromkeys([*pairs, *(t.get("sweep") for t in data["trials"].values())]))
    known = [k for k in known if isinstance(k, str)]
    sup: dict[str, Any] = data["supervisor"] if isinstance(data.get("supervisor"), dict) else {}
    sup_alive = bool(sup) and is_running(sup.get("pid"), sup.get("proc_start"))
    if not known and not sup_alive:
        return None
    chosen = known if sweeps is None else _resolve_sweeps(experiment, sweeps, known)
    note = f"cancelled from the per-launch file, because {why.rstrip('.')}"
    to_stop: list[tuple[CancelOutcome, ProcessGroupTarget]] = []
    outcomes: list[CancelOutcome] = []
    hand_run: set[int] = set()  # outcomes of sweeps a hand-started runner runs: left alone
    for sweep in chosen:
        p: dict[str, Any] = pairs.get(sweep) or {}
        alive = bool(p) and is_running(p.get("pid"), p.get("proc_start"))
        outcome = CancelOutcome(sweep, "running" if alive else "unknown", alive)
        if alive:
            to_stop.append(
                (
                    outcome,
                    ProcessGroupTarget(p["pid"], p.get("pgid") or p["pid"], p.get("proc_start")),
                )
            )
        for _run_id, target in _orphan_trials(experiment, [sweep], data):
            to_stop.append((outcome, target))
            outcome.cancelled = True
        jobs = _orphan_jobs(experiment, [sweep], data).get(sweep, [])
        if jobs:
            said, any_ok, failed = cancel_cluster_jobs(jobs, experiment=experiment)
            outcome.cancelled = outcome.cancelled or any_ok
            outcome.failed = failed
            outcome.detail = f"orphaned cluster jobs: {said}; "
        by_hand = [] if p else _live_runners(sweep, data)
        if by_hand and not outcome.cancelled:
            outcome.previous_status = "running"
            outcome.detail = (
                f"its sweep runner (pid {', '.join(map(str, by_hand))}) was started by hand "
                "(hwscale-tui sweep), not by hwscale-tui launch, so cancel leaves it alone; "
                f"kill -TERM {' '.join(map(str, by_hand))} stops it and its trials"
            )
            hand_run.add(id(outcome))
        outcomes.append(outcome)
    if sweeps is None and sup_alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(sup["pid"], signal.SIGTERM)  # pairs not started yet never start
            # the file lists only started pairs: the scheduled ones are named nowhere else
            note += f"; its supervisor (pid {sup['pid']}) was stopped, so no pair not started yet will start"
    if to_stop:
        result = stop_process_trees([target for _, target in to_stop], grace_s)
        stopped: dict[int, int] = {}  # per outcome: processes of its own targets' trees
        for outcome, target in to_stop:
            outcome.stopped = result
            count = result.per_group.get(target.pgid, 0)
            stopped[id(outcome)] = stopped.get(id(outcome), 0) + count
        for outcome in {id(o): o for o, _ in to_stop}.values():
            outcome.detail += f"stopped {plural(stopped[id(outcome)], 'process', 'processes')} in {result.elapsed_s:.2f} s; "
    for outcome in outcomes:
        if id(outcome) in hand_run:
            continue
        if not outcome.cancelled and not outcome.detail:
            outcome.detail = "nothing of it is running; "
        # a pair whose only cancel failed was looked up there, not cancelled
        outcome.detail += (
            note if outcome.cancelled else note.replace("cancelled from", "looked up in", 1)
        )
    return outcomes


def _live_runners(sweep: str, data: dict) -> list[int]:
    """The live sweep runners that own ``sweep``'s trials in the per-launch file."""
    pids: list[int] = []
    for t in data["trials"].values():
        if not isinstance(t, dict) or t.get("sweep") != sweep:
            continue
        pid = t.get("runner_pid")
        if isinstance(pid, int) and pid not in pids and is_running(pid, t.get("runner_start")):
            pids.append(pid)
    return pids


def cancel_remote(
    experiment: str,
    sweeps: Sequence[str],
    *,
    boundary: RemoteTrialsBoundary | None = None,
    store: Store | None = None,
) -> list[RemoteCancel]:
    """Cancel the sweeps' queued or running SkyPilot managed jobs (docs/launch.md, cancel --remote)."""
    results = cancel_remote_trials(sweeps, boundary)
    # The cluster jobs are cancelled either way (found by sweep name on SkyPilot, not in the
    # store); the store only keeps the record when it can.
    with contextlib.suppress(StoreError, sqlite3.Error), _open_store(store) as st:
        for r in results:
            st.add_event(
                "remote_cancel",
                f"{r.run_id or '(lookup)'}: {'ok' if r.ok else 'failed'}: {r.detail}",
                sweep=r.sweep,
                run_id=r.run_id,
            )
    return results


def cancel(
    experiment: str,
    sweeps: list[str] | None,
    *,
    by: str,
    grace_s: float = DEFAULT_GRACE_S,
    remote: bool = False,
    store: Store | None = None,
    remote_boundary: RemoteTrialsBoundary | None = None,
) -> list[str]:
    """Cancel pairs (see ``cancel_pairs``); with ``remote`` also their trials still on SkyPilot.
    Returns the sweeps that were cancelled now."""
    outcomes = cancel_pairs(experiment, sweeps, by=by, grace_s=grace_s, store=store)
    if remote:
        cancel_remote(
            experiment, [o.sweep for o in outcomes], boundary=remote_boundary, store=store
        )
    return [o.sweep for o in outcomes if o.cancelled]


# -- the detached process -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hwscale_tui.launch.supervisor",
        description="Supervise one launch of an experiment (started by hwscale-tui launch; not meant to be run by hand).",
    )
    parser.add_argument(
        "--experiment", required=True, help="experiment name (must match the launch)"
    )
    parser.add_argument("--launch-id", type=int, required=True, help="the launch row to supervise")
    args = parser.parse_args(argv)
    # A closed terminal or SSH link must change nothing; SIGTERM/SIGINT stop supervising
    # (started sweeps keep running, pending pairs stay resumable).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    os.umask(0o077)  # what the sweeps and their trials write is private too
    stop = SignalSafeEvent()  # a threading.Event set from a handler can deadlock
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    app_paths().ensure()
    try:
        store = Store.open_default()
    except StoreError as e:
        print(f"supervisor of launch id {args.launch_id}: {e}", file=sys.stderr)
        return 1
    with store:
        loop = SupervisorLoop(store, args.launch_id, stop=stop)
        if loop.experiment != args.experiment:
            print(
                f"launch id {args.launch_id} belongs to {loop.experiment}, not {args.experiment}",
                file=sys.stderr,
            )
            return 2
        loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
