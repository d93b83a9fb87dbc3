"""Options shared by the commands that act on an experiment (plan, launch, status, ...)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError

# flag -> (dotted key, kind)
LAUNCHER_FLAGS: dict[str, tuple[str, str]] = {
    "--experiment-name": ("experiment.name", "str"),
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
    "--key-profile": ("metta.key_profile", "str"),
    "--local-test": ("metta.local_test", "flag"),
    "--gpu-type": ("cost.gpu_type", "str"),
    "--price-per-gpu-hour": ("cost.price_per_gpu_hour", "float"),
}
FLAG_OF_KEY = {key: flag for flag, (key, _) in LAUNCHER_FLAGS.items()}


def add_experiment_file_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--experiment",
        "-e",
        metavar="FILE",
        help="experiment TOML file (default: the current experiment under the state dir, else built-in defaults)",
    )


def add_experiment_flags(parser: argparse.ArgumentParser) -> None:
    """``--experiment FILE`` plus every flag of the original launcher."""
    add_experiment_file_flag(parser)
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
            g.add_argument(flag, dest=dest, metavar=kind.upper(), help=f"{key}")


def _parse_flag_value(flag: str, kind: str, raw: Any) -> Any:
    if kind == "flag":
        return bool(raw)
    if kind == "ints":
        tokens = [t for item in raw for t in str(item).replace(",", " ").split()]
        out = []
        for t in tokens:
            try:
                out.append(int(t))
            except ValueError:
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
    return out


def resolve_experiment_file(args: argparse.Namespace) -> Path | None:
    """The file named by ``--experiment``, else the current experiment if one was saved."""
    from ..paths import app_paths

    if getattr(args, "experiment", None):
        return Path(args.experiment).expanduser()
    default = app_paths().default_experiment
    return default if default.is_file() else None


def load_config(args: argparse.Namespace, *, with_flags: bool = True):
    """(config, file or None): the file (or defaults) with command-line flags applied."""
    from .. import config as cfgmod

    path = resolve_experiment_file(args)
    cfg = cfgmod.load(path) if path else cfgmod.default_config(env=os.environ)
    if with_flags:
        overrides = flag_overrides(args)
        if overrides:
            try:
                cfg = cfgmod.apply_overrides(cfg, overrides, source="command line")
            except ConfigError as e:
                if e.source == "command line" and e.key in FLAG_OF_KEY:
                    raise UsageError(
                        f"{FLAG_OF_KEY[e.key]} ({e.key}): {e.problem}; accepted: {e.accepted}."
                    ) from None
                raise
            cfg.path = path
    return cfg, path
