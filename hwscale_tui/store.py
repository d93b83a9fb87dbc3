"""The SQLite store (WAL): sweeps, trials, history, launches, pairs, events, generations and
experiments.

One file under the state location's ``data/`` dir, opened by the CLI, the supervisor, every
sweep runner, every trial and the app at once: WAL journaling, a busy timeout, and short
autocommit transactions make several writers and readers safe. Files are created 0600.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import StoreError, store_error_sentence
from .hardware import generation_of_sweep
from .records import HistoryPoint, HistoryRows, Trial, history_point

SCHEMA_VERSION = 2
WRITE_LOCK_WAIT_S = 30.0  # a writer's bounded wait for the lock (then StoreError)
READ_LOCK_WAIT_S = 10.0  # a reading command's
SQL_CHUNK = 10_000  # run ids per IN (...) query (SQLite caps bound parameters at 32766)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sweeps (
    sweep TEXT PRIMARY KEY, experiment TEXT, gpus INTEGER, nodes INTEGER, runner TEXT,
    dispatcher TEXT, max_trials INTEGER, status TEXT, pid INTEGER, proc_start REAL,
    started_at REAL, updated_at REAL, config_json TEXT
);
CREATE TABLE IF NOT EXISTS trials (
    run_id TEXT PRIMARY KEY, sweep TEXT NOT NULL, experiment TEXT, idx INTEGER,
    gpus INTEGER, nodes INTEGER, state TEXT NOT NULL, params_json TEXT NOT NULL DEFAULT '{}',
    score REAL, cost_usd REAL, agent_steps REAL, runtime_s REAL, sps REAL,
    created_at REAL, updated_at REAL, started_at REAL, ended_at REAL,
    pid INTEGER, pgid INTEGER, proc_start REAL, job_name TEXT, log_path TEXT, metrics_path TEXT,
    error TEXT, suggestion_json TEXT, source TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX IF NOT EXISTS trials_by_sweep ON trials (sweep, idx);
CREATE INDEX IF NOT EXISTS trials_by_update ON trials (updated_at);
CREATE TABLE IF NOT EXISTS history (
    run_id TEXT NOT NULL, agent_step REAL NOT NULL, wall_s REAL, score REAL, reward REAL,
    cost_usd REAL, sps REAL, extra_json TEXT,
    PRIMARY KEY (run_id, agent_step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS launches (
    id INTEGER PRIMARY KEY AUTOINCREMENT, experiment TEXT NOT NULL, experiment_file TEXT,
    supervisor_pid INTEGER, supervisor_start REAL, started_at REAL, ended_at REAL,
    status TEXT, log_path TEXT
);
CREATE TABLE IF NOT EXISTS pairs (
    experiment TEXT NOT NULL, sweep TEXT NOT NULL, gpus INTEGER, nodes INTEGER,
    launch_id INTEGER, position INTEGER, planned_start REAL, status TEXT, pid INTEGER,
    pgid INTEGER, proc_start REAL, argv_json TEXT, log_path TEXT, started_at REAL,
    ended_at REAL, exit_code INTEGER, cancelled_by TEXT, cancelled_at REAL,
    first_log_lines TEXT, PRIMARY KEY (experiment, sweep)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, sweep TEXT, run_id TEXT,
    kind TEXT NOT NULL, message TEXT
);
CREATE INDEX IF NOT EXISTS events_by_sweep ON events (sweep, id);
CREATE TABLE IF NOT EXISTS generations (
    experiment TEXT NOT NULL, generation INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    settings_json TEXT NOT NULL, created_at REAL, reason TEXT,
    PRIMARY KEY (experiment, generation)
);
CREATE TABLE IF NOT EXISTS experiments (
    name TEXT PRIMARY KEY, file TEXT, created_at REAL, updated_at REAL, archived_at REAL,
    parent TEXT
);
"""

# ``transfer.other`` of a trial's suggestion (the optimizer's last_info, ``[sweep] transfer``):
# how many other pairs' results it was given. NULL without a suggestion or when unreadable; 0
# when the suggestion names no transfer. Read in the query: parsing each suggestion in Python
# added 0.069 s to a first poll of 10,000 such trials, this adds 0.016 s (benchmarks/sources.py)
TRANSFER_OTHER_SQL = (
    "CASE WHEN suggestion_json IS NULL OR suggestion_json = '' THEN NULL "
    "WHEN instr(suggestion_json, '\"transfer\"') = 0 THEN 0 "
    "WHEN json_valid(suggestion_json) THEN json_extract(suggestion_json, '$.transfer.other') END"
)

