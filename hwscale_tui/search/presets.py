"""Search presets per hardware pair and runner (facts and sources: docs/upstream.md sections 1-2).

The ``metta`` preset is exactly what the Metta profile searches (hwscale_tui/metta/profiles.py,
docs/metta.md): the experiment's optimized space (no minibatch, narrowed PPO ranges,
``resample_frequency = 5``, Protein's default ``naive`` acquisition) under the profile's key
paths. ``fom-v1`` sizes batch bounds by the CPU count of the machine that runs the sweep, as
upstream does; ``main`` (our tool maker) by ``grid.cpus_per_node``. The ``builtin`` preset
applies the same batch formula with the built-in trainer's constants, and its centers are the
trainer's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..config import RUNNER_DEFAULTS
from ..hardware import (
    BatchConstraints,
    HardwarePair,
    builtin_batch_constraints,
    metta_batch_constraints,
)
from ..metta.profiles import (
    FOM_V1,
    OPTIMIZED_PARAMS,
    OPTIMIZED_SETTINGS,
    PROFILES,
    MettaProfile,
    controller_cpus,
    resolve_profile,
)
from .space import Param, SearchSpace

# Canonical (short) name -> dotted key, per Metta key profile.
KEY_PROFILE_PATHS: dict[str, dict[str, str]] = {
    "ppo": {
        "clip_coef": "trainer.losses.ppo.clip_coef",
        "vf_clip_coef": "trainer.losses.ppo.vf_clip_coef",
        "gae_lambda": "trainer.losses.ppo.gae_lambda",
        "ent_coef": "trainer.losses.ppo.ent_coef",
        "vf_coef": "trainer.losses.ppo.vf_coef",
    },
    "loss_configs": {
        "clip_coef": "trainer.losses.loss_configs.ppo.clip_coef",
        "vf_clip_coef": "trainer.losses.loss_configs.ppo.vf_clip_coef",
        "gae_lambda": "trainer.losses.loss_configs.ppo.gae_lambda",
        "ent_coef": "trainer.losses.loss_configs.ppo.ent_coef",
        "vf_coef": "trainer.losses.loss_configs.ppo.vf_coef",
    },
    "ppo_actor": {
        "clip_coef": "trainer.losses.ppo_actor.clip_coef",
        "vf_clip_coef": "trainer.losses.ppo_actor.vf_clip_coef",
        "gae_lambda": "trainer.advantage.gae_lambda",
        "ent_coef": "trainer.losses.ppo_actor.ent_coef",
        "vf_coef": "trainer.losses.ppo_actor.vf_coef",
    },
}

# Optimizer settings of the original optimized Protein config.
PROTEIN_SETTINGS: dict[str, Any] = {
    "num_random_samples": 0,
    "seed_with_search_center": True,
    "global_search_scale": 1.0,
    "acquisition_fn": "ei",
    "ucb_beta": 2.0,
    "randomize_acquisition": False,
    "max_suggestion_cost": 10800,
    "resample_frequency": 0,
    "expansion_rate": 0.25,
    "random_suggestions": 256,
    "suggestions_per_pareto": 128,
}

# With transfer, the best learning rate is taken to grow as batch ** this (the optimizer setting
# lr_batch_exponent, [sweep] lr_batch_exponent): the linear scaling rule (docs/optimizer.md).
LR_BATCH_EXPONENT = 1.0
MAX_LR_BATCH_EXPONENT = 2.0

# (short name, distribution, min, max, metta center)
PPO_PARAMS: tuple[tuple[str, str, float, float, float], ...] = (
    ("clip_coef", "uniform", 0.1, 0.4, 0.264407),
    ("vf_clip_coef", "uniform", 0.05, 1.0, 0.1),
    ("gae_lambda", "uniform", 0.8, 0.99, 0.891477),
    ("ent_coef", "log_normal", 1e-4, 0.1, 0.01),
    ("vf_coef", "uniform", 0.1, 2.0, 0.897619),
)
METTA_LEARNING_RATE = ("log_normal", 1e-5, 1e-2, 0.001153637)

# The built-in trainer's defaults: the centers of its preset (they solve CartPole-v1).
BUILTIN_CENTERS: dict[str, float] = {
    "learning_rate": 0.0025,
    "clip_coef": 0.2,
    "vf_clip_coef": 0.2,
    "gae_lambda": 0.95,
    "ent_coef": 0.001,
    "vf_coef": 0.5,
}


@dataclass(frozen=True)
class Preset:
    runner: str
    pair: HardwarePair
    constraints: BatchConstraints
    space: SearchSpace
    metric: str
    goal: str

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.space.settings)


def _batch_params(c: BatchConstraints) -> list[Param]:
    return [
        Param("trainer.batch_size", "uniform_pow2", c.min_batch, c.max_batch, c.center_batch),
        Param(
            "trainer.minibatch_size",
            "uniform_pow2",
            c.min_minibatch,
            c.max_minibatch,
            c.default_minibatch,
        ),
    ]


def metta_preset(
    pair: HardwarePair,
    *,
    profile: str | MettaProfile = FOM_V1,
    cpus_per_node: int = 8,
    metric: str = "evaluator/eval_sweep/score",
    goal: str = "maximize",
    overrides: dict[str, Any] | None = None,
) -> Preset:
    """What the Metta profile searches for this pair.

    ``fom-v1``: the tool maker builds the space itself (optimized_sweep_config.py:82-161 at
    7c1a7ff418) from ``os.cpu_count()`` of the sweep's machine, so ``cpus_per_node`` cannot reach
    it and is not applied; the ``overrides`` (acquisition_fn, max_suggestion_cost) reach its
    ProteinSettings as ``protein_config.settings.<key>=`` (metta/command.py; protein_config.py:
    71-91 at 7c1a7ff418). ``main``: our tool maker receives the space, so both apply.
    """
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    cpus = controller_cpus() if prof.cpu_source == "controller" else cpus_per_node
    c = metta_batch_constraints(pair.total_gpus, cpus)
    # max(min * 8, 8192) and mean 2 * min: optimized_sweep_config.py:68, :88-94 at 7c1a7ff418.
    c = replace(c, max_batch=max(8 * c.min_batch, 8192))
    params = [
        Param(prof.keys["batch_size"], "uniform_pow2", c.min_batch, c.max_batch, c.center_batch)
    ]
    params += [
        Param(prof.keys[name], dist, lo, hi, mean) for name, dist, lo, hi, mean in OPTIMIZED_PARAMS
    ]
    settings = dict(OPTIMIZED_SETTINGS)
    settings.update(overrides or {})  # both profiles send them (fom-v1: protein_config.settings)
    return Preset("metta", pair, c, SearchSpace(tuple(params), settings), metric, goal)


def builtin_preset(
    pair: HardwarePair,
    *,
    metric: str = "score",
    goal: str = "maximize",
    overrides: dict[str, Any] | None = None,
) -> Preset:
    c = builtin_batch_constraints(pair.total_gpus)
    paths = KEY_PROFILE_PATHS["ppo"]
    lr_dist, lr_lo, lr_hi, _ = METTA_LEARNING_RATE
    params = _batch_params(c)
    params.append(
        Param(
            "trainer.optimizer.learning_rate",
            lr_dist,
            lr_lo,
            lr_hi,
            BUILTIN_CENTERS["learning_rate"],
        )
    )
    params += [
        Param(paths[name], dist, lo, hi, BUILTIN_CENTERS[name])
        for name, dist, lo, hi, _ in PPO_PARAMS
    ]
    settings = {**PROTEIN_SETTINGS, "max_suggestion_cost": 600, **(overrides or {})}
    return Preset("builtin", pair, c, SearchSpace(tuple(params), settings), metric, goal)


def preset_for(cfg: Any, pair: HardwarePair) -> Preset:
    """The preset an experiment config implies for one pair."""
    cost = float(cfg.sweep.max_suggestion_cost)
    overrides = {
        "acquisition_fn": cfg.sweep.acquisition_fn,
        "max_suggestion_cost": int(cost) if cost.is_integer() else cost,
    }
    if cfg.experiment.runner == "metta":
        return metta_preset(
            pair,
            profile=resolve_profile(cfg).profile,
            cpus_per_node=cfg.grid.cpus_per_node,
            metric=cfg.sweep.metric,
            goal=cfg.sweep.goal,
            # Only what the file sets to something else than the runner's default (Metta's own):
            # otherwise Metta searches the experiment's own settings. A file `plan --save`
            # wrote spells every default out, and must send what the file it came from sent.
            overrides={
                k: v
                for k, v in overrides.items()
                if f"sweep.{k}" in cfg.explicit and v != RUNNER_DEFAULTS["metta"].get(f"sweep.{k}")
            },
        )
    exponent = float(cfg.sweep.lr_batch_exponent)
    if exponent != LR_BATCH_EXPONENT:  # ours alone (Metta's optimizer has none); only when it
        # differs from the default, so that the settings recorded with a sweep stay as they were
        overrides["lr_batch_exponent"] = exponent
    return builtin_preset(pair, metric=cfg.sweep.metric, goal=cfg.sweep.goal, overrides=overrides)
