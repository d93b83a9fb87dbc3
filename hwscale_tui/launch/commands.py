"""The command each hardware pair runs, per runner, with the environment it needs.

``metta``: Metta's ``tools/run.py`` invocation for the experiment's Metta profile
(hwscale_tui/metta, docs/metta.md), every token one upstream binds, ``WANDB_ENTITY`` /
``WANDB_PROJECT`` in the child's environment so local trials land in the sweep's project, and
``WANDB_ENABLED`` / ``WANDB_MODE`` so they log to W&B exactly when ``[wandb] mode`` says
(``child_env``). ``builtin``: ``hwscale-tui sweep --experiment FILE --gpus G --nodes N``. A template in
``[launch] command`` replaces either. Extra ``key=value`` arguments go to every pair.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..errors import UsageError
from ..hardware import HardwarePair, SkippedPair, plan_of, ranks_all_at_once, usable_cores
from ..search.presets import Preset, preset_for

# Environment variables a child may need; their values are never printed or stored.
SECRET_ENV = ("WANDB_API_KEY",)
CLUSTER_DISPATCHERS = ("skypilot", "slurm")


def builtin_multinode_refusal(cfg: ExperimentConfig, pair: HardwarePair) -> str | None:
    """Why this pair cannot run with the built-in trainer on a cluster dispatcher, else None.

    The built-in trainer's ranks all run on one machine (a shared-memory all-reduce): on a
    cluster a multi-node pair would use one node while reporting N, so it is refused.
    """
    if (
        cfg.experiment.runner == "builtin"
        and cfg.experiment.dispatcher in CLUSTER_DISPATCHERS
        and not cfg.sweep.trial_command
        and not cfg.launch.command
        and pair.nodes > 1
    ):
        return (
            f"the built-in trainer runs all its ranks on one machine (a shared-memory all-reduce), "
            f"so {pair.tag} on the {cfg.experiment.dispatcher} dispatcher would use one node while "
            f"reporting {pair.nodes}; accepted: nodes = 1 with the built-in trainer, or a "
            "[sweep] trial_command (a distributed trainer, e.g. with {torchrun}) for multi-node pairs"
        )
    return None


@dataclass
class PairPlan:
    pair: HardwarePair
    sweep_name: str
    argv: list[str]
    env: dict[str, str]  # names -> values for the child (no secrets; those pass through os.environ)
    preset: Preset
    warnings: list[str] = field(default_factory=list)
    # Why the search space is read-only for this pair ("" when an edit reaches the runner).
    preset_note: str = ""
    sbatch: str | None = None  # the slurm dispatcher: the equivalent sbatch line of one trial

    def to_json(self) -> dict[str, Any]:
        return {
            "sbatch": self.sbatch,
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
            "search_space_editable": self.space_editable,
            "search_space_note": self.space_note,
        }

    @property
    def space_editable(self) -> bool:
        """Whether a changed search space would reach the runner (the grid edits it only then)."""
        return self.space_note == ""

    @property
    def space_note(self) -> str:
        return self.preset_note


@dataclass
class ExperimentPlan:
    config: ExperimentConfig
    experiment_file: Path
    pairs: list[PairPlan]
    skipped: list[SkippedPair]
    warnings: list[str] = field(default_factory=list)
    # Reasons launch must refuse (exit 2 with the first); plan shows them among the warnings.
    blockers: list[str] = field(default_factory=list)
    metta_profile: str | None = None

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
            "blockers": list(self.blockers),
            "metta_profile": self.metta_profile,
        }


def validate_extra_args(extra: list[str]) -> list[str]:
    for tok in extra:
        if "=" not in tok or tok.startswith("="):
            # `hwscale-tui plan exp.toml`: the file was meant, and -e opens it
            hint = (
                f" (to open the experiment file, give it with -e: -e {tok})"
                if "=" not in tok and tok.lower().endswith(".toml")
                else ""
            )
            raise UsageError(
                f"extra argument {tok!r} is not key=value; extra arguments must look like "
                f"seed=1{hint}."
            )
    return list(extra)


def builtin_argv(experiment_file: Path, pair: HardwarePair, extra: Sequence[str] = ()) -> list[str]:
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
    template: list[str], cfg: ExperimentConfig, pair: HardwarePair, extra: Sequence[str] = ()
) -> list[str]:
    values = {
        "gpus": pair.gpus,
        "nodes": pair.nodes,
        "total_gpus": pair.total_gpus,
        "sweep_name": pair.sweep_name(cfg.name, cfg.generation),
        "experiment": cfg.name,
    }
    return [tok.format(**values) for tok in template] + list(extra)


# Metta's switch for a trial's W&B logging. A trial's TrainTool starts with
# WandbConfig.Unconfigured() (metta/tools/train.py:76 at a8d1ecee19, :68 at 7c1a7ff418), the
# recipes' train() leave it so and a sweep's trial gets only run= and group= (metta/adaptive/
# utils.py:237), so the trial takes auto_wandb_config(run) (train.py:108-109; :99-100) and logs
# only when its `enabled` is true (train.py:439-442; :360-363). auto_wandb_config merges
# WandbConfig.Off() (enabled=False), then the user's Metta setup (metta/setup/components/
# wandb.py:100-128 at both commits: on for a softmax user type or an enabled wandb component,
# off for the default "external" user, metta/setup/profiles.py:40-49, saved_settings.py:56-58),
# then WANDB_ENABLED (metta/tools/utils/auto_config.py:18-34, 50-58; :16-32, 48-56), which wins.
# WANDB_MODE and WANDB_API_KEY do not turn it on. WANDB_ENABLED is a pydantic-settings `bool | None`
# (pydantic-settings 2.11.0, the version both commits lock): the name is read in any case
# (main.py:481, case_sensitive=False), "true"/"false" (also 1/0, yes/no, on/off, t/f, y/n, any
# case) are accepted, and an empty or other value fails the import of auto_config, i.e. every
# Metta tool. So a metta pair always gets WANDB_ENABLED, "true" when [wandb] mode logs (online,
# or offline with WANDB_MODE=offline) and "false" when it is "disabled".
METTA_WANDB_ENABLED_ENV = "WANDB_ENABLED"


def metta_wandb_enabled(mode: str) -> str:
    """The ``WANDB_ENABLED`` value Metta's trials need for this ``[wandb] mode``."""
    return "false" if mode == "disabled" else "true"


