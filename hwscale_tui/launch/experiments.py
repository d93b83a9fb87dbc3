"""One current experiment, the same for every command and the app.

The *current experiment* is the one last saved, launched or selected. It is kept in the state
dir (``current-experiment.json``: its name and, when it has one, the file it is edited in) and
every command (``plan``, ``launch``, ``status``, ``cancel``, ``trials``, ``analyze``,
``sweep``) and the app act on it unless told otherwise: ``--experiment-name NAME`` selects
another (and makes it current), ``-e FILE`` opens a file (and makes its experiment current).

Experiments are known by name from the store (``experiments`` table, launches, sweeps,
trials), from the files under ``config/experiments/`` and from the current pointer. An
experiment's config comes from its own file, else from its launch snapshot, else (for the
built-in default name only) from the built-in defaults.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config as cfgmod
from ..config import ExperimentConfig
from ..errors import ConfigError, StoreError, UsageError
from ..paths import app_paths, ensure_private_dir, snapshot_path, write_private_text

if TYPE_CHECKING:  # the store loads when a function here first opens it
    from ..store import Store

CURRENT_FILENAME = "current-experiment.json"
DEFAULT_NAME = cfgmod.ExperimentSection().name


def current_path() -> Path:
    return app_paths().state / CURRENT_FILENAME


def experiments_dir() -> Path:
    """Where the app keeps experiment files it creates (``new from this one``)."""
    return app_paths().config / "experiments"


def managed_file(name: str) -> Path:
    return experiments_dir() / f"{name}.toml"


def _is_snapshot(path: Path) -> bool:
    try:
        return Path(path).resolve().parent == snapshot_path("x").resolve().parent
    except OSError:
        return False


@dataclass(frozen=True)
class Current:
    name: str
    file: Path | None


def read_current() -> Current | None:
    """The current experiment, or None when none was ever saved, launched or selected."""
    try:
        data = json.loads(current_path().read_text(encoding="utf-8"))
        name = data["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or not cfgmod.SKY_NAME_RE.match(name):
        return None
    file = data.get("file")
    return Current(name, Path(file) if isinstance(file, str) and file else None)


def set_current(
    name: str, file: str | os.PathLike[str] | None = None, *, strict: bool = False
) -> None:
    """Make ``name`` current (its file remembered unless it is a launch snapshot). On a
    read-only state location it stays unremembered, so reading commands still work;
    ``strict`` (``experiments select``, whose whole point it is) says so instead: a
    StoreError naming the file."""
    path = Path(file).expanduser().resolve() if file else None
    if path is not None and _is_snapshot(path):
        path = None
    if path is None:
        old = read_current()
        if old is not None and old.name == name:
            path = old.file
    try:
        paths = app_paths().ensure()
        write_private_text(
            paths.state / CURRENT_FILENAME,
            json.dumps({"name": name, "file": str(path) if path else None, "at": time.time()}),
        )
    except OSError as e:  # a read-only state location: reading commands still work, unremembered
        if strict:
            where = app_paths().state / CURRENT_FILENAME
            why = e.strerror or str(e)
            if where.parent.is_dir() and not os.access(where.parent, os.W_OK):
                why = "its folder is not writable: a read-only file system, or not yours"
            raise StoreError(
                f"{name} could not be made the current experiment: {where} cannot be written "
                f"({why}); check that the state location is writable and yours, or set "
                "HWSCALE_HOME to one"
            ) from None


def remember(
    name: str, file: str | os.PathLike[str] | None = None, *, store: Store | None = None
) -> None:
    """An experiment was saved or launched: register it in the store and make it current."""
    path = Path(file).expanduser().resolve() if file else None
    if path is not None and _is_snapshot(path):
        path = None
    if store is not None:
        store.touch_experiment(name, file=str(path) if path else None)
    else:
        from ..store import Store

        with Store.open_default() as st:
            st.touch_experiment(name, file=str(path) if path else None)
    set_current(name, path)


def note_file(name: str, file: str | os.PathLike[str]) -> None:
    """A sweep ran from ``file`` (``hwscale-tui sweep -e FILE``): register the experiment with
    that file when it has none yet, so ``analyze``, ``experiments`` and the app read its
    settings (its grid, target, prices), not the defaults. Never makes it current (a pair's
    sweep does not change what the other commands act on); a launch snapshot is no file."""
    from ..store import Store

    path = Path(file).expanduser().resolve()
    try:
        if _is_snapshot(path) or file_for(name) is not None:
            return
        with Store.open_default() as st:
            st.touch_experiment(name, file=str(path))
    except (StoreError, sqlite3.Error, OSError):
        return  # the sweep itself says what is wrong with the store; this note can wait


def _open_store_readonly() -> Store | None:
    path = app_paths().store
    if not path.exists():
        return None
    from ..store import Store

    return Store(path, readonly=True)


def known_names(store: Store | None = None) -> list[str]:
    names: set[str] = set()
    st = store or _open_store_readonly()
    try:
        if st is not None:
            names.update(st.experiment_names())
    finally:
        if store is None and st is not None:
            st.close()
    cur = read_current()
    if cur is not None:
        names.add(cur.name)
    for folder in (experiments_dir(), snapshot_path("x").parent):
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.toml") if cfgmod.SKY_NAME_RE.match(p.stem))
    legacy = app_paths().default_experiment
    if legacy.is_file():
        with contextlib.suppress(ConfigError):
            names.add(cfgmod.load(legacy).name)
    return sorted(names)


def file_for(name: str, store: Store | None = None) -> Path | None:
    """The file experiment ``name`` is edited in, if it has one (never its launch snapshot)."""
    candidates: list[Path] = []
    st = store or _open_store_readonly()
    try:
        if st is not None:
            row = next((r for r in st.experiment_rows() if r["name"] == name), None)
            if row and row["file"]:
                candidates.append(Path(row["file"]))
    finally:
        if store is None and st is not None:
            st.close()
    cur = read_current()
    pointed = cur.file if cur is not None and cur.name == name else None
    if pointed is not None:
        candidates.insert(0, pointed)
    # files recorded as its own (the pointer's, the store's) and its managed file: one that is
    # not TOML at all is still its own, said, never passed over for its launch snapshot or the
    # built-in defaults (a line typed into a plan --save file planned the defaults under its
    # name); the legacy default file may be another experiment's
    own = {*candidates, managed_file(name)}
    candidates += [managed_file(name), app_paths().default_experiment]
    for path in candidates:
        if path.is_file():
            try:
                if cfgmod.load(path).name == name:
                    return path
            except ConfigError:
                if _names(path, name, pointed=path in own):
                    # its own file has a bad value (a typo made by hand): say so, rather than
                    # act on its launch snapshot or the built-in defaults without a word
                    raise
                continue
    return None


def _names(path: Path, name: str, *, pointed: bool) -> bool:
    """Whether a file that does not load is still experiment ``name``'s: its ``[experiment]
    name`` says so (another experiment may have been made from it under a new name); a file
    that is not TOML at all tells no name, and counts when it is the current experiment's."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False
    except tomllib.TOMLDecodeError:
        return pointed
    section = data.get("experiment")
    given = section.get("name", DEFAULT_NAME) if isinstance(section, dict) else DEFAULT_NAME
    return given == name


