"""The launch state on disk: the store's ``launches`` and ``pairs`` tables, and the status views
(``PairStatus``, ``ExperimentStatus``, ``LaunchInfo``) the CLI and the TUI read.

Every status change is one conditional UPDATE (or one ``BEGIN IMMEDIATE`` transaction), so the
supervisor, ``cancel`` and a relaunch never overwrite each other's decisions: a scheduled pair
that ``cancel`` marked is never claimed for start, and a pair cancelled while starting is
stopped by the supervisor as soon as its process exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..records import BUDGETED_STATES
from ..store import Store

if TYPE_CHECKING:
    from ..config import ExperimentConfig

SCHEDULED, STARTING, RUNNING = "scheduled", "starting", "running"
EXITED, FAILED_TO_START, CANCELLED = "exited", "failed_to_start", "cancelled"
PAIR_STATUSES = (SCHEDULED, STARTING, RUNNING, EXITED, FAILED_TO_START, CANCELLED)
PENDING_STATUSES = (SCHEDULED, STARTING)
ENDED_STATUSES = (EXITED, FAILED_TO_START, CANCELLED)

LAUNCH_RUNNING, LAUNCH_FINISHED, LAUNCH_STOPPED = "running", "finished", "stopped"


@dataclass
class LaunchRow:
    id: int
    experiment: str
    experiment_file: str | None
    supervisor_pid: int | None
    supervisor_start: float | None
    started_at: float | None
    ended_at: float | None
    status: str | None
    log_path: str | None


@dataclass
class PairRow:
    experiment: str
    sweep: str
    gpus: int
    nodes: int
    launch_id: int | None
    position: int
    planned_start: float | None
    status: str
    pid: int | None
    pgid: int | None
    proc_start: float | None
    argv: list[str]
    log_path: str | None
    started_at: float | None
    ended_at: float | None
    exit_code: int | None
    cancelled_by: str | None
    cancelled_at: float | None
    first_log_lines: list[str]

    @property
    def tag(self) -> str:
        return f"g{self.gpus}n{self.nodes}"


# the launches' and pairs' number columns: a value of another type (text or a non-finite
# number put there by hand, a damaged store) reads as unknown (None). It ended status in a
# traceback (psutil comparing a text pid, 'noon' - 1.5, ':.4g' of text)
_INT_FIELDS = frozenset(
    {"supervisor_pid", "pid", "pgid", "exit_code", "launch_id", "position", "gpus", "nodes"}
)
_FLOAT_FIELDS = frozenset(
    {"supervisor_start", "started_at", "ended_at", "planned_start", "proc_start", "cancelled_at"}
)


def number_or_none(value: Any, *, integer: bool = False) -> Any:
    """``value`` if it is a finite number (a whole one with ``integer``), else None."""
    import math

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value):
        return None
    if integer:
        return int(value) if float(value).is_integer() else None
    return value


def _known_fields(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    """Only the dataclass's fields (a store of another schema version may have more or fewer
    columns: missing ones read as None); a number column holding something else reads None."""
    import dataclasses

    out = {f.name: d.get(f.name) for f in dataclasses.fields(cls)}
    for name in out.keys() & _INT_FIELDS:
        out[name] = number_or_none(out[name], integer=True)
    for name in out.keys() & _FLOAT_FIELDS:
        out[name] = number_or_none(out[name])
    return out


def _pair_row(r: Any) -> PairRow:
    d = dict(r)
    try:
        argv = json.loads(d.pop("argv_json", None) or "[]")
    except (TypeError, ValueError):
        argv = []  # an unreadable command: shown empty, never fatal
    if not isinstance(argv, list):
        argv = []
    lines = d.pop("first_log_lines", None)
    d.update(argv=argv, first_log_lines=lines.split("\n") if isinstance(lines, str) else [])
    fields = _known_fields(PairRow, d)
    if fields["gpus"] is None or fields["nodes"] is None:
        # unknown: the pair's shape from its sweep name (exp.g2n1), as it was scheduled
        import re

        shape = re.search(r"\.g(\d+)n(\d+)(?:\.|$)", str(fields["sweep"]))
        fields["gpus"] = fields["gpus"] or (int(shape[1]) if shape else 0)
        fields["nodes"] = fields["nodes"] or (int(shape[2]) if shape else 0)
    if fields["position"] is None:
        fields["position"] = 0
    return PairRow(**fields)


@dataclass
class PairStatus:
    """One pair as ``status`` and the TUI show it (times are epoch seconds)."""

    sweep_name: str
    gpus: int
    nodes: int
    status: str  # scheduled | starting | running | exited | failed_to_start | cancelled
    pid: int | None
    pgid: int | None
    proc_start: float | None
    planned_start: float | None  # None: sequential, waits for the previous pair to exit
    started_at: float | None
    ended_at: float | None
    exit_code: int | None  # negative: killed by that signal; None with status exited: unknown
    log_path: str | None
    cancelled_by: str | None
    cancelled_at: float | None
    first_log_lines: list[str]
    argv: list[str]
    launch_id: int | None
    position: int
    alive: bool  # its process is running now (pid and start time match)
    never_started: bool  # pending, but the supervisor that would start it is gone
    trials_done: int | None = None
    max_trials: int | None = None
    best_score: float | None = None
    note: str | None = None  # e.g. why the exit code is unknown
    generation: int = 1  # the experiment's generation this pair's sweep runs in

    @property
    def tag(self) -> str:
        return f"g{self.gpus}n{self.nodes}"

    @property
    def total_gpus(self) -> int:
        return self.gpus * self.nodes

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ExperimentStatus:
    experiment: str
    launch_id: int | None  # the latest launch
    supervisor_alive: bool  # some supervisor of this experiment is running
    supervisor_pid: int | None  # the latest launch's supervisor
    supervisor_log: str | None
    pairs: list[PairStatus]
    checked_at: float
    launch_status: str | None = None  # the latest launch: running | finished | stopped
    generation: int = 1  # the experiment's newest generation (``pairs`` are its pairs)
    generations: int = 1  # how many generations it has had
    # the latest launch's place among this experiment's launches (1: its first); launch_id is
    # the store's id, counted across every experiment ("launch #2" on a first launch)
    launch_number: int | None = None

    @property
    def launch_text(self) -> str:
        """``launch 3`` (this experiment's third), or the store's id when the count is unknown."""
        return launch_label(self.launch_number, self.launch_id)

    @property
    def supervisor_state(self) -> str:
        """``running``; ``finished`` (it ended after every pair ended); ``stopped``; or ``gone`` (it died)."""
        if self.supervisor_alive:
            return "running"
        if self.launch_status in (LAUNCH_FINISHED, LAUNCH_STOPPED):
            return self.launch_status
        return "gone"

    @property
    def never_started(self) -> list[PairStatus]:
        return [p for p in self.pairs if p.never_started]

    def pair(self, sweep_name: str) -> PairStatus | None:
        return next((p for p in self.pairs if p.sweep_name == sweep_name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "generation": self.generation,
            "generations": self.generations,
            "launch_id": self.launch_id,
            "launch_number": self.launch_number,
            "supervisor_alive": self.supervisor_alive,
            "supervisor_state": self.supervisor_state,
            "supervisor_pid": self.supervisor_pid,
            "supervisor_log": self.supervisor_log,
            "checked_at": self.checked_at,
            "never_started": [p.sweep_name for p in self.never_started],
            "pairs": [p.to_json() for p in self.pairs],
        }


@dataclass
class LaunchInfo:
    """What ``launch`` / ``relaunch`` started (or, for ``--resume`` with nothing to do, did not)."""

    experiment: str
    launch_id: int | None
    experiment_file: str
    store_path: str
    logs_dir: str
    supervisor_pid: int | None
    supervisor_log: str | None
    sweeps: list[str]  # pairs this launch starts, in start order
    planned_start: dict[str, float | None]
    left_running: list[str] = field(default_factory=list)  # live pairs a resume did not duplicate
    foreground: bool = False
    warnings: list[str] = field(default_factory=list)
    generation: int = 1  # the experiment's generation these pairs run in
    new_generation: bool = False  # this launch started that generation
    spent: list[str] = field(default_factory=list)  # left out: their sweeps ran max_trials
    launch_number: int | None = None  # this launch's place among the experiment's (1: first)
    # sequential: the experiment's pairs (running, or still to start under a live supervisor)
    # this launch's first pair waits for; it starts once they have ended
    waits_for: list[str] = field(default_factory=list)

    @property
    def launch_text(self) -> str:
        return launch_label(self.launch_number, self.launch_id)

    @property
    def waits_text(self) -> str:
        """Why the first pair does not start at once ("" when it does): the CLI's line and
        the app's notice."""
        if not self.waits_for:
            return ""
        from ..hardware import pair_tag_of

        them = ", ".join(pair_tag_of(s) for s in self.waits_for)
        first = pair_tag_of(self.sweeps[0]) if self.sweeps else "the first pair"
        return (
            f"{first} starts once {them} {'has' if len(self.waits_for) == 1 else 'have'} "
            "ended: this experiment's pairs run one after another (launch.sequential), so "
            "each pair's measured times are its own alone"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def launch_label(number: int | None, launch_id: int | None) -> str:
    """How a launch is named to the user: ``launch 2`` (the experiment's second launch). The
    store's launch id counts every experiment's launches, so an experiment's first launch was
    "launch #2" after another experiment's; the id is named as one only when the experiment's
    count is unknown."""
    if number is not None:
        return f"launch {number}"
    return f"launch id {launch_id}"


class LaunchRecords:
    """Reads and writes of the ``launches`` and ``pairs`` tables of one store."""

    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    # -- launches ----------------------------------------------------------------------------
    def create_launch(
        self, experiment: str, experiment_file: Path, log_path: Path | None, now: float
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO launches (experiment, experiment_file, started_at, status, log_path) VALUES (?, ?, ?, ?, ?)",
            (
                experiment,
                str(experiment_file),
                now,
                LAUNCH_RUNNING,
                str(log_path) if log_path else None,
            ),
        )
        return int(cast(int, cur.lastrowid))  # set by the INSERT above

    def set_supervisor(self, launch_id: int, pid: int, proc_start: float | None) -> None:
        self.conn.execute(
            "UPDATE launches SET supervisor_pid = ?, supervisor_start = ? WHERE id = ?",
            (pid, proc_start, launch_id),
        )

    def end_launch(self, launch_id: int, status: str, now: float) -> None:
        self.conn.execute(
            "UPDATE launches SET status = ?, ended_at = ? WHERE id = ?", (status, now, launch_id)
        )

    def get_launch(self, launch_id: int) -> LaunchRow | None:
        row = self.conn.execute("SELECT * FROM launches WHERE id = ?", (launch_id,)).fetchone()
        return LaunchRow(**_known_fields(LaunchRow, dict(row))) if row else None

    def launches(self, experiment: str) -> list[LaunchRow]:
        rows = self.conn.execute(
            "SELECT * FROM launches WHERE experiment = ? ORDER BY id", (experiment,)
        )
        return [LaunchRow(**_known_fields(LaunchRow, dict(r))) for r in rows.fetchall()]

    def launch_number(self, experiment: str, launch_id: int) -> int:
        """Launch ``launch_id``'s place among ``experiment``'s launches (1: its first)."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM launches WHERE experiment = ? AND id <= ?",
            (experiment, launch_id),
        ).fetchone()
        return int(row[0])

    def latest_experiment(self) -> str | None:
        row = self.conn.execute(
            "SELECT experiment FROM launches ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    # -- pairs -------------------------------------------------------------------------------
    def pair_rows(self, experiment: str, launch_id: int | None = None) -> list[PairRow]:
        sql = "SELECT * FROM pairs WHERE experiment = ?"
        args: list[Any] = [experiment]
        if launch_id is not None:
            sql += " AND launch_id = ?"
            args.append(launch_id)
        rows = self.conn.execute(sql + " ORDER BY launch_id, position", args).fetchall()
        return [_pair_row(r) for r in rows]

    def active_pair_rows_elsewhere(self, experiment: str) -> list[PairRow]:
        """Other experiments' pairs recorded as scheduled, starting or running (their
        processes may have ended since, their supervisors died: check them)."""
        rows = self.conn.execute(
            "SELECT * FROM pairs WHERE experiment != ? AND status IN (?, ?, ?) "
            "ORDER BY experiment, launch_id, position",
            (experiment, SCHEDULED, STARTING, RUNNING),
        ).fetchall()
        return [_pair_row(r) for r in rows]

    def schedule_pair(
        self,
        experiment: str,
        sweep: str,
        *,
        gpus: int,
        nodes: int,
        launch_id: int,
        position: int,
        planned_start: float | None,
        argv: list[str],
        log_path: Path,
    ) -> None:
        """(Re)write a pair's row as freshly scheduled under ``launch_id``."""
        self.conn.execute(
            "INSERT OR REPLACE INTO pairs (experiment, sweep, gpus, nodes, launch_id, position, planned_start, "
            "status, argv_json, log_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                experiment,
                sweep,
                gpus,
                nodes,
                launch_id,
                position,
                planned_start,
                SCHEDULED,
                json.dumps(argv),
                str(log_path),
            ),
        )

    def delete_pairs(self, experiment: str, sweeps: Iterable[str]) -> None:
        self.conn.executemany(
            "DELETE FROM pairs WHERE experiment = ? AND sweep = ?",
            [(experiment, s) for s in sweeps],
        )

    def set_planned_start(self, experiment: str, sweep: str, planned_start: float) -> None:
        self.conn.execute(
            "UPDATE pairs SET planned_start = ? WHERE experiment = ? AND sweep = ?",
            (planned_start, experiment, sweep),
        )

    def claim_for_start(self, experiment: str, sweep: str, launch_id: int) -> bool:
        """scheduled -> starting, unless someone cancelled (or relaunched) it first."""
        cur = self.conn.execute(
            "UPDATE pairs SET status = ? WHERE experiment = ? AND sweep = ? AND launch_id = ? AND status = ?",
            (STARTING, experiment, sweep, launch_id, SCHEDULED),
        )
        return cur.rowcount == 1

    def mark_running(
        self,
        experiment: str,
        sweep: str,
        *,
        pid: int,
        pgid: int,
        proc_start: float | None,
        started_at: float,
    ) -> bool:
        """Record the process; starting -> running. False when it was cancelled while starting."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE pairs SET pid = ?, pgid = ?, proc_start = ?, started_at = ? WHERE experiment = ? AND sweep = ?",
                (pid, pgid, proc_start, started_at, experiment, sweep),
            )
            cur = conn.execute(
                "UPDATE pairs SET status = ? WHERE experiment = ? AND sweep = ? AND status = ?",
                (RUNNING, experiment, sweep, STARTING),
            )
            return cur.rowcount == 1

    def mark_failed_to_start(
        self, experiment: str, sweep: str, lines: list[str], now: float
    ) -> None:
        self.conn.execute(
            "UPDATE pairs SET status = ?, ended_at = ?, first_log_lines = ? WHERE experiment = ? AND sweep = ? AND status = ?",
            (FAILED_TO_START, now, "\n".join(lines), experiment, sweep, STARTING),
        )

    def mark_ended(
        self,
        experiment: str,
        sweep: str,
        exit_code: int | None,
        lines: list[str] | None,
        now: float,
    ) -> None:
        """The process ended: exit code and time; running -> exited (a cancelled pair stays cancelled)."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE pairs SET exit_code = ?, ended_at = COALESCE(ended_at, ?), "
                "first_log_lines = COALESCE(?, first_log_lines) WHERE experiment = ? AND sweep = ?",
                (exit_code, now, "\n".join(lines) if lines else None, experiment, sweep),
            )
            conn.execute(
                "UPDATE pairs SET status = ? WHERE experiment = ? AND sweep = ? AND status = ?",
                (EXITED, experiment, sweep, RUNNING),
            )

    def mark_cancelled(self, experiment: str, sweep: str, by: str, now: float) -> PairRow | None:
        """Pending or running -> cancelled, atomically. Returns the row as it was before, or None
        when the pair had already ended (nothing to cancel)."""
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM pairs WHERE experiment = ? AND sweep = ?", (experiment, sweep)
            ).fetchone()
            if row is None or row["status"] in ENDED_STATUSES:
                return None
            before = _pair_row(row)
            ended = now if before.status in PENDING_STATUSES else None
            conn.execute(
                "UPDATE pairs SET status = ?, cancelled_by = ?, cancelled_at = ?, ended_at = COALESCE(ended_at, ?) "
                "WHERE experiment = ? AND sweep = ?",
                (CANCELLED, by, now, ended, experiment, sweep),
            )
            return before

    def mark_stopped(self, experiment: str, sweep: str, now: float) -> None:
        """A cancelled pair's processes are all gone (when no supervisor records the exit)."""
        self.conn.execute(
            "UPDATE pairs SET ended_at = COALESCE(ended_at, ?) WHERE experiment = ? AND sweep = ?",
            (now, experiment, sweep),
        )

    # -- what the sweeps themselves wrote ----------------------------------------------------
    def trial_progress(
        self, sweeps: list[str], goal: str
    ) -> dict[str, tuple[int | None, int | None, float | None]]:
        """Per sweep: (trials done, max trials, best finished score), from the sweeps/trials rows.

        "Done" counts what the sweep runner counts toward ``max_trials``: finished and failed
        trials (killed ones are replaced by a new suggestion, so they do not count).
        """
        if not sweeps:
            return {}
        marks = ", ".join("?" for _ in sweeps)
        terminal = ", ".join(f"'{state}'" for state in BUDGETED_STATES)
        best = "MIN" if goal == "minimize" else "MAX"
        out: dict[str, tuple[int | None, int | None, float | None]] = {}
        max_trials = dict(
            self.conn.execute(
                f"SELECT sweep, max_trials FROM sweeps WHERE sweep IN ({marks})", sweeps
            ).fetchall()
        )
        done = {
            r[0]: (r[1], r[2])
            for r in self.conn.execute(
                f"SELECT sweep, SUM(state IN ({terminal})), "
                # a score damaged to text ('high') sorts above every number in SQLite: it
                # became the best, and status's ':.4g' raised on it
                f"{best}(CASE WHEN state = 'finished' AND typeof(score) IN ('real', 'integer') "
                f"THEN score END) FROM trials WHERE sweep IN ({marks}) GROUP BY sweep",
                sweeps,
            ).fetchall()
        }
        for s in sweeps:
            if s not in max_trials and s not in done:
                continue
            n_done, best_score = done.get(s, (0, None))
            # a max_trials damaged to text is unknown (compared with numbers, it raised)
            out[s] = (
                int(n_done or 0),
                number_or_none(max_trials.get(s), integer=True),
                best_score,
            )
        return out


