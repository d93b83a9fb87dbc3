"""``hwscale-tui experiments``: list, select, copy, archive and delete experiments."""

from __future__ import annotations

import argparse
import sys
import time

from ..console import stdout_console
from ..errors import UsageError
from ..records import plural
from .common import check_experiment_name, print_json

HELP = "list experiments (the current one marked); select, copy (new --from), archive or delete one"
ACTIONS = ("list", "select", "new", "archive", "unarchive", "delete")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        nargs="?",
        default="list",
        choices=ACTIONS,
        help="list (default); select NAME (make it current); new NAME [--from OTHER] (a copy "
        "of the current or OTHER, made current); archive / unarchive NAME (hide from the list, "
        "data kept); delete NAME --yes (its trials, launches, snapshot and logs)",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the experiment the action is about")
    p.add_argument(
        "--from", dest="source", metavar="OTHER", help="with new: copy this one's settings"
    )
    p.add_argument("--all", action="store_true", help="with list: archived ones too")
    p.add_argument("--yes", action="store_true", help="with delete: confirm")
    p.add_argument(
        "--forget-jobs",
        action="store_true",
        help="with delete: delete even though cluster jobs (Slurm, SkyPilot) are still recorded "
        "as running, when cancel cannot reach their cluster; the jobs are forgotten, not "
        "cancelled",
    )
    p.add_argument("--json", action="store_true", help="with list: print JSON")


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


# the flags each action takes: any other given is refused, not ignored
FLAG_ACTIONS = {
    "source": ("--from", ("new",)),
    "all": ("--all", ("list",)),
    "yes": ("--yes", ("delete",)),
    "forget_jobs": ("--forget-jobs", ("delete",)),
    "json": ("--json", ("list",)),
}


def run(args: argparse.Namespace) -> int:
    from ..launch import experiments as ex
    from .status import check_state_location

    check_state_location()  # HWSCALE_HOME naming a file: no empty list, no built-in default

    for dest, (flag, actions) in FLAG_ACTIONS.items():
        if getattr(args, dest) not in (None, False) and args.action not in actions:
            raise UsageError(
                f"{flag} does not go with {args.action}; accepted: {flag} with "
                f"{' or '.join(actions)} only (hwscale-tui experiments --help)."
            )
    if args.action == "list":
        if args.name:
            raise UsageError(
                f"list takes no NAME (got {args.name!r}); accepted: hwscale-tui experiments "
                f"select {args.name}."
            )
        rows = ex.summaries(include_archived=args.all)
        if args.json:
            print_json([r.to_json() for r in rows])
            return 0
        _print(rows)
        return 0
    if not args.name:
        raise UsageError(
            f"{args.action} needs an experiment NAME; accepted: hwscale-tui experiments "
            f"{args.action} NAME (hwscale-tui experiments lists them)."
        )
    check_experiment_name(args.name, "NAME")
    if args.action == "select":
        ex.load_named(args.name)  # refuses an unknown name
        ex.set_current(args.name, ex.file_for(args.name), strict=True)
        print(f"current experiment: {args.name}")
    elif args.action == "new":
        source = args.source or ex.current_name()
        check_experiment_name(source, "--from")
        path = ex.new_from(source, args.name)
        print(f"new experiment {args.name} (a copy of {source}) in {path}; it is now current")
    elif args.action in ("archive", "unarchive"):
        was_current = _is_current(args.name)
        if ex.archive(args.name, args.action == "archive"):
            print(f"{args.action}d {args.name}")
            if args.action == "archive":
                # no confirmation, as for every change one command undoes (delete, which
                # removes data, takes --yes): the undo is said instead, as the app's toast
                # says it; on stderr, so the result line stays what scripts read
                again = (
                    f", and hwscale-tui experiments select {args.name} makes it current again"
                    if was_current
                    else ""
                )
                print(
                    f"its data is kept: hwscale-tui experiments unarchive {args.name} lists it "
                    f"again{again}",
                    file=sys.stderr,
                )
            if was_current and args.action == "archive":
                _say_new_current(args.name)
        else:
            state = "archived already" if args.action == "archive" else "not archived"
            print(f"{args.name} is {state}; nothing changed")
    else:
        ex.require_known(args.name, "delete")  # an unknown name first: --yes would not help
        if not args.yes:
            raise UsageError(
                f"deleting {args.name} removes its trials, launches, snapshot and logs; accepted: "
                f"hwscale-tui experiments delete {args.name} --yes."
            )
        was_current = _is_current(args.name)
        n, forgotten = ex.delete(args.name, forget_jobs=args.forget_jobs)
        print(f"deleted {args.name} ({plural(n, 'trial')})")
        if was_current:
            _say_new_current(args.name)
        if forgotten:
            print(
                f"forgot {plural(len(forgotten), 'cluster job')} ({', '.join(forgotten)}) "
                "without cancelling "
                f"{'it' if len(forgotten) == 1 else 'them'}: if "
                f"{'it still runs' if len(forgotten) == 1 else 'they still run'}, cancel "
                f"{'it' if len(forgotten) == 1 else 'them'} on the cluster (scancel, sky jobs cancel)"
            )
    return 0


