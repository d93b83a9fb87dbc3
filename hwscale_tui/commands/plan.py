"""``hwscale-tui plan``: show exactly what would be launched, per pair."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..console import fitted_table, stdout_console
from ..errors import UsageError
from ..paths import snapshot_path
from .common import (
    add_experiment_flags,
    check_launch_program,
    check_output_path,
    load_config,
    naming_output,
    plural,
    preflight,
)

HELP = "show the pairs, search spaces and commands an experiment would launch"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_experiment_flags(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument("--save", metavar="FILE", help="write the resulting experiment file")
    p.add_argument(
        "--check",
        action="store_true",
        help="also ask Slurm whether it would take every pair's jobs (sbatch --test-only; "
        "nothing is submitted); dispatcher = slurm only",
    )
    p.add_argument(
        "extra",
        nargs="*",
        metavar="KEY=VALUE",
        help="extra arguments forwarded to every pair's command",
    )


def check_replaceable(path: str | None) -> str:
    """An existing file ``--save`` would replace must be an experiment file (TOML whose tables
    are experiment sections): anything else -- the store, a log, a file of the user's -- is
    refused, not overwritten. Returns what the ``saved`` line adds when one is replaced."""
    import tomllib

    from ..config import MAX_FILE_BYTES, SECTIONS

    if not path:
        return ""
    p = Path(path).expanduser()
    if not p.exists():
        return ""
    why = ""
    try:
        if not p.is_file():
            why = "it is not a regular file"
        elif p.stat().st_size > MAX_FILE_BYTES:
            why = f"it is {p.stat().st_size} bytes long"
        else:
            data = tomllib.loads(p.read_bytes().decode("utf-8"))
            other = sorted(k for k in data if k not in SECTIONS or not isinstance(data[k], dict))
            if other:
                why = f"its top-level {', '.join(map(repr, other[:3]))} is no experiment section"
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        why = f"it is not TOML ({str(e).splitlines()[0][:80] if str(e) else type(e).__name__})"
    if why:
        raise UsageError(
            f"--save {path} exists and is not an experiment file ({why}), so it is not replaced; "
            "accepted: a new path, or an experiment TOML file to replace."
        )
    return " (replaced the experiment file that was there)"


def run(args: argparse.Namespace) -> int:
    from .. import config as cfgmod
    from ..launch.commands import plan_experiment, validate_extra_args

    check_output_path(args.save, "--save")
    replacing = check_replaceable(args.save)
    cfg, _ = load_config(args)
    extra = validate_extra_args(args.extra)
    plan = plan_experiment(cfg, snapshot_path(cfg.name), extra)
    preflight(cfg, plan, extra)
    check_launch_program(cfg, warn=True)  # plan may prepare a file for another machine
    checked = check_with_slurm(cfg, plan) if args.check else ""
    if args.save:
        with naming_output(args.save):
            saved = cfgmod.save(cfg, args.save)
        from ..launch.experiments import remember

        # said before the store is written: a store that cannot take it (locked, read-only)
        # failed the command with the store's sentence alone, the file saved without a word
        print(f"saved {saved}{replacing}", file=sys.stderr)
        remember(cfg.name, saved)  # saving makes it the current experiment
    if args.json:
        json.dump(plan.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_plan(plan)
    if checked:  # after the plan, whose sbatch lines it vouches for
        sys.stdout.flush()
        print(checked, file=sys.stderr)
    return 0


def check_with_slurm(cfg: ExperimentConfig, plan) -> str:
    """``--check``: the ``sbatch --test-only`` check ``launch`` makes, before anything is
    launched; Slurm's refusal is a UsageError (exit 2), its consent the line to print."""
    from ..paths import app_paths
    from ..sweep.preflight import check_slurm

    if cfg.experiment.dispatcher != "slurm" or cfg.experiment.runner != "builtin":
        raise UsageError(
            f"--check asks Slurm (sbatch --test-only) whether it would take the jobs, and goes "
            f'only with the built-in runner on dispatcher = "slurm"; experiment {cfg.name} '
            f'has runner = "{cfg.experiment.runner}", dispatcher = '
            f'"{cfg.experiment.dispatcher}".'
        )
    if not plan.pairs:
        return ""  # the plan's own refusal (no valid pair) says why
    check_slurm(cfg, plan.pairs, app_paths().runs)
    return (
        f"checked with sbatch --test-only: Slurm would take the jobs of "
        f"{plural(len(plan.pairs), 'pair')} (nothing was submitted)"
    )