def _recorded_files(name: str) -> list[Path]:
    """The files experiment ``name`` was recorded as edited in: the current pointer's (when it
    names it) and the store's."""
    out: list[Path] = []
    cur = read_current()
    if cur is not None and cur.name == name and cur.file is not None:
        out.append(cur.file)
    st = _open_store_readonly()
    try:
        if st is not None:
            row = next((r for r in st.experiment_rows() if r["name"] == name), None)
            if row and row["file"] and Path(row["file"]) not in out:
                out.append(Path(row["file"]))
    finally:
        if st is not None:
            st.close()
    return out


def lost_file(name: str) -> Path | None:
    """The file experiment ``name`` was recorded as edited in, when that file is gone (moved
    or deleted by hand) and no other file holds the experiment; None otherwise (also when its
    file is there but unreadable: the commands that read it say what is wrong)."""
    try:
        if file_for(name) is not None:
            return None
    except ConfigError:
        return None
    return next((p for p in _recorded_files(name) if not p.exists()), None)


def _refuse_lost_file(name: str) -> None:
    """Experiment ``name`` has no file holding it and no launch snapshot: when it was recorded
    with a file (moved, deleted, or its ``[experiment] name`` edited since), say so rather than
    act on the built-in defaults under its name (``launch`` started the default grid)."""
    for path in _recorded_files(name):
        if not path.exists():
            why = "no longer exists (moved or deleted)"
        else:
            try:
                other = cfgmod.load(path).name
            except ConfigError:
                continue  # file_for said what is wrong with a file that is still its own
            if other == name:
                continue
            why = f"now holds experiment {other!r}"
        raise ConfigError(
            str(path),
            "<file>",
            f"experiment {name}'s file {why}, and {name} has no launch snapshot to read its "
            "settings from (they would be the built-in defaults)",
            "the file put back, -e FILE where it is now, or hwscale-tui experiments select "
            "another experiment",
        )