def child_env(cfg: ExperimentConfig) -> dict[str, str]:
    env: dict[str, str] = {}
    if cfg.wandb.entity:
        env["WANDB_ENTITY"] = cfg.wandb.entity
        env["WANDB_PROJECT"] = cfg.wandb.effective_project
    elif cfg.experiment.runner != "metta":  # Metta: entity and project travel together
        env["WANDB_PROJECT"] = cfg.wandb.effective_project
    # Always, "online" too: wandb.init in a Metta trial (common/src/metta/common/wandb/
    # context.py:122-137 at a8d1ecee19, :123-137 at 7c1a7ff418) reads WANDB_MODE from the
    # environment, so a WANDB_MODE=disabled left in the user's shell would keep it from logging.
    env["WANDB_MODE"] = cfg.wandb.mode
    if cfg.experiment.runner == "metta":
        env[METTA_WANDB_ENABLED_ENV] = metta_wandb_enabled(cfg.wandb.mode)
    return env


def pair_warnings(cfg: ExperimentConfig, pair: HardwarePair, cpu_count: int | None) -> list[str]:
    w: list[str] = []
    if cfg.experiment.runner == "builtin" and not cfg.launch.command:
        refusal = builtin_multinode_refusal(cfg, pair)
        if refusal:
            w.append("refused: " + refusal)
        if cfg.local_ranks and cpu_count and pair.total_gpus > cpu_count:
            w.append(
                f"OVERSUBSCRIBED: {pair.total_gpus} CPU ranks on {cpu_count} usable cores (you "
                "added this pair); its times measure CPU contention, not scaling, so analyze "
                "leaves it out of recommendations unless --allow-oversubscribed"
            )
    if cfg.experiment.runner == "metta" and not cfg.launch.command:
        from ..metta import checks as metta_checks

        w += metta_checks.pair_warnings(cfg, pair)
    return w


