"""``hwscale-tui trials``: print the trial records of an experiment's sweeps (local store or W&B)."""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ..errors import UsageError
from ..hardware import generation_of_sweep, pair_tag_of, strip_generation
from .common import (
    add_experiment_file_flag,
    add_generation_flag,
    check_file_metric,
    check_generation,
    check_not_blank,
    check_wandb_environment,
    json_safe,
    load_config,
    plural,
    print_json,
)

HELP = "print the trials of an experiment's sweeps, from the local store or W&B"

RECORD_COLUMNS = (
    "sweep",
    "run_id",
    "gpus",
    "nodes",
    "state",
    "score",
    "cost_usd",
    "agent_steps",
    "runtime_s",
    "sps",
    "created_at",
    "updated_at",
    "source",
    "generation",
    "transfer_other",
    "error",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_experiment_file_flag(p)
    p.add_argument(
        "--source",
        choices=("local", "wandb"),
        help="where trials come from (default: local for the builtin runner, wandb for metta)",
    )
    p.add_argument(
        "--sweep",
        action="append",
        metavar="S",
        help="only this sweep: its name or its pair tag like g4n1 (repeat for several)",
    )
    add_generation_flag(p, "only this generation's trials (default: every generation, shown apart)")
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--json", action="store_true", help="print {source, trials: [...], ...} as JSON"
    )
    out.add_argument(
        "--csv",
        action="store_true",
        help="print one CSV row per trial, params as params.<key> columns",
    )
    p.add_argument(
        "--history",
        action="store_true",
        help="with --csv: print the trials' learning curves instead, one row per logged point "
        "(run_id, agent_step, wall_s, score, cost_usd; score is [analysis] curve_metric): "
        "what analyze --trials FILE.csv --history FILE.csv reads",
    )
    p.add_argument(
        "--metric",
        metavar="KEY",
        help="with --csv --history: the history metric written as score "
        "(default: [analysis] curve_metric)",
    )


def selected_sweeps(experiment: str, sweeps: list[str], wanted: list[str] | None) -> list[str]:
    """The experiment's sweeps named by ``--sweep`` (names or pair tags), all when none given."""
    if not wanted:
        return list(sweeps)
    chosen = []
    for name in wanted:
        if name in sweeps:  # a sweep's full name: that sweep (one generation's)
            chosen.append(name)
            continue
        full = f"{experiment}.{name}"
        if full in sweeps and strip_generation(full) != full:  # g1n1.gen2: that generation's
            chosen.append(full)
            continue
        # a pair tag is the same in every generation: g1n1 is <exp>.g1n1, <exp>.g1n1.gen2, ...
        same = [s for s in sweeps if strip_generation(s) == full]
        if not same and not sweeps:
            raise UsageError(
                f"--sweep {name!r} is not a sweep of experiment {experiment!r}, whose grid has no "
                "pair (each is in grid.exclude or above grid.max_gpus_per_node); accepted: no "
                "--sweep, or a grid with pairs."
            )
        if not same:
            raise UsageError(
                f"--sweep {name!r} is not a sweep of experiment {experiment!r}; accepted: "
                + ", ".join(sweeps)
                + " (or their pair tags like g4n1)."
            )
        chosen += same
    return list(dict.fromkeys(chosen))


def _check_sweep_generation(
    experiment: str, sweeps: Sequence[str], wanted: Sequence[str], generation: int
) -> None:
    """A ``--sweep`` naming one generation's sweep (``exp.g1n1.gen2``) with ``--generation`` of
    another: it listed '0 trials' with exit 0, as if the sweep had none."""
    for name in wanted:
        full = name if name in sweeps else f"{experiment}.{name}"
        if full not in sweeps or (name not in sweeps and strip_generation(full) == full):
            continue  # a pair tag: the pair in every generation
        own = generation_of_sweep(full)
        if own != generation:
            raise UsageError(
                f"--sweep {name} is generation {own}'s sweep, and --generation {generation} "
                f"lists generation {generation}'s trials; accepted: --generation {own}, or "
                f"--sweep {pair_tag_of(full)} (the pair in every generation)."
            )


