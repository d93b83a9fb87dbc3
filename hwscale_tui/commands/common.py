"""Options shared by the commands that act on an experiment (plan, launch, status, ...)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError
from ..records import plural  # noqa: F401 (the commands import it from here)

# flag -> (dotted key, kind)
LAUNCHER_FLAGS: dict[str, tuple[str, str]] = {
    "--new-experiment": ("experiment.name", "str"),
    "--runner": ("experiment.runner", "str"),
    "--dispatcher": ("experiment.dispatcher", "str"),
    "--gpu-counts": ("grid.gpu_counts", "ints"),
    "--node-counts": ("grid.node_counts", "ints"),
    "--max-gpus-per-node": ("grid.max_gpus_per_node", "int"),
    "--cpus-per-node": ("grid.cpus_per_node", "int"),
    "--max-trials": ("sweep.max_trials", "int"),
    "--batch-size": ("sweep.batch_size", "int"),
    "--max-parallel-jobs": ("sweep.max_parallel_jobs", "int"),
    "--total-timesteps": ("sweep.total_timesteps", "int"),
    "--transfer": ("sweep.transfer", "flag"),
    "--metric-path": ("sweep.metric", "str"),
    "--wandb-entity": ("wandb.entity", "str"),
    "--wandb-project": ("wandb.project", "str"),
    "--wandb-mode": ("wandb.mode", "str"),
    "--delay": ("launch.delay_s", "float"),
    "--sequential": ("launch.sequential", "flag"),
    "--recipe": ("metta.recipe_module", "str"),
    "--train-entrypoint": ("metta.train_entrypoint", "str"),
    "--eval-entrypoint": ("metta.eval_entrypoint", "str"),
    "--metta-repo": ("metta.repo", "str"),
    "--metta-tool": ("metta.tool", "str"),
    "--metta-profile": ("metta.profile", "str"),
    "--key-profile": ("metta.key_profile", "str"),  # deprecated: read as --metta-profile
    "--local-test": ("metta.local_test", "flag"),
    "--gpu-type": ("cost.gpu_type", "str"),
    "--price-per-gpu-hour": ("cost.price_per_gpu_hour", "float"),
}
FLAG_OF_KEY = {key: flag for flag, (key, _) in LAUNCHER_FLAGS.items()}


def not_empty(accepted: str) -> Callable[[str], str]:
    """An argparse ``type`` that refuses an empty value (``-e ""`` must not mean "the current
    experiment": a script whose variable is unset would act on whatever is current)."""

    def convert(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"got {value!r}; accepted: {accepted}")
        return value

    return convert


def add_experiment_file_flag(parser: argparse.ArgumentParser, *, selects: bool = True) -> None:
    """``-e FILE`` and ``--experiment-name NAME``: which experiment (default: the current one).
    ``selects``: whether the command makes that experiment the current one (a pair's sweep,
    ``load_config(select=False)``, never does, and its help must not say it does)."""
    parser.add_argument(
        "--experiment",
        "-e",
        metavar="FILE",
        type=not_empty("a path to an experiment TOML file, or no -e for the current experiment"),
        help=(
            "experiment TOML file; its experiment becomes the current one (default: the current experiment)"
            if selects
            else "experiment TOML file (default: the current experiment); a pair's sweep never "
            "changes which experiment is current"
        ),
    )
    parser.add_argument(
        "--experiment-name",
        metavar="NAME",
        type=not_empty("an experiment's name (hwscale-tui experiments lists them)"),
        help=(
            "act on this experiment and make it the current one (hwscale-tui experiments lists them)"
            if selects
            else "act on this experiment, without making it the current one (hwscale-tui "
            "experiments lists them)"
        ),
    )


def add_experiment_flags(parser: argparse.ArgumentParser, *, selects: bool = True) -> None:
    """``--experiment FILE`` plus every flag of the original launcher."""
    add_experiment_file_flag(parser, selects=selects)
    g = parser.add_argument_group("experiment settings (override the file)")
    for flag, (key, kind) in LAUNCHER_FLAGS.items():
        dest = "set_" + key.replace(".", "__")
        if kind == "flag":
            g.add_argument(
                flag, dest=dest, action="store_true", default=None, help=f"set {key} = true"
            )
        elif kind == "ints":
            g.add_argument(
                flag, dest=dest, nargs="+", metavar="N", help=f"{key} (e.g. 1 2 4 8 or 1,2,4,8)"
            )
        else:
            extra = {
                "--delay": " (pairs that many seconds apart: turns launch.sequential off unless "
                "--sequential too)",
                # what the config accepts and how it reads it (it said only 'metta.key_profile',
                # a key docs/experiment.md does not list, and 'main' was then refused)
                "--key-profile": " (deprecated: ppo or loss_configs is read as --metta-profile "
                "fom-v1, ppo_actor as main; use --metta-profile)",
            }.get(flag, "")
            g.add_argument(flag, dest=dest, metavar=kind.upper(), help=f"{key}{extra}")


def _parse_flag_value(flag: str, kind: str, raw: Any) -> Any:
    if kind == "flag":
        return bool(raw)
    if kind == "ints":
        for item in raw:
            if "," in str(item) and any(not part.strip() for part in str(item).split(",")):
                raise UsageError(
                    f"{flag}: {str(item)!r} has an empty item; accepted: integers >= 1 separated "
                    f"by commas or spaces, like {flag} 1,2,4 or {flag} 1 2 4."
                )
        tokens = [t for item in raw for t in str(item).replace(",", " ").split()]
        out = []
        for t in tokens:
            try:
                out.append(int(t))
            except ValueError:
                if "=" in t:  # `--node-counts 1 seed=3`: the list took the extra argument
                    raise UsageError(
                        f"{flag}: {t!r} is an extra KEY=VALUE argument read as one of its "
                        f"counts; accepted: extra arguments before the options, or after a "
                        f"`--` that ends the list ({flag} 1 2 -- {t})."
                    ) from None
                raise UsageError(
                    f"{flag}: {t!r} is not an integer; accepted: integers >= 1, like {flag} 1 2 4 8."
                ) from None
        return out
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise UsageError(
                f"{flag}: {raw!r} is not an integer; accepted: a whole number."
            ) from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise UsageError(
                f"{flag}: {raw!r} is not a number; accepted: a number like 60 or 2.5."
            ) from None
    return raw


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flag, (key, kind) in LAUNCHER_FLAGS.items():
        raw = getattr(args, "set_" + key.replace(".", "__"), None)
        if raw is not None:
            out[key] = _parse_flag_value(flag, kind, raw)
    if "launch.delay_s" in out and "launch.sequential" not in out:
        # --delay S asks for pairs S seconds apart: it turns a file's sequential = true off
        # (a local file has it by default when its pairs cannot run together on the cores)
        out["launch.sequential"] = False
    return out


def add_generation_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, help_text: str
) -> None:
    parser.add_argument("--generation", type=int, metavar="N", help=help_text)