def experiment_warnings(cfg: ExperimentConfig, extra: Sequence[str] | None = None) -> list[str]:
    """Warnings about the whole experiment; ``extra``: every extra argument the pairs' commands
    get (the file's ``[launch] extra_args`` and the command line's; None: the file's alone)."""
    from ..metta import checks as metta_checks  # imported when first asked (the app's launch
    # screen plans before its first frame; its checks are for metta only)

    w: list[str] = []
    w += metta_checks.experiment_warnings(cfg, extra)
    if cfg.experiment.dispatcher == "skypilot" and cfg.experiment.runner == "builtin":
        try:
            import importlib.util

            if importlib.util.find_spec("sky") is None:
                w.append(
                    "the skypilot dispatcher needs SkyPilot: pip install 'hwscale-tui[skypilot]'"
                )
        except (ImportError, ValueError):
            pass
    if cfg.experiment.dispatcher == "slurm" and cfg.experiment.runner == "builtin":
        w += slurm_warnings(cfg)
    overlap = local_overlap_warning(cfg, usable_cores())
    if overlap:
        w.append(overlap)
    from ..train.overrides import wandb_key_available

    if cfg.wandb.mode == "online" and not wandb_key_available(os.environ):
        w.append(
            'wandb.mode = "online" but no W&B API key was found (WANDB_API_KEY, or the '
            "~/.netrc entry `wandb login` writes)"
            + (
                "; each built-in trial will refuse to start"
                if cfg.experiment.runner == "builtin"
                else ""
            )
        )
    return w


def local_sequential_note(cfg: ExperimentConfig, cores: int) -> str | None:
    """Why a local experiment's pairs run one after another: together they would need more
    CPU ranks than the usable cores (config.py makes that the default for a new local file)."""
    if not cfg.local_ranks or not cfg.launch.sequential:
        return None
    together = ranks_all_at_once(plan_of(cfg.grid)[0], cores, cfg.sweep.max_parallel_jobs)
    if together <= cores:
        return None
    return (
        f"local mode: pairs run one after another (launch.sequential), as together they would "
        f"need {together} CPU ranks on {cores} usable cores and each pair's times should be its "
        "own ranks' alone"
    )


def local_overlap_warning(cfg: ExperimentConfig, cores: int) -> str | None:
    """Local ranks of pairs (and of a pair's parallel trials) that run at once share the cores:
    each pair's times then carry the others' load. Said when they could together need more
    ranks than ``cores`` (staggered starts overlap once a sweep lasts longer than the delay);
    a pair alone past the cores has its own warning."""
    if not cfg.local_ranks:
        return None
    pairs, _ = plan_of(cfg.grid)
    parallel = cfg.sweep.max_parallel_jobs
    ranks = [p.total_gpus for p in pairs if p.total_gpus <= cores]  # the rest: their own warning
    if not ranks:
        return None
    apart = not cfg.launch.sequential and len(ranks) > 1
    at_once = (sum(ranks) if apart else max(ranks)) * parallel
    if at_once <= cores:
        return None
    together = (
        f"pairs started {cfg.launch.delay_s:g} s apart run at once when a sweep lasts longer"
        if apart
        else f"{parallel} trials of a sweep run at once"
    )
    fixes = [
        *(["launch.sequential = true (launch --sequential)"] if apart else []),
        *(["sweep.max_parallel_jobs = 1"] if parallel > 1 else []),
    ]
    return (
        f"local mode: {together}: up to {at_once} CPU ranks together on {cores} usable cores, so "
        "a pair's times carry the others' load, not its own ranks' alone (analyze notes it); "
        f"{' and '.join(fixes)} measures each alone"
    )


