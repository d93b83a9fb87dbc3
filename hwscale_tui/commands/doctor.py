"""``hwscale-tui doctor``: check the store, the state location, orphans and leaked shared memory;
``--repair`` backs a damaged store up and rebuilds it (never dropping a readable trial)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sqlite3
import stat
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ..records import plural

HELP = "check the store, the state dirs, orphaned trials and leaked shared memory (--repair fixes what it can)"

EXPECTED_TABLES = ("meta", "sweeps", "trials", "history", "launches", "pairs", "events")
# Tables the reading commands (status, trials, analyze) query: without one they fail, so a
# store lacking it is a problem; the others (events, generations, ...) a writer adds in passing.
READ_TABLES = ("sweeps", "trials", "history", "launches", "pairs")
REPAIR_HINT = "hwscale-tui doctor --repair backs it up and rebuilds it from every readable row"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--repair",
        action="store_true",
        help="rebuild a damaged store after backing it up (every readable row is kept; not "
        "while its sweeps run), fix state-dir modes and remove leaked semaphores",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")


@dataclass
class Finding:
    check: str
    ok: bool
    detail: str
    fixed: str = ""
    repairable: bool = True  # False: --repair cannot fix it (the detail says what can)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, ok: bool, detail: str) -> Finding:
        f = Finding(check, ok, detail)
        self.findings.append(f)
        return f

    @property
    def healthy(self) -> bool:
        return all(f.ok or f.fixed for f in self.findings)


# -- checks ------------------------------------------------------------------------------------


def _state_dirs(root: Path, depth: int = 2) -> list[Path]:
    """``root`` and the folders under it, ``depth`` levels down (data/running, state/experiments,
    logs/<experiment>, ...): one shut to you fails the command that needs it."""
    out = [root]
    if depth and os.access(root, os.R_OK | os.X_OK):
        with contextlib.suppress(OSError):
            for child in sorted(root.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    out += _state_dirs(child, depth - 1)
    return out


def _creation_blocker(path: Path) -> str:
    """Why ``path`` could not be created ('' when it can): its nearest existing ancestor is
    not a folder, or not one you may write in."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is not a folder"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"{parent} is not writable"
            return ""
        if parent.is_symlink():  # a dangling link
            return f"{parent} is a link to nothing"
    return ""


def check_dirs(report: Report, repair: bool) -> None:
    from ..paths import app_paths

    for top in (lambda p: (p.config, p.data, p.state, p.logs))(app_paths()):
        if not top.exists():
            blocker = _creation_blocker(top)
            report.add(
                "state dir",
                not blocker,
                f"{top} does not exist yet "
                + (
                    f"and cannot be created: {blocker}; set HWSCALE_HOME to a folder of yours"
                    if blocker
                    else "(created on first write)"
                ),
            ).repairable = False
            continue
        if not top.is_dir():  # a file (or a link to one) where the folder goes: no chmod fixes it
            report.add(
                "state dir",
                False,
                f"{top} is a file, not a folder, so nothing can be kept in it; move that file "
                "away (hwscale-tui makes the folder again), or set HWSCALE_HOME to a folder of "
                "yours",
            ).repairable = False
            continue
        for d in _state_dirs(top):
            try:
                st = d.stat()
            except OSError:  # gone since it was listed (a run folder a sweep removed)
                continue
            mode = stat.S_IMODE(st.st_mode)
            mine = st.st_uid == os.getuid()
            if d != top and mine and mode == 0o700:
                continue  # the folders below are listed only when something is wrong
            problems = []
            if mode & 0o077:
                problems.append(f"mode {mode:04o} lets others in (want 0700)")
            if mode & 0o700 != 0o700:
                problems.append(f"mode {mode:04o} shuts you out (want 0700)")
            if not mine:
                problems.append(f"owned by uid {st.st_uid}, not you ({os.getuid()})")
            read_only_fs = False
            if not os.access(d, os.W_OK):
                with contextlib.suppress(OSError, AttributeError):
                    read_only_fs = bool(os.statvfs(d).f_flag & os.ST_RDONLY)
                problems.append(
                    "not writable: it is on a read-only file system"
                    if read_only_fs
                    else "not writable"
                )
            fixable = mine and mode != 0o700 and not read_only_fs
            if problems and read_only_fs:  # no chown or chmod changes that
                problems.append(
                    "remount it read-write, or set HWSCALE_HOME to a folder of yours on a "
                    "writable disk"
                )
            elif problems and not fixable:
                problems.append(
                    "make it yours and writable (chown, chmod 0700), or set HWSCALE_HOME to a "
                    "folder of yours"
                )
            if d != top and not problems:
                continue
            f = report.add("state dir", not problems, f"{d}: " + ("; ".join(problems) or "ok"))
            f.repairable = fixable
            if problems and repair and fixable:
                with contextlib.suppress(OSError):
                    os.chmod(d, 0o700)
                    f.fixed = "mode set to 0700"


