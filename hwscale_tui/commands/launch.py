"""``hwscale-tui launch``: start one sweep per pair under a supervisor that outlives the terminal."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import TYPE_CHECKING

from ..console import stdout_console
from ..errors import UsageError
from ..hardware import pair_tag_of
from .common import (
    add_experiment_flags,
    check_launch_program,
    commit_selection,
    load_config,
    pair_tokens,
    pasteable_command,
    plural,
    preflight,
)

if TYPE_CHECKING:
    from ..config import ExperimentConfig

HELP = "start one sweep per pair, staggered, under a detached supervisor that survives logout"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_experiment_flags(p)
    g = p.add_argument_group("launch")
    g.add_argument(
        "--foreground",
        action="store_true",
        help="supervise in this process until every pair has ended (for scripts); exit 0 only if all exited 0",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="start only the pairs that never started because their supervisor died; running sweeps are left alone",
    )
    g.add_argument(
        "--only",
        action="append",
        metavar="PAIR",
        help="launch only this pair (g4n1 or a sweep name); repeat it or separate with commas",
    )
    g.add_argument(
        "--new-generation",
        action="store_true",
        help="run the experiment again as a new generation (needed when settings that decide "
        "comparability changed, like sweep.total_timesteps); earlier trials are kept apart",
    )
    g.add_argument("--json", action="store_true", help="print what was launched as JSON")
    p.add_argument(
        "extra",
        nargs="*",
        metavar="KEY=VALUE",
        help="extra arguments forwarded to every pair's command",
    )


def _only(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    tokens = pair_tokens(values)
    if not tokens:  # an empty --only must never mean "every pair"
        raise UsageError(
            "--only names no pair; accepted: pairs like --only g4n1 or --only g1n1,g2n1."
        )
    return tokens


def run(args: argparse.Namespace) -> int:
    from ..launch import supervisor as sup
    from ..launch.commands import plan_experiment, validate_extra_args
    from ..paths import snapshot_path

    only = _only(args.only)
    if args.resume:
        _refuse_settings_with_resume(args)
    cfg, _ = load_config(args)
    if args.resume:
        _schedule_as_launched(args, cfg)
    if args.new_generation and args.resume:
        raise UsageError(
            "--new-generation and --resume do not go together (a resume continues the current "
            "generation); accepted: one of them."
        )
    extra = validate_extra_args(args.extra)
    plan = plan_experiment(cfg, snapshot_path(cfg.name), extra)
    check_launch_program(cfg)  # every pair would fail to start
    preflight(cfg, plan, extra)
    from ..paths import app_paths
    from ..sweep.preflight import check_slurm

    chosen = [pp for pp in plan.pairs if not only or {pp.pair.tag, pp.sweep_name} & set(only)]
    check_slurm(cfg, chosen, app_paths().runs)  # sbatch --test-only: would Slurm take the jobs?
    interrupted: list[int] = []
    if args.foreground:  # ctrl+c (or a closed terminal) ends the supervising loop, then we cancel

        def on_signal(signum: int, _frame: object) -> None:
            interrupted.append(signum)
            raise KeyboardInterrupt

        for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            signal.signal(signum, on_signal)
    info = sup.launch(
        cfg,
        extra_args=args.extra,
        foreground=args.foreground,
        resume=args.resume,
        only=only,
        new_generation=args.new_generation,
        hint_command=pasteable_command(args),
        on_started=lambda: commit_selection(args),  # a foreground launch runs long: select now
    )
    if interrupted:
        return _cancel_owned(cfg.name, info.sweeps, interrupted[0], info.launch_id)
    if args.new_generation and not info.new_generation:  # said, not passed over in silence
        print(
            f"hwscale-tui launch: note: experiment {cfg.name} had never been launched, so "
            f"--new-generation changed nothing: this is its generation {info.generation}.",
            file=sys.stderr,
        )
    final = sup.pair_status(cfg.name) if args.foreground and info.launch_id is not None else None
    if args.json:
        out = info.to_json()
        if final is not None:
            out["final_status"] = final.to_json()
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_launch(info)
        if final is not None:  # laid out as `hwscale-tui status` shows it (cost, ETA, width)
            from ..launch.progress import progress_from_store
            from ..launch.status_view import render

            console = stdout_console()
            console.print(render(final, time.time(), progress_from_store(final), console.width))
    if final is None:
        return 0
    return (
        0
        if all(
            p.status == "exited" and p.exit_code == 0
            for p in final.pairs
            if p.sweep_name in info.sweeps
        )
        else 1
    )


# what a resume takes from the command line: when the resumed pairs start
RESUME_SETTINGS = ("--delay", "--sequential")


def _schedule_as_launched(args: argparse.Namespace, cfg: ExperimentConfig) -> None:
    """A resume without --delay or --sequential starts the pairs as their launch scheduled
    them (its snapshot's ``launch.sequential`` and ``delay_s``), not as the experiment's file
    says: after ``launch --sequential`` of a file with ``delay_s = 20``, the resumed pair
    started at once beside the one its dead supervisor left running, sharing the cores."""
    from .. import config as cfgmod
    from ..paths import snapshot_path

    if any(getattr(args, f"set_launch__{k}", None) is not None for k in ("delay_s", "sequential")):
        return
    try:
        launched = cfgmod.load(snapshot_path(cfg.name)).launch
    except (UsageError, OSError):
        return  # the resume refuses an unreadable snapshot itself, in one sentence
    cfg.launch.sequential = launched.sequential
    cfg.launch.delay_s = launched.delay_s


def _refuse_settings_with_resume(args: argparse.Namespace) -> None:
    """A resume starts each pair with the command its launch recorded, from the launch's
    frozen snapshot: other settings given with it (--max-trials 20, seed=3) were accepted and
    silently ignored."""
    from .common import LAUNCHER_FLAGS

    given = [
        flag
        for flag, (key, _) in LAUNCHER_FLAGS.items()
        if flag not in RESUME_SETTINGS
        and getattr(args, "set_" + key.replace(".", "__"), None) is not None
    ]
    given += list(args.extra)
    if given:
        raise UsageError(
            f"--resume starts the pairs with the commands and settings their launch recorded, so "
            f"{', '.join(given)} would be ignored; accepted: --resume with only --delay, "
            "--sequential or --only, or a launch without --resume to apply new settings."
        )


def _cancel_owned(
    experiment: str, sweeps: list[str], signum: int, launch_id: int | None = None
) -> int:
    """``launch --foreground`` was interrupted: its sweeps run in sessions of their own, so the
    terminal's signal never reached them; cancel them (trials included) and exit 128+signal."""
    from ..launch import supervisor as sup
    from .cancel import who

    for signum_ in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum_, signal.SIG_IGN)  # a second ctrl+c must not cut the cancel short
    name = signal.Signals(signum).name
    print(f"{name}: cancelling the {plural(len(sweeps), 'pair')} this launch owns", file=sys.stderr)
    if sweeps:
        # only what this launch still owns: a pair another launch started again since is theirs
        for o in sup.cancel_pairs(experiment, sweeps, by=who(), launch_id=launch_id):
            tag = pair_tag_of(o.sweep)
            if o.cancelled and o.previous_status == "starting":
                # its supervisor was this process's loop, cut short by the signal (maybe between
                # spawning the pair and recording it running): nobody else would stop it, and it
                # ran on after the launch had said it cancelled it (seen: a fake sweep of 120 s
                # left behind, one run in three)
                o.detail = _stop_started(experiment, o.sweep) or o.detail
            # as `hwscale-tui cancel` says it ('g1n1: cancelled stopped 3 processes' read as one)
            said = "cancelled" if o.cancelled else "not cancelled"
            print(
                f"  {tag}: {said}: {o.detail}" if o.detail else f"  {tag}: {said}", file=sys.stderr
            )
    return 128 + signum


