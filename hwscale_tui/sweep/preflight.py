"""Checks a launch makes before anything runs: would every pair's sweep, and every trial it
starts, accept these settings? A setting every trial would reject (an unknown trainer key, a
key the runner owns, a swept hyperparameter, the SkyPilot dispatcher without W&B, more ranks
than the built-in trainer runs) is refused with one sentence instead of burning a sweep.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..errors import UsageError
from ..hardware import HardwarePair
from .runner import SweepSetup, prepare_sweep


def check_pairs(
    cfg: ExperimentConfig, pairs: Sequence[HardwarePair], extra_args: Sequence[str], runs_dir: Path
) -> None:
    """Raise UsageError (one sentence) when a pair's built-in sweep or its trials would refuse
    the experiment or ``extra_args``. Other runners and ``[launch] command`` templates run
    commands we do not own, so only their generic checks apply."""
    if cfg.experiment.runner != "builtin" or cfg.launch.command:
        return
    extra = list(cfg.launch.extra_args) + list(extra_args)
    for pair in pairs:
        setup = prepare_sweep(cfg, pair, extra, runs_dir)
        if setup.builder.uses_builtin_trainer:
            _check_trainer(pair, extra, setup.preset.space.keys)


def check_sweep(setup: SweepSetup) -> None:
    """The same check for one pair's sweep (``hwscale-tui sweep``) and its own extra
    arguments, before anything is written: a key every trial would reject is refused here
    instead of failing the sweep at its first trial and recording its generation; so are, on
    the slurm dispatcher, settings Slurm would refuse (``sbatch --test-only``)."""
    if setup.builder.uses_builtin_trainer:
        _check_trainer(setup.pair, list(setup.builder.extra), setup.preset.space.keys)
    cfg = setup.cfg
    if cfg.experiment.dispatcher == "slurm" and cfg.experiment.runner == "builtin":
        # settings Slurm would refuse (or no sbatch at all): refused before the sweep registers
        # its experiment file, as launch and plan --check refuse them
        from .slurm import SlurmDispatcher

        SlurmDispatcher(cfg, setup.sweep).preflight(setup.pair, setup.builder.runs_dir)


def check_slurm(cfg: ExperimentConfig, plan_pairs: Sequence[Any], runs_dir: Path) -> None:
    """Would Slurm take each planned pair's jobs (``sbatch --test-only``)? Raise UsageError
    (Slurm's own sentence) otherwise. ``plan_pairs`` are ``launch.commands`` planned pairs."""
    if cfg.experiment.dispatcher != "slurm" or cfg.experiment.runner != "builtin":
        return
    from .slurm import SlurmDispatcher

    for pp in plan_pairs:
        SlurmDispatcher(cfg, pp.sweep_name).preflight(pp.pair, runs_dir)


def _check_trainer(pair: HardwarePair, extra: list[str], swept: Sequence[str]) -> None:
    from ..train.overrides import KEYS, MAX_RANKS, parse_overrides
    from .trial_command import RUNNER_OWNED_KEYS

    if pair.total_gpus > MAX_RANKS:
        raise UsageError(
            f"pair {pair.tag} needs {pair.total_gpus} ranks, more than the built-in trainer runs "
            f"({MAX_RANKS}); accepted: gpus x nodes <= {MAX_RANKS} (exclude the pair or shrink the grid)."
        )
    if not extra:
        return
    # not the shell's WANDB_MODE/PROJECT (each trial gets the experiment's), but where W&B
    # finds a key, as the trials will: without it, wandb.mode=online was refused with a key set
    env = {k: v for k in ("WANDB_API_KEY", "WANDB_BASE_URL", "NETRC") if (v := os.environ.get(k))}
    try:
        parse_overrides(extra, env=env)
    except UsageError as e:
        reason = str(e).rstrip(".")
        if "; accepted keys: " in reason:  # the trainer's keys, less those the sweep sets itself
            free = [k for k in KEYS if k not in RUNNER_OWNED_KEYS and k not in swept]
            reason = reason.split("; accepted keys: ")[0] + (
                f"; accepted as extra arguments: {', '.join(free)}"
            )
        raise UsageError(
            f"every trial would reject the extra arguments {' '.join(extra)[:200]!r}: {reason}."
        ) from None