def check_store_modes(report: Report, repair: bool) -> None:
    """The store and its -wal/-shm files are 0600 and yours: one made read-only (chmod 400)
    still reads, but every launch, sweep and cancel fails to write it -- and SQLite gives a
    -wal/-shm it creates the store's mode."""
    from ..paths import app_paths

    store = app_paths().store
    for f in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
        try:
            st = f.stat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # the store check says what is wrong with a store that is no file
        mode = stat.S_IMODE(st.st_mode)
        mine = st.st_uid == os.getuid()
        problems = []
        if mode & 0o600 != 0o600:
            problems.append(f"mode {mode:04o} shuts you out of writing it (want 0600)")
        if mode & 0o077:
            problems.append(f"mode {mode:04o} lets others in (want 0600)")
        if not mine:
            problems.append(
                f"owned by uid {st.st_uid}, not you ({os.getuid()}): make it yours (chown) or "
                "set HWSCALE_HOME to a folder of yours"
            )
        if not problems:
            continue
        finding = report.add("store file", False, f"{f}: " + "; ".join(problems))
        finding.repairable = mine
        if mine:
            finding.detail += "; --repair sets it to 0600"
            if repair:
                with contextlib.suppress(OSError):
                    os.chmod(f, 0o600)
                    finding.fixed = "mode set to 0600"