def no_such_experiment(name: str, names: list[str] | None = None) -> UsageError:
    names = known_names() if names is None else names
    if not names:  # it said "accepted: one of none yet"
        return UsageError(
            f"there is no experiment named {name!r}; accepted: the name of a saved or launched "
            "experiment, and there is none yet (hwscale-tui plan --save FILE or hwscale-tui "
            "launch makes one)."
        )
    return UsageError(
        f"there is no experiment named {name!r}; accepted: one of {', '.join(names)} "
        "(hwscale-tui experiments lists them)."
    )


def load_named(name: str) -> tuple[ExperimentConfig, Path | None]:
    """(config, its file or None) for an experiment known by name; UsageError if unknown."""
    path = file_for(name)
    if path is not None:
        return cfgmod.load(path), path
    snap = snapshot_path(name)
    if snap.is_file():
        return cfgmod.load(snap), None
    if name != DEFAULT_NAME:
        _refuse_lost_file(name)
    if name == DEFAULT_NAME or (name in known_names()):
        cfg = cfgmod.default_config(env=os.environ)
        if name != cfg.name:
            cfg = cfgmod.apply_overrides(cfg, {"experiment.name": name}, source="<defaults>")
        return cfg, None
    raise no_such_experiment(name)


def current_config() -> tuple[ExperimentConfig, Path | None]:
    """The current experiment's config and file: the pointer, else the legacy default file,
    else the experiment launched most recently (and not archived), else the built-in default."""
    cur = read_current()
    if cur is not None:
        try:
            return load_named(cur.name)
        except ConfigError:
            raise  # its file has a bad value: the command says which, in one sentence
        except UsageError:
            pass  # deleted since: fall through to the defaults
    legacy = app_paths().default_experiment
    if legacy.is_file():
        return cfgmod.load(legacy), legacy
    st = _open_store_readonly()
    if st is not None:
        try:
            # not an archived one: archiving the current experiment made it current again here
            archived = {r["name"] for r in st.experiment_rows() if r.get("archived_at") is not None}
            row = next(
                (
                    r
                    for r in st.conn.execute(
                        "SELECT experiment FROM launches GROUP BY experiment ORDER BY MAX(id) DESC"
                    )
                    if r[0] not in archived
                ),
                None,
            )
        finally:
            st.close()
        if row is not None:
            try:
                return load_named(row[0])
            except ConfigError:
                raise  # its file has a bad value: the command says which, in one sentence
            except UsageError:
                pass
    return cfgmod.default_config(env=os.environ), None


def current_name() -> str:
    try:
        return current_config()[0].name
    except ConfigError:  # its file has a bad value (commands acting on it say so): still current
        cur = read_current()
        if cur is None:
            raise
        return cur.name