def outside_grid_trials(
    name: str, sweeps: Sequence[str], generation: int | None = None
) -> tuple[int, list[str]]:
    """(how many, their pair tags): the store's trials of experiment ``name`` from sweeps of
    pairs outside its grid (``hwscale-tui sweep --gpus 3 --nodes 1``, a pair taken out of the
    grid), which ``trials`` and ``analyze`` do not read; of one ``generation``'s sweeps when
    given. (0, []) when none, or when the store cannot be read (the commands say what is wrong
    with it)."""
    import sqlite3

    from ..errors import StoreError
    from ..paths import app_paths
    from ..store import Store

    path = app_paths().store
    if not path.exists():
        return 0, []
    known = set(sweeps)
    try:
        with Store(path, readonly=True) as st:
            # the experiment's sweeps (the runner records each), then their trials by the
            # sweep index: no scan of every trial of a large store
            others = [
                row[0]
                for row in st.conn.execute(
                    "SELECT sweep FROM sweeps WHERE experiment = ?", (name,)
                ).fetchall()
                if row[0] not in known
                and (generation is None or generation_of_sweep(row[0]) == generation)
            ]
            left = [
                (sweep, int(st.conn.execute(
                    "SELECT COUNT(*) FROM trials WHERE sweep = ?", (sweep,)
                ).fetchone()[0]))
                for sweep in others
            ]  # fmt: skip
    except (StoreError, sqlite3.Error):
        return 0, []
    left = [(sweep, n) for sweep, n in left if n]
    return sum(n for _, n in left), sorted({pair_tag_of(sweep) for sweep, _ in left})


def outside_grid_note(name: str, sweeps: Sequence[str]) -> str | None:
    """One line when the store has trials of ``name`` outside its grid (they are not shown,
    and "0 trials" said nothing of them)."""
    n, tags = outside_grid_trials(name, sweeps)
    if not n:
        return None
    return (
        f"{plural(n, 'trial')} of {name} from pairs outside its grid ({', '.join(tags)}) "
        f"{'is' if n == 1 else 'are'} not shown; add the pairs to the experiment's [grid] (its "
        "file, or the app's grid editor) to see them"
    )