def _stop_started(experiment: str, sweep: str) -> str | None:
    """Stop the process tree of a pair this process's own supervising loop spawned (the
    per-launch file records its pid the moment it exists); what was done, or None when no live
    process of it is recorded."""
    from ..launch import registry
    from ..launch.supervisor import DEFAULT_GRACE_S
    from ..processes import ProcessGroupTarget, is_running, stop_process_trees

    entry = registry.read(experiment)["pairs"].get(sweep)
    if not isinstance(entry, dict) or not is_running(entry.get("pid"), entry.get("proc_start")):
        return None
    pid = int(entry["pid"])
    target = ProcessGroupTarget(pid, int(entry.get("pgid") or pid), entry.get("proc_start"))
    started = time.monotonic()
    result = stop_process_trees([target], DEFAULT_GRACE_S)
    took = time.monotonic() - started
    return f"stopped {plural(result.signalled, 'process', 'processes')} in {took:.2f} s"


def print_launch(info) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = stdout_console(highlight=False)
    # paths and warnings are text, never markup: a '[lab]' in HWSCALE_HOME or metta.repo was
    # taken for a style and dropped ('/tmp//data/hwscale.sqlite')
    for w in info.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    if info.launch_id is None:
        running = (
            f"; still running: {', '.join(pair_tag_of(s) for s in info.left_running)}"
            if info.left_running
            else ""
        )
        console.print(
            f"nothing to resume for {info.experiment}: no pair is waiting to start{running}"
        )
        return
    how = (
        "ran in the foreground"
        if info.foreground
        else "detached; it keeps going if you close this terminal"
    )
    console.print(
        f"[bold]launched {info.experiment}[/] ({info.launch_text} of this experiment): "
        f"{plural(len(info.sweeps), 'pair')}, "
        f"supervisor pid {info.supervisor_pid} ({how})"
    )
    if info.left_running:
        console.print(
            f"left running (not duplicated): {', '.join(pair_tag_of(s) for s in info.left_running)}"
        )
    waits = getattr(info, "waits_for", None) or []
    if waits:
        console.print(info.waits_text, markup=False)
    if not info.foreground:
        t = Table(show_edge=False, pad_edge=False, header_style="bold")
        t.add_column("pair")
        t.add_column("planned start")
        first = min((v for v in info.planned_start.values() if v is not None), default=None)
        for i, sweep in enumerate(info.sweeps):
            planned = info.planned_start[sweep]
            when = (
                f"once {', '.join(pair_tag_of(s) for s in waits)} "
                f"{'has' if len(waits) == 1 else 'have'} ended"
                if planned is None and i == 0 and waits
                else "after the previous pair exits"
                if planned is None
                else (
                    f"{time.strftime('%H:%M:%S', time.localtime(planned))} (+{planned - first:g}s)"
                )
            )
            t.add_row(pair_tag_of(sweep), when)
        console.print(t)
    new = " (new: earlier generations' trials are kept apart)" if info.new_generation else ""
    console.print(f"generation:          {info.generation}{new}", markup=False)
    console.print(f"experiment snapshot: {info.experiment_file}", markup=False)
    console.print(f"state (SQLite):      {info.store_path}", markup=False)
    console.print(f"pair logs:           {info.logs_dir}/<sweep>.log", markup=False)
    if info.supervisor_log:
        console.print(f"supervisor log:      {info.supervisor_log}", markup=False)
    sel = f"--experiment-name {info.experiment}"
    console.print(
        f"follow: hwscale-tui status {sel} --watch    cancel: hwscale-tui cancel {sel} PAIR | --all"
    )
