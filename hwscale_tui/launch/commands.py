"""The command each hardware pair runs, per runner, with the environment it needs.

``metta``: REFERENCE.md section 2's ``tools/run.py`` invocation, every sweep knob spelled out,
``WANDB_ENTITY`` / ``WANDB_PROJECT`` in the child's environment so trials land in the sweep's
project. ``builtin``: ``hwscale-tui sweep --experiment FILE --gpus G --nodes N``. A template in
``[launch] command`` replaces either. Extra ``key=value`` arguments go to every pair.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import METTA_DEFAULT_METRIC, ExperimentConfig
from ..errors import UsageError
from ..hardware import HardwarePair, SkippedPair, plan_grid
from ..search.presets import Preset, preset_for

# Environment variables a child may need; their values are never printed or stored.
SECRET_ENV = ("WANDB_API_KEY",)


@dataclass
class PairPlan:
    pair: HardwarePair
    sweep_name: str
    argv: list[str]
    env: dict[str, str]  # names -> values for the child (no secrets; those pass through os.environ)
    preset: Preset
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "gpus": self.pair.gpus,
            "nodes": self.pair.nodes,
            "total_gpus": self.pair.total_gpus,
            "sweep_name": self.sweep_name,
            "argv": list(self.argv),
            "env": sorted(self.env),
            "search_space": self.preset.space.as_dict(),
            "batch_constraints": self.preset.constraints.as_dict(),
            "settings": self.preset.settings,
            "warnings": list(self.warnings),
        }


@dataclass
class ExperimentPlan:
    config: ExperimentConfig
    experiment_file: Path
    pairs: list[PairPlan]
    skipped: list[SkippedPair]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.config.name,
            "experiment_file": str(self.experiment_file),
            "runner": self.config.experiment.runner,
            "dispatcher": self.config.experiment.dispatcher,
            "pairs": [p.to_json() for p in self.pairs],
            "skipped": [
                {"gpus": s.gpus, "nodes": s.nodes, "reason": s.reason} for s in self.skipped
            ],
            "warnings": list(self.warnings),
        }


def validate_extra_args(extra: list[str]) -> list[str]:
    for tok in extra:
        if "=" not in tok or tok.startswith("="):
            raise UsageError(
                f"extra argument {tok!r} is not key=value; extra arguments must look like trainer.seed=1."
            )
    return list(extra)


def metta_argv(cfg: ExperimentConfig, pair: HardwarePair, extra: list[str] = ()) -> list[str]:
    m, s = cfg.metta, cfg.sweep
    argv = [
        "uv",
        "run",
        "./tools/run.py",
        m.tool,
        f"gpus={pair.gpus}",
        f"nodes={pair.nodes}",
        f"recipe_module={m.recipe_module}",
        f"train_entrypoint={m.train_entrypoint}",
        f"eval_entrypoint={m.eval_entrypoint}",
        f"total_timesteps={s.total_timesteps}",
        f"sweep_name={pair.sweep_name(cfg.name)}",
    ]
    if cfg.wandb.entity:
        argv.append(f"wandb.entity={cfg.wandb.entity}")
    argv += [
        f"wandb.project={cfg.wandb.effective_project}",
        f"dispatcher_type={cfg.experiment.dispatcher}",
        f"max_trials={s.max_trials}",
        f"batch_size={s.batch_size}",
        f"max_parallel_jobs={s.max_parallel_jobs}",
    ]
    if s.metric != METTA_DEFAULT_METRIC:
        argv.append(f"metric_path={s.metric}")
    if m.local_test:
        argv.append("local_test=true")
    return argv + list(extra)


def builtin_argv(experiment_file: Path, pair: HardwarePair, extra: list[str] = ()) -> list[str]:
    return [
        "hwscale-tui",
        "sweep",
        "--experiment",
        str(experiment_file),
        "--gpus",
        str(pair.gpus),
        "--nodes",
        str(pair.nodes),
        *extra,
    ]


def template_argv(
    template: list[str], cfg: ExperimentConfig, pair: HardwarePair, extra: list[str] = ()
) -> list[str]:
    values = {
        "gpus": pair.gpus,
        "nodes": pair.nodes,
        "total_gpus": pair.total_gpus,
        "sweep_name": pair.sweep_name(cfg.name),
        "experiment": cfg.name,
    }
    return [tok.format(**values) for tok in template] + list(extra)


def child_env(cfg: ExperimentConfig) -> dict[str, str]:
    env: dict[str, str] = {}
    if cfg.wandb.entity:
        env["WANDB_ENTITY"] = cfg.wandb.entity
    env["WANDB_PROJECT"] = cfg.wandb.effective_project
    if cfg.experiment.runner == "builtin" or cfg.wandb.mode != "online":
        env["WANDB_MODE"] = cfg.wandb.mode
    return env


def metta_tool_file(repo: Path, tool: str) -> Path | None:
    """Where ``tool`` (``pkg.module.function``) lives in a Metta checkout, or None if absent."""
    parts = tool.split(".")
    for cut in range(len(parts), 0, -1):
        mod = repo.joinpath(*parts[:cut])
        for candidate in (mod.with_suffix(".py"), mod / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def pair_warnings(cfg: ExperimentConfig, pair: HardwarePair, cpu_count: int | None) -> list[str]:
    w: list[str] = []
    if cfg.experiment.runner == "builtin" and not cfg.launch.command:
        if pair.total_gpus & (pair.total_gpus - 1):
            w.append(
                f"{pair.total_gpus} ranks is not a power of two, so the built-in trainer cannot split "
                "power-of-two batches evenly; its trials will fail"
            )
        if cfg.experiment.dispatcher == "local" and cpu_count and pair.total_gpus > cpu_count:
            w.append(
                f"{pair.total_gpus} ranks on {cpu_count} CPU cores: local trials will be oversubscribed (slower, still correct)"
            )
    return w


def experiment_warnings(cfg: ExperimentConfig) -> list[str]:
    w: list[str] = []
    if cfg.experiment.runner == "metta":
        w.append(
            f"sweep.batch_size = {cfg.sweep.batch_size} has no effect under Metta's async_capped scheduler "
            "(only max_parallel_jobs and max_trials do)"
        )
        if cfg.metta.eval_entrypoint == "evaluate":
            w.append(
                'metta.eval_entrypoint = "evaluate" breaks sweep evaluations; use "evaluate_in_sweep" (it takes the single policy_uri)'
            )
        if not cfg.wandb.entity:
            w.append(
                "no W&B entity (wandb.entity or WANDB_ENTITY): trials will log to your default entity"
            )
        if cfg.metta.repo:
            repo = Path(cfg.metta.repo).expanduser()
            if not repo.is_dir():
                w.append(f"metta.repo {repo} does not exist")
            elif metta_tool_file(repo, cfg.metta.tool) is None:
                w.append(
                    f"Metta tool {cfg.metta.tool} is not in {repo}; it exists only on some Metta branches "
                    "(set metta.tool to one your checkout has)"
                )
        else:
            w.append(
                "metta.repo is not set: commands run in the current directory, which must be a Metta checkout"
            )
    if cfg.experiment.dispatcher == "skypilot" and cfg.experiment.runner == "builtin":
        try:
            import importlib.util

            if importlib.util.find_spec("sky") is None:
                w.append(
                    "the skypilot dispatcher needs SkyPilot: pip install 'hwscale-tui[skypilot]'"
                )
        except (ImportError, ValueError):
            pass
    if cfg.wandb.mode == "online" and not os.environ.get("WANDB_API_KEY"):
        w.append('wandb.mode = "online" but WANDB_API_KEY is not set in the environment')
    return w


def plan_experiment(
    cfg: ExperimentConfig,
    experiment_file: Path,
    extra_args: list[str] = (),
    cpu_count: int | None = None,
) -> ExperimentPlan:
    """Everything that would be launched, without launching anything."""
    extra = validate_extra_args(list(cfg.launch.extra_args) + list(extra_args))
    cpu_count = os.cpu_count() if cpu_count is None else cpu_count
    pairs, skipped = plan_grid(
        cfg.grid.gpu_counts, cfg.grid.node_counts, cfg.grid.max_gpus_per_node, cfg.grid.exclude
    )
    env = child_env(cfg)
    plans: list[PairPlan] = []
    for pair in pairs:
        if cfg.launch.command:
            argv = template_argv(cfg.launch.command, cfg, pair, extra)
        elif cfg.experiment.runner == "metta":
            argv = metta_argv(cfg, pair, extra)
        else:
            argv = builtin_argv(experiment_file, pair, extra)
        plans.append(
            PairPlan(
                pair,
                pair.sweep_name(cfg.name),
                argv,
                dict(env),
                preset_for(cfg, pair),
                pair_warnings(cfg, pair, cpu_count),
            )
        )
    return ExperimentPlan(cfg, experiment_file, plans, skipped, experiment_warnings(cfg))


def resolve_executable(argv: list[str]) -> list[str]:
    """Turn a leading ``hwscale-tui`` into this interpreter's module call when not on PATH."""
    if argv and argv[0] == "hwscale-tui" and shutil.which("hwscale-tui") is None:
        return [sys.executable, "-m", "hwscale_tui", *argv[1:]]
    return list(argv)


def working_dir(cfg: ExperimentConfig) -> Path | None:
    if cfg.experiment.runner == "metta" and cfg.metta.repo and not cfg.launch.command:
        return Path(cfg.metta.repo).expanduser()
    return None


def full_env(plan_env: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: ours plus the plan's (secrets pass through untouched)."""
    env = dict(os.environ)
    env.update(plan_env)
    return env
