"""A forwarded trainer key's value is checked against the type Metta's model declares for it.

Before, only the positive-integer keys were checked, so ``trainer.compile=maybe``,
``trainer.optimizer.type=sgd`` or ``trainer.losses.loss_configs.ppo.target_kl=x`` passed plan and
launch, and every trial of every pair failed at its start: a trial applies each key with
``Config.override``, which validates the value with ``TypeAdapter(field.annotation)``
(packages/mettagrid/python/src/mettagrid/base_config.py:98 at 7c1a7ff418, :136 at a8d1ecee19),
after the sweep wrote it into the trial's command as ``f"{k}={v}"``
(metta/adaptive/dispatcher/skypilot.py:47, local.py:85-89 at 7c1a7ff418; :45-46, :86-89 at
a8d1ecee19) and ``tools/run.py`` parsed it again (run_tool.py:88-119; :84-115).

The models below are typed in from Metta-AI/metta, independently of hwscale_tui/metta/profiles.py:
7c1a7ff418 metta/rl/trainer_config.py:10-21 (OptimizerConfig), :47-74 (TrainerConfig,
validate_assignment), metta/rl/loss/loss_config.py:19-35 (LossConfig, loss_configs {"ppo": ...}),
metta/rl/loss/ppo.py:31-60 (PPOConfig); a8d1ecee19 trainer_config.py:11-25, :42-50
(AdvantageConfig), :76-106, metta/rl/loss/losses.py:55-56, loss.py:110-111 (enabled),
ppo_actor.py:16-27, ppo_critic.py:17-25.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pytest
from pydantic import ConfigDict, Field, TypeAdapter

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout
from tests.metta.upstream_replica import Config, parse_value

# -- 7c1a7ff418 --------------------------------------------------------------------------------


class PPOFom(Config):
    clip_coef: float = Field(default=0.264407, gt=0, le=1.0)
    ent_coef: float = Field(default=0.01, ge=0)
    gae_lambda: float = Field(default=0.891477, ge=0, le=1.0)
    gamma: float = Field(default=0.977, ge=0, le=1.0)
    max_grad_norm: float = Field(default=0.5, gt=0)
    vf_clip_coef: float = Field(default=0.1, ge=0)
    vf_coef: float = Field(default=0.897619, ge=0)
    l2_reg_loss_coef: float = Field(default=0, ge=0)
    l2_init_loss_coef: float = Field(default=0, ge=0)
    norm_adv: bool = True
    clip_vloss: bool = True
    target_kl: float | None = None


class LossFom(Config):
    loss_configs: dict[str, Any] = Field(default_factory=lambda: {"ppo": PPOFom()})
    enable_contrastive: bool = False
    contrastive_temperature: float = Field(default=0.07, gt=0)
    contrastive_coef: float = Field(default=0.1, ge=0)
    contrastive_embedding_dim: int = Field(default=128, gt=0)
    contrastive_use_projection_head: bool = True


class OptimizerFom(Config):
    type: Literal["adam", "muon"] = "adam"
    learning_rate: float = Field(default=0.001153637, gt=0, le=1.0)
    beta1: float = Field(default=0.9, ge=0, le=1.0)
    beta2: float = Field(default=0.999, ge=0, le=1.0)
    eps: float = Field(default=3.186531e-07, gt=0)
    weight_decay: float = Field(default=0, ge=0)


class TrainerFom(Config):
    total_timesteps: int = Field(default=50_000_000_000, gt=0)
    losses: LossFom = Field(default_factory=LossFom)
    optimizer: OptimizerFom = Field(default_factory=OptimizerFom)
    require_contiguous_env_ids: bool = False
    verbose: bool = True
    batch_size: int = Field(default=524288, gt=0)
    minibatch_size: int = Field(default=16384, gt=0)
    bptt_horizon: int = Field(default=64, gt=0)
    update_epochs: int = Field(default=1, gt=0)
    scale_batches_by_world_size: bool = False
    compile: bool = False
    compile_mode: Literal["default", "reduce-overhead", "max-autotune"] = "reduce-overhead"
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", validate_assignment=True)


# -- a8d1ecee19 --------------------------------------------------------------------------------


class PPOActorMain(Config):
    enabled: bool = True
    clip_coef: float = Field(default=0.22, gt=0, le=1.0)
    ent_coef: float = Field(default=0.01, ge=0)
    norm_adv: bool = True
    target_kl: float | None = None


class PPOCriticMain(Config):
    enabled: bool = True
    vf_clip_coef: float = Field(default=0.1, ge=0)
    vf_coef: float = Field(default=0.4966, ge=0)
    clip_vloss: bool = True
    critic_update: Literal["mse", "gtd_lambda"] = "gtd_lambda"
    aux_coef: float = Field(default=1.0, ge=0)
    beta: float = Field(default=1.0, ge=0)
    teacher_offpolicy_rho_clip: float = Field(default=1.0, gt=0)


class LossesMain(Config):
    ppo_actor: PPOActorMain = Field(default_factory=PPOActorMain)
    ppo_critic: PPOCriticMain = Field(default_factory=PPOCriticMain)


class OptimizerMain(Config):
    type: Literal["adam", "muon", "adamw_schedulefree", "sgd_schedulefree"] = "adamw_schedulefree"
    learning_rate: float = Field(default=0.0074, gt=0, le=1.0)
    beta1: float = Field(default=0.9, ge=0, le=1.0)
    beta2: float = Field(default=0.999, ge=0, le=1.0)
    eps: float = Field(default=5.08e-07, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    momentum: float = Field(default=0.9, ge=0, le=1.0)
    warmup_steps: int = Field(default=1000, ge=0)


class AdvantageMain(Config):
    vtrace_rho_clip: float = Field(default=1.0, gt=0)
    vtrace_c_clip: float = Field(default=1.0, gt=0)
    gamma: float = Field(default=1.0, ge=0, le=1.0)
    gae_lambda: float = Field(default=0.95, ge=0, le=1.0)


class TrainerMain(Config):
    total_timesteps: int = Field(default=10_000_000_000, gt=0)
    losses: LossesMain = Field(default_factory=LossesMain)
    optimizer: OptimizerMain = Field(default_factory=OptimizerMain)
    advantage: AdvantageMain = Field(default_factory=AdvantageMain)
    require_contiguous_env_ids: bool = False
    verbose: bool = True
    batch_size: int = Field(default=2_097_152, gt=0)
    minibatch_size: int = Field(default=16384, gt=0)
    bptt_horizon: int = Field(default=256, gt=0)
    update_epochs: int = Field(default=1, gt=0)
    scale_batches_by_world_size: bool = False
    compile: bool = False
    compile_mode: Literal["default", "reduce-overhead", "max-autotune"] = "reduce-overhead"
    detect_anomaly: bool = False
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", validate_assignment=True)


TRAINERS = {"fom-v1": TrainerFom, "main": TrainerMain}


def trial_takes(profile: str, tok: str) -> bool:
    """A trial's Config.override of ``tok`` on its TrainerConfig (base_config.py:42-101), with the
    value as the trial's command carries it: f"{k}={v}" of what the sweep held, parsed again."""
    key, _, raw = tok.partition("=")
    value = parse_value(f"{parse_value(raw)}")
    path = key.split(".")[1:]
    inner: Any = TRAINERS[profile]()
    try:
        for part in path[:-1]:
            inner = inner[part] if isinstance(inner, dict) else getattr(inner, part)
        field = type(inner).model_fields[path[-1]]
        setattr(inner, path[-1], TypeAdapter(field.annotation).validate_python(value))
    except Exception:
        return False
    return True


