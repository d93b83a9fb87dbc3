"""A W&B project or entity that ``tools/run.py`` would not read as a string (a project named
``2025``) still reaches Metta's ``WandbConfig`` as that string.

``tools/run.py`` reads ``wandb.project=2025`` as the int 2025 (``parse_value``, run_tool.py:88-119
at 7c1a7ff418) and ``Config.override`` validates it against ``WandbConfig.project: str``
(``TypeAdapter(field.annotation).validate_python``, mettagrid base_config.py:98 at 7c1a7ff418,
:136 at a8d1ecee19; common/src/metta/common/wandb/context.py:16-19): pydantic refuses an int for a
``str`` field, so every pair's sweep exited 1 ("Error applying override wandb.project=2025").
The test applies the planned command's ``wandb`` overrides the way ``Config.override`` does, to a
copy of upstream's ``WandbConfig``, with pydantic itself.
"""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.command import parse_value
from tests.metta.standin import make_checkout, run_standin


class WandbConfig(BaseModel):  # context.py:16-26 at 7c1a7ff418 (a8d1ecee19: without `name`)
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    project: str
    entity: str
    group: str | None = None
    run_id: str | None = None
    data_dir: str | None = None
    job_type: str | None = None
    tags: list[str] = []
    notes: str = ""


UNCONFIGURED = WandbConfig(enabled=False, project="unconfigured", entity="unconfigured")


def sweep_tool_wandb(argv: list[str]) -> WandbConfig:
    """``SweepTool.wandb`` after tools/run.py applied the command's ``wandb`` overrides in order
    (run_tool.py:720-730), each as ``Config.override`` does: a dotted key validates the value
    against the field's type, the whole field against ``WandbConfig``."""
    wandb = UNCONFIGURED.model_copy()
    for tok in argv[4:]:
        key, raw = tok.split("=", 1)
        value = parse_value(raw)
        if key == "wandb":
            wandb = TypeAdapter(WandbConfig).validate_python(value)
        elif key.startswith("wandb."):
            name = key.split(".", 1)[1]
            field = WandbConfig.model_fields[name]
            setattr(wandb, name, TypeAdapter(field.annotation).validate_python(value))
    return wandb


def _cfg(repo, profile, **over):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {
            "wandb.entity": "team",
            "metta.repo": str(repo),
            "metta.profile": profile,
            "grid.gpu_counts": [1, 2],
            "grid.node_counts": [1],
            **over,
        },
    )


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
@pytest.mark.parametrize(
    ("entity", "project"),
    [("team", "2025"), ("team", "true"), ("1234", "null"), ("team", "1e5"), ("team", "nan")],
)
def test_a_project_or_entity_that_reads_as_a_number_still_reaches_metta_as_a_string(
    tmp_path, profile, entity, project
):
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        from hwscale_tui.metta.install import install_tool

        install_tool(repo)
    cfg = _cfg(repo, profile, **{"wandb.entity": entity, "wandb.project": project})
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    assert len(plan.pairs) == 2
    for pp in plan.pairs:
        try:
            wandb = sweep_tool_wandb(pp.argv)
        except ValidationError as e:  # what Metta's tools/run.py exits 1 with
            pytest.fail(f"Metta refuses {pp.pair.tag}'s wandb overrides: {e.errors()[0]['msg']}")
        # the same config the dotted keys give a plain name: only entity and project set
        assert wandb == WandbConfig(enabled=False, project=project, entity=entity)
        assert wandb != UNCONFIGURED  # so Metta's auto-config does not replace it
        assert run_standin(repo, pp.argv).returncode == 0


def test_a_plain_name_is_still_sent_as_dotted_keys(tmp_path):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    plan = plan_experiment(_cfg(repo, "fom-v1"), tmp_path / "e.toml")
    argv = plan.pairs[0].argv
    assert "wandb.entity=team" in argv and "wandb.project=hardware-scaling" in argv
    assert not any(tok.startswith("wandb=") for tok in argv)
    assert sweep_tool_wandb(argv) == WandbConfig(
        enabled=False, project="hardware-scaling", entity="team"
    )


@pytest.mark.parametrize("extra", ["wandb.project=other", "wandb.entity=other", 'wandb={"a":1}'])
def test_an_extra_for_the_wandb_field_sent_whole_is_refused_naming_the_settings(tmp_path, extra):
    """With the whole field sent, an extra ``wandb.project=`` after it would silently replace the
    experiment's project (and one before it be dropped): refused as for the dotted keys."""
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    cfg = _cfg(repo, "fom-v1", **{"wandb.project": "2025", "launch.extra_args": [extra]})
    with pytest.raises(UsageError) as e:
        plan_experiment(cfg, tmp_path / "e.toml")
    msg = str(e.value)
    assert "which the metta runner already sends from wandb." in msg
    assert msg.count(". ") == 0 and msg.endswith(".")


def test_the_whole_field_token_is_json_tools_run_reads_back(tmp_path):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    plan = plan_experiment(_cfg(repo, "fom-v1", **{"wandb.project": "2025"}), tmp_path / "e.toml")
    (token,) = [t for t in plan.pairs[0].argv if t.startswith("wandb")]
    assert json.loads(token.removeprefix("wandb=")) == {
        "enabled": False,
        "project": "2025",
        "entity": "team",
    }


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
@pytest.mark.parametrize(
    "token",
    [
        "trainer.update_epochs=abc",
        "trainer.update_epochs=0",
        "trainer.minibatch_size=6.5",
        "trainer.minibatch_size=-4",
        "trainer.bptt_horizon=abc",
    ],
)
def test_a_positive_integer_trainer_key_that_is_not_one_is_refused_under_both_profiles(
    tmp_path, profile, token
):
    """``TrainerConfig.update_epochs``, ``minibatch_size`` and ``bptt_horizon`` are
    ``int = Field(gt=0)`` in both commits (metta/rl/trainer_config.py:56-58 at 7c1a7ff418, :87-89
    at a8d1ecee19); only the main profile's pinned horizon was checked, so ``update_epochs=abc``
    planned and launched, and every trial of every pair failed its TrainerConfig at start."""
    key = token.split("=", 1)[0]
    repo = make_checkout(tmp_path / "metta", profile)
    with pytest.raises(UsageError) as e:
        plan_experiment(_cfg(repo, profile, **{"launch.extra_args": [token]}), tmp_path / "e.toml")
    msg = str(e.value)
    assert msg.startswith(f"extra argument {token!r}: {key} is a positive integer in Metta ")
    assert f"accepted: {key}=<n> with n >= 1, or no {key} extra (" in msg
    assert msg.endswith(").") and msg.count(". ") == 0


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_a_positive_integer_trainer_key_that_is_one_still_reaches_the_trials(tmp_path, profile):
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        from hwscale_tui.metta.install import install_tool

        install_tool(repo)
    extras = ["trainer.update_epochs=2", "trainer.minibatch_size=8192"]
    plan = plan_experiment(
        _cfg(repo, profile, **{"launch.extra_args": extras}), tmp_path / "e.toml"
    )
    for pp in plan.pairs:
        r = run_standin(repo, pp.argv)
        assert r.returncode == 0, r.stderr
        state = json.loads(r.stdout)["state"]
        sent = state["train_overrides"] if profile == "fom-v1" else state["search_space"]
        assert sent["trainer.update_epochs"] == 2 and sent["trainer.minibatch_size"] == 8192