def resolve(
    name: str | None, file: str | os.PathLike[str] | None, *, select: bool = True
) -> tuple[ExperimentConfig, Path | None]:
    """What a command acts on: ``-e FILE`` and/or ``--experiment-name NAME``, else the current
    experiment. Naming one makes it current (``select``)."""
    if file:
        path = Path(file).expanduser()
        cfg = cfgmod.load(path)
        if name and cfg.name != name:
            raise UsageError(
                f"-e {path} holds experiment {cfg.name!r}, not {name!r}; accepted: one of "
                "--experiment-name and -e, or a file of that experiment."
            )
        if select:
            set_current(cfg.name, path)
        return cfg, path
    if name:
        cfg, named = load_named(name)
        if select:
            set_current(name, named)
        return cfg, named
    return current_config()


def save_path(name: str, file: Path | None) -> Path:
    """Where the app saves an experiment: its file, else the legacy default file for the
    built-in default name, else ``config/experiments/<name>.toml``."""
    if file is not None:
        return file
    if name == DEFAULT_NAME:
        return app_paths().default_experiment
    return managed_file(name)


# -- the list, archive, delete, new ---------------------------------------------------------


@dataclass
class ExperimentSummary:
    name: str
    current: bool
    state: str  # running | launched | not launched | archived
    generations: int
    pairs: int
    trials: int
    last_activity: float | None
    file: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _running_pairs(name: str, store: Store) -> list[str]:
    from .supervisor import pair_status

    status = pair_status(name, store)
    live = [p.tag for p in status.pairs if p.alive]
    if status.supervisor_alive and not live:
        live = [p.tag for p in status.pairs if not p.never_started and p.status != "exited"]
        live = live or ["its supervisor"]
    return live


def summaries(include_archived: bool = False) -> list[ExperimentSummary]:
    from ..hardware import plan_of

    cur = current_name()
    out: list[ExperimentSummary] = []
    path = app_paths().store
    from ..store import Store
    from .state import number_or_none

    # a list reads: never a write transaction or an upgrade of an older store's schema (the
    # read-write opening did both, and waited 30 s, not 10, for a writer's lock)
    store = Store(path, readonly=True) if path.exists() else None
    try:
        rows = {r["name"]: r for r in store.experiment_rows()} if store else {}
        for name in sorted(set(known_names(store)) | {cur}):
            row = rows.get(name) or {}
            archived = row.get("archived_at") is not None
            if archived and not include_archived and name != cur:  # the current one shows
                continue
            try:
                cfg, file = load_named(name)
                pairs = len(plan_of(cfg.grid)[0])
            except (UsageError, ConfigError):
                file, pairs = None, 0
            # a time damaged to text (by hand) is unknown: max() over it raised TypeError
            last = number_or_none(row.get("updated_at"))
            gens, trials, launched, running = 1, 0, False, False
            if store is not None:
                gens = max(1, len(store.generations(name)))
                trials = store.conn.execute(
                    "SELECT COUNT(*) FROM trials WHERE experiment = ?", (name,)
                ).fetchone()[0]
                for sql in (
                    "SELECT MAX(updated_at) FROM trials WHERE experiment = ?",
                    "SELECT MAX(started_at) FROM launches WHERE experiment = ?",
                ):
                    value = number_or_none(store.conn.execute(sql, (name,)).fetchone()[0])
                    if value is not None and (last is None or value > last):
                        last = value
                launched = (
                    store.conn.execute(
                        "SELECT 1 FROM launches WHERE experiment = ? LIMIT 1", (name,)
                    ).fetchone()
                    is not None
                )
                running = launched and bool(_running_pairs(name, store))
            state = (
                "archived"
                if archived
                else "running"
                if running
                else "launched"
                if launched
                else "not launched"
            )
            out.append(
                ExperimentSummary(
                    name, name == cur, state, gens, pairs, trials, last, str(file) if file else None
                )
            )
    finally:
        if store is not None:
            store.close()
    return out