COMMON = [
    "trainer.compile=maybe",
    "trainer.compile=true",
    "trainer.compile=yes",
    "trainer.compile=1",
    "trainer.compile=2",
    "trainer.compile=none",
    "trainer.compile_mode=default",
    "trainer.compile_mode=max-autotune",
    "trainer.compile_mode=fast",
    "trainer.compile_mode=1",
    "trainer.verbose=no",
    "trainer.verbose=quiet",
    "trainer.require_contiguous_env_ids=off",
    "trainer.scale_batches_by_world_size=sometimes",
    "trainer.optimizer.type=adam",
    "trainer.optimizer.type=muon",
    "trainer.optimizer.type=Adam",
    "trainer.optimizer.type=sgd",
    "trainer.optimizer.type=adamw_schedulefree",
    "trainer.optimizer.beta1=0.8",
    "trainer.optimizer.beta1=x",
    "trainer.optimizer.beta2=1",
    "trainer.optimizer.eps=none",
    "trainer.optimizer.weight_decay=true",
    "trainer.update_epochs=2",
    "trainer.bptt_horizon=32",
]
EXTRAS = {
    "fom-v1": COMMON
    + [
        "trainer.losses.loss_configs.ppo.target_kl=none",
        "trainer.losses.loss_configs.ppo.target_kl=0.02",
        "trainer.losses.loss_configs.ppo.target_kl=x",
        "trainer.losses.loss_configs.ppo.norm_adv=false",
        "trainer.losses.loss_configs.ppo.norm_adv=sometimes",
        "trainer.losses.loss_configs.ppo.gamma=0.99",
        "trainer.losses.loss_configs.ppo.gamma=high",
        "trainer.losses.loss_configs.ppo.max_grad_norm=[1]",
        "trainer.losses.loss_configs.ppo.clip_vloss=0",
        "trainer.losses.enable_contrastive=on",
        "trainer.losses.enable_contrastive=maybe",
        "trainer.losses.contrastive_embedding_dim=64",
        "trainer.losses.contrastive_embedding_dim=64.5",
        "trainer.losses.contrastive_temperature=warm",
    ],
    "main": COMMON
    + [
        "trainer.optimizer.type=sgd_schedulefree",
        "trainer.optimizer.warmup_steps=10",
        "trainer.optimizer.warmup_steps=1.5",
        "trainer.optimizer.momentum=x",
        "trainer.losses.ppo_actor.target_kl=none",
        "trainer.losses.ppo_actor.target_kl=x",
        "trainer.losses.ppo_actor.enabled=maybe",
        "trainer.losses.ppo_actor.norm_adv=false",
        "trainer.losses.ppo_critic.critic_update=mse",
        "trainer.losses.ppo_critic.critic_update=huber",
        "trainer.losses.ppo_critic.clip_vloss=n",
        "trainer.losses.ppo_critic.beta=x",
        "trainer.advantage.gamma=0.99",
        "trainer.advantage.gamma=x",
        "trainer.advantage.vtrace_rho_clip=none",
        "trainer.detect_anomaly=true",
        "trainer.detect_anomaly=x",
    ],
}


