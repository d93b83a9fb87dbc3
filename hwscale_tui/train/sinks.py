"""Where a training run's metrics go: a JSON-lines file always, the SQLite store and W&B on request.

Every sink receives the same per-update line (``metric/agent_step``, ``metric/total_time``,
``overview/sps``, ``overview/reward``, ``score``, ``losses/*``) and, at the end, the same final
summary (``sweep/score``, ``sweep/cost``, ...). ``wandb`` and the store are imported only when used.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from ..errors import StoreError, UsageError
from ..paths import AppPaths, ensure_private_dir
from .overrides import TrainConfig

LOSS_KEYS = (
    "losses/policy_loss",
    "losses/value_loss",
    "losses/entropy",
    "losses/approx_kl",
    "losses/clipfrac",
)
COST_KEY = "monitor/cost/accrued_total"  # Metta's name for the dollars spent so far
STORE_FLUSH_INTERVAL_S = 0.5  # one store transaction at most this often (plus one at the end)


class MetricSink(Protocol):
    def update(self, line: dict[str, Any]) -> None: ...

    def finish(self, final: dict[str, Any], error: str | None) -> None: ...


def metrics_path_refusal(path: Path, paths: AppPaths) -> str | None:
    """Why an explicit ``metrics_file=PATH`` may not be written (opening it truncates it), or
    None. Refused: a folder; a path in hwscale-tui's own folders other than the run directories
    (``<state>/runs/``: the store, its WAL, launch snapshots, per-launch files, logs, the
    experiment files); an existing file that is not a metrics file (its first line no JSON
    object: a file of yours, a copy of the store, a trial's log). A missing folder is made,
    as for a trial on a remote machine; ``/dev/null`` and other non-files are written as before
    (a named pipe no process reads is refused when ``MetricsFile`` opens it)."""
    shown = str(path)
    try:
        where = path.expanduser().absolute()
        where = where.parent.resolve() / where.name
        if where.is_symlink():
            where = where.resolve()
        if where.is_dir():
            return f"metrics_file={shown} is a folder; accepted: a file path, like {where / 'metrics.jsonl'}."
        runs = paths.runs.resolve()
        for root in (paths.config, paths.data, paths.state, paths.logs):
            resolved = root.resolve()
            if (where == resolved or resolved in where.parents) and runs not in where.parents:
                return (
                    f"metrics_file={shown} is inside hwscale-tui's own folder {root} (the store, "
                    "launch snapshots, logs, experiment files), where it would replace one of "
                    f"them; accepted: a path outside it, or in the run directories ({paths.runs})."
                )
        # the folders a missing path needs must be makeable, and the file writable: else the
        # run failed (exit 1) on a raw OSError, after store=true had marked its trial running
        folder = next(p for p in where.parents if p.exists())
        if where.exists():
            if not os.access(where, os.W_OK):
                return (
                    f"metrics_file={shown} is not writable; accepted: a file path you can write to."
                )
        elif not folder.is_dir():
            return (
                f"metrics_file={shown} cannot be made: {folder} is a file, not a folder; "
                "accepted: a file path in a folder."
            )
        elif not os.access(folder, os.W_OK | os.X_OK):
            return (
                f"metrics_file={shown} cannot be made: the folder {folder} is not writable; "
                "accepted: a file path in a folder you can write to."
            )
        if where.is_file() and where.stat().st_size:
            with open(where, "rb") as f:
                first = f.read(1 << 16).split(b"\n", 1)[0]
            try:
                is_metrics = isinstance(json.loads(first), dict)
            except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
                is_metrics = False
            if not is_metrics:
                return (
                    f"metrics_file={shown} is an existing file that is not a metrics file (its "
                    "first line is no JSON object), which this run would overwrite; accepted: a "
                    "new path, or an earlier run's metrics file to replace."
                )
    except OSError as e:
        return f"metrics_file={shown} cannot be checked ({e.strerror or e}); accepted: a writable file path."
    return None


class MetricsWriteError(OSError):
    """The metrics file could not be written (a full disk): the run fails with this message."""


class MetricsFile:
    """One JSON object per line, written whole and flushed, so readers can tail the file."""

    def __init__(self, path: Path):
        ensure_private_dir(path.parent)
        try:  # non-blocking: a named pipe nobody reads would wait for a reader forever
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK, 0o600)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            raise StoreRefused(
                f"metrics_file={path} is a named pipe that no process reads, so writing it "
                "would wait for one forever; accepted: a file path, or a pipe a process reads."
            ) from None
        os.set_blocking(fd, True)
        self.path = path
        self.fh = os.fdopen(fd, "w", encoding="utf-8")

    def _write(self, obj: dict[str, Any]) -> None:
        try:
            self.fh.write(json.dumps(obj, allow_nan=False) + "\n")
            self.fh.flush()
        except OSError as e:  # a full disk: the run fails saying which file and why
            # the cause before the path: a sweep runner reads a failed trial's reason from its
            # log's last line, cut at 300 characters, and tells a full disk (not the trial's
            # fault) by it
            raise MetricsWriteError(
                f"writing the metrics file failed ({e.strerror or e}): {self.path}"
            ) from None

    def update(self, line: dict[str, Any]) -> None:
        self._write(line)

    def finish(self, final: dict[str, Any], error: str | None) -> None:
        try:
            self._write({**final, **({"error": error} if error else {})})
        finally:
            with contextlib.suppress(OSError):  # what a full disk left unflushed is lost
                self.fh.close()


MAX_PENDING_ROWS = 50_000  # history rows kept in memory while the store is unavailable
FINAL_RETRY_WAITS_S = (0.5, 1.0, 2.0)  # the final result: a few retries, then the metrics file
# Set by the sweep runner for each trial it starts (sweep/trial_command.py): the run id and the
# sweep of the trial this process is.
RUNNER_RUN_ENV, RUNNER_SWEEP_ENV = "HWSCALE_RUN_ID", "HWSCALE_SWEEP"
WRITABLE_STATES = ("queued", "running")  # a trial row store=true may take over


class StoreRefused(UsageError):
    """A run refused before anything is started or written: ``store=true`` would write into a
    trial row that is not this run's to write, or its metrics file would replace a file that is
    not this run's to replace (``metrics_path_refusal``; the runner's earlier-run check)."""


def store_refusal(
    cfg: TrainConfig,
    row: Mapping[str, Any] | None,
    sweep_exists: bool,
    env: Mapping[str, str],
    pid: int,
    pgid: int,
) -> str | None:
    """Why ``store=true`` must not write ``cfg.run``'s row (None: it may).

    A new run id gets a new row, except in a sweep of the sweep runner (only it makes those).
    An existing row may be written only by the trial the sweep runner started for it: its
    state is ``queued`` or ``running``, the runner's environment names this run and the row's
    sweep, the pid the runner recorded (if any yet) is this process or its group, and the row's
    hardware is this run's. Anything else -- a trial that ended, another process's trial, an
    earlier run of the same id -- would mix this run's result and curve into it.
    """
    run, accepted = cfg.run, "accepted: a run id the store does not have yet"
    if row is None:
        if sweep_exists:
            return (
                f"group={cfg.group} names a sweep in the store, whose trials only its sweep "
                f"runner adds, so store=true does not record run {run} there; accepted: another "
                "group, or omit store=true."
            )
        return None
    state, sweep = row["state"], row["sweep"]
    if state not in WRITABLE_STATES:
        score = row.get("score")
        shown = "" if score is None else f", score {score:.6g}"
        return (
            f"run {run} is a {state} trial of sweep {sweep} in the store (gpus={row.get('gpus')} "
            f"nodes={row.get('nodes')}{shown}), and store=true never rewrites a trial that "
            f"ended; {accepted}."
        )
    runners_trial = env.get(RUNNER_RUN_ENV) == run and env.get(RUNNER_SWEEP_ENV) == sweep
    recorded = row.get("pid"), row.get("pgid")
    if not runners_trial or (
        recorded[0] is not None and pid != recorded[0] and pgid != recorded[1]
    ):
        return (
            f"run {run} is a {state} trial of sweep {sweep} in the store, which only the process "
            f"its sweep runner started for it writes; {accepted}."
        )
    if (row.get("gpus"), row.get("nodes")) != (cfg.gpus, cfg.nodes):
        return (
            f"run {run} is a trial of sweep {sweep} for gpus={row.get('gpus')} "
            f"nodes={row.get('nodes')}, but this run has hardware.gpus={cfg.gpus} "
            f"hardware.nodes={cfg.nodes} ({cfg.ranks} ranks); accepted: "
            f"hardware.gpus={row.get('gpus')} hardware.nodes={row.get('nodes')} for it."
        )
    return None


class StoreSink:
    """The trial's row and history in the SQLite store, batched into few short transactions.

    Made before anything else of the run is written: a run whose row it may not write
    (:func:`store_refusal`) raises :class:`StoreRefused` from the constructor.
    """

    def __init__(self, cfg: TrainConfig, metrics_path: Path):
        self.cfg, self.run, self.metrics_path = cfg, cfg.run, metrics_path
        self.store: Any = None
        self.started_at = time.time()
        self.warned = False
        self.pending: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self._connect()

    def _connect(self) -> bool:
        """Open the store and mark the row running; False (training goes on, the metrics file
        has everything) while the store is unavailable. Raises :class:`StoreRefused` when the
        row is not this run's to write (checked in the same transaction as the first write)."""
        if self.store is not None:
            return True
        from ..store import Store

        try:
            store = Store.open_default()
        except (sqlite3.Error, StoreError) as e:
            self._warn(e)
            return False
        try:
            with store.transaction():
                row = store.get_trial_row(self.run)
                refusal = store_refusal(
                    self.cfg,
                    row,
                    row is None and store.get_sweep(self.cfg.group) is not None,
                    os.environ,
                    os.getpid(),
                    os.getpgrp(),
                )
                if refusal:
                    raise StoreRefused(refusal)
                if row is None:
                    store.insert_trial(
                        self.run,
                        self.cfg.group,
                        gpus=self.cfg.gpus,
                        nodes=self.cfg.nodes,
                        params=self.cfg.swept_params(),
                        state="running",
                        started_at=self.started_at,
                        metrics_path=str(self.metrics_path),
                    )
                else:  # the sweep runner created it; we say it is running and where metrics go
                    store.update_trial(
                        self.run,
                        state="running",
                        started_at=self.started_at,
                        metrics_path=str(self.metrics_path),
                    )
        except StoreRefused:
            store.close()
            raise
        except (sqlite3.Error, StoreError) as e:
            store.close()
            self._warn(e)
            return False
        self.store = store
        return True

    def _warn(self, exc: BaseException) -> None:
        if not self.warned:
            print(
                f"hwscale-tui train: warning: the store is unavailable ({exc}); training goes on "
                "and every metric is in the metrics file; the store is retried",
                file=sys.stderr,
                flush=True,
            )
            self.warned = True

    def update(self, line: dict[str, Any]) -> None:
        row = {
            "agent_step": line["metric/agent_step"],
            "wall_s": line["metric/total_time"],
            "score": line["score"],
            "reward": line["overview/reward"],
            "cost_usd": line[COST_KEY],
            "sps": line["overview/sps"],
        }
        row.update({k: line[k] for k in LOSS_KEYS})
        self.pending.append(row)
        if time.monotonic() - self.last_flush >= STORE_FLUSH_INTERVAL_S:
            self._flush()

    def _flush(self, **final_fields: Any) -> None:
        if not self.pending and not final_fields:
            return
        self.last_flush = time.monotonic()
        try:
            if self._connect():
                self._write(final_fields)
                return
        except (sqlite3.Error, StoreError) as e:
            self._warn(e)
        del self.pending[:-MAX_PENDING_ROWS]  # bounded while the store is away
        if final_fields:
            raise StoreError("the store did not take the final result")

    def _write(self, final_fields: dict[str, Any]) -> None:
        with self.store.transaction():
            if self.pending:
                last = self.pending[-1]
                self.store.update_trial(
                    self.run,
                    agent_steps=last["agent_step"],
                    runtime_s=last["wall_s"],
                    sps=last["sps"],
                    score=last["score"],
                    cost_usd=last["cost_usd"],
                )
                self.store.append_history(self.run, self.pending)
            if final_fields:
                self.store.update_trial(self.run, **final_fields)
        self.pending = []
        self.last_flush = time.monotonic()

    def finish(self, final: dict[str, Any], error: str | None) -> None:
        fields = {
            "state": final["state"],
            "score": final["sweep/score"],
            "cost_usd": final["sweep/cost"],
            "agent_steps": final["metric/agent_step"],
            "runtime_s": final["metric/total_time"],
            "sps": final["overview/sps"],
            "ended_at": time.time(),
            "error": error,
        }
        try:
            for wait_s in (*FINAL_RETRY_WAITS_S, None):
                try:
                    self._flush(**fields)
                    return
                except StoreError:
                    if wait_s is None:  # the sweep runner records it from the metrics file
                        return
                    time.sleep(wait_s)
        finally:
            if self.store is not None:
                self.store.close()