# Schema version -> columns it added to tables that existed before (ALTER TABLE ADD COLUMN).
# Version 2: each trial and sweep records its generation and the trial its comparability
# fingerprint (a row without them predates generations: generation 1, fingerprint unknown).
ADDED_COLUMNS: dict[int, tuple[tuple[str, str, str], ...]] = {
    2: (
        ("trials", "generation", "INTEGER"),
        ("trials", "fingerprint", "TEXT"),
        ("sweeps", "generation", "INTEGER"),
    ),
}

TRIAL_COLUMNS = (
    "run_id",
    "sweep",
    "experiment",
    "idx",
    "gpus",
    "nodes",
    "state",
    "params_json",
    "score",
    "cost_usd",
    "agent_steps",
    "runtime_s",
    "sps",
    "created_at",
    "updated_at",
    "started_at",
    "ended_at",
    "pid",
    "pgid",
    "proc_start",
    "job_name",
    "log_path",
    "metrics_path",
    "error",
    "suggestion_json",
    "source",
    "generation",
    "fingerprint",
)
HISTORY_COLUMNS = (
    "run_id",
    "agent_step",
    "wall_s",
    "score",
    "reward",
    "cost_usd",
    "sps",
    "extra_json",
)


# History metrics kept in a column of their own (any other is read from ``extra_json``).
COLUMN_METRICS = ("score", "reward", "sps")


