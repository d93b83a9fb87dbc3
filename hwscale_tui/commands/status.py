"""``hwscale-tui status``: each pair's status, from the store and the process table."""

from __future__ import annotations

import argparse
import math
import re
import signal
import time
from collections.abc import Mapping
from typing import Any

from ..console import stdout_console
from ..errors import UsageError
from ..hardware import pair_tag_of
from .common import (
    add_experiment_file_flag,
    check_experiment_name,
    commit_selection,
    defer_selection,
    print_json,
)

HELP = "show each pair of a launched experiment: status, elapsed, next start, trials, best score"
DEFAULT_WATCH_S = 2.0
MIN_WATCH_S, MAX_WATCH_S = 0.1, 3600.0
PRICE_NOTE_START = "local mode: "  # local_price_note: information, not a problem (dim)


def add_experiment_name_flags(p: argparse.ArgumentParser) -> None:
    """Which experiment: ``--experiment-name NAME`` or ``-e FILE``; default the current one."""
    add_experiment_file_flag(p)


def experiment_name(args: argparse.Namespace) -> str:
    """The experiment named by the flags (it becomes the current one once the command got past
    its checks: ``defer_selection``), else the current one."""
    from ..errors import StoreError
    from ..launch.experiments import known_names, no_such_experiment
    from ..launch.supervisor import resolve_experiment

    name = args.experiment_name
    if name:
        check_experiment_name(name)
        try:
            known: list[str] | None = known_names()
        except StoreError:  # a damaged store: the per-launch files still name the experiment
            known = None
        if known is not None and name not in known:
            raise no_such_experiment(name, known)
    name = resolve_experiment(name=name, experiment_file=args.experiment)
    if args.experiment_name or args.experiment:
        defer_selection(args, name, args.experiment)
    return name


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_experiment_name_flags(p)
    p.add_argument(
        "--json", action="store_true", help="print the status as JSON (times are epoch seconds)"
    )
    p.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=DEFAULT_WATCH_S,
        metavar="SECONDS",
        help=f"refresh in place every SECONDS (default {DEFAULT_WATCH_S:g}) until every pair has "
        "ended (exit 0) or ctrl+c",
    )
    p.add_argument(
        "--generation",
        type=int,
        metavar="N",
        help="show an earlier generation's pairs from its trials (default: the newest, launched)",
    )


def run(args: argparse.Namespace) -> int:
    from ..launch import supervisor as sup

    if args.watch is not None and not MIN_WATCH_S <= args.watch <= MAX_WATCH_S:
        raise UsageError(
            f"--watch {args.watch:g} is not a refresh interval; accepted: a number of seconds from "
            f"{MIN_WATCH_S:g} to {MAX_WATCH_S:g}, like 2."
        )
    if args.json and args.watch is not None:
        raise UsageError("--json and --watch do not go together; accepted: one of them.")
    check_state_location()  # HWSCALE_HOME naming a file is no experiment "not launched"
    name = experiment_name(args)  # an unknown --experiment-name: exit 2 naming the known ones
    if args.generation is not None:
        shown = generation_summary(name, args.generation, as_json=args.json, watch=args.watch)
        if shown:
            return 0
    from ..launch.progress import progress_from_store

    if args.json:
        status = sup.pair_status(name)
        out = status.to_json()
        progress = progress_from_store(status)
        out["progress"] = progress.to_json() if progress is not None else None
        jobs = slurm_jobs([p.sweep_name for p in status.pairs], name, sup.ended_runners(status))
        if jobs:
            out["slurm_jobs"] = jobs
        out["disk_full"] = disk_full_note() is not None
        # what plain status prints below its table, line for line: why pairs failed (their
        # logs' last lines), cancels, a gone supervisor; then the notes (disk full, trials the
        # store lost, an unreadable launch snapshot, a hypothetical price)
        from ..launch.status_view import attention_lines

        out["attention"] = attention_lines(status)
        out["lost_trials"] = lost_run_ids(name)
        out["notes"] = status_notes(name, status)
        print_json(out)
        return 0
    from ..launch.status_view import render

    console = stdout_console()
    if args.watch is None:
        status = sup.pair_status(name)
        notes = status_notes(name, status)
        # never launched and its file gone: "hwscale-tui launch ... starts it" would be refused
        startable = not any(CANNOT_LAUNCH in n for n in notes)
        console.print(
            render(status, time.time(), progress_from_store(status), console.width, startable)
        )
        for line in slurm_lines(
            slurm_jobs([p.sweep_name for p in status.pairs], name, sup.ended_runners(status))
        ):
            console.print(line, highlight=False, markup=False)
        for note in notes:
            style = "dim" if note.startswith(PRICE_NOTE_START) else "bold red"
            console.print(note, style=style, highlight=False, markup=False)
        return 0
    commit_selection(args)  # watching runs until ctrl+c: the experiment is current meanwhile
    return _watch(console, name, args.watch)