class WandbSink:
    """A real W&B run (online or offline) with the W&B key contract (docs/architecture.md)."""

    def __init__(self, cfg: TrainConfig, run_dir: Path):
        import wandb

        ensure_private_dir(run_dir)
        self.suggestion = cfg.swept_params()
        self.run = wandb.init(
            project=cfg.wandb_project,
            entity=cfg.wandb_entity,
            group=cfg.group,
            name=cfg.run,
            id=cfg.run,
            tags=["hwscale", f"g{cfg.gpus}n{cfg.nodes}"],
            config={"hardware": {"gpus": cfg.gpus, "nodes": cfg.nodes}, **self.suggestion},
            mode=cast(Literal["online", "offline", "disabled"], cfg.wandb_mode),  # validated
            dir=os.environ.get("WANDB_DIR") or str(run_dir),
            settings=wandb.Settings(
                console="off", disable_git=True, save_code=False, disable_job_creation=True
            ),
        )
        self.run.define_metric("metric/agent_step")
        self.run.define_metric("*", step_metric="metric/agent_step")

    def update(self, line: dict[str, Any]) -> None:
        self.run.log({k: v for k, v in line.items() if v is not None})

    def finish(self, final: dict[str, Any], error: str | None) -> None:
        summary = {k: v for k, v in final.items() if k not in ("final", "state") and v is not None}
        self.run.summary.update({**summary, "sweep/suggestion": self.suggestion})
        self.run.finish(exit_code=0 if final["state"] == "finished" else 1)
