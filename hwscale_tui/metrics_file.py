"""A trial's metrics file: one JSON object per line (the trainer's contract), read as it grows.

Per-update lines carry ``metric/agent_step``, ``metric/total_time``, ``overview/sps``,
``overview/reward`` and ``score``; the final line adds ``sweep/score``, ``sweep/cost``,
``final: true`` and ``state``. Lines that are not complete JSON objects are skipped (a writer
may be mid-line).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
from pathlib import Path
from typing import Any

# Our history columns <- the metrics keys (W&B key contract, docs/architecture.md), with plain-name fallbacks.
HISTORY_KEYS: dict[str, tuple[str, ...]] = {
    "agent_step": ("metric/agent_step", "agent_step"),
    "wall_s": ("metric/total_time", "wall_s"),
    "score": ("score",),
    "reward": ("overview/reward", "reward"),
    "sps": ("overview/sps", "sps"),
}


def finite(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def pick(record: dict[str, Any], names: tuple[str, ...]) -> float | None:
    for name in names:
        value = finite(record.get(name))
        if value is not None:
            return value
    return None


def history_row(record: dict[str, Any]) -> dict[str, float | None]:
    """A store history row (``Store.append_history``) from one metrics line."""
    return {column: pick(record, names) for column, names in HISTORY_KEYS.items()}


class MetricsTail:
    """Reads only the lines appended since the last call."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self.final: dict[str, Any] | None = None
        self.last: dict[str, Any] | None = None

    def read_new(self) -> list[dict[str, Any]]:
        chunk = self._read_chunk()
        if chunk is None:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        records = []
        for line in chunk[: end + 1].splitlines():
            try:
                rec = json.loads(line)
            except (ValueError, RecursionError):  # a line nested past the recursion limit
                continue
            if isinstance(rec, dict):
                records.append(rec)
                self.last = rec
                if rec.get("final") is True:
                    self.final = rec
        return records

    def _read_chunk(self) -> bytes | None:
        """The bytes written since the last read; None when the path is no regular file or
        cannot be read: a folder raised IsADirectoryError and a named pipe nobody writes hung
        the reader (cancel, the supervisor's reap, doctor's rebuild; the sweep runner's
        TrialMetrics also says why)."""
        try:
            if not stat.S_ISREG(os.stat(self.path).st_mode):
                return None
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                return fh.read()
        except OSError:
            return None


def read_final(path: Path) -> dict[str, Any] | None:
    """The last ``final: true`` line of a metrics file, or None."""
    tail = MetricsTail(path)
    tail.read_new()
    return tail.final


# -- the trial's record beside its metrics --------------------------------------------------------
# The sweep runner writes ``trial.json`` into a trial's run folder (state/runs/<run id>/) when it
# records the trial: what the store's row holds before the trial runs (its pair, index,
# generation and hyperparameters). With the metrics file beside it, the row can be rebuilt
# when the store loses it (``hwscale-tui doctor --repair``): a deleted -wal file, an older copy
# put back, a damaged page a repair could not read.
TRIAL_RECORD = "trial.json"
TRIAL_RECORD_VERSION = 1
# the store's columns the record keeps (params and suggestion as objects)
RECORD_FIELDS = (
    "run_id",
    "sweep",
    "experiment",
    "idx",
    "gpus",
    "nodes",
    "params",
    "suggestion",
    "generation",
    "fingerprint",
    "created_at",
    "source",
    "log_path",
    "metrics_path",
)