def slurm_warnings(cfg: ExperimentConfig) -> list[str]:
    """Plan-time checks of the slurm dispatcher: the client commands, the shared state dir."""
    from ..paths import app_paths
    from .slurm_options import (
        cluster_hosts,
        extra_sbatch_args_problem,
        shared_state_warning,
        sinfo_problem,
    )

    # extra sbatch options that break every trial: launch refuses them; plan says so first
    extra = extra_sbatch_args_problem(cfg)
    warnings = [f"launch refuses this: {extra}"] if extra else []
    if shutil.which("sbatch") is None:
        return [
            *warnings,
            "the slurm dispatcher needs sbatch, squeue, sacct and scancel on PATH (a Slurm login "
            "node)",
        ]
    if cfg.wandb.mode == "online":
        return warnings  # results can come back from W&B
    warning = shared_state_warning(app_paths().state, cluster_hosts(), why=sinfo_problem())
    return [*warnings, warning] if warning else warnings


def plan_experiment(
    cfg: ExperimentConfig,
    experiment_file: Path,
    extra_args: Sequence[str] = (),
    cpu_count: int | None = None,
) -> ExperimentPlan:
    """Everything that would be launched, without launching anything."""
    from ..paths import app_paths
    from .slurm_options import sbatch_line

    extra = validate_extra_args(list(cfg.launch.extra_args) + list(extra_args))
    cpu_count = usable_cores() if cpu_count is None else cpu_count
    pairs, skipped = plan_of(cfg.grid)
    env = child_env(cfg)
    metta = cfg.experiment.runner == "metta" and not cfg.launch.command
    from ..metta import checks as metta_checks
    from ..metta.command import metta_argv
    from ..metta.profiles import resolve_profile

    profile = resolve_profile(cfg).profile if cfg.experiment.runner == "metta" else None
    note = ""
    if cfg.launch.command:
        note = "launch.command replaces the runner's command, so the search space is not sent"
    elif profile is not None and not profile.space_editable:
        note = (
            f"Metta {profile.name}'s {profile.tool} builds this space itself and takes no argument "
            'that changes it (read-only; metta.profile = "main" sends the space)'
        )
    plans: list[PairPlan] = []
    slurm = cfg.experiment.dispatcher == "slurm" and cfg.experiment.runner == "builtin"
    for pair in pairs:
        preset = preset_for(cfg, pair)
        if cfg.launch.command:
            argv = template_argv(cfg.launch.command, cfg, pair, extra)
        elif metta:
            argv = metta_argv(cfg, pair, preset, extra)
        else:
            argv = builtin_argv(experiment_file, pair, extra)
        plans.append(
            PairPlan(
                pair,
                pair.sweep_name(cfg.name, cfg.generation),
                argv,
                dict(env),
                preset,
                pair_warnings(cfg, pair, cpu_count),
                note,
                sbatch_line(cfg, pair, app_paths().runs) if slurm else None,
            )
        )
    return ExperimentPlan(
        cfg,
        experiment_file,
        plans,
        skipped,
        experiment_warnings(cfg, extra),
        metta_checks.launch_blockers(cfg),
        profile.name if profile else None,
    )


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
    """The child's environment: ours plus the plan's (secrets pass through untouched).

    A variable of ours whose name differs from one of the plan's only in case is left out:
    Metta reads ``WANDB_ENABLED``, ``WANDB_ENTITY`` and ``WANDB_PROJECT`` in any case
    (pydantic-settings, see ``METTA_WANDB_ENABLED_ENV``), so a ``wandb_enabled=false`` here
    could otherwise override the plan's ``WANDB_ENABLED=true``.
    """
    planned = {k.upper(): k for k in plan_env}
    env = {k: v for k, v in os.environ.items() if planned.get(k.upper(), k) == k}
    env.update(plan_env)
    return env