def _lock_wait_from_env(readonly: bool) -> float:
    """``HWSCALE_LOCK_WAIT_S`` (seconds, 0.1..3600) overrides the default lock waits."""
    default = READ_LOCK_WAIT_S if readonly else WRITE_LOCK_WAIT_S
    try:
        value = float(os.environ.get("HWSCALE_LOCK_WAIT_S", default))
    except ValueError:
        return default
    return min(max(value, 0.1), 3600.0) if math.isfinite(value) else default


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class Store:
    """A connection to the store. Cheap to open; open one per process or thread."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        lock_wait_s: float | None = None,
    ):
        """Open (read-write: create and migrate) the store at ``path``.

        ``readonly``: never creates, writes or migrates -- for reading commands, which then
        work on a read-only state location too; a missing store reads as empty. Waits for a
        lock at most ``lock_wait_s`` (default 30 s for writers, 10 s for readers). Any SQLite
        or file failure raises ``StoreError``: one sentence naming the file and what to do.
        """
        self.path = Path(path)
        self.readonly = readonly
        self.missing = False  # read-only view of a store that does not exist (reads as empty)
        wait = lock_wait_s if lock_wait_s is not None else _lock_wait_from_env(readonly)
        try:
            if readonly:
                self.conn = self._open_readonly(wait)
            else:
                self.conn = self._open_readwrite(wait)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(store_error_sentence(self.path, e)) from e

    def _connect(self, uri: str, wait: float) -> sqlite3.Connection:
        conn = sqlite3.connect(
            uri, uri=True, timeout=wait, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        return conn

    def _open_readwrite(self, wait: float) -> sqlite3.Connection:
        from .paths import ensure_private_dir

        ensure_private_dir(self.path.parent)
        if not self.path.exists():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
        self.conn = self._connect(f"file:{self.path}", wait)
        version = self._schema_version(self.conn)
        if version is None and self.conn.execute("SELECT 1 FROM sqlite_master").fetchone():
            raise sqlite3.DatabaseError(
                "it holds tables but no hwscale-tui schema (an SQLite file of something else)"
            )
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path}: it was written by a newer hwscale-tui (schema version "
                f"{version}, this one knows up to {SCHEMA_VERSION}); upgrade hwscale-tui to use it."
            )
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate()
        return self.conn

    def _empty_readonly(self, wait: float) -> sqlite3.Connection:
        """An empty in-memory store of the current schema: what a read of no store sees."""
        self.missing = True
        conn = self._connect("file::memory:", wait)
        for stmt in SCHEMA.split(";"):
            if stmt.strip():
                conn.execute(stmt)
        for added in sorted(ADDED_COLUMNS):
            for table, column, kind in ADDED_COLUMNS[added]:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        return conn

    def _open_readonly(self, wait: float) -> sqlite3.Connection:
        if not self.path.exists():
            return self._empty_readonly(wait)
        conn = self._connect(f"file:{self.path}?mode=ro", wait)
        try:
            version = self._schema_version(conn)
        except sqlite3.OperationalError as e:
            if "unable to open" not in str(e):
                raise
            # A WAL store on a read-only location: SQLite cannot create the shared-memory file,
            # so read the file as it is (immutable: no locks, no WAL; nobody can write there).
            conn.close()
            conn = self._connect(f"file:{self.path}?mode=ro&immutable=1", wait)
            version = self._schema_version(conn)
        if version is None:
            empty = not conn.execute("SELECT 1 FROM sqlite_master").fetchone()
            conn.close()
            if empty:
                # a file with no tables at all (0 bytes: made, then nothing written, as an
                # interrupted first open leaves it): no store yet, which a write migrates as it
                # does; it was called an unknown schema to upgrade for
                return self._empty_readonly(wait)
            raise sqlite3.DatabaseError("no such table: meta (not an hwscale-tui store schema)")
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"the store {self.path}: it was written by a newer hwscale-tui (schema version "
                f"{version}, this one reads up to {SCHEMA_VERSION}); upgrade hwscale-tui to read it."
            )
        return conn

    @staticmethod
    def _schema_version(conn: sqlite3.Connection) -> int | None:
        """The store's schema version (None: no meta table, so not a store of ours); an older
        version is read as it is (its missing columns read as absent)."""
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if not has_meta:
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        try:
            return int(row[0]) if row else 0
        except (TypeError, ValueError):
            return 0

    @classmethod
    def open_default(cls, env: Mapping[str, str] | None = None, *, readonly: bool = False) -> Store:
        from .paths import app_paths

        paths = app_paths(env)
        if not readonly:
            paths.ensure()
        return cls(paths.store, readonly=readonly)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        """Create what is missing and bring an older store up to ``SCHEMA_VERSION`` (additive:
        new tables and columns only, so an older store keeps all its rows)."""
        with self.transaction():
            for stmt in SCHEMA.split(";"):
                if stmt.strip():
                    self.conn.execute(stmt)
            for version in sorted(ADDED_COLUMNS):
                for table, column, kind in ADDED_COLUMNS[version]:
                    have = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
                    if column not in have:
                        self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value "
                "WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
                (str(SCHEMA_VERSION),),
            )

    def schema_version(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    # -- transactions -----------------------------------------------------------------------
    class _Tx:
        def __init__(self, conn: sqlite3.Connection):
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def transaction(self) -> _Tx:
        """``with store.transaction() as conn:`` -- one atomic write (BEGIN IMMEDIATE)."""
        return Store._Tx(self.conn)

    # -- sweeps -------------------------------------------------------------------------------
    def upsert_sweep(self, sweep: str, **fields: Any) -> None:
        fields["updated_at"] = fields.get("updated_at", time.time())
        cols = ["sweep", *fields]
        placeholders = ", ".join("?" for _ in cols)
        updates = ", ".join(f"{c} = excluded.{c}" for c in fields)
        self.conn.execute(
            f"INSERT INTO sweeps ({', '.join(cols)}) VALUES ({placeholders}) "
            f"ON CONFLICT (sweep) DO UPDATE SET {updates}",
            (sweep, *fields.values()),
        )

    def get_sweep(self, sweep: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM sweeps WHERE sweep = ?", (sweep,)).fetchone()
        return dict(row) if row else None

    # -- trials -------------------------------------------------------------------------------
    def insert_trial(self, run_id: str, sweep: str, **fields: Any) -> None:
        now = time.time()
        fields.setdefault("state", "queued")
        fields.setdefault("created_at", now)
        fields.setdefault("updated_at", now)
        if "params" in fields:
            fields["params_json"] = json.dumps(fields.pop("params"), sort_keys=True)
        cols = ["run_id", "sweep", *fields]
        self.conn.execute(
            f"INSERT INTO trials ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            (run_id, sweep, *fields.values()),
        )

    def update_trial(self, run_id: str, **fields: Any) -> None:
        if "params" in fields:
            fields["params_json"] = json.dumps(fields.pop("params"), sort_keys=True)
        for k in ("score", "cost_usd", "agent_steps", "runtime_s", "sps"):
            if k in fields:
                fields[k] = _finite(fields[k])
        fields.setdefault("updated_at", time.time())
        unknown = set(fields) - set(TRIAL_COLUMNS)
        if unknown:
            raise KeyError(f"unknown trial columns: {sorted(unknown)}")
        sets = ", ".join(f"{c} = ?" for c in fields)
        self.conn.execute(f"UPDATE trials SET {sets} WHERE run_id = ?", (*fields.values(), run_id))

    def get_trial_row(self, run_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM trials WHERE run_id = ?", (run_id,)).fetchone()
        return dict(row) if row else None

    def trial_rows(
        self,
        sweeps: Sequence[str] | None = None,
        *,
        experiment: str | None = None,
        updated_since: float | None = None,
    ) -> list[dict[str, Any]]:
        where: list[str] = []
        args: list[Any] = []
        if sweeps is not None:
            where.append(f"sweep IN ({', '.join('?' for _ in sweeps)})")
            args += list(sweeps)
        if experiment is not None:
            where.append("experiment = ?")
            args.append(experiment)
        if updated_since is not None:
            where.append("updated_at > ?")
            args.append(updated_since)
        sql = (
            f"SELECT *, {TRANSFER_OTHER_SQL} AS transfer_other FROM trials"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY sweep, idx"
        )
        return [dict(r) for r in self.conn.execute(sql, args).fetchall()]

    def trials(
        self, sweeps: Sequence[str] | None = None, *, experiment: str | None = None
    ) -> list[Trial]:
        return [row_to_trial(r) for r in self.trial_rows(sweeps, experiment=experiment)]

    def next_trial_index(self, sweep: str) -> int:
        row = self.conn.execute(
            "SELECT COALESCE(MAX(idx), 0) FROM trials WHERE sweep = ?", (sweep,)
        ).fetchone()
        return int(row[0]) + 1

    # -- history ------------------------------------------------------------------------------
    def append_history(self, run_id: str, rows: Iterable[Mapping[str, Any]]) -> int:
        data = []
        for r in rows:
            step = _finite(r.get("agent_step"))
            if step is None:
                continue
            extra = {k: v for k, v in r.items() if k not in HISTORY_COLUMNS}
            data.append(
                (
                    run_id,
                    step,
                    _finite(r.get("wall_s")),
                    _finite(r.get("score")),
                    _finite(r.get("reward")),
                    _finite(r.get("cost_usd")),
                    _finite(r.get("sps")),
                    json.dumps(extra) if extra else None,
                )
            )
        if data:
            self.conn.executemany(
                "INSERT OR REPLACE INTO history (run_id, agent_step, wall_s, score, reward, cost_usd, sps, extra_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                data,
            )
        return len(data)

    def history(self, run_id: str, metric: str = "score") -> Sequence[HistoryPoint]:
        return self.histories([run_id], metric).get(run_id, [])

    def histories(
        self, run_ids: Sequence[str] | None = None, metric: str = "score"
    ) -> dict[str, Sequence[HistoryPoint]]:
        """Curves per run: ``metric`` is a column (``score``, ``reward``, ``sps``) or a key kept
        in ``extra_json``.

        ``score`` and ``reward`` curves are :class:`HistoryRows`: one indexed range read per run
        (the primary key is ``(run_id, agent_step)``) whose rows are the curve's points as they
        are, with no object made per point.
        """
        if metric in COLUMN_METRICS:
            return self._column_histories(run_ids, metric)
        col = "extra_json"
        sql = f"SELECT run_id, agent_step, wall_s, {col}, cost_usd FROM history"
        args: list[Any] = []
        if run_ids is not None:
            sql += f" WHERE run_id IN ({', '.join('?' for _ in run_ids)})"
            args = list(run_ids)
        sql += " ORDER BY run_id, agent_step"
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples: a curve has thousands of points
        out: dict[str, Sequence[HistoryPoint]] = {}
        points: list[HistoryPoint] = []
        current = None
        for run_id, step, wall, value, cost in cursor.execute(sql, args):
            if col == "extra_json":
                value = _finite(json.loads(value).get(metric)) if value else None
            if value is None:
                continue
            if run_id != current:
                current, points = run_id, []
                out[run_id] = points
            points.append(history_point(step, wall, value, cost))
        return out

    def history_marks(self, run_ids: Sequence[str]) -> dict[str, tuple[int, float | None]]:
        """Per run with history rows: (rows, last step), which change when its curve grows."""
        marks: dict[str, tuple[int, float | None]] = {}
        for start in range(0, len(run_ids), SQL_CHUNK):  # SQLite caps bound parameters
            chunk = list(run_ids[start : start + SQL_CHUNK])
            for run_id, count, last in self.conn.execute(
                "SELECT run_id, COUNT(*), MAX(agent_step) FROM history "
                f"WHERE run_id IN ({', '.join('?' for _ in chunk)}) GROUP BY run_id",
                chunk,
            ):
                marks[run_id] = (count, last)
        return marks

    def histories_marked(
        self, run_ids: Sequence[str], metric: str = "score"
    ) -> dict[str, tuple[tuple[int, float | None], Sequence[HistoryPoint]]]:
        """Curves with their :meth:`history_marks`, for runs with history rows, in one read:
        for a column metric the marks come from the rows themselves (no second scan)."""
        if metric not in COLUMN_METRICS:
            marks = self.history_marks(run_ids)
            curves = self.histories(list(marks), metric)
            return {r: (marks[r], curves.get(r, [])) for r in marks}
        cursor = self.conn.cursor()
        cursor.row_factory = None
        sql = (
            f"SELECT agent_step, wall_s, {metric}, cost_usd FROM history "
            "WHERE run_id = ? ORDER BY agent_step"
        )
        out: dict[str, tuple[tuple[int, float | None], Sequence[HistoryPoint]]] = {}
        for run_id in sorted(set(run_ids)):
            rows = cursor.execute(sql, (run_id,)).fetchall()
            if not rows:
                continue
            mark = (len(rows), rows[-1][0])
            if any(r[2] is None for r in rows):  # rows that logged other metrics only
                rows = [r for r in rows if r[2] is not None]
            out[run_id] = (mark, HistoryRows(rows))
        return out

    def _column_histories(
        self, run_ids: Sequence[str] | None, column: str
    ) -> dict[str, Sequence[HistoryPoint]]:
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples: a curve has thousands of points
        if run_ids is None:
            ids = [r[0] for r in cursor.execute("SELECT DISTINCT run_id FROM history")]
        else:
            ids = list(run_ids)
        sql = (
            f"SELECT agent_step, wall_s, {column}, cost_usd FROM history "
            f"WHERE run_id = ? AND {column} IS NOT NULL ORDER BY agent_step"
        )
        out: dict[str, Sequence[HistoryPoint]] = {}
        for run_id in sorted(set(ids)):  # run order, as one ORDER BY run_id query gave
            rows = cursor.execute(sql, (run_id,)).fetchall()
            if rows:
                out[run_id] = HistoryRows(rows)
        return out

    # -- generations ------------------------------------------------------------------------
    def generations(self, experiment: str) -> list[dict[str, Any]]:
        """The experiment's generations, oldest first (empty for a store older than version 2
        opened read-only, or an experiment never launched since generations exist)."""
        try:
            rows = self.conn.execute(
                "SELECT * FROM generations WHERE experiment = ? ORDER BY generation",
                (experiment,),
            ).fetchall()
        except sqlite3.OperationalError:  # read-only store of schema version 1
            return []
        return [dict(r) for r in rows]

    def latest_generation(self, experiment: str) -> int:
        """The experiment's newest generation number (1 when it has none recorded)."""
        gens = self.generations(experiment)
        return int(gens[-1]["generation"]) if gens else 1

    def add_generation(
        self,
        experiment: str,
        generation: int,
        fingerprint: str,
        settings: Mapping[str, Any],
        reason: str,
        now: float | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO generations (experiment, generation, fingerprint, "
            "settings_json, created_at, reason) VALUES (?, ?, ?, ?, ?, ?)",
            (
                experiment,
                generation,
                fingerprint,
                json.dumps(dict(settings), sort_keys=True),
                time.time() if now is None else now,
                reason,
            ),
        )

    # -- experiments ------------------------------------------------------------------------
    def experiment_rows(self) -> list[dict[str, Any]]:
        try:
            rows = self.conn.execute("SELECT * FROM experiments ORDER BY name").fetchall()
        except sqlite3.OperationalError:  # read-only store of schema version 1
            return []
        return [dict(r) for r in rows]

    def touch_experiment(
        self, name: str, *, file: str | None = None, parent: str | None = None
    ) -> None:
        """Record that ``name`` was saved, launched or selected (its file when known)."""
        now = time.time()
        self.conn.execute(
            "INSERT INTO experiments (name, file, created_at, updated_at, parent) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "file = COALESCE(excluded.file, experiments.file), updated_at = excluded.updated_at, "
            "archived_at = NULL",
            (name, file, now, now, parent),
        )

    def set_experiment_archived(self, name: str, archived: bool) -> None:
        self.conn.execute(
            "UPDATE experiments SET archived_at = ? WHERE name = ?",
            (time.time() if archived else None, name),
        )

    def experiment_names(self) -> list[str]:
        """Every experiment the store knows of: registered, launched or with sweeps."""
        names: set[str] = {r["name"] for r in self.experiment_rows()}
        for sql in (
            "SELECT DISTINCT experiment FROM launches",
            "SELECT DISTINCT experiment FROM sweeps",
            "SELECT DISTINCT experiment FROM trials",
        ):
            names.update(r[0] for r in self.conn.execute(sql) if r[0])
        return sorted(names)

    def delete_experiment(self, name: str) -> int:
        """Remove every row of the experiment (trials, history, sweeps, pairs, launches, events,
        generations); returns how many trials went. One transaction: all or nothing."""
        with self.transaction():
            sweeps = [
                r[0]
                for r in self.conn.execute(
                    "SELECT sweep FROM sweeps WHERE experiment = ? UNION "
                    "SELECT sweep FROM trials WHERE experiment = ? UNION "
                    "SELECT sweep FROM pairs WHERE experiment = ?",
                    (name, name, name),
                )
            ]
            marks = ", ".join("?" for _ in sweeps)
            n = self.conn.execute(
                "SELECT COUNT(*) FROM trials WHERE experiment = ?", (name,)
            ).fetchone()[0]
            if sweeps:
                self.conn.execute(
                    f"DELETE FROM history WHERE run_id IN "
                    f"(SELECT run_id FROM trials WHERE sweep IN ({marks}))",
                    sweeps,
                )
                self.conn.execute(f"DELETE FROM trials WHERE sweep IN ({marks})", sweeps)
                self.conn.execute(f"DELETE FROM events WHERE sweep IN ({marks})", sweeps)
                self.conn.execute(f"DELETE FROM sweeps WHERE sweep IN ({marks})", sweeps)
            for table, col in (
                ("pairs", "experiment"),
                ("launches", "experiment"),
                ("generations", "experiment"),
                ("experiments", "name"),
            ):
                self.conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (name,))
        return int(n)

    # -- events -------------------------------------------------------------------------------
    def add_event(
        self, kind: str, message: str, *, sweep: str | None = None, run_id: str | None = None
    ) -> None:
        self.conn.execute(
            "INSERT INTO events (ts, sweep, run_id, kind, message) VALUES (?, ?, ?, ?, ?)",
            (time.time(), sweep, run_id, kind, message),
        )

    def events(
        self, sweep: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        if sweep is None:
            rows = self.conn.execute(
                "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            )
        else:
            rows = self.conn.execute(
                "SELECT * FROM events WHERE sweep = ? AND id > ? ORDER BY id LIMIT ?",
                (sweep, after_id, limit),
            )
        return [dict(r) for r in rows.fetchall()]


def row_to_trial(r: Mapping[str, Any]) -> Trial:
    try:
        params = json.loads(r["params_json"] or "{}")
    except (TypeError, ValueError):
        params = {}
    return Trial(
        sweep=r["sweep"],
        run_id=r["run_id"],
        gpus=r["gpus"],
        nodes=r["nodes"],
        state=r["state"],
        params=params,
        score=r["score"],
        cost_usd=r["cost_usd"],
        agent_steps=r["agent_steps"],
        runtime_s=r["runtime_s"],
        sps=r["sps"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        source=r["source"] or "local",
        generation=generation_of_sweep(r["sweep"]),
        transfer_other=transfer_other(r.get("transfer_other")),
        error=r.get("error") or None,
    )


def transfer_other(value: Any) -> int | None:
    """``TRANSFER_OTHER_SQL``'s value as a count, or None (no suggestion, or unreadable)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        return None
    return int(value)