def check_generation(cfg: Any, generation: int) -> None:
    """Refuse a generation the experiment never had (one sentence, exit 2)."""
    if not 1 <= generation <= cfg.generation:
        have = "1" if cfg.generation == 1 else f"1 to {cfg.generation}"
        raise UsageError(
            f"--generation {generation}: experiment {cfg.name} has no such generation; "
            f"accepted: {have}."
        )


def pasteable_command(args: argparse.Namespace) -> str:
    """The command line that ran, quoted so that it works when pasted into a shell."""
    import shlex

    argv = getattr(args, "_argv", None)
    return "hwscale-tui " + shlex.join(argv) if argv else "hwscale-tui launch"


def load_config(args: argparse.Namespace, *, with_flags: bool = True, select: bool = True):
    """(config, file or None): ``-e FILE``, ``--experiment-name NAME`` or the current experiment
    (docs/experiments.md), with command-line flags applied. An experiment named by either flag
    becomes the current one (once everything is valid) unless ``select`` is False."""
    from .. import config as cfgmod
    from ..launch.experiments import resolve

    name, file = getattr(args, "experiment_name", None), getattr(args, "experiment", None)
    check_experiment_name(name)
    cfg, path = resolve(name, file, select=False)
    selected = cfg.name
    if with_flags:
        overrides = flag_overrides(args)
        if overrides:
            try:
                cfg = cfgmod.apply_overrides(cfg, overrides, source="command line")
            except ConfigError as e:
                if e.source == "command line" and e.key in overrides:
                    raise UsageError(
                        f"{FLAG_OF_KEY[e.key]} ({e.key}): {e.problem}; accepted: {e.accepted}."
                    ) from None
                if e.source == "command line" and e.key in FLAG_OF_KEY:
                    # a flag given made a setting that was not given wrong (--max-trials 1
                    # below the default sweep.batch_size 2): it was named as if given
                    given = ", ".join(FLAG_OF_KEY[k] for k in overrides if k in FLAG_OF_KEY)
                    raise UsageError(
                        f"{e.key} (the experiment's value, not given on the command line; "
                        f"{FLAG_OF_KEY[e.key]} sets it) does not go with {given}: {e.problem}; "
                        f"accepted: {e.accepted}."
                    ) from None
                raise
            cfg.path = path
    from ..launch.generations import newest_generation

    cfg.generation = newest_generation(cfg.name)
    # --new-experiment makes another experiment of the named one: that one is not what the
    # command acts on (a save or launch of the new one makes it current)
    if select and (name or file) and cfg.name == selected:
        defer_selection(args, selected, path)
    return cfg, path