def status_notes(name: str, status: Any) -> list[str]:
    """The notes ``status`` prints below its table and ``status --json`` lists, in that order:
    a full disk, trials of an experiment with no launch, trials the store lost, an unreadable
    launch snapshot, a hypothetical price."""
    launched = status.launch_id is not None
    gone = snapshot_problem(name) if launched else None
    notes = [
        lost_file_note(name),
        disk_full_note(),
        None if launched else unlaunched_trials_note(name),
        lost_runs_note(name),
        f"no ETA or cost estimate: {gone}" if gone else None,
        local_price_note(name) if launched else None,
    ]
    return [n for n in notes if n]


def lost_file_note(name: str) -> str | None:
    """One line when experiment ``name``'s own file was moved or deleted by hand: what the
    commands read instead (its launch snapshot), or that it cannot be planned or launched
    until the file is back; and what to do. Status said nothing of it (or, never launched,
    "hwscale-tui launch ... starts it", which the launch then refused)."""
    import sqlite3

    from ..errors import ConfigError, StoreError
    from ..launch.experiments import file_for, lost_file
    from ..paths import snapshot_path

    try:
        file_for(name)
    except ConfigError as e:  # its own file has a bad value or is not TOML: every plan refuses
        return (
            f"note: {name}'s file cannot be read, so it {CANNOT_LAUNCH} until it is fixed: "
            f"{str(e).rstrip('.')}"
        )
    except (UsageError, StoreError, OSError, sqlite3.Error):
        return None
    try:
        path = lost_file(name)
    except (UsageError, StoreError, OSError, sqlite3.Error):
        return None
    if path is None:
        return None
    gone = f"{name}'s file {path} no longer exists (moved or deleted)"
    snapshot = snapshot_path(name)
    if snapshot.is_file():
        return (
            f"note: {gone}; plan, launch and the app now read its launch snapshot {snapshot}: "
            f"put the file back, open it where it is now with -e FILE, or write it again from "
            f"the snapshot with hwscale-tui plan --experiment-name {name} --save FILE"
        )
    return (
        f"note: {gone}, so it {CANNOT_LAUNCH}: put the file back, open it where it is now with "
        "hwscale-tui plan -e FILE, or pick another experiment with hwscale-tui experiments "
        "select NAME"
    )


# said of an experiment whose file is gone (and no launch snapshot) or unreadable: status then
# does not say "hwscale-tui launch ... starts it"
CANNOT_LAUNCH = "cannot be planned or launched"


def local_price_note(name: str) -> str | None:
    """In local mode, what the cost figures are (CPU ranks; a CPU or a HYPOTHETICAL price)."""
    from ..errors import ConfigError, StoreError
    from ..launch.experiments import load_named

    try:
        cfg, _ = load_named(name)
    except (UsageError, ConfigError, StoreError):
        return None
    return (
        f"{PRICE_NOTE_START}pairs are CPU ranks; cost at {cfg.price_label}"
        if cfg.local_ranks
        else None
    )


def check_state_location() -> None:
    """Raise StoreError (exit 1) when the state location cannot exist -- HWSCALE_HOME (or a
    folder on the way to the store) is a file: reading commands would otherwise show an
    empty, never-launched experiment as if the store had none (a missing store reads empty)."""
    from ..errors import StoreError
    from ..paths import app_paths

    data = app_paths().data
    for path in (data, *data.parents):
        if path.exists() or path.is_symlink():
            if path.is_dir():
                return
            what = "a link to nothing" if not path.exists() else "a file, not a folder"
            raise StoreError(
                f"the state location {data} cannot exist: {path} is {what}; set HWSCALE_HOME "
                "to a folder of yours (or unset it for the default location)."
            )


