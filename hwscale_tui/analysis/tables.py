"""Trials and learning curves from CSV files, and the per-config table written back as CSV.

Trials CSV, one row per trial (wide) -- columns:
  ``run_id`` (required); hardware as ``gpus`` + ``nodes``, or a ``config`` like ``g4n1``, or a
  ``sweep`` name ending in ``g<G>n<N>``; optional ``state`` (default ``finished``), ``score``,
  ``cost_usd``, ``agent_steps``, ``runtime_s``, ``sps``, ``generation`` (default: the sweep
  name's); hyperparameters as ``param.<dotted key>`` (or ``params.<dotted key>``, as
  ``trials --csv`` writes them) columns (e.g. ``param.trainer.batch_size``) or one
  ``params_json`` column.
History CSV: ``run_id, agent_step, wall_s, score`` and optionally ``cost_usd``.
Long format: a trials CSV that itself has ``agent_step`` and ``score`` columns holds one row per
logged point; trial fields are read from each run's last row (its ``score`` is the final score
unless a ``final_score`` column says otherwise), its hardware from any of its rows.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import MAX_GPUS_PER_NODE, MAX_NODES
from ..errors import UsageError
from ..hardware import generation_of_sweep, pair_from_sweep_name, parse_pair
from ..records import TRIAL_STATES, HistoryPoint, Trial
from .core import AnalysisResult, never_reached_as_inf
from .jsonable import jsonable

HISTORY_COLUMNS = ("run_id", "agent_step", "wall_s", "score")
NUMBER_FIELDS = ("score", "cost_usd", "agent_steps", "runtime_s", "sps")
PARAM_PREFIX = "param."
PARAM_PREFIXES = (PARAM_PREFIX, "params.")  # ``trials --csv`` writes ``params.<key>``


def _read_csv(path: str | Path, what: str) -> pd.DataFrame:
    p = Path(path)
    try:
        p.exists()
    except OSError as e:  # a name too long for the filesystem: bad input, not a failed disk
        raise UsageError(
            f"{what} {p} is not a usable path ({e.strerror or e}); accepted: a path to a CSV file."
        ) from None
    if not p.is_file():
        problem = (
            "is a directory"
            if p.is_dir()
            else "is not a regular file"
            if p.exists()
            else "does not exist"
        )
        raise UsageError(f"{what} {p} {problem}; accepted: a path to a CSV file.")
    try:
        # "run_id, gpus" (a space after each comma) names the column gpus, not " gpus"; a run
        # id is text: "007" stays "007" and "1e3" "1e3" (read as numbers: "7.0", "1000.0")
        df = pd.read_csv(p, skipinitialspace=True, dtype={"run_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UsageError(
            f"{what} {p} is not a readable CSV ({first}); accepted: a comma-separated file with a header row."
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    twice = _repeated_column(p)
    if twice is not None:
        # pandas renames the second one (gpus.1) and the first was read with nothing said,
        # whichever of the two the file meant
        raise UsageError(
            f"{what} {p} has the column {twice!r} more than once; accepted: a header row naming "
            "each column once."
        )
    if len(df.columns) == 1:
        for name, sep in (("semicolons", ";"), ("tabs", "\t")):
            if sep in str(df.columns[0]):
                raise UsageError(
                    f"{what} {p} is separated by {name}; accepted: a comma-separated file with a header row."
                )
    return df


def _repeated_column(path: Path) -> str | None:
    """The first column name the header row has twice (spaces around a name do not count)."""
    import csv

    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    seen: set[str] = set()
    for name in (c.strip() for c in header):
        if name and name in seen:
            return name
        seen.add(name)
    return None


def _number(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _shown(value: Any) -> str:
    """A cell as the message names it: text quoted, a number as written (-5, inf)."""
    return repr(value) if isinstance(value, str) else f"{float(value):g}"


def _blank(value: Any) -> bool:
    """An empty cell (pandas reads it as NaN) or a missing column."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _field(row: pd.Series, name: str, path: Path) -> float | None:
    """An optional number of a trial: empty is unknown; text or a non-finite number is refused,
    and so is a negative one except for the score."""
    value = row.get(name)
    if _blank(value):
        return None
    f = _number(value)
    if f is None or (f < 0 and name != "score"):
        kind = "a finite number" if name == "score" else "a finite number >= 0"
        raise UsageError(
            f"{path}: run {row['run_id']} has {name} {_shown(value)}; accepted: {kind} or an empty cell."
        )
    return f


def _count(row: pd.Series, name: str, most: int, path: Path) -> int | None:
    value = row.get(name)
    if _blank(value):
        return None
    f = _number(value)
    if f is None or not f.is_integer() or not 1 <= f <= most:
        raise UsageError(
            f"{path}: run {row['run_id']} has {name} {_shown(value)}; accepted: a whole number from 1 to {most}."
        )
    return int(f)