def defer_selection(args: argparse.Namespace, name: str, path: str | Path | None) -> None:
    """Remember the experiment the flags named: it becomes the current one once the command has
    got past its checks (``commit_selection``; the CLI commits it when the command did not end
    in a usage error), so a refused command leaves the current experiment as it was."""
    args._selection = (name, path)


def commit_selection(args: argparse.Namespace) -> None:
    """Make the experiment ``defer_selection`` remembered the current one (once)."""
    selection = getattr(args, "_selection", None)
    if selection is not None:
        from ..launch.experiments import set_current

        set_current(*selection)
        args._selection = None


@contextlib.contextmanager
def naming_output(path: str | Path) -> Iterator[None]:
    """An OS error writing an output file names that file (a full disk's write error carries no
    file name: the error said 'a file: the disk is full')."""
    try:
        yield
    except OSError as e:
        named = None if e.filename is None else Path(str(e.filename))
        # the output's own temporary sibling (``.NAME.<pid>.tmp...``, written and renamed into
        # place) is the output as far as the user is concerned: it is gone after the error
        ours = named is not None and (
            named.parent == Path(path).expanduser().parent
            and named.name.startswith(f".{Path(path).name}.")
        )
        if named is None or ours:
            raise OSError(e.errno, e.strerror or str(e), str(path)) from e
        raise


def _refuse_own_state(p: Path, flag: str, path: str) -> None:
    """No output inside hwscale-tui's own data, state and logs folders: a file written there
    could replace the store, a launch snapshot a running sweep reads, a per-launch file or a
    pair's log (``logs/`` is under ``state/`` in the platform's layout, beside it under
    ``$HWSCALE_HOME``: both are refused). ``config/`` holds experiment files: yours to save."""
    from ..paths import app_paths

    paths = app_paths()
    try:
        where = p.parent.resolve() / p.name
        roots = [(r.resolve(), r) for r in (paths.data, paths.state, paths.logs)]
        reports = (paths.state / "reports").resolve()
    except (OSError, RuntimeError):
        return
    if reports in where.parents:  # where the app's own reports and exports go
        return
    for resolved, root in roots:
        if where == resolved or resolved in where.parents:
            raise UsageError(
                f"{flag} {path} is inside hwscale-tui's own folder {root} (the store, launch "
                "snapshots, run state, logs); accepted: a path outside it."
            )


def check_output_path(path: str | None, flag: str, *, directory: bool = False) -> None:
    """Refuse an output path before anything is computed or written: its folder must exist
    (nothing is created silently) and it must not be a directory (or, for ``directory``
    outputs, not a file)."""
    if not path:
        if path is not None:
            raise UsageError(f"{flag} is empty; accepted: a path in an existing folder.")
        return
    try:
        p = Path(path).expanduser()
        parent_ok = p.absolute().parent.is_dir()
        is_dir, exists = p.is_dir(), p.exists()
    except (OSError, ValueError) as e:
        raise UsageError(
            f"{flag} {path!r} is not a usable path ({e}); accepted: a path in an existing folder."
        ) from None
    if not parent_ok:
        # a file on the way ('--csv out.csv/x.csv') is no folder to create: said as it is
        blocker = next((a for a in p.absolute().parents if a.exists() or a.is_symlink()), None)
        if blocker is not None and not blocker.is_dir():
            what = "a file, not a folder" if blocker.exists() else "a link to nothing"
            raise UsageError(
                f"{flag} {path}: {blocker} is {what}; accepted: a path in an existing folder."
            )
        raise UsageError(
            f"{flag} {path}: its folder does not exist; accepted: a path in an existing folder "
            "(create it first)."
        )
    _refuse_own_state(p, flag, path)
    if directory and exists and not is_dir:
        raise UsageError(
            f"{flag} {path} is a file; accepted: a directory, or a path to create one at."
        )
    if not directory and is_dir:
        raise UsageError(f"{flag} {path} is a directory; accepted: a file path.")
    from ..paths import read_only_file

    if not directory and read_only_file(p):
        raise UsageError(
            f"{flag} {path} is read-only, so it is not replaced; accepted: a writable file or a "
            "new path (chmod u+w it to let hwscale-tui replace it)."
        )


def pair_tokens(values: list[str]) -> list[str]:
    """Pairs as the user wrote them, each value split at commas and blanks (``g1n1,g2n1``)."""
    return [t for v in values for t in v.replace(",", " ").split()]