def lost_run_ids(name: str | None = None) -> list[str]:
    """Sweep trials (of experiment ``name``; every experiment's when None) that left run
    folders (state/runs/<run id>) but have no row in the store: it lost them (a deleted -wal
    file, an older copy put back, rows a repair could not read). [] when the folders or the
    store cannot be read (the commands say what is wrong with the store)."""
    import re
    import sqlite3

    from ..errors import StoreError
    from ..paths import app_paths
    from ..store import SQL_CHUNK, Store

    runs = app_paths().runs
    # a sweep's trial id (sweep/trial_command.py: ``<sweep>_trial_<nnnn>_<6 hex>``)
    sweep = rf"{re.escape(name)}\.g\d+n\d+(\.gen\d+)?" if name else ".+"
    mine = re.compile(rf"^{sweep}_trial_\d{{4,}}_[0-9a-f]{{6}}$")
    try:
        names = sorted(d.name for d in runs.iterdir() if mine.match(d.name) and d.is_dir())
    except OSError:
        return []
    known: set[str] = set()
    try:
        with Store(app_paths().store, readonly=True) as st:
            for i in range(0, len(names), SQL_CHUNK):
                chunk = names[i : i + SQL_CHUNK]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT run_id FROM trials WHERE run_id IN ({marks})"
                known.update(r[0] for r in st.conn.execute(sql, chunk))
    except (StoreError, sqlite3.Error):
        return []
    return [n for n in names if n not in known]


def unlaunched_trials_note(name: str) -> str | None:
    """One line when experiment ``name`` has no launch but the store has trials of it: sweeps
    run by hand (``hwscale-tui sweep``), or launches a rebuilt store lost. None when it has
    none, or the store cannot be read (the commands say what is wrong with it)."""
    import sqlite3

    from ..errors import StoreError
    from ..paths import app_paths
    from ..records import plural
    from ..store import Store

    try:
        with Store(app_paths().store, readonly=True) as st:
            sql = "SELECT COUNT(*) FROM trials WHERE experiment = ?"
            n = st.conn.execute(sql, (name,)).fetchone()[0]
    except (StoreError, sqlite3.Error):
        return None
    if not n:
        return None
    return (
        f"note: the store has {plural(n, 'trial')} of {name} but no launch of it (sweeps run by "
        "hand with hwscale-tui sweep, or launches a damaged store lost when it was rebuilt); "
        f"hwscale-tui trials --experiment-name {name} shows them"
    )


def lost_runs_note(name: str, left_out: str = "shown") -> str | None:
    """One line when sweep trials of experiment ``name`` are lost (``lost_run_ids``): what
    status and trials show (``left_out``: what analyze does) leaves them out."""
    from ..paths import app_paths

    missing = len(lost_run_ids(name))
    if not missing:
        return None
    return (
        f"note: {missing} of {name}'s trials left run folders in {app_paths().runs} but have no "
        "row in the store (it lost them: a deleted -wal file, an older copy put back, a damaged "
        f"store rebuilt), so they are not {left_out}; hwscale-tui doctor says more"
    )


def snapshot_problem(name: str) -> str | None:
    """Why the launch snapshot of launched experiment ``name`` cannot be read (None when it
    can): the ETA and cost estimates need it, and so does ``launch --resume``."""
    from ..config import load
    from ..paths import snapshot_path

    path = snapshot_path(name)
    if not path.exists():
        why = f"its launch snapshot {path} is gone"
    else:
        try:
            load(path)
        except UsageError as e:
            why = f"its launch snapshot cannot be read ({str(e).rstrip('.')})"
        else:
            return None
    return (
        f"{why}; put it back from a backup (the next hwscale-tui launch --experiment-name "
        f"{name} writes a new one)"
    )


def disk_full_note() -> str | None:
    """One line when the disk holding the state location is (nearly) full: sweeps then pause,
    and stop cleanly if it stays full (the store cannot say so while it is full)."""
    import shutil

    from ..paths import app_paths

    data = app_paths().data
    try:
        free = shutil.disk_usage(data if data.exists() else data.parent).free
    except OSError:
        return None
    if free >= 1024 * 1024:
        return None
    return (
        f"the disk holding {data} is full ({free // 1024} KiB free): sweeps pause (no new "
        "trial) and stop cleanly if it stays full; free space (hwscale-tui launch --resume "
        "continues stopped pairs)"
    )


