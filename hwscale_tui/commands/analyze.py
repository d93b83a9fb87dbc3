"""``hwscale-tui analyze``: time, samples and cost to target, scaling laws, FOM and recommendations."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import stat
import sys
from pathlib import Path

from ..errors import SourceError, StoreError, UsageError
from .common import (
    add_experiment_file_flag,
    add_generation_flag,
    check_file_metric,
    check_generation,
    check_not_blank,
    check_number,
    check_output_path,
    check_wandb_environment,
    load_config,
    naming_output,
    plural,
)

# The process ends without freeing what the analysis loaded, once its output is written
# (cli._exit_without_teardown): that freeing is about 0.4 s of work nobody waits for.
SKIP_TEARDOWN = True
MIN_WIDTH, MAX_WIDTH = 20, 1000  # the text report's width: --width's range, and a terminal's
HELP = "analyze an experiment's trials: to-target values, scaling laws with CIs, FOM and recommendations"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_experiment_file_flag(p)
    src = p.add_argument_group("where the trials come from")
    src.add_argument(
        "--source",
        choices=("local", "wandb"),
        help="trial source (default: local for the builtin runner, wandb for metta)",
    )
    src.add_argument(
        "--trials",
        metavar="FILE.csv",
        help="read trials from a CSV instead (wide, or long with per-step rows)",
    )
    src.add_argument(
        "--history",
        metavar="FILE.csv",
        help="learning curves for --trials: run_id, agent_step, wall_s, score[, cost_usd]",
    )
    src.add_argument(
        "--metric",
        metavar="KEY",
        help="history metric for the curves (default: [analysis] curve_metric)",
    )
    src.add_argument(
        "--allow-oversubscribed",
        action="store_true",
        help="local mode: keep pairs with more CPU ranks than usable cores in the analysis and "
        "its recommendations (their times measure contention, not scaling)",
    )
    add_generation_flag(
        src,
        "analyze this generation's trials (default: the newest); generations never mix",
    )
    tgt = p.add_argument_group("target and statistics")
    tgt.add_argument(
        "--target",
        type=float,
        metavar="X",
        help="target: a fraction of the best smoothed score (default 0.9) or a score",
    )
    tgt.add_argument(
        "--target-kind",
        choices=("fraction", "absolute"),
        help="how to read --target (default: [analysis] target_kind)",
    )
    tgt.add_argument(
        "--levels",
        type=float,
        nargs="+",
        metavar="F",
        help="fractions at which the ranking is re-checked (default 0.5 0.75 0.9)",
    )
    tgt.add_argument(
        "--smoothing", choices=("isotonic", "median"), help="curve smoothing (default isotonic)"
    )
    tgt.add_argument(
        "--bootstrap",
        type=int,
        metavar="N",
        help="bootstrap resamples (default 1000; 0 or 1 = no intervals; 40 or more for 95%% ones)",
    )
    tgt.add_argument("--seed", type=int, metavar="N", help="bootstrap seed (default: [sweep] seed)")
    tgt.add_argument(
        "--budget-steps",
        type=float,
        metavar="N",
        help="agent-step budget for P(reach) (default: the longest trial)",
    )
    cost = p.add_argument_group("cost (used where a trial logged none)")
    cost.add_argument(
        "--gpu-type", metavar="NAME", help="GPU type for the price table (default: [cost] gpu_type)"
    )
    cost.add_argument(
        "--price-per-gpu-hour",
        type=float,
        metavar="USD",
        help="$ per GPU-hour (overrides the price table)",
    )
    cost.add_argument("--spot", action="store_true", default=None, help="price at spot rates")
    out = p.add_argument_group("output")
    out.add_argument(
        "--json", action="store_true", help="print everything as JSON instead of the text report"
    )
    out.add_argument("--report", metavar="FILE.md", help="write a Markdown report with PNG plots")
    out.add_argument(
        "--plots", metavar="DIR", help="where the report's PNGs go (default: <report>_plots/)"
    )
    out.add_argument("--csv", metavar="FILE.csv", help="write the per-config table as CSV")
    out.add_argument(
        "--width", type=int, metavar="N", help="text report width (default: the terminal's)"
    )


def _check_numbers(args: argparse.Namespace) -> None:
    """Refuse numbers analysis cannot use before any trial is read."""
    # an empty --trials or --history was read as not given: the store's trials were analyzed,
    # and an empty --metric used the default one, with exit 0
    check_not_blank(args.trials, "--trials", "a path to a trials CSV file")
    check_not_blank(args.history, "--history", "a path to a history CSV file")
    check_not_blank(args.metric, "--metric", "a history metric name like score")
    if args.seed is not None and not 0 <= args.seed <= 2**32 - 1:
        raise UsageError(
            f"--seed {args.seed} is out of range; accepted: an integer from 0 to {2**32 - 1}."
        )
    if args.bootstrap is not None and not 0 <= args.bootstrap <= 100_000:
        raise UsageError(
            f"--bootstrap {args.bootstrap} is out of range; accepted: an integer from 0 to 100000."
        )
    if args.width is not None and not MIN_WIDTH <= args.width <= MAX_WIDTH:
        raise UsageError(
            f"--width {args.width} is out of range; accepted: an integer from {MIN_WIDTH} to "
            f"{MAX_WIDTH}."
        )
    # a score may be negative (Acrobot-v1, MountainCar-v0); a fraction is checked once its
    # kind is known
    target = args.target
    if target is not None and not (math.isfinite(target) and -1e15 <= target <= 1e15):
        what = "is not a number" if math.isnan(target) else "is out of range"
        raise UsageError(
            f"--target {target:g} {what}; accepted: a number >= 0 and <= 1e+15, or a negative "
            "score down to -1e+15."
        )
    check_number(args.budget_steps, "--budget-steps", lo=0, hi=1e18, lo_open=True)
    check_number(args.price_per_gpu_hour, "--price-per-gpu-hour", lo=0, hi=1e6)
    for level in args.levels or ():
        check_number(level, "--levels", lo=0, hi=1, lo_open=True)
    gpu = args.gpu_type
    if gpu is not None and (not gpu.strip() or len(gpu) > 64 or not gpu.isprintable()):
        shown = gpu if len(gpu) <= 40 else f"{gpu[:40]}..."
        raise UsageError(
            f"--gpu-type {shown!r} is not a GPU name; accepted: a name like H100, A100, L4 or "
            "vCPU (another name is priced as an H100 unless --price-per-gpu-hour is given)."
        )


def _load(args: argparse.Namespace, cfg) -> tuple[list, dict, int, list[str], str | None]:
    """(trials, curves, how many trials the source had before one generation was picked, the
    run ids whose curve the source could not read, and why: the first failure's reason)."""
    from ..analysis.selection import pick_generation

    if args.trials:
        if args.source:
            raise UsageError("--trials and --source are alternatives; accepted: one of them.")
        for flag, value, what in (  # they act on a source's trials: a CSV would ignore them
            (
                "--metric",
                args.metric,
                "picks a metric of the store's or W&B's histories; a CSV's curve is its score column",
            ),
            (
                "--allow-oversubscribed",
                args.allow_oversubscribed or None,
                "keeps the store's oversubscribed local pairs",
            ),
        ):
            if value is not None:
                raise UsageError(
                    f"{flag} does not go with --trials (it {what}); accepted: --trials without it."
                )
        from ..analysis.tables import read_trials_csv

        path = Path(args.trials).expanduser()
        trials, histories = read_trials_csv(
            path, Path(args.history).expanduser() if args.history else None
        )
        if trials and not args.history and not any(len(h) for h in histories.values()):
            raise UsageError(
                f"--trials {args.trials} holds no learning curves and no --history was given; "
                "accepted: --history FILE.csv (run_id, agent_step, wall_s, score), or a trials "
                "file with a row per logged point (agent_step and score columns)."
            )
        if not trials:
            raise UsageError(
                f"trials file {path} has a header but no trial rows; accepted: a CSV with a row "
                "per trial (hwscale-tui trials --csv writes one)."
            )
        curved = [run_id for run_id, points in histories.items() if len(points)]
        if args.history and curved and not any(t.run_id in histories for t in trials):
            # not "no trial has a learning curve": the file has curves, of other runs
            more = ("", ", ...")
            raise UsageError(
                f"--history {args.history} has learning curves of {len(curved)} run"
                f"{'' if len(curved) == 1 else 's'} ({curved[0]!r}{more[len(curved) > 1]}), "
                f"none of them a run of --trials {args.trials} ({trials[0].run_id!r}"
                f"{more[len(trials) > 1]}); accepted: the history file of those trials "
                "(hwscale-tui trials --csv --history writes it)."
            )
        every = len(trials)
        if args.generation is not None and args.generation < 1:
            raise UsageError(
                f"--generation {args.generation}: generations count from 1; accepted: 1 or more."
            )
        # a file of several generations (trials --csv of a relaunched experiment): one of them
        if args.generation is not None or len({t.generation for t in trials}) > 1:
            trials = pick_generation(cfg.name, trials, args.generation, of=path.name)
            kept = {t.run_id for t in trials}
            histories = {k: v for k, v in histories.items() if k in kept}
        return trials, histories, every, [], None
    if args.history:
        raise UsageError(
            "--history only goes with --trials; accepted: --trials FILE.csv --history FILE.csv."
        )
    from ..sources import SourceUnavailable, make_source

    if args.generation is not None:  # bad input: refused before the source is asked (W&B)
        check_generation(cfg, args.generation)
    source = make_source(cfg, args.source)
    if source.kind == "wandb" and not os.environ.get("WANDB_API_KEY"):  # as trials says it
        raise UsageError(
            "--source wandb needs WANDB_API_KEY in the environment; accepted: export "
            "WANDB_API_KEY=<key>, --source local, or an export with --trials FILE.csv."
        )
    if source.kind == "wandb":
        check_wandb_environment()
    try:
        trials = source.poll().trials
    except SourceUnavailable as e:
        if source.kind == "local":  # the store is damaged or locked: not bad input
            raise StoreError(e.reason.rstrip(".") + ".") from None
        # a refused key does not come right by retrying: a key W&B accepts does
        again = "set a WANDB_API_KEY W&B accepts" if e.status in (401, 403) else "retry"
        raise SourceError(
            f"the {source.kind} trial source is unavailable ({e.reason.rstrip('.')}); {again}, "
            "or analyze an export with --trials FILE.csv."
        ) from None
    if not trials:
        where = (
            "the local store"
            if source.kind == "local"
            else f"W&B project {getattr(source, 'path', '?')}"
        )
        n, tags = 0, list[str]()
        if source.kind == "local":  # its trials of pairs outside the grid: said, not "none"
            from .trials import outside_grid_trials

            n, tags = outside_grid_trials(cfg.name, list(source.sweeps))
        if n:
            raise UsageError(
                f"{where} has no trials of the grid pairs of experiment {cfg.name!r} (its "
                f"{plural(n, 'trial')} {'is' if n == 1 else 'are'} of {', '.join(tags)}, outside "
                "the grid); accepted: those pairs added to its [grid] (its file, or the app's "
                "grid editor), or --trials FILE.csv."
            )
        launched = _launch_state(cfg.name)
        if launched is not None:  # right after a launch, or its pairs ended before a trial
            status = f"hwscale-tui status --experiment-name {cfg.name}"
            raise UsageError(
                f"{where} has no trials for experiment {cfg.name!r}: it was launched, and its "
                f"pairs ended without recording one ({status} says why); accepted: a new "
                f"launch (hwscale-tui launch --experiment-name {cfg.name}), or --trials FILE.csv."
                if launched == "ended"
                else f"{where} has no trials for experiment {cfg.name!r} yet: it was launched "
                f"and no trial of it is recorded so far ({status} says how its pairs stand); "
                "accepted: the analysis run again once its trials have logged their first "
                "points, or --trials FILE.csv."
            )
        raise UsageError(
            f"{where} has no trials for experiment {cfg.name!r}; accepted: a launched experiment (--experiment FILE) or --trials FILE.csv."
        )
    every = len(trials)
    trials = pick_generation(cfg.name, trials, args.generation)
    curves = source.histories([t.run_id for t in trials], args.metric or cfg.analysis.curve_metric)
    history_error = getattr(source, "history_error", None)
    if history_error and source.kind == "local":  # not "no learning curve": the store failed
        raise StoreError(history_error.rstrip(".") + ".")
    if history_error and not any(len(points) for points in curves.values()):
        # W&B answered the trials but not their curves: that, not "no learning curve" (exit 2)
        raise SourceError(
            f"the {source.kind} trial source gave no learning curve ({history_error.rstrip('.')}); "
            "retry, or analyze an export with --trials FILE.csv --history FILE.csv."
        )
    if (
        args.metric
        and args.metric != cfg.analysis.curve_metric
        and trials
        and not any(len(points) for points in curves.values())
        # trials that logged nothing yet say nothing about the metric (the analysis says they
        # have no curve yet): refused only when they logged the default one
        and any(len(p) for p in source.histories([t.run_id for t in trials]).values())
    ):
        raise UsageError(
            f"--metric {args.metric!r}: no trial's history has that metric; accepted: a metric "
            f"the trials logged, like the default {cfg.analysis.curve_metric!r} "
            "([analysis] curve_metric)."
        )
    if not args.metric and trials and not any(len(points) for points in curves.values()):
        check_file_metric(cfg, source, trials)
    # some curves read, some not (failed requests, docs/sources.md): said in a note
    unread = list(getattr(source, "history_unread", ()))
    return trials, dict(curves), every, unread, history_error


def _outside_grid_note(cfg, generation: int) -> str | None:
    """The analyzed generation's trials of pairs no longer in the grid (``trials`` warns of
    them; the analysis left them out and said nothing, its recommendation made without a pair
    that ran)."""
    from ..sources import experiment_sweeps
    from .trials import outside_grid_trials

    n, tags = outside_grid_trials(cfg.name, experiment_sweeps(cfg), generation)
    if not n:
        return None
    one = len(tags) == 1
    return (
        f"Left out: {plural(n, 'trial')} of generation {generation} from "
        f"{', '.join(tags)}, {'a pair' if one else 'pairs'} no longer in experiment "
        f"{cfg.name}'s grid; add {'it' if one else 'them'} back to its [grid] (its file, or "
        "the app's grid editor) to analyze them."
    )


def _launch_state(name: str) -> str | None:
    """Whether experiment ``name`` was launched: "ended" (every pair of its latest launch
    ended, no supervisor left), "running", or None (never, or the store cannot say)."""
    import sqlite3

    from ..launch.supervisor import pair_status
    from .status import all_ended

    try:
        status = pair_status(name)
    except (StoreError, OSError, sqlite3.Error):
        return None
    if status.launch_id is None:
        return None
    return "ended" if all_ended(status) else "running"


def _stopped_short(
    cfg, trials: list, allow_oversubscribed: bool
) -> list[tuple[str, str, int, int]]:
    """The analyzed generation's pairs whose sweep ended before it ran its trials (shared with
    the app's analysis screen: ``analysis.selection.stopped_short``)."""
    from ..analysis.selection import stopped_short
    from ..launch.supervisor import pair_status

    return stopped_short(cfg, trials, pair_status, allow_oversubscribed)


def _auto_width() -> int | None:
    """The text report's width without --width: a terminal's; piped, $COLUMNS when it is a
    width (as the other commands), else None (120). Within --width's range: a COLUMNS of 5
    broke every word ('HARDW' over 'ARE'), and piped, a COLUMNS of 0 read as 80."""
    from ..console import env_size

    if sys.stdout.isatty():
        width: int | None = shutil.get_terminal_size().columns  # COLUMNS=0: the terminal's
    else:
        width = env_size("COLUMNS") or None
    return None if width is None else min(max(width, MIN_WIDTH), MAX_WIDTH)


def _replaced(path: Path) -> str:
    """What the ``wrote`` line adds when the output was already there (it is replaced whole)."""
    return " (replaced the file that was there)" if path.is_file() else ""


def _output_file(path: str | None, flag: str) -> str | None:
    """The file an output ``path`` names, for writing: a symbolic link is followed (the link
    stays and the file it points to gets the output, as a shell's ``>`` writes it), and a
    device, pipe or socket is refused. An output is written to a temporary file renamed over
    the path, which replaced the link itself with a file, and a pipe or device -- as root even
    /dev/full or /dev/stdout -- with one, reporting "wrote" while no reader got a byte."""
    if not path:
        return path
    p = Path(path).expanduser()
    try:
        mode = os.stat(p).st_mode  # follows links
    except OSError:
        mode = None  # nothing there (or a dangling link): the checks below say what is wrong
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise UsageError(
            f"{flag} {path} is not a regular file (a device, pipe or socket, which writing the "
            "output would replace); accepted: a path to a regular file or a new one (the text "
            "report and --json go to stdout)."
        )
    if not p.is_symlink():
        return path
    target = os.path.realpath(p)
    check_output_path(target, flag)  # its folder, a directory, hwscale-tui's own folders
    return target


def _check_writable(args: argparse.Namespace) -> None:
    """Every output's folder must take new files: a read-only folder (or disk) failed only once
    the analysis had run, with exit 1 naming a temporary file (``.x.csv.123.tmp``), and after
    the outputs written before it (the CSV, the report's plots) were left behind."""
    folders: list[tuple[str, str, Path]] = [
        (flag, path, Path(path).expanduser().absolute().parent)
        for flag, path in (("--report", args.report), ("--csv", args.csv))
        if path
    ]
    if args.report:
        md = Path(args.report).expanduser()
        plots = Path(args.plots).expanduser() if args.plots else md.with_name(md.stem + "_plots")
        flag = "--plots" if args.plots else "--report"
        shown = args.plots if args.plots else args.report
        # the plots folder's own, or, to be made, its parent's
        where = plots.absolute() if plots.is_dir() else plots.absolute().parent
        folders.append((flag, shown, where))
        from ..analysis.format import PLOT_FILES
        from ..paths import read_only_file

        for name in PLOT_FILES:  # a plot made read-only is not replaced, as --csv is not
            if read_only_file(plots / name):
                raise UsageError(
                    f"{flag} {shown}: its plot {plots / name} is read-only, so it is not "
                    "replaced; accepted: a writable plots folder or another one (chmod u+w the "
                    "plot to let hwscale-tui replace it)."
                )
    for flag, path, folder in folders:
        if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(
                f"{flag} {path}: the folder {folder} is not writable (read-only, or not "
                "yours); accepted: a path in a folder you can write to."
            )


def _check_outputs_apart(args: argparse.Namespace) -> None:
    """The report's default plots folder (``<report>_plots``, as ``write_report`` makes it) must
    not be a file, and the outputs must be different paths: else one would overwrite another, or
    the report would fail after the CSV was written."""
    outputs = [
        (flag, path) for flag, path in (("--report", args.report), ("--csv", args.csv)) if path
    ]
    if args.report:
        md = Path(args.report).expanduser()
        plots = Path(args.plots).expanduser() if args.plots else md.with_name(md.stem + "_plots")
        if not args.plots:
            try:
                plots.exists()
            except OSError as e:  # a report name that fits, whose '_plots' does not
                raise UsageError(
                    f"--report {args.report}: its plots folder {plots.name} is not a usable "
                    f"path ({e.strerror or e}); accepted: a shorter report name, or --plots DIR."
                ) from None
        if not args.plots and plots.exists() and not plots.is_dir():
            raise UsageError(
                f"--report {args.report}: its plots folder {plots} is a file; accepted: a report "
                "path whose <name>_plots is free or a folder, or --plots DIR."
            )
        outputs.append(("--plots" if args.plots else "the report's plots folder", str(plots)))
        from ..analysis.format import PLOT_FILES  # no numpy: refused before anything is read

        # a PNG the report writes there would replace an output of that name (written before it)
        outputs += [(f"the report's plot {name}", str(plots / name)) for name in PLOT_FILES]
    seen: dict[Path, str] = {}
    for flag, path in outputs:
        key = Path(path).expanduser().absolute()
        if key in seen:
            raise UsageError(
                f"{seen[key]} and {flag} are the same path ({path}); accepted: a different path for each output."
            )
        seen[key] = flag
    inputs = [(f, p) for f, p in (("--trials", args.trials), ("--history", args.history)) if p]
    for flag, path in outputs:
        out = Path(path).expanduser()
        for in_flag, in_path in inputs:
            src = Path(in_path).expanduser()
            try:
                same = out.exists() and src.exists() and os.path.samefile(out, src)
            except OSError:
                same = False
            if same or out.absolute() == src.absolute():
                raise UsageError(
                    f"{flag} {path} is the {in_flag} file this analysis reads (writing it would "
                    "replace your data); accepted: another path for the output."
                )


def run(args: argparse.Namespace) -> int:
    _check_numbers(args)
    for path, flag in ((args.report, "--report"), (args.csv, "--csv")):
        check_output_path(path, flag)
    args.report = _output_file(args.report, "--report")
    args.csv = _output_file(args.csv, "--csv")
    check_output_path(args.plots, "--plots", directory=True)
    _check_outputs_apart(args)
    _check_writable(args)
    if not args.trials:  # the store's trials: HWSCALE_HOME naming a file read as "no trials"
        from .status import check_state_location

        check_state_location()
    cfg, _ = load_config(args, with_flags=False)
    if args.plots and not args.report:
        raise UsageError("--plots only goes with --report; accepted: --report FILE.md --plots DIR.")
    if args.allow_oversubscribed and not args.trials and not cfg.local_ranks:
        # refused, not ignored, as with --trials: no pair of this experiment is left out for it
        raise UsageError(
            f"--allow-oversubscribed keeps local mode's pairs with more CPU ranks than usable "
            f"cores, and experiment {cfg.name}'s pairs count GPUs, not this machine's CPU ranks "
            f'(runner = "{cfg.experiment.runner}", dispatcher = "{cfg.experiment.dispatcher}"'
            f"{', its own trial command' if cfg.sweep.trial_command else ''}"
            f"{', its own launch command' if cfg.launch.command else ''}); accepted: analyze "
            "without it."
        )
    from ..analysis.settings import settings_from_config  # no numpy: bad settings fail fast

    changes = {
        "target": args.target,
        "target_kind": args.target_kind,
        "smoothing": args.smoothing,
        "n_boot": args.bootstrap,
        "seed": args.seed,
        "budget_steps": args.budget_steps,
        "gpu_type": args.gpu_type,
        "price_per_gpu_hour": args.price_per_gpu_hour,
        "spot": args.spot,
        # a level given twice is checked once (it was a second, identical row)
        "levels": tuple(dict.fromkeys(args.levels)) if args.levels else None,
        # a CSV's counts are its `gpus` column: local mode's ranks (and its notes) are the store's
        "unit": "GPUs" if args.trials else None,
    }
    if args.target is not None and args.target_kind is None and not 0 <= args.target <= 1:
        changes["target_kind"] = "absolute"  # 450 or -400 can only be a score
    kind = changes["target_kind"] or cfg.analysis.target_kind
    target = args.target if args.target is not None else float(cfg.analysis.target)
    if kind == "fraction" and not 0 < target <= 1:  # said with the flags that made it
        if args.target is not None:
            raise UsageError(
                f"--target {target:g} is not a fraction of the best smoothed score; accepted: a "
                "number in (0, 1], or a score with --target-kind absolute."
            )
        if args.target_kind == "fraction":  # a file's own pair is checked when it is read
            raise UsageError(
                f"--target-kind fraction would read the experiment's target {target:g} "
                "([analysis] target) as a fraction of the best smoothed score; accepted: "
                "--target with a number in (0, 1]."
            )
    settings = settings_from_config(cfg, **changes)
    # The file's price_per_gpu_hour is its own gpu_type's (on-demand or spot, as it says):
    # --gpu-type A100 or --spot without --price-per-gpu-hour asks for another price, the
    # table's -- it kept the file's and labelled it "A100 on-demand $2/GPU-hour"
    reprice = (
        args.price_per_gpu_hour is None
        and cfg.cost.price_per_gpu_hour is not None
        and (
            (args.gpu_type is not None and args.gpu_type != cfg.cost.gpu_type)
            or (args.spot is not None and bool(args.spot) != bool(cfg.cost.spot))
        )
    )
    if reprice:
        settings = settings.with_changes(price_per_gpu_hour=None)
    # the notes that name the price (local mode) name the one these flags put in force
    priced = {
        key: value
        for key, value in (
            ("cost.gpu_type", args.gpu_type),
            ("cost.price_per_gpu_hour", args.price_per_gpu_hour),
            ("cost.spot", args.spot),
        )
        if value is not None
    }
    if priced:
        from .. import config as cfgmod

        cfg = cfgmod.apply_overrides(cfg, priced, source="command line")
        if reprice:
            cfg.cost.price_per_gpu_hour = None  # a new config: the file's stays as it is
    # The trials and curves, then the analysis (numpy, scipy, pandas) imports: a store with
    # nothing to analyze is refused before that. Reading in a thread while the imports ran was
    # slower (about 0.25 s on 1.6 million rows): both need the GIL nearly all the time, and
    # SQLite hands it over at every row.
    trials, histories, every, unread, unread_reason = _load(args, cfg)
    from ..analysis import analyze, render_text, write_report
    from ..analysis.selection import (
        IN_FLIGHT,
        count_unread_once,
        generation_note,
        local_mode,
        newest_without_trials_note,
        other_experiments_trials,
        progress_note,
        transfer_note,
        unread_curves,
        unread_curves_note,
    )
    from ..analysis.tables import per_config_csv
    from ..paths import write_private_text
    from ..records import states_text

    newest = None if args.trials else newest_without_trials_note(cfg, trials, args.generation)
    if not args.trials:
        note: str | None = generation_note(cfg.name, trials, every)
    elif args.generation is not None or every > len(trials):
        note = generation_note(cfg.name, trials, every, of=Path(args.trials).name)
    else:
        note = None
    local_notes: list[str] = []
    if cfg.local_ranks and not args.trials:
        # sizes with a curve: a pair whose trials all failed before logging has no law point
        curved = {run_id for run_id, points in histories.items() if len(points)}
        trials, local_notes = local_mode(
            cfg,
            trials,
            args.allow_oversubscribed,
            curved,
            beside=other_experiments_trials(cfg.name),
        )
    if args.trials:  # the file's trials in flight; its pairs without trials are unknown
        progress = progress_note(None, trials)
    else:
        from ..launch.supervisor import ended_pair_tags

        progress = progress_note(
            cfg, trials, args.allow_oversubscribed, ended=ended_pair_tags(cfg.name)
        )
    if progress:
        local_notes.insert(0, progress)
    if not args.trials:  # pairs killed or cancelled part way: said, as status says it
        from ..analysis.selection import stopped_short_note

        short = stopped_short_note(cfg.name, _stopped_short(cfg, trials, args.allow_oversubscribed))
        if short:
            local_notes.insert(1 if progress else 0, short)
    from ..sources import default_kind

    if not args.trials and trials and (args.source or default_kind(cfg)) == "local":
        off_grid = _outside_grid_note(cfg, trials[0].generation)
        if off_grid:  # trials of pairs taken out of the grid: said, not left out silently
            local_notes.insert(0, off_grid)
    if newest:  # analyzed an older generation than the newest: said before the rest
        local_notes.insert(0, newest)
    transfer = transfer_note(trials)  # a CSV keeps it: trials --csv writes transfer_other
    if transfer:
        local_notes.append(transfer)
    curve_metric = args.metric or cfg.analysis.curve_metric
    if not args.trials and curve_metric != cfg.sweep.metric:
        # Metta's defaults (evaluator/eval_sweep/score, overview/reward), or --metric reward:
        # "best score 0.8" beside "target: 0.9 x best smoothed score 12" with no word why
        where = "--metric" if args.metric else "[analysis] curve_metric"
        local_notes.append(
            f"Two metrics: each config's best trial and its best score are the trials' "
            f"{cfg.sweep.metric} ([sweep] metric), while the learning curves, the target and "
            f"the levels are in {curve_metric} ({where}): the best score and the target are "
            "not in the same units."
        )
    curves_unread = unread_curves(trials, histories, unread, unread_reason)
    if curves_unread:  # first among them: the analysis stands on fewer curves than it shows
        local_notes.insert(0, unread_curves_note(curves_unread))
    if not args.trials:  # trials the store lost are not analyzed: said, as status says it
        from .status import lost_runs_note

        lost = lost_runs_note(cfg.name, left_out="analyzed")
        if lost:
            local_notes.insert(0, lost.removeprefix("note: "))
    for n in local_notes:
        print(f"analyze: {n}", file=sys.stderr)
    if note:
        print(f"analyze: {note}", file=sys.stderr)
    # the curves there are (an unread or empty one is no curve), of the trials analyzed
    count, read = len(trials), sum(1 for t in trials if len(histories.get(t.run_id, ())))
    print(
        f"analyze: {count} trial{'' if count == 1 else 's'}, {read} learning "
        f"curve{'' if read == 1 else 's'}",
        file=sys.stderr,
    )
    if not read and any(t.state in IN_FLIGHT for t in trials):
        # right after a launch: a wait, not a file without its history (analyze's refusal)
        failed = (
            "; a failed trial's reason is in its pair's log"
            if any(t.state == "failed" for t in trials)
            else ""
        )
        raise UsageError(
            f"no trial has logged a learning curve yet (of {count} trial"
            f"{'' if count == 1 else 's'}: {states_text(trials)}{failed}); accepted: the "
            "analysis run again once they have logged their first points."
        )
    result = analyze(
        trials, histories, settings, progress=lambda msg: print(f"analyze: {msg}", file=sys.stderr)
    )
    if note:
        result.notes.insert(0, f"Trials analyzed: {note}.")
    result.notes[1 if note else 0 : 1 if note else 0] = local_notes
    # a trial whose curve could not be read is the unread note's, not "no learning curve yet"
    count_unread_once(result.notes, result.without_curve, curves_unread, result.left_out)
    # The CSV is written beside its path and renamed once the report is written too: a report
    # that failed (a full disk) left the CSV replaced by this analysis's, beside the earlier
    # report, with exit 1
    csv_path = Path(args.csv).expanduser() if args.csv else None
    csv_tmp = None
    if csv_path is not None:
        csv_replaced = _replaced(csv_path)
        csv_tmp = csv_path.with_name(f".{csv_path.name}.{os.getpid()}.tmp.csv")
        with naming_output(args.csv):
            write_private_text(csv_tmp, per_config_csv(result))
    try:
        if args.report:
            replaced = _replaced(Path(args.report).expanduser())
            with naming_output(args.report):
                md = write_report(
                    result,
                    Path(args.report).expanduser(),
                    Path(args.plots).expanduser() if args.plots else None,
                )
        if csv_path is not None and csv_tmp is not None:
            with naming_output(args.csv):
                os.replace(csv_tmp, csv_path)
    finally:
        if csv_tmp is not None:
            csv_tmp.unlink(missing_ok=True)
    if args.csv:
        print(f"analyze: wrote {args.csv}{csv_replaced}", file=sys.stderr)
    if args.report:
        print(f"analyze: wrote {md}{replaced}", file=sys.stderr)
    if args.json:
        # one string, one write (json.dump writes the megabyte of a large experiment in ~100,000 pieces)
        payload = result.to_json()
        payload["curves_unread"] = curves_unread  # null: every trial's curve was read
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(result, width=args.width or _auto_width()))
    return 0