def run(args: argparse.Namespace) -> int:
    from ..sources import SourceUnavailable, make_source

    if args.history and not args.csv:
        raise UsageError(
            "--history prints learning curves as CSV; accepted: trials --csv --history."
        )
    # an empty --metric wrote the default metric's curves, with exit 0
    check_not_blank(args.metric, "--metric", "a history metric name like score")
    if args.metric is not None and not args.history:
        raise UsageError(
            "--metric picks the learning curves' metric; accepted: trials --csv --history --metric KEY."
        )
    cfg, _ = load_config(args, with_flags=False)
    source = make_source(cfg, args.source)
    if source.kind == "local":  # HWSCALE_HOME naming a file: not "0 trials"
        from .status import check_state_location

        check_state_location()
    sweeps = selected_sweeps(cfg.name, source.sweeps, args.sweep)
    if args.generation is not None:  # bad input: refused before anything is read
        check_generation(cfg, args.generation)
        _check_sweep_generation(cfg.name, source.sweeps, args.sweep or [], args.generation)
    if source.kind == "wandb" and not os.environ.get("WANDB_API_KEY"):
        raise UsageError(
            "--source wandb needs WANDB_API_KEY in the environment; accepted: export WANDB_API_KEY=<key>, or --source local."
        )
    if source.kind == "wandb":
        check_wandb_environment()
    every_sweep = source.sweeps
    if args.sweep or args.generation is not None:  # read only these: W&B sent every sweep's runs
        source.narrow([s for s in sweeps if args.generation in (None, generation_of_sweep(s))])
    try:
        result = source.poll()
    except SourceUnavailable as e:
        # a refused key does not come right by running trials again: a key W&B accepts does
        advice = "; set a WANDB_API_KEY W&B accepts" if e.status in (401, 403) else ""
        print(
            f"hwscale-tui: error: could not read trials: {e.reason.rstrip('.')}{advice}.",
            file=sys.stderr,
        )
        return 1
    trials = [t for t in result.trials if t.sweep in sweeps] if args.sweep else result.trials
    for run_id, why in getattr(source, "skipped", {}).items():
        print(f"hwscale-tui: warning: skipped trial {run_id}: {why}", file=sys.stderr)
    if args.generation is not None:
        trials = [t for t in trials if t.generation == args.generation]
    if source.kind == "local":  # trials the store lost are left out: said, not passed over
        from .status import lost_runs_note

        lost = lost_runs_note(cfg.name)
        if lost:
            print(f"hwscale-tui: warning: {lost.removeprefix('note: ')}", file=sys.stderr)
        outside = outside_grid_note(cfg.name, every_sweep)
        if outside and not args.sweep:
            print(f"hwscale-tui: warning: {outside}", file=sys.stderr)
    if args.json:
        payload = {
            "experiment": cfg.name,
            "generation": args.generation,
            "newest_generation": cfg.generation,
            "source": source.kind,
            "sweeps": sweeps,
            "fetched_at": result.fetched_at,
            "requests": result.requests,
            "flagged": sum(1 for t in trials if t.flags),
            "trials": [t.to_dict() for t in trials],
        }
        print_json(payload)
    elif args.csv and args.history:
        metric = args.metric or cfg.analysis.curve_metric
        to_fetch = getattr(source, "curves_to_fetch", None)
        cold = to_fetch([t.run_id for t in trials], metric) if to_fetch else 0
        if cold >= CURVES_NOTE_AT:  # minutes of requests with nothing printed looked hung
            print(
                f"hwscale-tui: reading {plural(cold, 'learning curve')} from W&B, one request "
                "each (kept in the cache for the next time) ...",
                file=sys.stderr,
                flush=True,
            )
        curves = source.histories([t.run_id for t in trials], metric)
        error = getattr(source, "history_error", None)
        if error:  # a partial export would pass for the whole one: nothing is printed
            unread = len(getattr(source, "history_unread", None) or ())
            which = f" of {unread} of {plural(len(trials), 'trial')}" if unread else ""
            print(
                f"hwscale-tui: error: could not read the learning curves{which} ({error}); "
                "nothing was printed.",
                file=sys.stderr,
            )
            return 1
        default = cfg.analysis.curve_metric
        if (
            args.metric
            and args.metric != default
            and trials
            and not any(len(points) for points in curves.values())
            # trials that logged nothing yet say nothing about the metric: refused only when
            # they logged the default one
            and _any_curve(source, [t.run_id for t in trials])
        ):
            raise UsageError(
                f"--metric {args.metric!r}: no trial's history has that metric; accepted: a "
                f"metric the trials logged, like the default {cfg.analysis.curve_metric!r} "
                "([analysis] curve_metric)."
            )
        if not args.metric and trials and not any(len(points) for points in curves.values()):
            check_file_metric(cfg, source, trials)
        write_history_csv([(t.run_id, curves.get(t.run_id, ())) for t in trials])
    elif args.csv:
        write_csv(trials)
    else:
        print_table(trials, source.kind, result.requests, experiment=cfg.name)
        if cfg.local_ranks:
            print(f"local mode: pairs are CPU ranks; cost $ at {cfg.price_label}")
    return 0


# Runs whose default curve is read at a time to learn whether the trials logged it
METRIC_CHECK_CHUNK = 10


def _any_curve(source: Any, run_ids: list[str], metric: str | None = None) -> bool:
    """Whether any of these runs logged ``metric`` (default: the curve metric), read
    ``METRIC_CHECK_CHUNK`` runs at a time up to the first curve: all of them at once cost a W&B
    request per run (4,000 for 4,000 runs) to refuse a typo in --metric."""
    for start in range(0, len(run_ids), METRIC_CHECK_CHUNK):
        chunk = run_ids[start : start + METRIC_CHECK_CHUNK]
        if any(len(points) for points in source.histories(chunk, metric).values()):
            return True
    return False


def write_csv(trials: list, out: TextIO | None = None) -> None:
    """Trials as CSV (one row each, params as ``params.KEY`` columns) to ``out`` (stdout)."""
    param_keys = sorted({k for t in trials for k in t.params})
    writer = csv.writer(sys.stdout if out is None else out, lineterminator="\n")
    writer.writerow([*RECORD_COLUMNS, "flags", *(f"params.{k}" for k in param_keys)])
    for t in trials:
        record = json_safe(t.to_dict())
        writer.writerow(
            [
                *("" if record[c] is None else record[c] for c in RECORD_COLUMNS),
                "; ".join(t.flags),
                *(
                    "" if record["params"].get(k) is None else record["params"][k]
                    for k in param_keys
                ),
            ]
        )


# Curves to fetch from W&B (one request each) from which trials --csv --history says so first
CURVES_NOTE_AT = 20