def generation_summary(name: str, generation: int, *, as_json: bool, watch: float | None) -> bool:
    """``--generation N``: refuse a generation the experiment never had; for an earlier one,
    print its pairs from its trials (done, finished, best score) and return True."""
    from ..hardware import generation_of_sweep
    from ..records import BUDGETED_STATES
    from ..store import Store

    with Store.open_default(readonly=True) as store:
        newest = store.latest_generation(name)
        if not 1 <= generation <= newest:
            have = "1" if newest == 1 else f"1 to {newest}"
            raise UsageError(
                f"--generation {generation}: experiment {name} has no such generation; "
                f"accepted: {have}."
            )
        if generation == newest:
            return False  # the launched generation: the normal status
        if watch is not None:
            raise UsageError(
                f"--watch shows the running generation {newest}; accepted: --generation "
                f"{generation} without --watch (an earlier generation no longer runs)."
            )
        rows = [
            r
            for r in store.trial_rows(experiment=name)
            if generation_of_sweep(r["sweep"]) == generation
        ]
        reason = next(
            (g["reason"] for g in store.generations(name) if g["generation"] == generation), ""
        )
    done: dict[str, int] = {}
    finished: dict[str, int] = {}
    best: dict[str, float] = {}
    cfg = _named_config(name)
    # the best by the sweep's goal, as the newest generation's column (it was the highest for
    # a minimized metric too)
    pick = min if cfg is not None and cfg.sweep.goal == "minimize" else max
    for r in rows:
        tag = pair_tag_of(r["sweep"])
        # what the newest generation's 'trials' column counts: finished and failed (a killed
        # trial was replaced by a new suggestion; counting it read 1 where status had said 0/2)
        done[tag] = done.get(tag, 0) + (r["state"] in BUDGETED_STATES)
        finished.setdefault(tag, 0)
        if r["state"] == "finished" and r["score"] is not None:
            finished[tag] += 1
            score = r["score"]
            # a damaged row's score ('high': text SQLite kept) is no number to rank: it ended
            # the command with a traceback (trials flags it)
            if isinstance(score, (int, float)) and math.isfinite(score):
                best[tag] = pick(best.get(tag, score), score)
    grid = grid_tags(name, cfg)
    outside = [t for t in done if grid is not None and t not in grid]
    pairs = [
        {
            "pair": t,
            "trials_done": done[t],
            "finished": finished[t],
            "best_score": best.get(t),
            "in_grid": t not in outside,
        }
        for t in done
    ]
    if as_json:
        out = {
            "experiment": name,
            "generation": generation,
            "newest_generation": newest,
            "started_because": reason,
            "pairs": pairs,
        }
        print_json(out)
        return True
    print(
        f"{name}  generation {generation} of {newest} (not running; launched pairs belong to "
        f"generation {newest}); started: {reason or '-'}"
    )
    print(f"{'pair':<6} {'trials':>6} {'finished':>8} {'best':>8}")
    for t in done:
        shown = f"{best[t]:.4g}" if t in best else "-"
        print(f"{t:<6} {done[t]:>6} {finished[t]:>8} {shown:>8}")
    command = f"hwscale-tui trials --experiment-name {name} --generation {generation}"
    if not outside:
        print(f"its trials: {command}")
        return True
    # `trials` and `analyze` read the grid's pairs only (docs/sources.md): say so, not a
    # command that would list nothing of these pairs
    inside = [t for t in done if t not in outside]
    if inside:
        print(f"its trials of {', '.join(inside)}: {command}")
    one = len(outside) == 1
    print(
        f"{', '.join(outside)} {'is' if one else 'are'} not in experiment {name}'s grid now: "
        f"`trials` and `analyze` leave {'its' if one else 'their'} trials out; put "
        f"{'it' if one else 'them'} back in the experiment file's [grid] to list them"
    )
    return True


def _named_config(name: str) -> Any:
    """The settings of experiment ``name`` (None: its file is unreadable)."""
    from ..launch.experiments import load_named

    try:
        cfg, _ = load_named(name)
    except UsageError:  # an unreadable file (ConfigError too): say nothing of its settings
        return None
    return cfg


