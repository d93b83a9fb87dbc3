"""``hwscale-tui cancel``: stop pairs -- scheduled ones never start, running ones get SIGTERM."""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys

from ..errors import StoreError, UsageError
from ..hardware import PAIR_RE, pair_tag_of, strip_generation
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


def _owner(token: str) -> str | None:
    """The experiment a sweep name (``L.g1n1``, ``L.g1n1.gen2``) names, else None (``g1n1``)."""
    base = strip_generation(token.strip())
    owner, _, tag = base.rpartition(".")
    return owner if owner and PAIR_RE.match(tag) else None


def _experiment_of_pairs(args: argparse.Namespace, name: str, pairs: list[str]) -> str:
    """The experiment to cancel in: a pair given by its sweep name (``L.g1n1``) names its
    experiment, and when that is another known experiment than ``name`` (the current one, or
    the one the flags name), the cancel is about it: it was refused as "not a pair of
    experiment M" with M's pairs, as if L's pair had been a typo of M's. All the pairs named
    that way, with no flag naming another experiment: the cancel acts on L; else one sentence
    says why not."""
    from ..launch.experiments import known_names

    others = {o for o in map(_owner, pairs) if o is not None and o != name}
    if not others:
        return name
    try:
        known = set(known_names())
    except StoreError:  # a damaged store: the sweep names are taken as written
        return name
    others &= known
    if not others:  # no such experiment: refused below as not a pair of ``name``
        return name
    flagged = bool(args.experiment_name or args.experiment)
    other = sorted(others)[0]
    if not flagged and all(_owner(t) == other for t in pairs):
        return other
    token = next(t for t in pairs if _owner(t) == other)
    why = "named on the command line" if flagged else "the current one"
    tags = " ".join(pair_tag_of(t) for t in pairs if _owner(t) == other)
    raise UsageError(
        f"{token!r} is a pair of experiment {other}, and this cancel acts on experiment {name} "
        f"({why}); accepted: one experiment's pairs per cancel, like hwscale-tui cancel "
        f"--experiment-name {other} {tags}."
    )


def run(args: argparse.Namespace) -> int:
    from ..launch import supervisor as sup

    pairs = pair_tokens(args.pairs)
    if bool(pairs) == bool(args.all):
        raise UsageError(
            "name the pairs to cancel (like g4n1) or pass --all, not both and not neither."
        )
    check_number(args.grace, "--grace", lo=0, hi=3600)
    named = experiment_name(args)
    name = _experiment_of_pairs(args, named, pairs)
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
            # another experiment's pairs (named by their sweep names) say whose they are: a
            # bare g1n1 reads as the current experiment's
            tag = pair_tag_of(o.sweep) if name == named else o.sweep
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
