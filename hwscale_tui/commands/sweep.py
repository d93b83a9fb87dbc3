"""``hwscale-tui sweep``: run one pair's built-in sweep to completion, or print its trials."""

from __future__ import annotations

import argparse
import faulthandler
import os
import shlex
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from .common import add_experiment_flags, load_config, print_json

if TYPE_CHECKING:
    from ..config import ExperimentConfig
    from ..hardware import HardwarePair
    from ..sweep.runner import SweepSetup

HELP = "run one pair's built-in Bayesian sweep to completion (--status: print its trials)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_experiment_flags(p, selects=False)  # run() loads it with select=False
    p.add_argument("--gpus", type=int, required=True, metavar="G", help="GPUs per node of the pair")
    p.add_argument("--nodes", type=int, required=True, metavar="N", help="nodes of the pair")
    p.add_argument(
        "--status", action="store_true", help="print the sweep's trials from the store and exit"
    )
    p.add_argument(
        "--json", action="store_true", help="with --status: print the trials as a JSON list"
    )
    p.add_argument(
        "extra", nargs="*", metavar="KEY=VALUE", help="extra arguments forwarded to every trial"
    )


def run(args: argparse.Namespace) -> int:
    from ..config import MAX_GPUS_PER_NODE, MAX_NODES
    from ..errors import UsageError
    from ..hardware import HardwarePair, plan_of
    from ..paths import app_paths
    from ..sweep.runner import prepare_sweep

    if not (1 <= args.gpus <= MAX_GPUS_PER_NODE and 1 <= args.nodes <= MAX_NODES):
        raise UsageError(
            f"--gpus {args.gpus} --nodes {args.nodes} is out of range; accepted: gpus from 1 to "
            f"{MAX_GPUS_PER_NODE} and nodes from 1 to {MAX_NODES}."
        )
    cfg, _ = load_config(args, select=False)  # a pair's sweep never changes the current one
    pair = HardwarePair(args.gpus, args.nodes)
    if args.json and not args.status:
        raise UsageError("--json only goes with --status; accepted: --status --json, or neither.")
    setup = prepare_sweep(cfg, pair, args.extra, app_paths().runs)
    if args.status:
        start = f"hwscale-tui sweep --gpus {pair.gpus} --nodes {pair.nodes}"
        if args.experiment:
            start += f" -e {shlex.quote(args.experiment)}"
        elif args.experiment_name:
            start += f" --experiment-name {shlex.quote(args.experiment_name)}"
        pairs, _ = plan_of(cfg.grid)
        if pair not in pairs:  # a pair of the experiment is what launch starts
            tags = ", ".join(p.tag for p in pairs) or "none"
            start += (
                f"; {pair.tag} is not a pair of experiment {cfg.name!r}, whose pairs are {tags}"
            )
        return print_status(setup.sweep, cfg.sweep.goal, as_json=args.json, start=start)
    from ..sweep.preflight import check_sweep

    check_sweep(setup)  # an extra argument every trial would reject: exit 2, nothing written
    for warning in pair_run_warnings(cfg, pair):
        print(f"hwscale-tui sweep: warning: {warning}", file=sys.stderr, flush=True)
    note = None
    if args.experiment:  # once the sweep is claimed: a refused one registers nothing
        from ..launch.experiments import note_file

        name, file = cfg.name, args.experiment

        def note() -> None:
            note_file(name, file)

    return run_sweep(setup, launch_hint=launch_hint(args, pair.tag), on_claimed=note)


def pair_run_warnings(cfg: ExperimentConfig, pair: HardwarePair) -> list[str]:
    """What ``launch`` and ``plan`` would say of this pair, said before its sweep runs: a pair
    outside the experiment's grid (``trials`` and ``analyze`` show only the grid's pairs, so
    its trials were run and then shown nowhere: "0 trials", "the local store has no trials"),
    and more CPU ranks than usable cores (OVERSUBSCRIBED), which ran without a word."""
    from ..hardware import plan_of, usable_cores
    from ..launch.commands import pair_warnings

    out: list[str] = []
    pairs, _ = plan_of(cfg.grid)
    if pair not in pairs:
        tags = ", ".join(p.tag for p in pairs) or "none"
        out.append(
            f"{pair.tag} is not a pair of experiment {cfg.name} (its grid: {tags}), so "
            "hwscale-tui trials and analyze will not show this sweep's trials until it is in the "
            "experiment's [grid] (its file, or the app's grid editor)"
        )
    out += [
        f"{pair.tag}: {w}"
        for w in pair_warnings(cfg, pair, usable_cores())
        if w.startswith("OVERSUBSCRIBED")
    ]
    return out