def require_known(name: str, what: str) -> None:
    names = known_names()
    if name in names:
        return
    if name == cfgmod.ExperimentSection().name:  # listed on a fresh machine, but nothing to act on
        raise UsageError(
            f"{name} is the built-in default experiment and nothing of it is saved or launched "
            f"yet, so there is nothing to {what}; accepted: an experiment that was saved or "
            "launched (hwscale-tui experiments lists them)."
        )
    raise no_such_experiment(name, names)


def _refuse_if_running(name: str, store: Store, what: str) -> None:
    live = _running_pairs(name, store)
    if live:
        raise UsageError(
            f"experiment {name} is running ({', '.join(live)}), so it cannot be {what}; "
            f"accepted: hwscale-tui cancel --experiment-name {name} --all first."
        )


def archive(name: str, archived: bool = True) -> bool:
    """Hide (or show again) an experiment in the list; its data stays. Refused while running.
    Returns False when it already was (un)archived. Neither is activity: the list's last
    activity stays what it was (it showed the moment of archiving)."""
    require_known(name, "archive" if archived else "unarchive")
    from ..store import Store

    with Store.open_default() as store:
        row = next((r for r in store.experiment_rows() if r["name"] == name), None)
        cur = read_current()
        if (
            row is not None
            and (row.get("archived_at") is not None) == archived
            # archived, then selected again: archiving it hides it again (it stops being current)
            and not (archived and cur is not None and cur.name == name)
        ):
            return False
        if archived:
            _refuse_if_running(name, store, "archived")
        with store.transaction():
            if row is None:  # known from its sweeps or trials only: register it, no activity
                store.touch_experiment(name)
                store.conn.execute(
                    "UPDATE experiments SET updated_at = NULL WHERE name = ?", (name,)
                )
            store.set_experiment_archived(name, archived)
    if archived and cur is not None and cur.name == name:
        current_path().unlink(missing_ok=True)
    return True


def _still_registered(name: str) -> tuple[list[str], list[tuple[str, str]]]:
    """What the per-launch file still tracks that may run: live supervisor, pair or trial
    processes (described), and cluster jobs as (trial run id, job) (cancel stops or forgets
    each; only a job's cluster knows whether it still runs)."""
    from ..processes import is_running
    from . import registry

    data = registry.read(name)
    live: list[str] = []
    jobs: list[tuple[str, str]] = []
    sup = data.get("supervisor")
    if isinstance(sup, dict) and is_running(sup.get("pid"), sup.get("proc_start")):
        live.append(f"its supervisor, pid {sup['pid']}")
    runners: set[int] = set()  # named already
    for sweep, p in data["pairs"].items():
        if isinstance(p, dict) and is_running(p.get("pid"), p.get("proc_start")):
            live.append(f"{sweep}, pid {p['pid']}")
            runners.add(p["pid"])
    for run_id, t in data["trials"].items():
        if not isinstance(t, dict):
            continue
        if is_running(t.get("pid"), t.get("proc_start")):
            live.append(f"trial {run_id}, pid {t['pid']}")
        elif job := registry.cluster_job(t):
            jobs.append((run_id, job))
        runner = t.get("runner_pid")
        # the sweep runner that owns a trial, alive (one started by hand: no pair lists it):
        # --forget-jobs deleted the experiment under it, and it wrote its rows back
        if (
            isinstance(runner, int)
            and runner not in runners
            and is_running(runner, t.get("runner_start"))
        ):
            runners.add(runner)
            live.append(f"the sweep runner of {t.get('sweep')}, pid {runner}")
    return live, jobs