def check_number(
    value: float | None, flag: str, *, lo: float, hi: float, lo_open: bool = False
) -> None:
    """Refuse a numeric flag that is not finite or lies outside [lo, hi] ((lo, hi] when open)."""
    import math

    if value is None:
        return
    low_bad = value <= lo if lo_open else value < lo
    if not math.isfinite(value) or low_bad or value > hi:
        lo_text = f"> {lo:g}" if lo_open else f">= {lo:g}"
        # nan is no number at all ('nan is out of range' read as if nan were a large number)
        what = "is out of range" if not math.isnan(value) else "is not a number"
        raise UsageError(f"{flag} {value:g} {what}; accepted: a number {lo_text} and <= {hi:g}.")


def json_safe(value: Any) -> Any:
    """``value`` with every float that is not finite as None (JSON's null): ``json.dump``
    wrote ``Infinity`` or ``NaN``, which no JSON reader takes (``jq``, JavaScript)."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout, non-finite numbers as null (``json_safe``)."""
    import json
    import sys

    # one write: json.dump wrote each of its chunks to stdout on its own (400,000 writes for
    # 4,000 trials, 0.31 s against 0.07 s into a pipe)
    sys.stdout.write(json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n")


def check_not_blank(value: str | None, flag: str, accepted: str) -> None:
    """Refuse a text flag given as an empty or blank string (``--trials "$FILE"`` with FILE
    unset): read as not given, it ran the command on its default instead."""
    if value is not None and not value.strip():
        raise UsageError(f"{flag} is empty; accepted: {accepted}.")


def check_experiment_name(name: str | None, flag: str = "--experiment-name") -> None:
    """A name given on the command line obeys the same rule as ``[experiment] name``."""
    from ..config import MAX_NAME_LEN, SKY_NAME_RE

    if name is None:
        return
    if len(name) > MAX_NAME_LEN or not SKY_NAME_RE.match(name):
        shown = name if len(name) <= 60 else f"{name[:40]}... ({len(name)} characters)"
        raise UsageError(
            f"{flag} {shown!r} is not an experiment name; accepted: at most {MAX_NAME_LEN} "
            "letters, digits, '-', '_' and '.', starting with a letter."
        )


def check_launch_program(cfg: Any, *, warn: bool = False) -> None:
    """``launch`` refuses, and ``plan`` (``warn``) warns of, a ``[launch] command`` whose
    program this machine cannot run: ``sweep.preflight.check_launch_program``, where the app's
    launch makes the same check."""
    from ..sweep.preflight import check_launch_program as check

    check(cfg, warn=warn)


def check_file_metric(cfg: Any, source: Any, trials: list) -> None:
    """The experiment's ``[analysis] curve_metric`` none of the trials logged, where they logged
    the runner's default one (a typo in the file: 'scor'): refused as ``--metric`` is. It read
    'no trial has a learning curve to analyze ... accepted: trials with history', of trials
    that have one (``analyze``), or wrote a header alone (``trials --csv --history``)."""
    from ..config import RUNNER_DEFAULTS

    metric = cfg.analysis.curve_metric
    default = RUNNER_DEFAULTS[cfg.experiment.runner]["analysis.curve_metric"]
    if metric == default:
        return
    if any(len(p) for p in source.histories([t.run_id for t in trials], default).values()):
        where = f" ({cfg.path})" if getattr(cfg, "path", None) else ""
        raise UsageError(
            f"[analysis] curve_metric {metric!r}{where}: no trial's history has that metric; "
            f"accepted: a metric the trials logged, like the {cfg.experiment.runner} runner's "
            f"default {default!r} (the file's [analysis] curve_metric, or --metric KEY)."
        )


def preflight(cfg: Any, plan: Any, extra: list[str]) -> None:
    """Refuse, before anything runs, what every sweep or trial of the plan would reject."""
    from ..paths import app_paths
    from ..sweep.preflight import check_pairs

    check_pairs(cfg, [pp.pair for pp in plan.pairs], extra, app_paths().runs)


def check_wandb_environment() -> None:
    """Refuse a malformed ``WANDB_API_KEY`` or a ``WANDB_BASE_URL`` the client refuses, before
    anything is sent: they are the user's input (exit code 2, as any bad flag), not a W&B that
    cannot be reached (exit code 1)."""
    from ..sources.wandb_source import environment_problem, release_console_writes

    try:
        problem = environment_problem()
    finally:
        release_console_writes()  # the key's check may import wandb
    if problem is not None:
        reason, accepted = problem
        raise UsageError(f"{reason}; accepted: {accepted}." if accepted else f"{reason}.")