HISTORY_CSV_COLUMNS = ("run_id", "agent_step", "wall_s", "score", "cost_usd")


def write_history_csv(curves: list[tuple[str, Sequence[Any]]], out: TextIO | None = None) -> None:
    """Learning curves as CSV, one row per point (``analyze --history`` reads it); an unknown
    wall time or cost is an empty cell."""
    writer = csv.writer(sys.stdout if out is None else out, lineterminator="\n")
    writer.writerow(HISTORY_CSV_COLUMNS)

    def cell(v: float | None) -> Any:
        return "" if v is None or not math.isfinite(v) else v

    for run_id, points in curves:
        for pt in points:
            writer.writerow(
                [run_id, cell(pt.agent_step), cell(pt.wall_s), cell(pt.score), cell(pt.cost_usd)]
            )


def _human(value: float | None) -> str:
    if value is None:
        return "-"
    for cut, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= cut:
            return f"{value / cut:.3g}{suffix}"
    return f"{value:.3g}"


def _money(usd: float | None) -> str:
    """Dollars to the cent; a cost below half a cent is "<0.01", not "0.00" (free)."""
    if usd is None:
        return "-"
    return "<0.01" if 0 < usd < 0.005 else f"{usd:.2f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _shown(text: str) -> str:
    """``text`` for a terminal: a character that is not printable (an escape sequence, a
    newline, in a W&B run id or a recorded error) as ``repr`` writes it, so the terminal is
    not driven by the data and a row stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _cells(text: str) -> int:
    """Terminal cells ``text`` takes: a wide (East Asian) character two, a combining one none;
    ``ljust`` counted characters, which shifted a row of 日本語 by a cell per character."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def print_table(trials: list, kind: str, requests: int, experiment: str = "") -> None:
    """The trials as an aligned text table. Plain string formatting, not a rich Table: rich
    measures every cell, which took ~10 s for 10,000 trials (benchmarks/trials_table.py)."""
    gens = sorted({t.generation for t in trials})
    of = f": {experiment}" if experiment else ""
    if len(gens) > 1:
        of += f", generations {', '.join(map(str, gens))} (compare only within one)"
    elif gens:
        of += f", generation {gens[0]}"
    columns: tuple[str, ...] = (
        "gen",
        "pair",
        "run id",
        "state",
        "score",
        "cost $",
        "steps",
        "runtime",
        "SPS",
        "flags",
    )
    left = {"pair", "run id", "state"}
    rows = [
        (
            str(t.generation),
            pair_tag_of(t.sweep) or "?",
            _shown(t.run_id.removeprefix(f"{t.sweep}_")),
            t.state,
            "-" if t.score is None else f"{t.score:.4g}",
            _money(t.cost_usd),
            _human(t.agent_steps),
            _duration(t.runtime_s),
            _human(t.sps),
            str(len(t.flags)) if t.flags else "",
        )
        for t in sorted(trials, key=lambda t: t.generation)
    ]
    widths = [max([len(c), *(_cells(r[i]) for r in rows)]) for i, c in enumerate(columns)]

    def line(cells: tuple[str, ...] | list[str]) -> str:
        padded = []
        for cell, w, col in zip(cells, widths, columns):
            pad = " " * (w - _cells(cell))
            padded.append(cell + pad if col in left else pad + cell)
        return "  ".join(padded).rstrip()

    out = [f"{plural(len(trials), 'trial')} from {kind}{of}", line(list(columns))]
    out.append("  ".join("─" * w for w in widths))
    out += [line(r) for r in rows]
    sys.stdout.write("\n".join(out) + "\n")
    flagged = [t for t in trials if t.flags]
    for t in flagged:
        print(f"flagged {_shown(t.run_id)}: " + _shown("; ".join(t.flags)))
    ended = [t for t in trials if t.error and t.state in ("failed", "killed")]
    for t in ended[:ERRORS_SHOWN]:
        print(f"{t.state} {_shown(t.run_id)}: {_shown(_one_line(t.error))}")
    if len(ended) > ERRORS_SHOWN:
        print(
            f"(+{len(ended) - ERRORS_SHOWN} more failed or killed; --json or --csv has each error)"
        )
    print(f"{len(flagged)} flagged; {plural(requests, 'request')} this poll")


ERRORS_SHOWN = 10  # failed/killed trials whose reason the table prints under it


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