def transfer_label(cfg: ExperimentConfig) -> str:
    """The header's note on [sweep] transfer: on, and the learning-rate rule when not the default."""
    if not cfg.sweep.transfer:
        return ""
    from ..search.presets import LR_BATCH_EXPONENT

    e = cfg.sweep.lr_batch_exponent
    return "  transfer" if e == LR_BATCH_EXPONENT else f"  transfer (lr ~ batch^{e:g})"


def fmt_num(v: float) -> str:
    """Integers with thousands separators (``4,096``, as the app's grid shows them), floats
    compactly."""
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:g}"


def print_plan(plan) -> None:
    import shlex

    from rich.markup import escape  # warnings, notes and paths are text: '[lab]' is no style
    from rich.table import Table

    # Piped output is not wrapped at 80 columns: a warning or a command stays on one line.
    console = stdout_console()
    cfg = plan.config
    console.print(
        f"[bold]{cfg.name}[/]  runner={cfg.experiment.runner}  dispatcher={cfg.experiment.dispatcher}  "
        f"trials/sweep={cfg.sweep.max_trials}  parallel={cfg.sweep.max_parallel_jobs}  "
        f"delay={cfg.launch.delay_s:g}s{'  sequential' if cfg.launch.sequential else ''}"
        f"{transfer_label(cfg)}"
    )
    if cfg.local_ranks:
        from ..hardware import usable_cores

        console.print(
            f"local mode: a pair's g<G>n<N> is G x N CPU ranks (processes) on this machine's "
            f"{usable_cores()} usable cores, not GPUs; price: {cfg.price_label}",
            markup=False,
        )
        from ..launch.commands import local_sequential_note

        note = local_sequential_note(cfg, usable_cores())
        if note:
            console.print(note, markup=False)

    def pairs_table(narrow: bool) -> Any:
        # narrow: each range on two lines ("512.." above "4,096"), the cells' padding collapsed
        # (60 columns then fit 4 nodes x 8 GPUs); never a number cut or folded in the middle
        sep = "..\n" if narrow else ".."
        t = Table(
            title=f"{plural(len(plan.pairs), 'pair')} to launch (sweeps named "
            f"{cfg.name}.<pair>{f'.gen{cfg.generation}' if cfg.generation > 1 else ''})",
            show_edge=False,
            pad_edge=False,
            header_style="bold",
            collapse_padding=narrow,
        )
        for col in ("pair", unit, "batch", "center", "minibatch", "center", "start"):
            t.add_column(col, no_wrap=True)
        for i, pp in enumerate(plan.pairs):
            c = pp.preset.constraints
            # narrow: on two lines too, as the ranges are (one line, it took the room the pair
            # tags and ranges needed at 60 columns: 'g2n1', '1,024..' and 'minibatch' were cut)
            after = "after\nprevious" if narrow else "after previous"
            start = after if cfg.launch.sequential and i else f"+{i * cfg.launch.delay_s:g}s"
            searched_mb = any(k.endswith(".minibatch_size") for k in pp.preset.space.keys)
            t.add_row(
                pp.pair.tag,
                str(pp.pair.total_gpus),
                f"{fmt_num(c.min_batch)}{sep}{fmt_num(c.max_batch)}",
                fmt_num(c.center_batch),
                f"{fmt_num(c.min_minibatch)}{sep}{fmt_num(c.max_minibatch)}"
                if searched_mb
                else "not searched",
                fmt_num(c.default_minibatch) if searched_mb else "-",
                start,
            )
        return t

    unit = "ranks" if cfg.local_ranks else "GPUs"
    t = fitted_table(console, pairs_table)
    console.print(t)
    for s in plan.skipped:
        console.print(f"[yellow]skipped[/] g{s.gpus}n{s.nodes}: {escape(s.reason)}")
    if plan.pairs:
        first = plan.pairs[0]
        title = "search space"
        if plan.metta_profile:
            title += f" Metta {plan.metta_profile} searches"
        console.print(f"\n[bold]{title}[/] (first pair; batch bounds scale with {unit}):")
        space = first.preset.space.as_dict()
        width = max(map(len, space), default=0)
        for key, p in space.items():
            console.print(
                f"  {key:<{width}} {p['distribution']:<12} [{fmt_num(p['min'])}, {fmt_num(p['max'])}] center {fmt_num(p['mean'])}",
                highlight=False,
            )
        settings = first.preset.settings
        if plan.metta_profile:
            console.print(
                "  settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()),
                highlight=False,
                markup=False,
            )
        if first.space_note:
            console.print(f"  [dim]{escape(first.space_note)}[/]", highlight=False)
        if plan.metta_profile == "main" and not cfg.metta.tool and not cfg.launch.command:
            from ..metta.install import TOOL_RELPATH

            console.print(
                f"  [dim]the space reaches Metta through {TOOL_RELPATH} in the checkout, which "
                "`hwscale-tui metta install-tool --repo PATH` writes (`--print` shows it)[/]",
                highlight=False,
            )
        console.print("\n[bold]commands[/]:")
        for pp in plan.pairs:
            env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(pp.env.items()))
            console.print(
                f"  {env} {shlex.join(pp.argv)}", soft_wrap=True, highlight=False, markup=False
            )
        note = snapshot_note(plan)
        if note:
            console.print(f"  [dim]{escape(note)}[/]", highlight=False)
        sbatch = [pp for pp in plan.pairs if pp.sbatch]
        if sbatch:
            console.print(
                "\n[bold]each trial on Slurm[/] (one job per trial, named by its run id):"
            )
            for pp in sbatch:
                console.print(
                    f"  {pp.pair.tag}: {pp.sbatch}", soft_wrap=True, highlight=False, markup=False
                )
    warnings = list(plan.warnings) + [
        f"{pp.pair.tag}: {w}" for pp in plan.pairs for w in pp.warnings
    ]
    for w in warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)


def snapshot_note(plan: Any) -> str | None:
    """The built-in runner's commands read the launch snapshot, which only `launch` writes
    (from the experiment as it then is): pasted before a launch, or after the file changed,
    a command failed ('the file does not exist') or ran the last launch's settings (helper
    92's first-user walk). Says so, and how to run one pair's sweep by hand now; None when the
    commands read no snapshot, or it is what this plan would freeze."""
    import shlex

    from .. import config as cfgmod

    snapshot = str(plan.experiment_file)
    if not any(snapshot in pp.argv for pp in plan.pairs):
        return None
    try:
        frozen = cfgmod.load(Path(snapshot))
    except (OSError, cfgmod.ConfigError):
        frozen = None
    if frozen is not None and frozen.to_dict() == plan.config.to_dict():
        return None
    own = f" -e {shlex.quote(str(Path(plan.config.path).resolve()))}" if plan.config.path else ""
    why = "does not exist yet" if frozen is None else "holds the last launch's settings"
    return (
        f"these read the launch snapshot {snapshot}, which `hwscale-tui launch` writes and "
        f"which {why}; to run one pair's sweep by hand now: hwscale-tui sweep{own} --gpus G "
        "--nodes N"
    )