def budget_spent(
    cfg: ExperimentConfig, status: Any, sweeps: Sequence[str], store: Store | None = None
) -> list[str]:
    """Of ``sweeps``, those whose built-in sweep has already run ``sweep.max_trials`` trials
    (finished or failed, as the runner counts them): starting one again would end at once.
    Metta's sweeps and custom commands keep their own budget, so none of theirs is skipped.
    ``status``: the experiment's ``ExperimentStatus`` (its pairs' ``alive`` and ``trials_done``).
    With ``store``, a sweep no launch ran (``hwscale-tui sweep`` by hand, under the pair's sweep
    name) is counted from its trials. A launch of every pair leaves these out
    (supervisor.launch); the app's launch dialog too."""
    if cfg.experiment.runner != "builtin" or cfg.launch.command:
        return []
    spent = {
        p.sweep_name
        for p in status.pairs
        if not p.alive and p.trials_done is not None and p.trials_done >= cfg.sweep.max_trials
    }
    launched = {p.sweep_name for p in status.pairs}
    by_hand = [s for s in sweeps if s not in launched]
    if store is not None and by_hand:
        progress = LaunchRecords(store).trial_progress(by_hand, cfg.sweep.goal)
        spent |= {s for s, (done, _, _) in progress.items() if (done or 0) >= cfg.sweep.max_trials}
    return [s for s in sweeps if s in spent]
