"""The runner's state in the SQLite store: its ``sweeps`` row, its ``trials`` rows, its events.

Everything the runner knows is written here first, so a restarted runner (same sweep) resumes
from it and the supervisor, ``status`` and the app read progress without asking the runner.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from ..errors import StoreError, UsageError
from ..hardware import HardwarePair
from ..metrics_file import write_trial_record
from ..paths import ensure_private_dir
from ..processes import is_running, process_start_time
from ..store import Store
from .outcome import TrialOutcome
from .trial_command import TrialSpec, trial_run_id

IN_FLIGHT_STATES = ("queued", "running")


class SweepState:
    """One sweep's rows; ``event`` also prints one line per event to ``out``."""

    def __init__(
        self, store: Store, sweep: str, *, out: TextIO, clock: Callable[[], float] = time.time
    ):
        self.store = store
        self.sweep = sweep
        self.out = out
        self.clock = clock

    # -- the sweeps row -------------------------------------------------------------------------
    def claim(
        self,
        *,
        experiment: str,
        pair: HardwarePair,
        dispatcher: str,
        max_trials: int,
        config: Mapping[str, Any],
        generation: int = 1,
    ) -> bool:
        """Mark this process as the sweep's runner; True when resuming an existing sweep.

        Refused (UsageError) while another live runner owns the sweep.
        """
        row = self.store.get_sweep(self.sweep)
        me = os.getpid()
        if (
            row
            and row["status"] == "running"
            and row["pid"] != me
            and is_running(row["pid"], row["proc_start"])
        ):
            stop = (
                f"hwscale-tui cancel --experiment-name {experiment} {pair.tag}"
                if self._launched_pair_running(experiment)
                else f"kill -TERM {row['pid']}: it cancels its trials and exits"  # run by hand
            )
            raise UsageError(
                f"sweep {self.sweep} is already being run by process {row['pid']}; "
                f"accepted: wait for it, or stop it first ({stop})."
            )
        now = self.clock()
        self.store.upsert_sweep(
            self.sweep,
            experiment=experiment,
            gpus=pair.gpus,
            nodes=pair.nodes,
            runner="builtin",
            dispatcher=dispatcher,
            max_trials=max_trials,
            status="running",
            pid=me,
            proc_start=process_start_time(me),
            started_at=(row or {}).get("started_at") or now,
            updated_at=now,
            config_json=json.dumps(config, sort_keys=True),
            generation=generation,
        )
        return row is not None

    def _launched_pair_running(self, experiment: str) -> bool:
        """Whether a launch runs this sweep (``hwscale-tui cancel`` stops it), rather than a
        ``hwscale-tui sweep`` started by hand (cancel knows only launched pairs)."""
        from ..launch.state import LaunchRecords

        return any(
            r.sweep == self.sweep and is_running(r.pid, r.proc_start)
            for r in LaunchRecords(self.store).pair_rows(experiment)
        )

    def set_status(self, status: str) -> None:
        self.store.upsert_sweep(self.sweep, status=status, updated_at=self.clock())

    # -- trials ---------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        return self.store.trial_rows([self.sweep])

    def row(self, run_id: str) -> dict[str, Any] | None:
        return self.store.get_trial_row(run_id)

    def new_trial(
        self,
        params: Mapping[str, Any],
        info: Mapping[str, Any],
        experiment: str,
        build: Callable[[str, int], TrialSpec],
        *,
        generation: int = 1,
        fingerprint: str | None = None,
    ) -> TrialSpec:
        """Reserve the next 1-based index (never reused) and record the suggestion as a queued trial."""
        with self.store.transaction():
            idx = self.store.next_trial_index(self.sweep)
            spec = build(trial_run_id(self.sweep, idx), idx)
            now = self.clock()
            self.store.insert_trial(
                spec.run_id,
                self.sweep,
                experiment=experiment,
                idx=idx,
                gpus=spec.pair.gpus,
                nodes=spec.pair.nodes,
                state="queued",
                params=dict(params),
                suggestion_json=json.dumps(dict(info), sort_keys=True, default=str),
                log_path=str(spec.log_path),
                metrics_path=str(spec.metrics_path),
                created_at=now,
                updated_at=now,
                source="local",
                generation=generation,
                fingerprint=fingerprint,
            )
        # the row's copy beside the trial's metrics: `doctor --repair` rebuilds the row from
        # both if the store loses it; a folder that cannot be written fails the trial's start
        # itself, with its own sentence, so nothing is said here
        with contextlib.suppress(OSError):
            ensure_private_dir(spec.run_dir)  # every folder made 0700, the runs folder too
            write_trial_record(
                spec.run_dir,
                {
                    "run_id": spec.run_id,
                    "sweep": self.sweep,
                    "experiment": experiment,
                    "idx": idx,
                    "gpus": spec.pair.gpus,
                    "nodes": spec.pair.nodes,
                    "params": dict(params),
                    "suggestion": dict(info),
                    "generation": generation,
                    "fingerprint": fingerprint,
                    "created_at": now,
                    "source": "local",
                    "log_path": str(spec.log_path),
                    "metrics_path": str(spec.metrics_path),
                },
            )
        return spec

    def mark_started(self, run_id: str, **handle_fields: Any) -> None:
        now = self.clock()
        self.store.update_trial(
            run_id, state="running", started_at=now, updated_at=now, **handle_fields
        )

    def record_live(
        self, run_id: str, live: Mapping[str, Any], history: Sequence[Mapping[str, Any]]
    ) -> None:
        with self.store.transaction():
            self.store.append_history(run_id, history)
            self.store.update_trial(run_id, **live)

    def finish(self, run_id: str, outcome: TrialOutcome) -> None:
        fields: dict[str, Any] = {
            "state": outcome.state,
            "score": outcome.score,
            "cost_usd": outcome.cost_usd,
            "error": outcome.error,
            "ended_at": self.clock(),
        }
        if outcome.runtime_s is not None:
            fields["runtime_s"] = outcome.runtime_s
        if outcome.agent_steps is not None:
            fields["agent_steps"] = outcome.agent_steps
        if outcome.sps is not None:
            fields["sps"] = outcome.sps
        self.store.update_trial(run_id, **fields)

    # -- events ---------------------------------------------------------------------------------
    def ended_run_ids(self) -> set[str]:
        """Trials whose end was already announced (a finished / failed / killed event)."""
        rows = self.store.conn.execute(
            "SELECT DISTINCT run_id FROM events WHERE sweep = ? AND kind IN ('finished', 'failed', 'killed', 'stale')",
            (self.sweep,),
        ).fetchall()
        return {r[0] for r in rows if r[0]}

    def event(self, kind: str, message: str, run_id: str | None = None) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        subject = run_id or self.sweep
        with contextlib.suppress(OSError):  # a full disk may refuse the log line too
            print(f"{stamp} {kind:<10} {subject} {message}".rstrip(), file=self.out, flush=True)
        # The line is in the runner's log; an unavailable store must not stop the sweep.
        with contextlib.suppress(sqlite3.Error, StoreError):
            self.store.add_event(kind, message, sweep=self.sweep, run_id=run_id)