def _hardware(row: pd.Series, path: Path) -> tuple[int, int]:
    gpus = _count(row, "gpus", MAX_GPUS_PER_NODE, path)
    nodes = _count(row, "nodes", MAX_NODES, path)
    if gpus is not None and nodes is not None:
        return gpus, nodes
    if isinstance(row.get("config"), str):
        try:
            pair = parse_pair(row["config"])
            return pair.gpus, pair.nodes
        except ValueError:
            pass
    named = pair_from_sweep_name(str(row.get("sweep") or ""))
    if named is None:
        raise UsageError(
            f"{path}: run {row['run_id']} has no hardware; accepted: gpus and nodes columns, a config like g4n1, "
            "or a sweep name ending in g<G>n<N>."
        )
    return named.gpus, named.nodes


def _params(row: pd.Series, columns: list[str], path: Path) -> dict[str, Any]:
    params = {
        c.split(".", 1)[1]: row[c]
        for c in columns
        if c.startswith(PARAM_PREFIXES) and pd.notna(row[c])
    }
    raw = row.get("params_json")
    if isinstance(raw, str) and raw.strip():
        try:
            loaded = json.loads(raw)
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict):
            raise UsageError(
                f'{path}: run {row["run_id"]} has a params_json that is not a JSON object; accepted: {{"key": value, ...}}.'
            )
        params.update(loaded)
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}


def _trial(row: pd.Series, columns: list[str], path: Path) -> Trial:
    gpus, nodes = _hardware(row, path)
    state = str(row["state"]) if isinstance(row.get("state"), str) else "finished"
    if state not in TRIAL_STATES:
        raise UsageError(
            f"{path}: run {row['run_id']} has state {state!r}; accepted: {', '.join(TRIAL_STATES)}."
        )
    sweep = str(row["sweep"]) if isinstance(row.get("sweep"), str) else f"csv.g{gpus}n{nodes}"
    fields: dict[str, Any] = {f: _field(row, f, path) for f in NUMBER_FIELDS}
    return Trial(
        sweep=sweep,
        run_id=str(row["run_id"]),
        gpus=gpus,
        nodes=nodes,
        state=state,
        params=_params(row, columns, path),
        source="local",
        generation=_generation(row, sweep, path),
        transfer_other=_transfer_other(row, path),
        error=" ".join(str(row["error"]).split()) or None
        if isinstance(row.get("error"), str)
        else None,
        # trials --csv joins a trial's flags with "; ": read back, the analysis notes them
        flags=[f.strip() for f in row["flags"].split("; ") if f.strip()]
        if isinstance(row.get("flags"), str)
        else [],
        **fields,
    )


def _transfer_other(row: pd.Series, path: Path) -> int | None:
    """A ``transfer_other`` column's value (``trials --csv`` writes one): how many other pairs'
    results the trial's suggestion learned from; empty is unknown."""
    value = row.get("transfer_other")
    if _blank(value):
        return None
    f = _number(value)
    if f is None or not f.is_integer() or f < 0:
        raise UsageError(
            f"{path}: run {row['run_id']} has transfer_other {_shown(value)}; accepted: a whole "
            "number from 0, or an empty cell."
        )
    return int(f)


def _generation(row: pd.Series, sweep: str, path: Path) -> int:
    """A ``generation`` column's value (``trials --csv`` writes one), else the sweep name's."""
    value = row.get("generation")
    if _blank(value):
        return generation_of_sweep(sweep)
    f = _number(value)
    if f is None or not f.is_integer() or f < 1:
        raise UsageError(
            f"{path}: run {row['run_id']} has generation {_shown(value)}; accepted: a whole number from 1."
        )
    return int(f)


def _points(df: pd.DataFrame) -> list[HistoryPoint]:
    cost = (
        df["cost_usd"] if "cost_usd" in df.columns else pd.Series([None] * len(df), index=df.index)
    )
    return [
        HistoryPoint(
            float(s),
            float(w) if pd.notna(w) else math.nan,
            float(v),
            float(c) if pd.notna(c) else None,
        )
        for s, w, v, c in zip(df["agent_step"], df["wall_s"], df["score"], cost)
        if pd.notna(s) and pd.notna(v)
    ]


def _histories(df: pd.DataFrame, path: Path) -> dict[str, list[HistoryPoint]]:
    missing = [c for c in HISTORY_COLUMNS if c not in df.columns]
    if missing:
        raise UsageError(
            f"{path} has no {'column' if len(missing) == 1 else 'columns'} {', '.join(missing)}; "
            f"accepted: {', '.join(HISTORY_COLUMNS)}[, cost_usd]."
        )
    _check_run_ids(df, path)
    _check_numbers(df, path, (*HISTORY_COLUMNS[1:], "cost_usd"))
    df = df.assign(run_id=df["run_id"].astype(str))
    return {
        run_id: _points(group.sort_values("agent_step"))
        for run_id, group in df.groupby("run_id", sort=False)
    }


