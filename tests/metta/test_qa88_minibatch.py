"""A trainer.minibatch_size extra that fails every trial at its start is refused.

Before, ``trainer.minibatch_size=3000`` (or 1048576 under fom-v1) passed plan and launch, and
every trial of every pair failed: TrainerConfig validates every assignment
(validate_assignment, metta/rl/trainer_config.py:70-74 at 7c1a7ff418, :102-106 at a8d1ecee19)
with minibatch_size <= batch_size and batch_size % minibatch_size == 0 (:76-82, :108-113), and a
trial applies the sweep's fixed overrides before its suggested batch_size (merged_overrides =
train_overrides, then the suggestion: metta/sweep/schedulers/async_capped.py:284-285 at
7c1a7ff418; base_overrides, then the suggestion, :182-183 at a8d1ecee19), so the minibatch is
checked against TrainerConfig's default batch_size, which the recipes' train() keep
(experiments/recipes/arena_basic_easy_shaped.py:113-115: 524,288, trainer_config.py:55;
recipes/prod/arena_basic_easy_shaped.py:111: 2,097,152, trainer_config.py:86).
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout


class _Trainer(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", validate_assignment=True)
    batch_size: int = Field(default=524288, gt=0)
    minibatch_size: int = Field(default=16384, gt=0)

    @model_validator(mode="after")
    def validate_fields(self) -> _Trainer:  # trainer_config.py:76-82 / :108-113
        if self.minibatch_size > self.batch_size:
            raise ValueError("minibatch_size must be <= batch_size")
        if self.batch_size % self.minibatch_size != 0:
            raise ValueError("batch_size must be divisible by minibatch_size")
        return self


DEFAULT_BATCH = {"fom-v1": 524_288, "main": 2_097_152}


def every_trial_fails(profile: str, minibatch: int) -> bool:
    t = _Trainer(batch_size=DEFAULT_BATCH[profile])
    try:
        t.minibatch_size = minibatch  # the fixed override, before the suggestion's batch_size
    except ValueError:
        return True
    return False


def _cfg(repo, profile):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {"wandb.entity": "team", "metta.repo": str(repo), "metta.profile": profile},
    )


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_a_minibatch_every_trial_refuses_is_refused_and_one_it_takes_is_sent(tmp_path, profile):
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        install_tool(repo)
    cfg = _cfg(repo, profile)
    wrong = []
    for m in (1, 64, 3000, 8192, 16384, 24576, 524_288, 1_048_576, 2_097_152, 4_194_304):
        tok = f"trainer.minibatch_size={m}"
        try:
            plan = plan_experiment(cfg, tmp_path / "e.toml", [tok])
            took, why = True, ""
        except UsageError as e:
            took, why = False, str(e)
        # fom-v1 also refuses what its experience buffer refuses at the horizon 64 (below)
        fails = every_trial_fails(profile, m) or (profile == "fom-v1" and experience_refuses(m, 64))
        if took == fails:
            wrong.append((tok, why))
        elif not took:
            assert f"a power of two up to {DEFAULT_BATCH[profile]:,}" in why or (
                f"a power of two from 64 up to {DEFAULT_BATCH[profile]:,}" in why
            ), why
            assert why.endswith(".") and ". " not in why, why
        else:
            sent = " ".join(plan.pairs[0].argv)
            assert f'"trainer.minibatch_size":{m}' in sent, sent
    assert not wrong, wrong


# -- main: a minibatch every trial takes at the default batch can still break searched batches --


def _main_plan(tmp_path, extra):
    from tests.metta.test_metta_pinned_keys import _main_cfg

    repo, cfg = _main_cfg(tmp_path, extra)
    return repo, plan_experiment(cfg, tmp_path / "e.toml")


@pytest.mark.parametrize("minibatch", [1_048_576, 2_097_152, 32, 8192, 16384])
def test_main_names_the_searched_batches_a_minibatch_extra_breaks(tmp_path, minibatch):
    """The stand-in's trial checks (tests/metta/standin.py trial_batch_error: TrainerConfig's
    validator and the experience buffer at a8d1ecee19) decide which batches break; before, a
    minibatch extra without a horizon extra was not checked against them at all."""
    import json

    from tests.metta.standin import run_standin, trial_batch_error

    tok = f"trainer.minibatch_size={minibatch}"
    repo, plan = _main_plan(tmp_path, [tok])
    broken = {}
    for pp in plan.pairs:
        r = run_standin(repo, pp.argv)
        assert r.returncode == 0, r.stderr
        space = json.loads(r.stdout)["state"]["search_space"]
        lo, hi, b = space["trainer.batch_size"]["min"], space["trainer.batch_size"]["max"], 1
        bad = []
        while b <= hi:
            t = {"batch_size": b, "bptt_horizon": 64}
            if (
                b >= lo
                and trial_batch_error("main", {**t, "minibatch_size": minibatch}, 8, pp.pair.gpus)
                and not trial_batch_error("main", t, 8, pp.pair.gpus)
            ):
                bad.append(b)
            b *= 2
        if bad:
            broken[pp.pair.tag] = bad
    said = [w for w in plan.warnings if w.startswith(f"extra argument {tok!r} sets ")]
    assert bool(said) == bool(broken), (said, broken)
    if said:
        (w,) = said
        for tag, bad in broken.items():
            assert f"{tag} {bad[0]:,}" in w, w
        assert w.endswith("or no trainer.minibatch_size extra (Metta's 16,384)") and ". " not in w
    assert minibatch not in (1_048_576, 32) or broken  # the list has both outcomes


def test_with_a_horizon_extra_too_the_minibatch_s_broken_batches_are_named(tmp_path):
    """The horizon's sentence left out batches that the pinned horizon also failed with the
    user's minibatch: with bptt 128 and minibatch 1,048,576 it said every batch still fits."""
    _, plan = _main_plan(tmp_path, ["trainer.minibatch_size=1048576", "trainer.bptt_horizon=128"])
    (w,) = [w for w in plan.warnings if "replaces trainer.bptt_horizon = 64" in w]
    assert "these searched batches fail at trial start: g1n1 524,288 (1 of 4; " in w, w