def launch_hint(args: argparse.Namespace, tag: str) -> str:
    """The launch that starts this pair's sweep in a new generation with the same settings:
    the sweep's experiment, its flags and extra arguments, and ``--only`` this pair (a launch
    of the experiment alone ran every pair at the file's settings, not the sweep's)."""
    from .common import LAUNCHER_FLAGS

    argv = ["launch"]
    if args.experiment:
        argv += ["-e", args.experiment]
    elif args.experiment_name:
        argv += ["--experiment-name", args.experiment_name]
    for flag, (key, kind) in LAUNCHER_FLAGS.items():
        raw = getattr(args, "set_" + key.replace(".", "__"), None)
        if raw is None or raw is False:
            continue
        if kind == "flag":
            argv.append(flag)
        elif kind == "ints":
            argv += [flag, *map(str, raw)]
        else:
            argv += [flag, str(raw)]
    argv += ["--only", tag, *args.extra]
    return "hwscale-tui " + shlex.join(argv)


def print_status(sweep: str, goal: str, *, as_json: bool, start: str = "hwscale-tui sweep") -> int:
    from ..paths import app_paths
    from ..store import Store
    from ..sweep.status import render_status, sweep_records

    path = app_paths().store
    store = Store(path, readonly=True) if path.exists() else None
    try:
        if as_json:
            print_json(sweep_records(store, sweep))
        else:
            render_status(store, sweep, goal, start)
    finally:
        if store is not None:
            store.close()
    return 0


def with_fingerprint(setup: SweepSetup, store, launch_hint: str | None = None) -> SweepSetup:
    """The setup with the comparability fingerprint its trials record; refuses (UsageError) a
    sweep whose settings differ from its generation's (docs/launch.md, generations), naming
    ``launch_hint`` as the command that starts the new generation."""
    import dataclasses

    from ..launch.generations import check_for_sweep

    fp = check_for_sweep(store, setup.cfg, setup.builder.extra, hint_command=launch_hint)
    return dataclasses.replace(setup, fingerprint=fp)


def run_sweep(
    setup: SweepSetup,
    launch_hint: str | None = None,
    on_claimed: Callable[[], None] | None = None,
) -> NoReturn:
    """Run the sweep to its end and exit with its code. ``on_claimed`` runs once this process
    owns the sweep (``sweep -e FILE`` registers the file then): a sweep refused before, for
    its generation's settings or a runner already at it, registered the file all the same."""
    from ..store import Store
    from ..sweep.dispatch import Dispatcher
    from ..sweep.local import LocalDispatcher
    from ..sweep.runner import SweepRunner

    dispatcher: Dispatcher
    if setup.cfg.experiment.dispatcher == "skypilot":
        from ..sweep.skypilot import SkyPilotDispatcher

        dispatcher = SkyPilotDispatcher(setup.cfg, setup.sweep)
    elif setup.cfg.experiment.dispatcher == "slurm":
        from ..sweep.slurm import SlurmDispatcher

        # bad [slurm] settings were refused by check_sweep (exit 2, nothing submitted), which
        # run() makes first: asking sbatch --test-only again here repeated the same options
        dispatcher = SlurmDispatcher(setup.cfg, setup.sweep)
    else:
        dispatcher = LocalDispatcher()
    store = Store.open_default()
    try:
        setup = with_fingerprint(setup, store, launch_hint)
    except BaseException:
        store.close()
        raise
    runner = SweepRunner(setup, store=store, dispatcher=dispatcher, on_claimed=on_claimed)
    # A closed terminal or SSH link (SIGHUP) stops the sweep like SIGTERM: its trials are
    # cancelled and recorded, never left running unowned.
    # Slurm: once a stop arrives no further sbatch is run (a trial waiting to be submitted
    # again stays unsubmitted); the runner does the waiting, between its polls, not a sleep
    interrupt = getattr(dispatcher, "interrupt", None)

    def on_stop(signum: int, _frame: object) -> None:
        if interrupt is not None:
            interrupt()
        runner.request_stop(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_stop)
    signal.signal(signal.SIGCHLD, lambda _s, _frame: runner.wake())  # a local trial ended: look now
    signal.siginterrupt(signal.SIGCHLD, False)
    # `kill -USR1 PID` writes every thread's stack to stderr (the pair's log under a launch) and
    # changes nothing else: where a sweep that seems stuck is. faulthandler's handler is C code
    # that takes no Python lock, so it works even when the interpreter itself is blocked.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        code = runner.run()
    finally:
        store.close()
    # Everything is recorded; leave without interpreter teardown. With scikit-learn loaded that
    # teardown alone takes 1-2 s on a loaded 2-core machine, eating into the 5 s stop budget.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
