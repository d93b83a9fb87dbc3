"""``hwscale-tui`` (no command) / ``hwscale-tui tui``: the terminal app on the current experiment."""

from __future__ import annotations

import argparse
import sys

from .common import not_empty

HELP = "open the app: grid editor, launch, live trials, analysis (the default command)"
SCREENS = ("grid", "launch", "trials", "analysis")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--experiment",
        "-e",
        metavar="FILE",
        type=not_empty("a path to an experiment TOML file, or no -e for the current experiment"),
        help="experiment TOML file to open and save (default: the current experiment, else built-in defaults)",
    )
    p.add_argument(
        "--source",
        choices=("local", "wandb"),
        help="where trials are read from (default: local for the builtin runner, wandb for metta)",
    )
    p.add_argument(
        "--read-only", action="store_true", help="look only: no saving, launching or cancelling"
    )
    p.add_argument(
        "--no-mouse", action="store_true", help="ignore the mouse (friendlier over some SSH links)"
    )
    p.add_argument(
        "--screen",
        choices=SCREENS,
        help="screen to open on (default: launch if the experiment was launched, else grid)",
    )
    p.add_argument(
        "--ascii", action="store_true", help="ASCII plots and bars instead of braille/blocks"
    )
    p.add_argument(
        "--bell",
        action="store_true",
        help="ring the terminal bell when a pair or the experiment ends (off by default; the "
        "command palette toggles it and remembers)",
    )
    p.add_argument(
        "--ansi",
        action="store_true",
        help="use the terminal's own 16 colours (automatic when the terminal reports only 16)",
    )


def few_colours() -> bool:
    """True when the terminal announces only the 16 standard colours (rich's detection of TERM/COLORTERM)."""
    from rich.console import Console

    return Console().color_system in ("standard", "windows")


def run(args: argparse.Namespace) -> int:
    import gc

    # Start-up allocates a great deal and frees little (modules, classes, the first screen's
    # widgets): the cyclic collector's passes then only cost time. It is back on once the first
    # frame is painted (HwscaleApp.on_mount).
    gc.disable()
    try:
        return _run_app(args)
    finally:
        gc.enable()  # also when the app never got to its first frame


def _run_app(args: argparse.Namespace) -> int:
    from .status import check_state_location

    check_state_location()  # HWSCALE_HOME naming a file: not an empty app on the default
    from ..tui.app import create_app

    experiment_file = args.experiment
    while True:
        app = create_app(
            experiment_file=experiment_file,
            source=args.source,
            read_only=args.read_only,
            start=args.screen,
            ascii_only=True if args.ascii else None,
            ansi_theme=args.ansi or few_colours(),
            bell=True if args.bell else None,
        )
        message = app.run(mouse=not args.no_mouse)
        if not getattr(app, "switch_to", None):
            break
        experiment_file = None  # the switcher made another experiment current: reopen on it
    if message:
        print(message, file=sys.stderr)
    return app.return_code or 0