def inspect_store(path: Path) -> tuple[bool, str, dict[str, Any]]:
    """(healthy, one-line detail, facts) of the store file, read-only."""
    from ..store import SCHEMA_VERSION

    facts: dict[str, Any] = {}
    if not path.exists():
        return True, f"{path} does not exist yet (created by the first launch)", facts
    if not path.is_file():  # a folder (or a device) where the store should be: no rebuild
        facts["not_a_file"] = True
        return (
            False,
            f"{path} is not a file (a folder or another kind of file is where the store should "
            "be); move it away (a new store is made in its place on the next write; --repair "
            "leaves it as it is)",
            facts,
        )
    wal = Path(f"{path}-wal")
    facts["size"] = path.stat().st_size
    facts["wal_size"] = wal.stat().st_size if wal.exists() else 0
    try:
        conn = _open_damaged(path)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            version = None
            if "meta" in tables:
                row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = row[0] if row else None
            if "trials" in tables:
                facts["trials"] = conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
                facts["finished"] = conn.execute(
                    "SELECT COUNT(*) FROM trials WHERE state = 'finished'"
                ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as e:
        if _locked(e):  # not damage: nothing to rebuild
            facts["locked"] = True
            return (
                False,
                f"{path}: another process holds its lock ({e}); retry when it is done (fuser "
                f"{path} names it; --repair leaves a locked store as it is)",
                facts,
            )
        if _io_error(e):
            from .status import disk_full_note

            if disk_full_note():  # not damage: SQLite cannot grow its -shm and -wal files
                facts["disk_full"] = True
                return (
                    False,
                    f"{path}: cannot be read while the disk is full ({e}); free space, then "
                    "run hwscale-tui doctor again: the store itself may well be undamaged "
                    "(--repair leaves it as it is until then)",
                    facts,
                )
        return False, f"{path}: cannot be read ({e}); {REPAIR_HINT}", facts
    facts.update(integrity=result, schema_version=version)
    if result != ["ok"]:
        # SQLite may put every problem in one row, a line each, under a "*** in database
        # main ***" heading: the finding stays one line
        problems = [
            line.strip()
            for row in result
            for line in str(row).splitlines()
            if line.strip() and not line.lstrip().startswith("***")
        ]
        more = f"; {len(problems) - 3} more" if len(problems) > 3 else ""
        return (
            False,
            f"{path}: integrity check failed ({'; '.join(problems[:3])}{more}); {REPAIR_HINT}",
            facts,
        )
    missing = [t for t in EXPECTED_TABLES if t not in tables]
    if not tables:
        # made, nothing written yet (an interrupted first open): readers see no store and the
        # next write makes it one (store.py _open_readonly)
        return True, f"{path}: empty, no tables yet (the next launch makes it a store)", facts
    if "meta" not in tables:
        return False, f"{path}: not an hwscale-tui store (no meta table); {REPAIR_HINT}", facts
    if _newer(version):
        facts["newer"] = True
        return (
            False,
            f"{path}: schema version {version} is newer than this hwscale-tui's "
            f"({SCHEMA_VERSION}); upgrade hwscale-tui to use it (--repair leaves it as it is)",
            facts,
        )
    unreadable = [t for t in READ_TABLES if t not in tables]
    if unreadable:
        return (
            False,
            f"{path}: {'table' if len(unreadable) == 1 else 'tables'} {', '.join(unreadable)} missing, which the reading commands "
            f"(status, trials, analyze) need; {REPAIR_HINT} (adding every table)",
            facts,
        )
    detail = (
        f"{path}: ok (schema {version}, {plural(facts.get('trials', 0), 'trial')}, "
        f"{facts.get('finished', 0)} finished, WAL {facts['wal_size']} bytes)"
    )
    if missing:
        detail += f"; tables a writer will add: {', '.join(missing)}"
    return True, detail, facts


def _newer(version: object) -> bool:
    from ..store import SCHEMA_VERSION

    try:
        return version is not None and int(str(version)) > SCHEMA_VERSION
    except ValueError:
        return False


def _io_error(e: sqlite3.Error) -> bool:
    """An I/O error or a full disk (SQLITE_IOERR*, SQLITE_FULL), which a full disk also gives
    a reader: opening a WAL store maps its -shm file, which it cannot grow then."""
    code = getattr(e, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in (10, 13):  # SQLITE_IOERR, SQLITE_FULL
        return True
    text = str(e).lower()
    return "disk i/o error" in text or "database or disk is full" in text


def _open_damaged(path: Path) -> sqlite3.Connection:
    """A read-only connection that reads what it can of a damaged file: writable_schema makes
    SQLite load the schema even when a table's root page lies past the end of a truncated
    file (else every query fails with 'malformed database schema'); nothing is written."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    with contextlib.suppress(sqlite3.Error):
        conn.execute("PRAGMA writable_schema = ON")
    return conn


def _live_registered() -> list[str]:
    from ..launch import registry
    from ..paths import app_paths
    from ..processes import is_running

    live: list[str] = []
    for f in sorted((app_paths().data / "running").glob("*.json")):
        data = registry.read(f.stem)
        sup = data.get("supervisor") if isinstance(data.get("supervisor"), dict) else {}
        if sup and is_running(sup.get("pid"), sup.get("proc_start")):
            live.append(f"{f.stem} supervisor pid {sup['pid']}")
        for sweep, p in data["pairs"].items():
            if isinstance(p, dict) and is_running(p.get("pid"), p.get("proc_start")):
                live.append(f"{sweep} pid {p['pid']}")
        # a runner that found the file damaged set it aside and began a new one with its own
        # trial only: the trials' runners and processes are alive processes of this store too
        for run_id, t in data["trials"].items():
            if not isinstance(t, dict):
                continue
            runner = t.get("runner_pid")
            if is_running(runner, t.get("runner_start")):
                entry = f"{t.get('sweep') or run_id} runner pid {runner}"
                if entry not in live and not any(f"pid {runner}" in x for x in live):
                    live.append(entry)
            if is_running(t.get("pid"), t.get("proc_start")):
                live.append(f"{run_id} pid {t['pid']}")
    return live


def _unreadable_registries() -> list[Path]:
    """Per-launch files that do not parse: what runs for their experiments is unknown."""
    from ..paths import app_paths

    out = []
    for f in sorted((app_paths().data / "running").glob("*.json")):
        try:
            ok = isinstance(json.loads(f.read_text(encoding="utf-8")), dict)
        except (OSError, ValueError):
            ok = False
        if not ok:
            out.append(f)
    return out


def check_orphans(report: Report) -> None:
    from ..hardware import pair_tag_of
    from ..launch import registry
    from ..launch.supervisor import _orphan_jobs, _orphan_trials, cluster_jobs_text
    from ..paths import app_paths

    found = 0
    for f in sorted((app_paths().data / "running").glob("*.json")):
        data = registry.read(f.stem)
        sweeps = sorted(
            {
                s
                for t in data["trials"].values()
                if isinstance(t, dict) and isinstance(s := t.get("sweep"), str)
            }
        )
        for run_id, target in _orphan_trials(f.stem, sweeps, data):
            found += 1
            report.add(
                "orphan trial",
                False,
                f"{run_id} (pid {target.pid}) runs without its sweep runner; "
                f"hwscale-tui cancel --experiment-name {f.stem} --all stops it",
            ).repairable = False
        # a dead runner's Slurm / SkyPilot jobs: no runner watches them (status says whether
        # launch --resume re-attaches them); the per-launch file drops them once settled
        for sweep, jobs in sorted(_orphan_jobs(f.stem, sweeps, data).items()):
            found += len(jobs)
            report.add(
                "orphan trial",
                False,
                f"{plural(len(jobs), 'trial')} of {sweep} left in flight as cluster jobs by their dead "
                f"sweep runner ({cluster_jobs_text(jobs)}); hwscale-tui cancel --experiment-name "
                f"{f.stem} {pair_tag_of(sweep)} cancels them",
            ).repairable = False
    if not found:
        report.add("orphan trial", True, "no trial runs without its sweep runner")


def check_launches(report: Report, store_ok: bool) -> None:
    """Launches whose supervisor died before it started every pair: those never start."""
    from ..errors import StoreError
    from ..launch import supervisor as sup
    from ..launch.experiments import known_names
    from ..paths import app_paths

    if not store_ok or not app_paths().store.exists():
        return
    found = 0
    try:
        for name in known_names():
            st = sup.pair_status(name)
            never = st.never_started
            if st.launch_id is None or st.supervisor_alive or not never:
                continue
            found += 1
            report.add(
                "launch",
                False,
                f"experiment {name}: its supervisor (pid {st.supervisor_pid}, "
                f"{st.launch_text}) is gone and {', '.join(p.tag for p in never)} never started; "
                f"hwscale-tui launch --experiment-name {name} --resume starts them",
            ).repairable = False
    except (StoreError, sqlite3.Error) as e:  # the store check says what is wrong with it
        report.add("launch", True, f"not checked: the store could not be read ({e})")
        return
    if not found:
        report.add("launch", True, "no launch left pairs unstarted")


def check_snapshots(report: Report, store_ok: bool) -> None:
    """Launched experiments whose launch snapshot (state/experiments/NAME.toml) is gone or no
    longer reads: status then shows no ETA or cost, and launch --resume cannot continue them."""
    from ..errors import StoreError
    from ..launch import supervisor as sup
    from ..launch.experiments import known_names
    from .status import snapshot_problem

    if not store_ok or not app_store_exists():
        return
    found = 0
    try:
        for name in known_names():
            if sup.pair_status(name).launch_id is None:
                continue
            problem = snapshot_problem(name) or _snapshot_edited(name)
            if problem:
                found += 1
                report.add(
                    "launch snapshot", False, f"experiment {name}: {problem}"
                ).repairable = False
    except (StoreError, sqlite3.Error):  # the store check says what is wrong with it
        return
    if not found:
        report.add("launch snapshot", True, "every launched experiment's snapshot reads")


def _snapshot_edited(name: str) -> str | None:
    """The launch snapshot of ``name`` edited by hand since its newest generation ran, in a
    setting that decides comparability: every pair ``launch --resume`` starts from it exits 2
    at once (its sweep refuses to mix trials); resume refuses it (``generations.snapshot_edits``)."""
    from ..config import load
    from ..errors import UsageError
    from ..launch.generations import snapshot_edits
    from ..paths import snapshot_path
    from ..store import Store

    path = snapshot_path(name)
    try:
        cfg = load(path)
        with Store(app_paths_store(), readonly=True) as st:
            comp = snapshot_edits(st, cfg)
    except (UsageError, ValueError, TypeError, KeyError, OSError, sqlite3.Error):
        return None
    if comp is None:
        return None
    return (
        f"its launch snapshot {path} was changed since generation {comp.generation} "
        f"ran ({comp.describe()}): a pair launch --resume starts from it exits at once (its "
        "sweep refuses to mix trials); put the settings back in it (such a change goes in "
        "the experiment's own file, launched with --new-generation)"
    )


# A sweep's trial id (sweep/trial_command.py: ``<sweep>_trial_<nnnn>_<6 hex>``): a run folder of
# that name was made by a sweep, which records the trial in the store before it starts it.
SWEEP_RUN_RE = re.compile(r"^(?P<sweep>.+)_trial_\d{4,}_[0-9a-f]{6}$")


def check_runs(report: Report, repair: bool, store_ok: bool) -> None:
    """Sweep trials' run folders (state/runs/<run id>) the store has no row for: the store
    lost them (its -wal file deleted, an older backup restored, a repair that could not read
    their pages) -- else every command shows them as never run, with nothing said. ``--repair``
    puts back the rows their folders can rebuild (``trial.json`` and a final metrics line:
    metrics_file.recovered_trial)."""
    from ..metrics_file import recovered_trial
    from ..paths import app_paths
    from .status import lost_run_ids

    runs = app_paths().runs
    if not store_ok or not runs.is_dir():
        return
    ran = False
    with contextlib.suppress(OSError):
        ran = any(SWEEP_RUN_RE.match(d.name) and d.is_dir() for d in runs.iterdir())
    if not ran:
        return  # no sweep trial ever ran here: nothing to say
    missing = lost_run_ids()
    if not missing:
        report.add("trial runs", True, "every sweep trial's run folder has its row in the store")
        return
    rebuilt = {n: recovered_trial(runs / n) for n in missing}
    can = [n for n, r in rebuilt.items() if not isinstance(r, str)]
    finished = sum(1 for n in missing if _finished_run(runs / n))
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    cannot = len(missing) - len(can)
    if can:
        fix = (
            f"--repair rebuilds {'it' if len(can) == len(missing) == 1 else plural(len(can), 'row')} "
            "from the run folders (their trial.json and metrics file)"
            + (
                f"; {plural(cannot, 'other')} cannot be: "
                + _why_not(rebuilt, [n for n in missing if n not in can])
                + _no_copy(runs)
                if cannot
                else ""
            )
        )
    else:
        fix = (
            "their folders cannot rebuild them ("
            + _why_not(rebuilt, missing)
            + ")"
            + _no_copy(runs)
        )
    finding = report.add(
        "trial runs",
        False,
        f"{plural(len(missing), 'trial')} run by sweeps ({finished} finished) "
        + (
            f"is missing from the store though its run folder is in {runs} ({shown}): the store "
            "lost it (a "
            if len(missing) == 1
            else f"are missing from the store though their run folders are in {runs} ({shown}): "
            "the store lost them (a "
        )
        + "deleted -wal file, an older copy put back, rows a repair could not read); status, "
        + (
            "trials and analyze leave it out and launch --resume runs one more; "
            if len(missing) == 1
            else "trials and analyze leave them out and launch --resume runs that many again; "
        )
        + fix,
    )
    finding.repairable = bool(can)
    if repair and can:
        ok, said = _rebuild_rows(rebuilt, can)
        if ok and not cannot:
            finding.fixed = said
        else:  # some are still missing, or nothing could be written: still a problem (exit 1)
            finding.detail += f"; --repair: {said}"
            finding.repairable = False


def _no_copy(runs: Path) -> str:
    """What to do about lost trials their folders cannot rebuild: a store copy that has them,
    else nothing brings them back, and doctor reports them (exit 1) while their folders stay."""
    return (
        " -- put back the store copy that has them if you have one (data/backups/ holds the "
        "ones --repair made); without one they are lost, and doctor reports them until their "
        f"run folders are moved out of {runs} (they hold the trials' logs and metrics)"
    )


def _why_not(rebuilt: dict[str, Any], names: list[str]) -> str:
    """``3 with no readable trial.json (run before hwscale-tui wrote one), 1 with no final
    metrics line (...)``."""
    counts: dict[str, int] = {}
    for n in names:
        why = rebuilt[n]
        counts[why] = counts.get(why, 0) + 1
    return ", ".join(
        f"{n} with {why}"
        + (" (run before hwscale-tui wrote one, or damaged)" if "trial.json" in why else "")
        for why, n in counts.items()
    )


def _rebuild_rows(rebuilt: dict[str, Any], names: list[str]) -> tuple[bool, str]:
    """Insert the rebuilt rows (and their curves, where the store kept none) in one transaction."""
    from ..errors import StoreError
    from ..paths import app_paths
    from ..store import Store

    try:
        with Store(app_paths().store) as st, st.transaction():
            curves = 0
            for n in names:
                row, history = rebuilt[n]
                if st.get_trial_row(n) is not None:  # a sweep recorded it meanwhile
                    continue
                sweep = SWEEP_RUN_RE.match(n)
                assert sweep is not None
                st.insert_trial(n, sweep.group("sweep"), **row)
                has_curve = st.conn.execute(
                    "SELECT 1 FROM history WHERE run_id = ? LIMIT 1", (n,)
                ).fetchone()
                if not has_curve:
                    curves += st.append_history(n, history)
    except (StoreError, sqlite3.Error, OSError) as e:
        return False, f"nothing rebuilt: {e}"
    states: dict[str, int] = {}
    for n in names:
        state = rebuilt[n][0]["state"]
        states[state] = states.get(state, 0) + 1
    said = ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
    return True, (
        f"rebuilt {plural(len(names), 'trial')} ({said}) and {plural(curves, 'curve point')} "
        "from their run folders"
    )


def _finished_run(run_dir: Path) -> bool:
    """Whether the last line of the run's metrics file says it finished."""
    try:
        with open(run_dir / "metrics.jsonl", "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            last = fh.read().splitlines()[-1]
        row = json.loads(last)
    except (OSError, ValueError, IndexError):
        return False
    return isinstance(row, dict) and row.get("state") == "finished"


def app_paths_store() -> Path:
    from ..paths import app_paths

    return app_paths().store


def check_state_files(report: Report, repair: bool, store_ok: bool) -> None:
    """The small JSON files beside the store: a per-launch file (data/running/NAME.json, what
    cancel and the orphan check read) or the current-experiment pointer that no longer parses
    is otherwise passed over in silence (an empty per-launch file; another current experiment)."""
    from ..errors import StoreError, UsageError
    from ..launch import supervisor as sup
    from ..launch.experiments import current_name, current_path, read_current
    from ..paths import app_paths

    found = 0
    running = app_paths().data / "running"
    for f in sorted(running.glob("*.json")) if running.is_dir() else []:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            why = "" if isinstance(data, dict) else "not a JSON object"
        except (OSError, ValueError) as e:
            why = f"{type(e).__name__}: {e}"
        if not why:
            continue
        found += 1
        finding = report.add(
            "per-launch file",
            False,
            f"{f} cannot be read ({why}): doctor cannot see orphaned trials of {f.stem} and "
            f"cancel cannot stop its processes from it while the store is damaged; its "
            f"supervisor and sweep runners set it aside ({f.name}.damaged-TIME) and start a "
            f"new one at their next update",
        )
        idle = False
        if store_ok and app_store_exists():
            with contextlib.suppress(StoreError, sqlite3.Error):
                st = sup.pair_status(f.stem)
                idle = not st.supervisor_alive and not any(p.alive for p in st.pairs)
        finding.repairable = idle
        if not idle:
            finding.detail += " (--repair leaves it: something of it runs, or the store cannot say)"
        else:
            finding.detail += "; nothing of it runs, so --repair removes it"
            if repair:
                with contextlib.suppress(OSError):
                    f.unlink()
                    finding.fixed = "removed (the next launch writes a new one)"
    for copy in sorted(running.glob("*.json.damaged-*")) if running.is_dir() else []:
        found += 1
        stem = copy.name.split(".json.damaged-")[0]
        report.add(
            "per-launch file",
            False,
            f"{copy} is a per-launch file of {stem} that did not parse, set aside by the writer "
            "that found it: cancel does not read it, so a cluster job it listed (a Slurm job id, "
            "a SkyPilot job name) is stopped by no one; read what of it is legible, cancel such "
            "jobs by hand (scancel ID, sky jobs cancel NAME), then delete it",
        ).repairable = False
    pointer = current_path()
    if pointer.exists() and read_current() is None:
        found += 1
        try:
            now = f"commands act on {current_name()} instead"
        except (UsageError, StoreError, sqlite3.Error, OSError) as e:
            now = f"the fallback experiment cannot be read either ({e})"
        report.add(
            "current experiment",
            False,
            f"{pointer} cannot be read, so the experiment you last selected is forgotten: {now}; "
            "hwscale-tui experiments select NAME sets it again",
        ).repairable = False
    if not found:
        report.add("state files", True, "the per-launch files and the current-experiment file read")


def app_store_exists() -> bool:
    from ..paths import app_paths

    return app_paths().store.exists()


def check_reserves(report: Report, repair: bool, store_ok: bool) -> None:
    """The disk space a sweep holds back for a clean stop on a full disk (state/reserve/
    <sweep>.bin, 512 KiB) stays behind when the sweep is SIGKILLed and never resumed."""
    from ..errors import StoreError
    from ..paths import app_paths
    from ..processes import is_running
    from ..store import Store

    folder = app_paths().state / "reserve"
    files = sorted(folder.glob("*.bin")) if folder.is_dir() else []
    if not files or not store_ok or not app_paths().store.exists():
        return
    leaked: list[Path] = []
    try:
        with Store(app_paths().store, readonly=True) as st:
            for f in files:
                row = st.get_sweep(f.stem)
                if row is None or is_running(row.get("pid"), row.get("proc_start")):
                    continue  # unknown, or its sweep runs: left alone
                with contextlib.suppress(OSError):  # a newer run of the sweep took it
                    if f.stat().st_mtime <= float(row.get("updated_at") or 0):
                        leaked.append(f)
    except (StoreError, sqlite3.Error):
        return
    if not leaked:
        report.add("space reserve", True, "no sweep that stopped left its disk-space reserve")
        return
    size = sum(f.stat().st_size for f in leaked if f.exists()) // 1024
    finding = report.add(
        "space reserve",
        False,
        f"{plural(len(leaked), 'disk-space reserve')} of sweeps no longer running ({size} KiB in "
        f"{folder}: {', '.join(f.stem for f in leaked)}); --repair removes them",
    )
    if repair:
        removed, failed = 0, ""
        for f in leaked:
            try:
                f.unlink()
                removed += 1
            except FileNotFoundError:
                removed += 1  # a resumed sweep took it meanwhile: gone all the same
            except OSError as e:
                failed = failed or (e.strerror or str(e))
        if not failed:
            finding.fixed = f"removed {removed}"
        else:  # a read-only state location: nothing to call fixed (exit 1)
            finding.repairable = False
            finding.detail += (
                f"; --repair removed {removed} of {len(leaked)}: the others cannot be removed "
                f"({failed}); make {folder} writable, then run it again"
            )


def check_disk(report: Report) -> None:
    """A full disk stops every write (sweeps pause, launch and cancel fail): say so here too."""
    from .status import disk_full_note

    note = disk_full_note()
    if note:
        report.add("disk", False, note).repairable = False
    else:
        report.add("disk", True, "the disk holding the state location has room")


def check_shm(report: Report, repair: bool) -> None:
    from ..train import shm

    leaked = [(rec, files) for rec, files in shm.leaked(shm._is_running) if files]
    count = sum(len(files) for _, files in leaked)
    f = report.add(
        "shared memory",
        not leaked,
        f"{plural(count, 'semaphore')} leaked by SIGKILLed trials"
        if leaked
        else "no leaked semaphores",
    )
    if leaked and repair:
        f.fixed = f"removed {shm.clean_leaked(shm._is_running)}"


# -- repair ------------------------------------------------------------------------------------


def backup_store(path: Path) -> Path:
    from ..paths import ensure_private_dir

    backups = ensure_private_dir(path.parent / "backups")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # a second repair within the same second (a script, a repair run again) found the first's
    # backup under its name and failed, exit 1, 'File exists': the next free name is taken
    n = 1
    while True:
        dest = backups / f"{path.stem}-{stamp}{'' if n == 1 else f'-{n}'}.sqlite"
        if not Path(f"{dest}-wal").exists():
            try:
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                pass
        n += 1
    with os.fdopen(fd, "wb") as out, open(path, "rb") as inp:
        shutil.copyfileobj(inp, out)
    wal = Path(f"{path}-wal")
    if wal.exists():
        fd = os.open(f"{dest}-wal", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, open(wal, "rb") as inp:
            shutil.copyfileobj(inp, out)
    return dest


def _salvage_rows(
    old: sqlite3.Connection, table: str, run_ids: Sequence[str] = ()
) -> tuple[list[str], list[tuple], bool]:
    """Every row of ``table`` that can still be read (page by page of rowids when the table
    has them, else one pass that keeps what came before an error), and whether a read failed
    on the way (rows on a damaged page are lost)."""
    cols = [r[1] for r in old.execute(f"PRAGMA table_info({table})")]
    rows: list[tuple] = []
    lossy = False
    try:
        lo, hi = old.execute(f"SELECT MIN(rowid), MAX(rowid) FROM {table}").fetchone()
        chunks = [] if lo is None else [(a, min(a + 99, hi)) for a in range(lo, hi + 1, 100)]
        for a, b in chunks:
            try:
                rows += old.execute(
                    f"SELECT {', '.join(cols)} FROM {table} WHERE rowid BETWEEN ? AND ?", (a, b)
                ).fetchall()
            except sqlite3.DatabaseError as e:
                _unless_locked(e)
                for rowid in range(a, b + 1):
                    try:
                        rows += old.execute(
                            f"SELECT {', '.join(cols)} FROM {table} WHERE rowid = ?", (rowid,)
                        ).fetchall()
                    except sqlite3.DatabaseError as e:
                        _unless_locked(e)
                        lossy = True
    except sqlite3.OperationalError as e:  # WITHOUT ROWID (history): run by run, past damaged pages
        _unless_locked(e)
        rows = []
        lossy = "rowid" not in str(e).lower()  # the MIN(rowid) query failed on damage
        keys = list(run_ids) if "run_id" in cols and run_ids else [None]
        for key in keys:
            sql = f"SELECT {', '.join(cols)} FROM {table}" + (" WHERE run_id = ?" if key else "")
            try:
                for row in old.execute(sql, (key,) if key else ()):
                    rows.append(row)
            except sqlite3.DatabaseError as e:
                _unless_locked(e)
                lossy = True
    except sqlite3.DatabaseError as e:  # the table's pages cannot be read at all
        _unless_locked(e)
        lossy = True
    return cols, rows, lossy


def _locked(e: BaseException) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text


def _unless_locked(e: sqlite3.DatabaseError) -> None:
    """A damaged page is skipped; a lock is not damage: reading on would drop readable rows."""
    if _locked(e):
        raise e


def rebuild_store(path: Path) -> tuple[Path, dict[str, int], list[str]]:
    """A fresh store holding every readable row of the damaged one, swapped in atomically;
    also the tables whose rows could not all be read (``["*"]``: nothing of the file could)."""
    new_path = path.with_name(f".{path.name}.rebuild-{os.getpid()}")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{new_path}{suffix}").unlink(missing_ok=True)
    try:
        return _rebuild_into(path, new_path)
    except BaseException:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{new_path}{suffix}").unlink(missing_ok=True)
        raise


def _rebuild_into(path: Path, new_path: Path) -> tuple[Path, dict[str, int], list[str]]:
    from ..store import Store

    counts: dict[str, int] = {}
    lost: list[str] = []
    with Store(new_path) as new:
        try:
            old = _open_damaged(path)
            tables = [
                r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
        except sqlite3.DatabaseError as e:
            _unless_locked(e)  # locked: the store is left as it is
            old, tables = None, []
            lost.append("*")
        known = {
            r[0] for r in new.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        run_ids: list[str] = []
        tables.sort(key=lambda t: t != "trials")  # trials first: their run ids guide the rest
        for table in tables:
            if table not in known or table == "sqlite_sequence":
                continue
            new_cols = {r[1] for r in new.conn.execute(f"PRAGMA table_info({table})")}
            try:
                # tables is empty when old is None
                cols, rows, lossy = _salvage_rows(cast(sqlite3.Connection, old), table, run_ids)
            except sqlite3.DatabaseError as e:
                _unless_locked(e)
                lost.append(table)
                continue
            if lossy:
                lost.append(table)
            if table == "trials" and "run_id" in cols:
                at, st = cols.index("run_id"), cols.index("state") if "state" in cols else None
                run_ids = [r[at] for r in rows]
                counts["finished"] = sum(1 for r in rows if st is not None and r[st] == "finished")
            keep = [i for i, c in enumerate(cols) if c in new_cols]
            names = [cols[i] for i in keep]
            with new.transaction():
                if table == "meta":
                    new.conn.execute("DELETE FROM meta")
                for row in rows:
                    with contextlib.suppress(sqlite3.DatabaseError):
                        new.conn.execute(
                            f"INSERT OR IGNORE INTO {table} ({', '.join(names)}) "
                            f"VALUES ({', '.join('?' for _ in names)})",
                            [row[i] for i in keep],
                        )
            counts[table] = len(rows)
        if old is not None:
            old.close()
        new.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
        Path(f"{new_path}{suffix}").unlink(missing_ok=True)
    os.replace(new_path, path)
    return path, counts, sorted(lost)


def check_store(report: Report, repair: bool) -> None:
    from ..paths import app_paths

    path = app_paths().store
    ok, detail, facts = inspect_store(path)
    f = report.add("store", ok, detail)
    if (
        facts.get("newer")
        or facts.get("locked")
        or facts.get("not_a_file")
        or facts.get("disk_full")
    ):
        # a rebuild in this older schema would drop what the newer one added; a locked store
        # is not damaged, and its rebuild would read none of its rows
        f.repairable = False
        return
    if ok or not repair:
        return
    from .status import disk_full_note

    if disk_full_note():  # the backup and the rebuild would fail half-way
        f.detail += "; not repaired while the disk is full (free space, then run it again)"
        return
    live = _live_registered()
    if live:
        f.fixed = ""
        f.detail += f"; not repaired while these run: {', '.join(live)} (cancel them first)"
        return
    unknown = _unreadable_registries()
    if unknown:  # a rebuild swapped in under a running sweep loses what it writes
        f.detail += (
            f"; not repaired: {', '.join(str(u) for u in unknown)} cannot be read, so whether "
            "sweeps still run on this store is unknown; stop them (ps -eo pid,args | grep "
            "hwscale_tui), remove that file, then run doctor --repair again"
        )
        return
    backup = backup_store(path)
    try:
        _, counts, lost = rebuild_store(path)
    except sqlite3.Error as e:
        if not _locked(e):
            raise
        f.detail += f"; not repaired: another process took its lock ({e}); retry when it is done"
        return
    ok_after, detail_after, facts_after = inspect_store(path)
    finished_before = max(facts.get("finished", 0), counts.get("finished", 0))
    if facts_after.get("finished", 0) < finished_before:  # never: every readable row is copied
        f.detail += (
            f"; NOT fixed: fewer finished trials after the rebuild; the original is {backup}"
        )
        return
    kept = (
        f"backed up to {backup}; rebuilt keeping {plural(counts.get('trials', 0), 'trial')} "
        f"({facts_after.get('finished', 0)} finished), {counts.get('history', 0)} history rows"
    )
    if lost == ["*"]:
        kept += (
            "; nothing of the old file could be read (not an SQLite store any more), so the "
            f"rebuilt store is empty: restore an older copy if you have one, else {backup} is "
            "all that is left of it"
        )
    elif lost:
        kept += (
            f"; rows of {', '.join(lost)} on damaged pages could not be read and are not in the "
            f"rebuilt store (status may show a launch as never made): {backup} keeps the original"
        )
    if not ok_after:  # not fixed: the finding stays a problem (exit 1)
        f.detail += f"; {kept}, but it still fails: {detail_after}"
        return
    f.fixed = kept


def run(args: argparse.Namespace) -> int:
    report = Report()
    check_dirs(report, args.repair)
    check_disk(report)
    check_store_modes(report, args.repair)
    check_store(report, args.repair)
    store_ok = report.findings[-1].ok or bool(report.findings[-1].fixed)
    check_launches(report, store_ok)
    check_snapshots(report, store_ok)
    check_state_files(report, args.repair, store_ok)
    check_runs(report, args.repair, store_ok)
    check_reserves(report, args.repair, store_ok)
    check_orphans(report)
    check_shm(report, args.repair)
    if args.json:
        json.dump(
            {
                "healthy": report.healthy,
                # repairable: a problem --repair fixes (never said of a passed check)
                "findings": [
                    {**f.__dict__, "repairable": f.repairable and not f.ok} for f in report.findings
                ],
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        for f in report.findings:
            mark = "ok " if f.ok else ("fixed" if f.fixed else "PROBLEM")
            print(f"{mark:<7} {f.check}: {f.detail}" + (f" -> {f.fixed}" if f.fixed else ""))
        if not args.repair and any(
            not f.ok and not f.fixed and f.repairable for f in report.findings
        ):
            print(
                "hwscale-tui doctor --repair fixes what it can (a damaged store is backed up first)"
            )
    return 0 if report.healthy else 1
