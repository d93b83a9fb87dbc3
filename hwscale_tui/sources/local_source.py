"""Trials from the local SQLite store (what the built-in runner writes), as the same records.

The first poll reads every trial of the experiment's sweeps; later polls read only rows updated
since the previous query began (``Store.trial_rows(updated_since=...)``), minus a small
overlap so a row committed a moment after its writer read the clock is not missed; every
``SourceSettings.local_full_read_s`` a poll reads every row, and trials deleted from the store
leave. Rows read
again with an unchanged ``updated_at`` are skipped, and records that did not change are the
same objects from poll to poll (treat records as read-only). Curves come from
``Store.histories`` and are re-read only for runs whose history grew.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..config import ExperimentConfig
from ..errors import StoreError, store_error_sentence
from ..hardware import pair_from_sweep_name
from ..records import TRIAL_STATES, HistoryPoint, Trial
from ..store import Store, row_to_trial
from .base import (
    PollResult,
    RequestCounter,
    SourceSettings,
    SourceUnavailable,
    current_record,
    diff_trials,
    experiment_sweeps,
    finite_number,
    negative_flag,
    number_flag,
    params_without_oversized_ints,
    record_order,
)

# Curve metric names (W&B keys) -> the store's history columns.
HISTORY_METRIC_ALIASES = {
    "overview/reward": "reward",
    "sweep/score": "score",
    "overview/sps": "sps",
}
_UNSEEN = object()
SQL_CHUNK = 10_000  # run ids per IN (...) query
NUMBER_FIELDS = ("score", "cost_usd", "agent_steps", "runtime_s", "sps", "created_at", "updated_at")
NON_NEGATIVE_FIELDS = ("cost_usd", "agent_steps", "runtime_s", "sps")  # a score may be below 0


def _is_json_object(text: Any) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (TypeError, ValueError):
        return False


def normalize_store_row(row: Mapping[str, Any]) -> Trial:
    """A ``trials`` row -> ``Trial`` (source ``local``); bad values are flagged, never raised."""
    trial = row_to_trial(row)
    trial.source = "local"
    flags = trial.flags
    unparsed = (
        not trial.params
        and row["params_json"] not in (None, "", "{}")
        and not _is_json_object(row["params_json"])
    )
    if unparsed or not isinstance(
        trial.params, dict
    ):  # row_to_trial turns bad JSON into {} silently
        flags.append("params_json is not a JSON object")
        trial.params = {}
    params_without_oversized_ints(trial.params, "params_json", flags)
    for name in NUMBER_FIELDS:
        value = getattr(trial, name)
        if value is None:
            continue
        number = finite_number(value)
        if number is None:
            flags.append(number_flag(name, value))
            setattr(trial, name, None)
        elif number < 0 and name in NON_NEGATIVE_FIELDS:
            flags.append(negative_flag(name, number))
            setattr(trial, name, None)
    for name in ("gpus", "nodes"):
        # a damaged row's count ('zzz', kept by SQLite as written, or 0) ended analyze and the
        # app's analysis with a traceback (int('zzz')); the sweep name's pair stands in
        value = getattr(trial, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1 << 20
        ):
            flags.append(f"{name} is not a whole number from 1: {str(value)[:40]!r}")
            setattr(trial, name, None)
    if trial.gpus is None or trial.nodes is None:
        pair = pair_from_sweep_name(trial.sweep)
        if pair is None:
            flags.append("hardware unknown (no gpus/nodes and the sweep name has no g<G>n<N>)")
        else:
            trial.gpus, trial.nodes = pair.gpus, pair.nodes
    if trial.state not in TRIAL_STATES:
        flags.append(f"unknown state {str(trial.state)[:20]!r}")
        trial.state = "stale"
    return trial


class LocalSource:
    """Polls the store for the experiment's sweeps."""

    kind = "local"

    def __init__(
        self,
        cfg: ExperimentConfig,
        *,
        store: Store | None = None,
        settings: SourceSettings | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings or SourceSettings()
        self.curve_metric = cfg.analysis.curve_metric
        self._sweeps = experiment_sweeps(cfg)
        self._read = self._sweeps  # the sweeps a poll reads (narrow)
        self._store = store
        self._file_id: tuple[int, int] | None = None  # (device, inode) of the store we opened
        self._clock = clock
        self.counter = RequestCounter()
        self._known: dict[str, Trial] = {}  # normalized rows, before the time-dependent stale rule
        self._stamps: dict[str, Any] = {}  # run id -> updated_at of the row last normalized
        self._last_query: float | None = None  # clock time of the previous query
        self._last_full: float | None = None  # clock time of the last query of every row
        self._previous: dict[str, Trial] = {}
        self._curves: dict[
            tuple[str, str], tuple[tuple[int, float | None], Sequence[HistoryPoint]]
        ] = {}
        self.history_error: str | None = None  # why the last histories() call returned older curves
        self.skipped: dict[str, str] = {}  # run id -> why its row could not be read at all
        self._lock = (
            threading.Lock()
        )  # one connection, used by poll and histories from different workers

    @property
    def sweeps(self) -> list[str]:
        return list(self._sweeps)

    def narrow(self, sweeps: Sequence[str]) -> None:
        """Read only these of the experiment's sweeps from now on (``trials --sweep`` or
        ``--generation``: the others were read and left out); ``sweeps`` stays every sweep."""
        wanted = set(sweeps)
        self._read = [s for s in self._sweeps if s in wanted]

    def _path(self) -> object:
        if self._store is not None:
            return self._store.path
        from ..paths import app_paths

        return app_paths().store

    def _open_store(self) -> Store | None:
        """The store, opened on first use; None while it does not exist yet (nothing is created).

        A store this source opened is reopened when the file at its path is another one (its
        device and inode differ): ``doctor --repair`` renames a rebuilt store over it, and a
        store may be removed and made again. The connection kept reading the old file, so the
        app showed the old trials, "updated 0 s ago", and none written since. A store removed
        is none (no trials); what was read from the old file is forgotten either way."""
        from ..paths import app_paths

        if self._store is not None and self._file_id is None:
            return self._store  # given by the caller: theirs to manage
        path = app_paths().store
        try:
            st = path.stat()
            file_id: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            file_id = None
        if self._store is not None and file_id != self._file_id:
            self._store.close()
            self._store, self._file_id = None, None
            self._known, self._stamps, self._last_query, self._curves = {}, {}, None, {}
            self._last_full = None
            self.skipped = {}
        if self._store is None:
            if file_id is None:
                return None
            self._store = Store(path, readonly=True)  # a reader never creates or migrates
            self._file_id = file_id
        return self._store

    def poll(self) -> PollResult:
        """One query for rows updated since the previous query; raises SourceUnavailable."""
        with self._lock:
            return self._poll()

    def _poll(self) -> PollResult:
        before = self.counter.total
        try:
            store = self._open_store()
            if store is not None:
                query_time = self._clock()
                since = (
                    None
                    if self._last_query is None
                    or self._last_full is None
                    or query_time - self._last_full >= self.settings.local_full_read_s
                    else self._last_query - self.settings.local_overlap_s
                )
                rows = store.trial_rows(self._read, updated_since=since)
                self.counter.add("trials")
                self._last_query = query_time
                if since is None:  # every row: those no longer in the store leave
                    self._last_full = query_time
                    self._forget_all_but({row["run_id"] for row in rows})
                for row in rows:
                    if (
                        self._stamps.get(row["run_id"], _UNSEEN) != row["updated_at"]
                    ):  # re-read, unchanged: skip
                        self._stamps[row["run_id"]] = row["updated_at"]
                        try:
                            self._known[row["run_id"]] = normalize_store_row(row)
                        except (KeyError, TypeError, ValueError, AttributeError) as e:
                            self.skipped[str(row["run_id"])] = f"unreadable row ({e})"
        except StoreError as e:
            raise SourceUnavailable(str(e).rstrip(".")) from e
        except sqlite3.Error as e:  # what is wrong and what to do (hwscale-tui doctor, ...)
            raise SourceUnavailable(store_error_sentence(self._path(), e).rstrip(".")) from e
        now = self._clock()
        trials = sorted((self._current(t, now) for t in self._known.values()), key=record_order)
        changed = diff_trials(self._previous, trials)
        self._previous = {t.run_id: t for t in trials}
        return PollResult(
            trials=trials,
            changed=changed,
            flagged=sum(1 for t in trials if t.flags),
            requests=self.counter.total - before,
            fetched_at=now,
        )

    def _forget_all_but(self, present: set[Any]) -> None:
        """Drop the records of trials a full read no longer found (deleted from the store):
        incremental polls read only rows updated since, so a deleted trial stayed listed."""
        for run_id in [r for r in self._stamps if r not in present]:
            self._stamps.pop(run_id, None)
            self._known.pop(run_id, None)
            self.skipped.pop(str(run_id), None)

    def _current(self, trial: Trial, now: float) -> Trial:
        """The record as of ``now`` (``base.current_record``)."""
        return current_record(trial, now, self.settings.stale_after_s)

    def histories(
        self, run_ids: Sequence[str], metric: str | None = None
    ) -> dict[str, Sequence[HistoryPoint]]:
        """Curves per run; re-read only for runs whose history rows changed (count or last step).

        Never raises for store errors: it then returns the curves read before and sets
        ``history_error``.
        """
        metric = metric or self.curve_metric
        column = HISTORY_METRIC_ALIASES.get(metric, metric)
        ids = list(dict.fromkeys(run_ids))
        with self._lock:
            self.history_error = None
            try:
                store = self._open_store()
                if store is not None and ids:
                    self._refresh_curves(store, ids, column)
            except StoreError as e:
                self.history_error = str(e).rstrip(".")
            except sqlite3.Error as e:
                self.history_error = store_error_sentence(self._path(), e).rstrip(".")
            return {i: self._curves[(i, column)][1] for i in ids if (i, column) in self._curves}

    def _refresh_curves(self, store: Store, ids: list[str], column: str) -> None:
        # Curves never read: read them with their marks in one pass (an analysis reads every
        # curve once, so a marks query first would scan the history twice).
        cold = [i for i in ids if (i, column) not in self._curves]
        warm = [i for i in ids if (i, column) in self._curves]
        if cold:
            self._curves.update(
                ((run_id, column), marked)
                for run_id, marked in store.histories_marked(cold, column).items()
            )
            self.counter.add("history")
        for start in range(0, len(warm), SQL_CHUNK):  # SQLite caps the number of bound parameters
            chunk = warm[start : start + SQL_CHUNK]
            marks = store.history_marks(chunk)
            self.counter.add("history_marks")
            grown = [i for i in marks if self._curves[(i, column)][0] != marks[i]]
            if grown:
                fresh = store.histories(grown, column)
                self.counter.add("history")
                for run_id in grown:
                    self._curves[(run_id, column)] = (marks[run_id], fresh.get(run_id, []))
