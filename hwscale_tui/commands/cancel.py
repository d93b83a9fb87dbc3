"""``hwscale-tui cancel``: stop pairs -- scheduled ones never start, running ones get SIGTERM."""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys

from ..errors import UsageError
from ..hardware import pair_tag_of
from .common import check_number, pair_tokens
from .status import add_experiment_name_flags, experiment_name

HELP = "cancel pairs: scheduled ones never start, running sweeps get SIGTERM then SIGKILL after a grace period"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "pairs",
        nargs="*",
        metavar="PAIR",
        help="pairs to cancel, like g4n1 or hardware_scaling.g4n1 (several: g1n1 g2n1 or g1n1,g2n1)",
    )
    p.add_argument("--all", action="store_true", help="cancel every pair of the experiment")
    p.add_argument(
        "--grace",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between SIGTERM and SIGKILL (default 5)",
    )
    p.add_argument(
        "--remote",
        action="store_true",
        help="also cancel the sweeps' trials still queued or running as SkyPilot managed jobs (found with sky.jobs.queue_v2)",
    )
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    add_experiment_name_flags(p)


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} (cli)"


def _refuse_remote_off_skypilot(name: str) -> None:
    """``--remote`` asks SkyPilot for managed jobs: an experiment whose launch snapshot runs its
    trials elsewhere has none, and asking would start a local SkyPilot API server."""
    from .. import config as cfgmod
    from ..errors import ConfigError
    from ..paths import snapshot_path

    snap = snapshot_path(name)
    try:
        dispatcher = cfgmod.load(snap).experiment.dispatcher
    except (ConfigError, OSError):
        return  # no readable launch snapshot: SkyPilot is asked by sweep name all the same
    if dispatcher != "skypilot":
        raise UsageError(
            f"--remote cancels SkyPilot managed jobs, and experiment {name} runs its trials "
            f"with the {dispatcher} dispatcher (its launch snapshot {snap}), so it has none; "
            "accepted: the same cancel without --remote."
        )


def run(args: argparse.Namespace) -> int:
    from ..launch import supervisor as sup

    pairs = pair_tokens(args.pairs)
    if bool(pairs) == bool(args.all):
        raise UsageError(
            "name the pairs to cancel (like g4n1) or pass --all, not both and not neither."
        )
    check_number(args.grace, "--grace", lo=0, hi=3600)
    name = experiment_name(args)
    if args.remote:
        _refuse_remote_off_skypilot(name)
    outcomes = sup.cancel_pairs(name, None if args.all else pairs, by=who(), grace_s=args.grace)
    remote = sup.cancel_remote(name, [o.sweep for o in outcomes]) if args.remote else []
    if args.json:
        json.dump(
            {
                "experiment": name,
                "pairs": [
                    {
                        "sweep_name": o.sweep,
                        "previous_status": o.previous_status,
                        "cancelled": o.cancelled,
                        "failed": o.failed,
                        "detail": o.detail,
                    }
                    for o in outcomes
                ],
                "remote": [
                    {"sweep_name": r.sweep, "run_id": r.run_id, "ok": r.ok, "detail": r.detail}
                    for r in remote
                ],
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        for o in outcomes:
            tag = pair_tag_of(o.sweep)
            verb = (
                f"cancelled {tag} (was {o.previous_status})"
                if o.cancelled
                else f"{tag}: not cancelled"
            )
            print(f"{verb}: {o.detail}" if o.detail else verb)
        for r in remote:
            what = r.run_id or "(SkyPilot lookup)"
            print(
                f"remote {pair_tag_of(r.sweep)} {what}: {'cancelled' if r.ok else 'FAILED'}: {r.detail}"
            )
        if args.remote and not remote:
            print("remote: no queued or running SkyPilot jobs found for these sweeps")
    # a cluster's cancel command that failed (its jobs stay recorded) fails the command, as a
    # remote cancel that failed does
    return 1 if any(not r.ok for r in remote) or any(o.failed for o in outcomes) else 0