def _is_current(name: str) -> bool:
    from ..launch import experiments as ex

    cur = ex.read_current()
    return cur is not None and cur.name == name


def _say_new_current(gone: str) -> None:
    """The current experiment was archived or deleted: bare commands now act on another one,
    which is named (they did so without a word)."""
    from ..errors import ConfigError
    from ..launch import experiments as ex

    try:
        now = ex.current_name()
    except ConfigError as e:
        print(f"{gone} was the current experiment; the next one cannot be read ({e})")
        return
    if now == gone:  # no other experiment left: the fallback has its name
        from ..paths import app_paths

        legacy = app_paths().default_experiment
        settings = f"the settings of {legacy}" if legacy.is_file() else "the built-in defaults"
        print(
            f"{gone} was the current experiment and no other experiment is left: commands "
            f"still act on {gone}, with {settings} (hwscale-tui experiments new NAME makes "
            "another)"
        )
        return
    print(
        f"{gone} was the current experiment: commands now act on {now} "
        "(hwscale-tui experiments select NAME picks another)"
    )


# what the list's other columns need at least, with the separators: the mark, the numbers
# and their headers never wrap; rich narrows 'state' and 'last activity' alike, to 10 at
# least here ('not launched' and the date on two lines)
NAME_ROOM = 61


def _print(rows: list) -> None:
    from rich.table import Table

    console = stdout_console(highlight=False)
    longest = max((len(r.name) for r in rows), default=len("experiment"))
    if longest + NAME_ROOM > console.width:
        # no room for a table: rich kept the name whole and squeezed every other column,
        # the current mark included, to nothing (or, narrower still, cut the name too)
        _print_blocks(console, rows)
    else:
        t = Table(show_edge=False, pad_edge=False, header_style="bold")
        for col in ("", "experiment", "state", "generations", "pairs", "trials", "last activity"):
            if col == "experiment":
                # the names are what the list is for: while the other columns can wrap to
                # make room (they need about NAME_ROOM columns), a name stays whole (rich
                # shrank every column alike: 'hardware_scali…' at 80 columns)
                t.add_column(col, no_wrap=True, min_width=longest)
                continue
            number = col in ("generations", "pairs", "trials")
            t.add_column(col, justify="right" if number else "left", no_wrap=number or not col)
        _add_rows(t, rows)
        console.print(t)
    cur = next((r.name for r in rows if r.current), None)
    if cur:
        console.print(
            f"* current: {cur} (every command and the app act on it; "
            "--experiment-name NAME or hwscale-tui experiments select NAME picks another)"
        )


def _print_blocks(console, rows: list) -> None:
    """One block per experiment: its name on a line of its own, then one field a line."""
    for r in rows:
        console.print(f"{'*' if r.current else ' '} {r.name}", markup=False)
        for label, value in (
            ("state", r.state),
            ("generations", str(r.generations)),
            ("pairs", str(r.pairs)),
            ("trials", str(r.trials)),
            ("last activity", _when(r.last_activity)),
        ):
            console.print(f"    {label:<15}{value}", markup=False)


def _add_rows(t, rows: list) -> None:
    for r in rows:
        t.add_row(
            "*" if r.current else "",
            r.name,
            r.state,
            str(r.generations),
            str(r.pairs),
            str(r.trials),
            _when(r.last_activity),
        )