def write_trial_record(run_dir: Path, record: dict[str, Any]) -> None:
    """Write ``run_dir/trial.json`` (mode 0600, atomically: temp file + rename), the run folder
    created (0700) if missing. Raises OSError (the caller decides whether that matters)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = {"version": TRIAL_RECORD_VERSION, **{k: record.get(k) for k in RECORD_FIELDS}}
    text = json.dumps(data, sort_keys=True, default=str)
    path = run_dir / TRIAL_RECORD
    tmp = run_dir / f".{TRIAL_RECORD}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_trial_record(run_dir: Path) -> dict[str, Any] | None:
    """The run folder's ``trial.json`` when it reads as this version's record of that very run
    (its run id the folder's name, a sweep, an index, a pair, params as an object), else None."""
    run_dir = Path(run_dir)
    try:
        data = json.loads((run_dir / TRIAL_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("version") != TRIAL_RECORD_VERSION:
        return None
    ints = ("idx", "gpus", "nodes")
    if (
        data.get("run_id") != run_dir.name
        or not isinstance(data.get("sweep"), str)
        or not all(isinstance(data.get(k), int) and not isinstance(data.get(k), bool) for k in ints)
        or not isinstance(data.get("params"), dict)
    ):
        return None
    return data


def recovered_trial(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, float | None]]] | str:
    """A lost trial's store row (``Store.insert_trial`` fields) and its learning curve, rebuilt
    from its run folder: ``trial.json`` and the metrics file's lines (the final one gives the
    state, score and cost, as the sweep runner reads them). A str says why it cannot be: no
    record (the trial ran before hwscale-tui wrote one, or it is damaged), or no final metrics
    line (it never ended, or ended without writing one: its result is unknown)."""
    record = read_trial_record(run_dir)
    if record is None:
        return f"no readable {TRIAL_RECORD}"
    tail = MetricsTail(Path(run_dir) / "metrics.jsonl")
    lines = tail.read_new()
    final = tail.final
    if final is None:
        return "no final metrics line (it never ended, or ended without saying how)"
    # as the sweep runner decides it (sweep/outcome.py): finished only with a score
    state = str(final.get("state", "finished"))
    if state not in ("finished", "failed", "killed"):
        state = "failed"
    if state == "finished" and finite(final.get("sweep/score")) is None:
        state = "failed"
    history = [history_row(r) for r in lines if r.get("final") is not True]
    history = [h for h in history if h["agent_step"] is not None]
    last = next((r for r in reversed(lines) if r.get("final") is not True), final)
    suggestion = record.get("suggestion")
    # when it ended: the final line's write (the metrics file's last change); the row's span
    # (created_at to updated_at) is what analyze reads to tell trials that ran at once apart
    try:
        ended: float | None = (Path(run_dir) / "metrics.jsonl").stat().st_mtime
    except OSError:
        ended = None
    runtime = pick(final, HISTORY_KEYS["wall_s"]) or pick(last, HISTORY_KEYS["wall_s"])
    created = finite(record.get("created_at"))
    started = None
    if ended is not None and runtime is not None:
        started = ended - runtime if created is None else max(created, ended - runtime)
    row: dict[str, Any] = {
        "experiment": record.get("experiment"),
        "idx": record["idx"],
        "gpus": record["gpus"],
        "nodes": record["nodes"],
        "state": state,
        "params": record["params"],
        "suggestion_json": json.dumps(suggestion, sort_keys=True, default=str)
        if isinstance(suggestion, dict)
        else None,
        "score": finite(final.get("sweep/score")) if state == "finished" else None,
        "cost_usd": finite(final.get("sweep/cost")),
        "agent_steps": pick(final, HISTORY_KEYS["agent_step"])
        or pick(last, HISTORY_KEYS["agent_step"]),
        "runtime_s": runtime,
        "sps": pick(final, HISTORY_KEYS["sps"]) or pick(last, HISTORY_KEYS["sps"]),
        "generation": record.get("generation") if isinstance(record.get("generation"), int) else 1,
        "fingerprint": record.get("fingerprint")
        if isinstance(record.get("fingerprint"), str)
        else None,
        "created_at": created,
        "started_at": started,
        "ended_at": ended,
        "updated_at": ended,
        "source": record.get("source") if isinstance(record.get("source"), str) else "local",
        "log_path": record.get("log_path") if isinstance(record.get("log_path"), str) else None,
        "metrics_path": str(Path(run_dir) / "metrics.jsonl"),
        "error": None
        if state == "finished"
        else str(final.get("error") or f"{state} (its metrics file's final line says so)"),
    }
    for key in ("created_at", "updated_at"):  # unknown: the store's default (now)
        if row[key] is None:
            del row[key]
    return row, history