def grid_tags(name: str, cfg: Any = None) -> set[str] | None:
    """The pair tags of the grid ``trials --experiment-name NAME`` reads (None: unreadable);
    ``cfg``: its settings, when read already."""
    from ..hardware import plan_of

    cfg = cfg if cfg is not None else _named_config(name)
    if cfg is None:
        return None
    return {p.tag for p in plan_of(cfg.grid)[0]}


def all_ended(status) -> bool:
    """Every pair of the latest launch has ended and no supervisor is left to start more."""
    from ..launch.state import ENDED_STATUSES

    return (
        status.launch_id is not None
        and not status.supervisor_alive
        and all(p.status in ENDED_STATUSES and not p.alive for p in status.pairs)
    )


ORPHANED_JOB = "left by its dead sweep runner"


def slurm_jobs(
    sweeps: list[str],
    experiment: str | None = None,
    ended: Mapping[str, str] | None = None,
) -> dict[str, list[dict[str, str | None]]]:
    """The Slurm job ids of the sweeps' trials in flight (slurm dispatcher only), by sweep;
    with ``experiment``, also the jobs its per-launch file keeps for a dead sweep runner (an
    ``scancel`` that failed: their trials are recorded killed, the jobs may still run).
    ``ended``: the sweeps whose runner is gone, each with the command that starts it again
    (supervisor.ended_runners): a trial of theirs that waited to submit waits for nothing
    now, so it is said not submitted, with that command (``restart``)."""
    from ..paths import app_paths
    from ..store import Store

    path = app_paths().store
    if not sweeps or not path.exists():
        return {}
    out: dict[str, list[dict[str, str | None]]] = {}
    with Store(path, readonly=True) as store:
        for sweep in sweeps:
            row = store.get_sweep(sweep)
            if not row or row.get("dispatcher") != "slurm":
                continue
            out[sweep] = [
                {
                    "run_id": r["run_id"],
                    "job_id": r["job_name"],
                    "state": r["state"],
                    "waiting": r["error"] if r["state"] == "queued" else None,
                }
                for r in store.trial_rows([sweep])
                if r["state"] in ("queued", "running")
                # no job yet: a submit the cluster could not take now, asked again later
                # (sweep/runner.py _wait_to_submit); it was left out, as if nothing waited
                and (r["job_name"] or (r["state"] == "queued" and _waits_to_submit(r["error"])))
            ]
            restart = (ended or {}).get(sweep)
            for entry in out[sweep]:
                if restart and entry["job_id"]:
                    # the store's state is what its runner last saw: the job may have ended
                    # since ('11 running' was shown for a job squeue no longer had)
                    entry["unwatched"] = "its sweep runner is gone: the state it last recorded"
                if restart and not entry["job_id"] and _waits_to_submit(entry["waiting"]):
                    # its runner is gone: nothing will ask sbatch again ('waiting to submit'
                    # said it would); a new runner submits it (sweep/runner.py _resume)
                    reason = str(entry["waiting"])[len(WAITING_TO_SUBMIT) :].strip()
                    entry["waiting"] = f"{NOT_SUBMITTED} ({reason})"
                    entry["restart"] = restart
    if experiment is not None and out:
        from ..launch import registry
        from ..processes import is_running

        for run_id, t in registry.read(experiment)["trials"].items():
            if not isinstance(t, dict) or t.get("sweep") not in out:
                continue
            # a Slurm job only (a SkyPilot entry's job_name is a job name)
            job = registry.cluster_job(t) if t.get("dispatcher") == "slurm" else None
            if not job:
                continue
            shown = out[t["sweep"]]
            if any(j["run_id"] == run_id for j in shown) or is_running(
                t.get("runner_pid"), t.get("runner_start")
            ):
                continue  # in flight in the store, or its runner watches it
            shown.append(
                {
                    "run_id": run_id,
                    "job_id": str(job),
                    "state": ORPHANED_JOB,
                    "waiting": None,
                }
            )
    return out


WAITING_TO_SUBMIT = "waiting to submit:"
NOT_SUBMITTED = "not submitted: its sweep runner ended while it waited to submit"


def _waits_to_submit(error: object) -> bool:
    return isinstance(error, str) and error.startswith(WAITING_TO_SUBMIT)