def _cfg(repo, profile):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {"wandb.entity": "team", "metta.repo": str(repo), "metta.profile": profile},
    )


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_trainer_values_are_refused_exactly_as_metta_s_models_refuse_them(tmp_path, profile):
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        install_tool(repo)
    cfg = _cfg(repo, profile)
    wrong = []
    for tok in EXTRAS[profile]:
        upstream = trial_takes(profile, tok)
        try:
            plan_experiment(cfg, tmp_path / "e.toml", [tok])
            took, why = True, ""
        except UsageError as e:
            took, why = False, str(e)
        if took != upstream:
            wrong.append((tok, "Metta takes it" if upstream else "Metta refuses it", why))
        elif not took:
            assert why.startswith(f"extra argument {tok!r}: ") and "; accepted" in why, why
            assert why.endswith(".") and ". " not in why, why
    assert not wrong, wrong
    assert {trial_takes(profile, t) for t in EXTRAS[profile]} == {True, False}


def test_the_refusal_says_what_the_key_takes(tmp_path):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    cfg = _cfg(repo, "fom-v1")
    with pytest.raises(UsageError) as e:
        plan_experiment(cfg, tmp_path / "e.toml", ["trainer.compile=maybe"])
    assert str(e.value) == (
        "extra argument 'trainer.compile=maybe': Metta fom-v1's TrainerConfig refuses 'maybe' for "
        "trainer.compile, a bool, so every trial would fail to start; accepted for "
        "trainer.compile: true or false (or 1/0, yes/no, on/off), or no trainer.compile extra "
        "(Metta's default)."
    )
    with pytest.raises(UsageError) as e:
        plan_experiment(cfg, tmp_path / "e.toml", ["trainer.optimizer.type=sgd"])
    assert "accepted for trainer.optimizer.type: one of adam, muon, or no " in str(e.value)