# -- fom-v1: the experience buffer's whole-segment rule, whatever the batch ---------------------


def experience_refuses(minibatch: int, bptt: int) -> bool:
    """metta/rl/training/experience.py:53-59 at 7c1a7ff418, with max_minibatch_size the
    trainer's own minibatch_size (metta/rl/trainer.py:83): min() leaves it as it is."""
    size = min(minibatch, minibatch)
    return int(size / bptt) != size / bptt


@pytest.mark.parametrize(
    "extras",
    [
        ["trainer.bptt_horizon=96"],
        ["trainer.bptt_horizon=128"],
        ["trainer.bptt_horizon=32768"],
        ["trainer.minibatch_size=32"],
        ["trainer.minibatch_size=64"],
        ["trainer.minibatch_size=8192", "trainer.bptt_horizon=16384"],
        ["trainer.bptt_horizon=1024", "trainer.minibatch_size=2048"],
    ],
)
def test_fom_v1_refuses_a_minibatch_and_horizon_no_trial_can_split(tmp_path, extras):
    """Before, trainer.bptt_horizon=96 (16,384 is no multiple of it) or trainer.minibatch_size=32
    (below TrainerConfig's horizon 64, trainer_config.py:57) passed plan and launch under fom-v1,
    and every trial failed at its start."""
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    given = dict(t.split("=") for t in extras)
    minibatch = int(given.get("trainer.minibatch_size", 16384))
    bptt = int(given.get("trainer.bptt_horizon", 64))
    try:
        plan_experiment(_cfg(repo, "fom-v1"), tmp_path / "e.toml", extras)
        took, why = True, ""
    except UsageError as e:
        took, why = False, str(e)
    assert took != experience_refuses(minibatch, bptt), why
    if not took:
        assert "so every trial would fail to start; accepted: " in why, why
        assert why.endswith(".") and ". " not in why, why
