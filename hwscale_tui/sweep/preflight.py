"""Checks a launch makes before anything runs: would every pair's sweep, and every trial it
starts, accept these settings? A setting every trial would reject (an unknown trainer key, a
key the runner owns, a swept hyperparameter, the SkyPilot dispatcher without W&B, more ranks
than the built-in trainer runs) is refused with one sentence instead of burning a sweep.
"""

from __future__ import annotations

import os
import shutil
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
    _check_program(cfg)
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
    _check_program(cfg)
    _check_torchrun(cfg)
    _check_runs_dir(cfg, setup.builder.runs_dir)
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


def check_launch_program(cfg: ExperimentConfig, *, warn: bool = False) -> None:
    """A ``[launch] command`` whose program this machine cannot run: every pair would fail to
    start (the supervisor runs each pair's command here, whatever the dispatcher), one stagger
    after another; it was launched without a word. ``launch`` refuses it; ``plan`` (``warn``),
    which may prepare a file for another machine, says so on stderr. A program named by a
    placeholder is not checked. The app's launch makes the same check (screens/launch.py
    ``_preflight``)."""
    command = cfg.launch.command
    if not command or "{" in command[0]:
        return
    program = command[0]
    if os.sep in program:
        path = Path(program).expanduser()
        runnable = path.is_file() and os.access(path, os.X_OK)
    else:
        runnable = bool(program) and shutil.which(program) is not None
    if runnable:
        return
    problem = (
        f"launch.command[0] {program!r} is not a program this machine can run (not on PATH, no "
        "such file, or not executable), so every pair would fail to start"
    )
    if warn:
        import sys

        print(f"hwscale-tui: warning: {problem} if launched here", file=sys.stderr)
        return
    raise UsageError(
        f"{problem}; accepted: a program on PATH or the path of an executable file (e.g. "
        '"python", "./sweep.sh" with chmod +x).'
    )


def _check_torchrun(cfg: ExperimentConfig) -> None:
    """A local ``[sweep] trial_command`` that starts with ``{torchrun}`` runs ``torchrun
    --standalone ...`` here: without torchrun on PATH every trial failed "could not start:
    [Errno 2] No such file or directory: 'torchrun'" until the budget was spent. Refused by
    ``hwscale-tui sweep`` only (``plan`` may prepare a file for a machine that has it)."""
    command = cfg.sweep.trial_command
    if cfg.experiment.dispatcher != "local" or not command or command[0] != "{torchrun}":
        return
    if shutil.which("torchrun") is None:
        raise UsageError(
            "sweep.trial_command starts with {torchrun}, which runs torchrun on this machine, "
            "and torchrun is not on PATH, so every trial would fail to start; accepted: "
            "PyTorch installed where PATH finds its torchrun (pip install torch), or a "
            "trial_command without {torchrun}."
        )


def _check_program(cfg: ExperimentConfig) -> None:
    """A local ``[sweep] trial_command`` whose program this machine cannot run: every trial
    would fail "could not start" and the sweep would spend its whole budget on them (each one a
    failure the optimizer learns from). Refused before anything is written. A program named by
    a placeholder, or run on a cluster's nodes (slurm, skypilot), is not checked here."""
    command = cfg.sweep.trial_command
    if cfg.experiment.dispatcher != "local" or not command:
        return
    program = command[0]
    if "{" in program or program == "hwscale-tui":  # a placeholder; resolve_executable's own
        return
    if os.sep in program:
        path = Path(program).expanduser()
        runnable = path.is_file() and os.access(path, os.X_OK)
    else:
        runnable = shutil.which(program) is not None
    if not runnable:
        raise UsageError(
            f"sweep.trial_command[0] {program!r} is not a program this machine can run (not on "
            "PATH, no such file, or not executable), so every trial would fail to start; "
            "accepted: a program on PATH or the path of an executable file (e.g. "
            '"python", "./train.sh" with chmod +x).'
        )


def _check_runs_dir(cfg: ExperimentConfig, runs_dir: Path) -> None:
    """A local sweep's run folders (each trial's log and metrics file) that cannot be made: on
    a read-only state location every trial failed "could not start: [Errno 30] Read-only file
    system", one after another until the whole budget was spent, each one a failure the
    optimizer learned from. Refused before anything is written, as ``train`` refuses it."""
    if cfg.experiment.dispatcher != "local":
        return
    existing = next((p for p in (runs_dir, *runs_dir.parents) if p.exists()), None)
    if existing is None:
        return
    if not existing.is_dir():
        problem = f"{existing} is a file, not a folder"
        accepted = "move it away"
    elif os.access(existing, os.W_OK | os.X_OK):
        return
    else:
        problem = f"{existing} is not writable (a read-only state location, or not yours)"
        accepted = "a state location you can write to (HWSCALE_HOME)"
    raise UsageError(
        f"the trials' run folders under {runs_dir} cannot be made: {problem}, so every trial "
        f"would fail to start; accepted: {accepted}."
    )


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