def _refuse_if_registered(name: str, forget_jobs: bool) -> list[str]:
    """Deleting drops the per-launch file, the only record ``cancel`` and ``doctor`` have of a
    trial whose sweep runner died: refused while it names something that may still run. With
    ``forget_jobs``, cluster jobs (which only their cluster can stop) do not refuse it; they
    are returned (their ids), to be named as forgotten."""
    live, jobs = _still_registered(name)
    described = [f"trial {run_id}, cluster job {job}" for run_id, job in jobs]
    blocking = live + ([] if forget_jobs else described)
    if blocking:
        shown = ", ".join(blocking[:3])
        shown += f" and {len(blocking) - 3} more" if len(blocking) > 3 else ""
        way_out = (
            f" (or, when their cluster cannot be reached, hwscale-tui experiments delete {name} "
            "--yes --forget-jobs)"
            if jobs and not live
            else ""
        )
        raise UsageError(
            f"experiment {name} still has processes or cluster jobs recorded as running "
            f"({shown}), so it cannot be deleted; accepted: hwscale-tui cancel "
            f"--experiment-name {name} --all first{way_out}."
        )
    return [job for _, job in jobs]


def _forget_registry(name: str) -> None:
    from . import registry

    path = registry.registry_path(name)
    path.unlink(missing_ok=True)
    path.with_suffix(".lock").unlink(missing_ok=True)


def delete(name: str, *, forget_jobs: bool = False) -> tuple[int, list[str]]:
    """Delete an experiment: its store rows, launch snapshot, logs (the pairs', the
    supervisor's and its trials' run directories) and the file the app made for it (never a
    file of yours elsewhere) and its per-launch file. Refused while it runs, or while that
    file names a process still alive or (unless ``forget_jobs``) a cluster job. Returns the
    trials deleted and the cluster jobs forgotten (not cancelled)."""
    import shutil

    from .files import experiment_logs_dir, supervisor_log_path

    require_known(name, "delete")
    from ..store import Store

    with Store.open_default() as store:
        _refuse_if_running(name, store, "deleted")
        forgotten = _refuse_if_registered(name, forget_jobs)
        run_ids = [r["run_id"] for r in store.trial_rows(experiment=name)]
        n = store.delete_experiment(name)
    _forget_registry(name)
    snapshot_path(name).unlink(missing_ok=True)
    managed_file(name).unlink(missing_ok=True)
    logs = experiment_logs_dir(name)
    if logs.is_dir():
        shutil.rmtree(logs, ignore_errors=True)
    supervisor_log_path(name).unlink(missing_ok=True)
    runs = app_paths().runs
    for run_id in run_ids:  # each trial's trial.log and metrics.jsonl (W&B offline runs too)
        run_dir = runs / run_id
        if run_id and run_dir.parent == runs and run_dir.is_dir():
            shutil.rmtree(run_dir, ignore_errors=True)
    cur = read_current()
    if cur is not None and cur.name == name:
        current_path().unlink(missing_ok=True)
    return n, forgotten


def new_from(source: str, new_name: str) -> Path:
    """A new experiment with ``source``'s settings under ``new_name``; it becomes current."""
    cfg, _ = load_named(source)
    # the built-in default is listed (as current) before anything of it is saved, so it is
    # taken too: 'experiments new hardware_scaling' made a copy of it under its own name
    if new_name in {*known_names(), source, current_name()}:
        raise UsageError(
            f"an experiment named {new_name!r} already exists; accepted: a new name "
            "(hwscale-tui experiments lists the taken ones)."
        )
    try:
        new = cfgmod.apply_overrides(cfg, {"experiment.name": new_name}, source="the new name")
    except ConfigError as e:
        # the problem names the value already ("'bad name!' would make sweep names ...")
        problem = e.problem if repr(new_name) in e.problem else f"{new_name!r}: {e.problem}"
        raise UsageError(f"{problem}; accepted: {e.accepted}.") from None
    ensure_private_dir(experiments_dir())
    path = cfgmod.save(new, managed_file(new_name))
    from ..store import Store

    try:
        with Store.open_default() as store:
            if source not in store.experiment_names():
                # the built-in default, current but never saved: it stays listed next to its
                # copy (it vanished from 'experiments' once the copy became current)
                store.touch_experiment(source)
            store.touch_experiment(new_name, file=str(path), parent=source)
    except BaseException:
        # a store that is locked (or unreadable) ends the command asking for a retry: the file
        # written above stayed, and the retry was refused ('... already exists')
        path.unlink(missing_ok=True)
        raise
    set_current(new_name, path)
    return path
