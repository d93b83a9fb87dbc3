"""One profile per Metta version: tool, recipe, argument names, key paths, search space.

``fom-v1`` is Metta-AI/metta at ``7c1a7ff418`` (branch ``axel/fom-experiment``), the only commit
that has the hardware-scaling experiment (``experiments/adaptive/hardware_scaling``). ``main`` is
Metta-AI/metta at ``a8d1ecee19`` (2026-01-10): no ``experiments/adaptive``, a different SweepTool
and different PPO key paths, so it runs the tool maker ``hwscale-tui metta install-tool`` writes.
Re-checked on 2026-12-03: the newest stored snapshot of Metta's main was still ``a8d1ecee19``.
Every fact is cited by upstream file:line in docs/metta.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import METTA_PROFILES

FOM_V1 = "fom-v1"
MAIN = "main"

# Tree of the trainer keys a profile accepts. Only the parts the product can send are spelled
# out; a key outside the tree is refused before anything runs, as Metta's ``extra="forbid"``
# models would refuse it when a trial starts. A leaf is the field's type as the model declares it
# (a kind of hwscale_tui/metta/fields.py: "bool", "int", "float", "float?" for ``float | None``,
# or a Literal's values as a tuple): a trial applies each key with ``Config.override``, which
# validates the value with ``TypeAdapter(field.annotation)`` (base_config.py:98 at 7c1a7ff418,
# :136 at a8d1ecee19), so a value of another type fails every trial at its start.
Tree = Mapping[str, Any]
_BOOL, _INT, _FLOAT = "bool", "int", "float"
_COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")

# TrainerConfig's scalar fields both pinned commits declare alike (trainer_config.py at each; see
# the trees below for the lines)
_TRAINER_SCALARS: Tree = {
    "require_contiguous_env_ids": _BOOL,
    "verbose": _BOOL,
    "batch_size": _INT,
    "minibatch_size": _INT,
    "bptt_horizon": _INT,
    "update_epochs": _INT,
    "scale_batches_by_world_size": _BOOL,
    "compile": _BOOL,
    "compile_mode": _COMPILE_MODES,
}

# TrainerConfig at 7c1a7ff418: metta/rl/trainer_config.py:10-21 (OptimizerConfig), :47-62
# (TrainerConfig); trainer.losses is LossConfig (metta/rl/loss/loss_config.py:19-27) whose
# loss_configs dict holds {"ppo": PPOConfig()} (:35); PPOConfig: metta/rl/loss/ppo.py:31-60.
_FOM_V1_PPO: Tree = {
    **dict.fromkeys(
        (
            "clip_coef",
            "ent_coef",
            "gae_lambda",
            "gamma",
            "max_grad_norm",
            "vf_clip_coef",
            "vf_coef",
            "l2_reg_loss_coef",
            "l2_init_loss_coef",
        ),
        _FLOAT,
    ),
    "norm_adv": _BOOL,
    "clip_vloss": _BOOL,
    "target_kl": "float?",
}
_FOM_V1_TRAINER: Tree = {
    "total_timesteps": _INT,
    "losses": {
        "loss_configs": {"ppo": _FOM_V1_PPO},
        "enable_contrastive": _BOOL,
        "contrastive_temperature": _FLOAT,
        "contrastive_coef": _FLOAT,
        "contrastive_embedding_dim": _INT,
        "contrastive_use_projection_head": _BOOL,
    },
    "optimizer": {
        "type": ("adam", "muon"),
        **dict.fromkeys(("learning_rate", "beta1", "beta2", "eps", "weight_decay"), _FLOAT),
    },
    **_TRAINER_SCALARS,
}

# TrainerConfig at a8d1ecee19: metta/rl/trainer_config.py:11-25 (OptimizerConfig), :42-50
# (AdvantageConfig), :76-94 (TrainerConfig); LossesConfig: metta/rl/loss/losses.py:33-56 (ppo_actor,
# ppo_critic at :55-56); ``enabled`` is LossConfig's (metta/rl/loss/loss.py:110-111); PPOActorConfig:
# metta/rl/loss/ppo_actor.py:16-27; PPOCriticConfig: metta/rl/loss/ppo_critic.py:17-25.
_MAIN_TRAINER: Tree = {
    "total_timesteps": _INT,
    "losses": {
        "ppo_actor": {
            "enabled": _BOOL,
            "clip_coef": _FLOAT,
            "ent_coef": _FLOAT,
            "norm_adv": _BOOL,
            "target_kl": "float?",
        },
        "ppo_critic": {
            "enabled": _BOOL,
            "vf_clip_coef": _FLOAT,
            "vf_coef": _FLOAT,
            "clip_vloss": _BOOL,
            "critic_update": ("mse", "gtd_lambda"),
            "aux_coef": _FLOAT,
            "beta": _FLOAT,
            "teacher_offpolicy_rho_clip": _FLOAT,
        },
    },
    "optimizer": {
        "type": ("adam", "muon", "adamw_schedulefree", "sgd_schedulefree"),
        **dict.fromkeys(
            ("learning_rate", "beta1", "beta2", "eps", "weight_decay", "momentum"), _FLOAT
        ),
        "warmup_steps": _INT,
    },
    "advantage": dict.fromkeys(("vtrace_rho_clip", "vtrace_c_clip", "gamma", "gae_lambda"), _FLOAT),
    **_TRAINER_SCALARS,
    "detect_anomaly": _BOOL,
}

# SweepTool fields (what run_tool.get_tool_fields returns: the model's fields, Tool's ``system``
# included). 7c1a7ff418: metta/tools/sweep.py:113-167 + common/src/metta/common/tool/tool.py:27.
_FOM_V1_FIELDS = frozenset(
    (
        "system",
        "sweep_name",
        "sweep_dir",
        "protein_config",
        "max_trials",
        "batch_size",
        "recipe_module",
        "train_entrypoint",
        "eval_entrypoint",
        "scheduler_type",
        "max_concurrent_evals",
        "liar_strategy",
        "max_parallel_jobs",
        "monitoring_interval",
        "sweep_server_uri",
        "gpus",
        "nodes",
        "local_test",
        "force_eval",
        "train_overrides",
        "eval_overrides",
        "wandb",
        "stats_server_uri",
        "dispatcher_type",
        "capture_output",
    )
)
# a8d1ecee19: metta/tools/sweep.py:115-178 + common/src/metta/common/tool/tool.py:31.
_MAIN_FIELDS = frozenset(
    (
        "system",
        "sweep_name",
        "sweep_dir",
        "search_space",
        "protein_metric",
        "protein_goal",
        "protein_method",
        "protein_settings",
        "max_trials",
        "batch_size",
        "recipe_module",
        "train_entrypoint",
        "eval_entrypoint",
        "scheduler_type",
        "max_concurrent_evals",
        "liar_strategy",
        "max_parallel_jobs",
        "monitoring_interval",
        "sweep_server_uri",
        "gpus",
        "nodes",
        "local_test",
        "force_eval",
        "eval_overrides",
        "wandb",
        "stats_server_uri",
        "dispatcher_type",
        "capture_output",
        "grid_parameters",
        "grid_metric",
        "cost_key",
    )
)

# ProteinSettings fields and defaults, the same at both commits:
# 7c1a7ff418 metta/sweep/protein_config.py:71-91, a8d1ecee19 metta/sweep/protein_config.py:16-36.
PROTEIN_SETTINGS_DEFAULTS: dict[str, Any] = {
    "max_suggestion_cost": 10800,
    "global_search_scale": 1.0,
    "random_suggestions": 15,
    "suggestions_per_pareto": 256,
    "resample_frequency": 10,
    "num_random_samples": 0,
    "seed_with_search_center": True,
    "expansion_rate": 0.25,
    "acquisition_fn": "naive",
    "ucb_beta": 2.0,
    "randomize_acquisition": False,
}

# What the experiment's optimized config sets on top of those defaults
# (experiments/adaptive/hardware_scaling/optimized_sweep_config.py:148-160 at 7c1a7ff418).
OPTIMIZED_SETTINGS: dict[str, Any] = {
    **PROTEIN_SETTINGS_DEFAULTS,
    "num_random_samples": 0,
    "seed_with_search_center": True,
    "global_search_scale": 1.0,
    "max_suggestion_cost": 10800,
    "resample_frequency": 5,
    "random_suggestions": 256,
    "suggestions_per_pareto": 128,
}

# (canonical name, distribution, min, max, mean): optimized_sweep_config.py:103-146 at 7c1a7ff418.
OPTIMIZED_PARAMS: tuple[tuple[str, str, float, float, float], ...] = (
    ("learning_rate", "log_normal", 5.768185e-4, 2.307274e-3, 0.001153637),
    ("clip_coef", "uniform", 0.15, 0.30, 0.24),
    ("vf_clip_coef", "uniform", 0.10, 0.30, 0.20),
    ("gae_lambda", "uniform", 0.90, 0.97, 0.94),
    ("ent_coef", "log_normal", 0.001, 0.03, 0.01),
    ("vf_coef", "uniform", 0.5, 1.2, 0.9),
)


@dataclass(frozen=True)
class MettaProfile:
    name: str
    commit: str
    tool: str  # tool maker path given to tools/run.py
    recipe_module: str
    eval_entrypoint: str
    tool_params: tuple[str, ...]  # the tool maker's parameters, in order
    tool_fields: frozenset[str]  # the returned SweepTool's fields
    keys: Mapping[str, str]  # canonical name -> dotted trainer key
    trainer_tree: Tree
    # "fixed": the tool maker builds the space itself (nothing can change it from outside);
    # "argument": the space travels as search_space=<JSON> to the tool maker.
    space_via: str
    installs_tool: bool  # the tool maker is ours (hwscale-tui metta install-tool)
    # How the tool maker counts CPUs for the batch bounds: "controller" (os.cpu_count() of the
    # machine running the sweep, optimized_sweep_config.py:46) or "node" (grid.cpus_per_node).
    cpu_source: str
    trainer_overrides: str  # how extra trainer.* keys travel: "train_overrides" or "search_space"
    # Trainer keys the profile pins as fixed values in search_space=<JSON> (a user's
    # ``trainer.<key>=`` extra replaces them); empty when the space is not sent.
    fixed_trainer: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The trainer's batch_size when a trial applies the sweep's fixed overrides: TrainerConfig's
    # default, which the recipe's train() keeps; the trial's suggested batch_size comes after them
    # (merged_overrides = train/base overrides, then the suggestion).
    batch_before_suggestion: int = 0
    # TrainerConfig's bptt_horizon default, what a trial uses when nothing sends one (0: the
    # profile pins it, fixed_trainer)
    bptt_default: int = 0

    @property
    def space_editable(self) -> bool:
        return self.space_via == "argument"

    def accepts_trainer_key(self, key: str) -> bool:
        return self.trainer_type(key) is not None

    def trainer_type(self, key: str) -> str | tuple[str, ...] | None:
        """The declared type of trainer key ``key`` (a leaf of the tree), None when no such key."""
        return (
            tree_leaf(self.trainer_tree, key.split(".")[1:]) if key.startswith("trainer.") else None
        )


def tree_leaf(tree: Tree, parts: list[str]) -> str | tuple[str, ...] | None:
    """The leaf at ``parts`` (a field's type), or None when the path is no leaf of ``tree``."""
    node: Any = tree
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return None if isinstance(node, Mapping) else node


def tree_has(tree: Tree, parts: list[str]) -> bool:
    return tree_leaf(tree, parts) is not None


PROFILES: dict[str, MettaProfile] = {
    FOM_V1: MettaProfile(
        name=FOM_V1,
        commit="7c1a7ff418",
        tool="experiments.adaptive.hardware_scaling.hw_sweep",
        recipe_module="experiments.recipes.arena_basic_easy_shaped",
        eval_entrypoint="evaluate_in_sweep",
        # experiments/adaptive/hardware_scaling/hw_sweep.py:18-27
        tool_params=(
            "gpus",
            "nodes",
            "recipe_module",
            "train_entrypoint",
            "eval_entrypoint",
            "total_timesteps",
            "protein_metric_path",
        ),
        tool_fields=_FOM_V1_FIELDS,
        keys={
            "batch_size": "trainer.batch_size",
            "learning_rate": "trainer.optimizer.learning_rate",
            "clip_coef": "trainer.losses.loss_configs.ppo.clip_coef",
            "vf_clip_coef": "trainer.losses.loss_configs.ppo.vf_clip_coef",
            "gae_lambda": "trainer.losses.loss_configs.ppo.gae_lambda",
            "ent_coef": "trainer.losses.loss_configs.ppo.ent_coef",
            "vf_coef": "trainer.losses.loss_configs.ppo.vf_coef",
        },
        trainer_tree=_FOM_V1_TRAINER,
        space_via="fixed",
        installs_tool=False,
        cpu_source="controller",
        trainer_overrides="train_overrides",
        # metta/rl/trainer_config.py:55; experiments/recipes/arena_basic_easy_shaped.py:113-115
        # (TrainerConfig(losses=LossConfig())); metta/sweep/schedulers/async_capped.py:284-285
        batch_before_suggestion=524_288,
        bptt_default=64,  # metta/rl/trainer_config.py:57
    ),
    MAIN: MettaProfile(
        name=MAIN,
        commit="a8d1ecee19",
        tool="recipes.experiment.hwscale_sweep.hw_sweep",
        recipe_module="recipes.prod.arena_basic_easy_shaped",
        eval_entrypoint="evaluate_in_sweep",
        tool_params=(
            "gpus",
            "nodes",
            "recipe_module",
            "train_entrypoint",
            "eval_entrypoint",
            "total_timesteps",
            "protein_metric_path",
            "search_space",
        ),
        tool_fields=_MAIN_FIELDS,
        keys={
            "batch_size": "trainer.batch_size",
            "learning_rate": "trainer.optimizer.learning_rate",
            "clip_coef": "trainer.losses.ppo_actor.clip_coef",
            "vf_clip_coef": "trainer.losses.ppo_critic.vf_clip_coef",
            "gae_lambda": "trainer.advantage.gae_lambda",
            "ent_coef": "trainer.losses.ppo_actor.ent_coef",
            "vf_coef": "trainer.losses.ppo_critic.vf_coef",
        },
        trainer_tree=_MAIN_TRAINER,
        space_via="argument",
        installs_tool=True,
        cpu_source="node",
        trainer_overrides="search_space",
        # The batch bounds assume a 64-step BPTT horizon (optimized_sweep_config.py:58-64 with
        # hw_sweep.py:60 at 7c1a7ff418, whose TrainerConfig default is 64, trainer_config.py:57).
        # At a8d1ecee19 the default is 256 (metta/rl/trainer_config.py:88), and a trial fails at
        # start unless batch_size // bptt_horizon >= the rank's agents
        # (metta/rl/training/experience.py:41-49), up to 8,160 (num_envs x 24 agents:
        # metta/rl/trainer.py:78-83, metta/rl/training/batch.py:13-19); at 256 every batch below
        # 2^21 fails, the center of a 1-GPU pair's range (2^20) included. 64 keeps the
        # experiment's horizon and fits Metta's default minibatch_size 16384 (experience.py:61-83).
        fixed_trainer={"trainer.bptt_horizon": 64},
        # metta/rl/trainer_config.py:86; recipes/prod/arena_basic_easy_shaped.py:111
        # (TrainerConfig()); metta/sweep/schedulers/async_capped.py:182-183
        batch_before_suggestion=2_097_152,
    ),
}
assert tuple(PROFILES) == tuple(p for p in METTA_PROFILES if p != "auto")


def tool_file(repo: Path, tool: str) -> Path | None:
    """Where ``tool`` (``pkg.module.function``) lives in a checkout, or None if absent.

    ``tools/run.py`` imports the module ``pkg.module`` and takes ``function`` from it
    (common/src/metta/common/tool/tool_path.py:24-52, ``path.rsplit(".", 1)``), so only that
    module counts: a parent package such as ``recipes/experiment/__init__.py``, which every
    Metta main checkout has, does not hold the tool.
    """
    module, sep, _ = tool.rpartition(".")
    if not sep or not module:
        return None
    mod = repo.joinpath(*module.split("."))
    for candidate in (mod.with_suffix(".py"), mod / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def detect_profile(repo: Path) -> str | None:
    """The profile a checkout looks like, or None when it looks like neither."""
    if (repo / "experiments" / "adaptive" / "hardware_scaling" / "hw_sweep.py").is_file():
        return FOM_V1
    if (repo / "recipes" / "prod" / "arena_basic_easy_shaped.py").is_file():
        return MAIN
    return None


@dataclass(frozen=True)
class Resolved:
    profile: MettaProfile
    how: str  # "set", "detected", "default", "key_profile"


def resolve_profile(cfg: Any) -> Resolved:
    """The profile an experiment uses: ``metta.profile`` when set, else detected from the checkout."""
    name = cfg.metta.profile
    if name != "auto":
        return Resolved(PROFILES[name], "set")
    if cfg.metta.repo:
        found = detect_profile(Path(cfg.metta.repo).expanduser())
        if found:
            return Resolved(PROFILES[found], "detected")
    return Resolved(PROFILES[FOM_V1], "default")


def controller_cpus() -> int:
    """What ``os.cpu_count() or 8`` gives on this machine (optimized_sweep_config.py:46)."""
    return os.cpu_count() or 8