def _check_run_ids(df: pd.DataFrame, path: Path) -> None:
    blank = df["run_id"].isna() | (df["run_id"].astype(str).str.strip() == "")
    if blank.any():
        line = int(blank.to_numpy().nonzero()[0][0]) + 2  # the header is line 1
        raise UsageError(f"{path}: line {line} has no run_id; accepted: a run id on every row.")


def _check_one_hardware_per_run(df: pd.DataFrame, path: Path) -> None:
    """A long-format file reads a run's fields from its last row: its rows must agree on the
    hardware, or the others would be dropped without a word."""
    keys = df["run_id"].astype(str)
    for column in ("gpus", "nodes", "config", "sweep"):
        if column not in df.columns:
            continue
        values = df[column]  # an empty cell does not disagree
        counts = values.groupby(keys, sort=False).nunique()
        if (counts > 1).any():
            run = counts.index[int((counts > 1).to_numpy().nonzero()[0][0])]
            seen = ", ".join(dict.fromkeys(_shown(v) for v in values[keys == run].dropna()))
            raise UsageError(
                f"{path}: run {run} has {column} {seen} on different rows; accepted: the same "
                f"{column} on every row of a run."
            )


def _hardware_on_every_row(df: pd.DataFrame) -> pd.DataFrame:
    """A run's hardware cells filled from its other rows: an empty cell does not disagree
    (``_check_one_hardware_per_run``), so a run whose last row left them empty (hardware logged
    on the first row only) is read with the hardware its other rows give, not refused."""
    keys = df["run_id"].astype(str)
    filled = df.copy()
    for column in ("gpus", "nodes", "config", "sweep"):
        if column in df.columns:
            filled[column] = df[column].groupby(keys, sort=False).transform("first")
    return filled


def _check_numbers(df: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    """Refuse text, a non-finite number or (but for the score) a negative one in a history
    column: a step, a wall time or a cost below 0 gives a negative time or cost to target (an
    empty cell is unknown)."""
    for column in columns:
        if column not in df.columns:
            continue
        raw = df[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        low = -math.inf if column == "score" else 0.0
        ok = numbers.abs().lt(math.inf) & numbers.ge(low)  # NaN compares False
        bad = raw.notna() & ~ok
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            kind = "a finite number" if column == "score" else "a finite number >= 0"
            raise UsageError(
                f"{path}: run {df['run_id'].iloc[i]} has {column} {_shown(raw.iloc[i])}; accepted: {kind}"
                + (" or an empty cell." if column in ("wall_s", "cost_usd") else ".")
            )


def read_trials_csv(
    path: str | Path, history_path: str | Path | None = None
) -> tuple[list[Trial], dict[str, list[HistoryPoint]]]:
    """Trials (and curves) from a wide trials CSV plus a history CSV, or from one long-format CSV."""
    p = Path(path)
    df = _read_csv(p, "trials file")
    if "run_id" not in df.columns:
        raise UsageError(
            f"{p} has no run_id column; accepted: a CSV with run_id and gpus/nodes (see docs/analysis.md)."
        )
    _check_run_ids(df, p)
    columns = list(df.columns)
    long_format = "agent_step" in df.columns and "score" in df.columns
    if long_format and history_path is not None:
        raise UsageError(
            f"{p} already holds per-step rows (agent_step, score); accepted: either a long-format trials file or a history file, not both."
        )
    if long_format:
        histories = _histories(df, p)
        _check_one_hardware_per_run(df, p)
        last = (
            _hardware_on_every_row(df)
            .assign(run_id=df["run_id"].astype(str))
            .sort_values("agent_step")
            .groupby("run_id", sort=False)
            .tail(1)
        )
        if "final_score" in last.columns:
            last = last.assign(score=last["final_score"])
        trials = [_trial(row, columns, p) for _, row in last.iterrows()]
        return trials, histories
    repeated = df["run_id"].astype(str)
    repeated = repeated[repeated.duplicated()]
    if len(repeated):
        raise UsageError(
            f"{p}: run {repeated.iloc[0]} has more than one row; accepted: one row per trial "
            "(per-step rows go in --history, or in a long-format file with agent_step and score)."
        )
    trials = [_trial(row, columns, p) for _, row in df.iterrows()]
    histories = (
        _histories(_read_csv(history_path, "history file"), Path(history_path))
        if history_path is not None
        else {}
    )
    return trials, histories


def per_config_csv(result: AnalysisResult) -> str:
    """The per-config table as CSV text (hyperparameters as a JSON column)."""
    # never reached: inf (as --json says it), not an empty cell (unknown)
    df = never_reached_as_inf(result.per_config, "best_reached").copy()
    # strict JSON, as --json writes it: NaN -> null, inf -> "inf"
    df["best_params"] = [
        json.dumps(jsonable(p), sort_keys=True, allow_nan=False) for p in df["best_params"]
    ]
    return df.to_csv(index=False)