def _job_text(t: dict[str, str | None]) -> str:
    """``12 running``; a trial with no job yet by its number: ``trial 3 waiting to submit:
    sbatch refused the job: ...``."""
    if t["job_id"]:
        if t.get("unwatched"):  # its runner is gone: what it last saw, not what Slurm says now
            return (
                f"{t['job_id']} last recorded {t['waiting'] or t['state']} (no runner watches it)"
            )
        return f"{t['job_id']} {t['waiting'] or t['state']}"
    found = re.search(r"_trial_0*(\d+)_", t["run_id"] or "")
    trial = f"trial {found.group(1)}" if found else str(t["run_id"])
    return f"{trial} {t['waiting'] or t['state']}"


def slurm_lines(jobs: dict[str, list[dict[str, str | None]]]) -> list[str]:
    """``g1n1 Slurm jobs: 12 running, 13 waiting: Resources`` per sweep (a trial whose submit
    waits to be asked again: ``trial 3 waiting to submit: ...``)."""
    lines = []
    for sweep, trials in jobs.items():
        shown = ", ".join(_job_text(t) for t in trials)
        restart = next((t["restart"] for t in trials if t.get("restart")), None)
        if restart:  # its runner is gone: a new one submits them (and re-attaches the jobs)
            unsent = sum(1 for t in trials if t.get("restart"))
            shown += (
                f"; {restart} starts its sweep runner again, which submits "
                f"{'it' if unsent == 1 else 'them'}"
            )
        lines.append(f"{pair_tag_of(sweep)} Slurm jobs: {shown or 'none in flight'}")
    return lines


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _watch(console, name: str, interval_s: float) -> int:
    """Redraw in place on a terminal; piped, print only the frame in force when watching stops
    (laid out like plain ``status``: the same width, local-mode line and final newline)."""
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    from ..launch import supervisor as sup
    from ..launch.progress import progress_from_store
    from ..launch.status_view import render
    from ..store import Store

    local_note: list[str] | None = None  # the experiment's config, read once it was launched

    def frame(store: Store, stopped: bool = False):
        nonlocal local_note
        now = time.time()
        status = sup.pair_status(name, store)
        ended = all_ended(status)
        clock = time.strftime("%H:%M:%S")
        if status.launch_id is None:  # nothing runs yet: it waits for a launch (from elsewhere)
            hint = Text(
                f"{clock}  stopped watching (nothing was launched)"
                if stopped
                else f"{clock}  waiting for a launch, refreshing every {interval_s:g}s; ctrl+c "
                "stops watching",
                style="dim",
            )
        else:
            hint = Text(
                f"{clock}  every pair has ended; stopped watching"
                if ended
                else f"{clock}  stopped watching (the sweeps keep running)"
                if stopped
                else f"{clock}  refreshing every {interval_s:g}s; ctrl+c stops "
                "watching (the sweeps keep running)",
                style="dim",
            )
        jobs = [
            Text(line)
            for line in slurm_lines(
                slurm_jobs([p.sweep_name for p in status.pairs], name, sup.ended_runners(status))
            )
        ]
        progress = progress_from_store(status, store, now)
        notes = [Text(n, style="bold red") for n in [disk_full_note()] if n]
        if local_note is None and status.launch_id is not None:
            local_note = [n for n in [local_price_note(name)] if n]
        notes += [Text(n, style="dim") for n in local_note or []]
        return Group(render(status, now, progress, console.width), *jobs, *notes, hint), ended

    with Store.open_default(readonly=True) as store:
        shown, ended = frame(store)
        if not console.is_terminal:  # nothing to redraw in place: the last frame, once
            # stopped by ctrl+c or SIGTERM (`timeout 600 hwscale-tui status --watch > log`), it
            # still prints that frame, saying it stopped (it printed nothing on SIGTERM, and on
            # ctrl+c a frame that said it was still refreshing)
            previous = signal.signal(signal.SIGTERM, _interrupt)
            try:
                while not ended:
                    time.sleep(interval_s)
                    shown, ended = frame(store)
            except KeyboardInterrupt:
                shown, ended = frame(store, stopped=True)
            finally:
                signal.signal(signal.SIGTERM, previous)
            console.print(shown)
            return 0
        with Live(shown, console=console, auto_refresh=False) as live:
            try:
                while not ended:
                    time.sleep(interval_s)
                    shown, ended = frame(store)
                    live.update(shown, refresh=True)
            except KeyboardInterrupt:
                return 0
    return 0
