"""Extras under a SweepTool field (``wandb.bogus=1``, ``protein_settings.bogus=1``,
``local_test=maybe``) passed plan, the grid and launch, and Metta's sweep then exited 1 before any
trial: ``tools/run.py`` applies each such extra with ``Config.override``, which walks Configs only
through their fields and validates the value with the field's annotation, and Metta's Configs are
``extra="forbid"``.

The contract here is typed in from Metta-AI/metta independently of
``hwscale_tui/metta/fields.py``: the models as pydantic classes with the upstream annotations and
``Config.override`` as upstream writes it, both cited by file:line at 7c1a7ff418 (profile fom-v1)
and a8d1ecee19 (profile main). Every extra of a list is run through both, and the product must
refuse exactly what the replica refuses."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field, TypeAdapter

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout
from tests.metta.upstream_replica import Config, parse_value
from tests.support.cli import cli_env, hwscale_cmd, launched_nothing

# -- upstream replica -----------------------------------------------------------------------------


def override(cfg: Config, key: str, value: Any) -> None:
    """Config.override for Config fields: base_config.py:42-101 at 7c1a7ff418 (:42-139 at
    a8d1ecee19 walks a Config the same way; only its dict walk differs, and no key below walks
    further than one level into a dict). Raises on what Metta refuses."""
    path = key.split(".")
    inner: Any = cfg
    for part in path[:-1]:
        if isinstance(inner, dict):  # :54-59
            if part not in inner:
                raise ValueError(f"key {key} not found")
            inner = inner[part]
            continue
        if not hasattr(inner, part):  # :61-63
            raise ValueError(f"key {part} not found")
        inner = getattr(inner, part)
        if not isinstance(inner, (Config, dict)):  # :73-75
            raise ValueError(f"key {part} is not a Config object")
    if isinstance(inner, dict):  # :89-91
        inner[path[-1]] = value
        return
    field = type(inner).model_fields.get(path[-1])  # :85-96 (hasattr, then the field)
    if field is None:
        raise ValueError(f"key {key} is not a valid field")
    setattr(inner, path[-1], TypeAdapter(field.annotation).validate_python(value))  # :98-99


class DispatcherType(StrEnum):  # metta/tools/sweep.py:90-94 (7c1a7ff418), :92-96 (a8d1ecee19)
    LOCAL = "local"
    SKYPILOT = "skypilot"


class SchedulerFom(StrEnum):  # metta/tools/sweep.py:97-101 at 7c1a7ff418
    BATCHED_SYNCED = "batched_synced"
    ASYNC_CAPPED = "async_capped"


class SchedulerMain(StrEnum):  # metta/tools/sweep.py:99-103 at a8d1ecee19
    ASYNC_CAPPED = "async_capped"
    GRID_SEARCH = "grid_search"


class SystemFom(Config):  # metta/rl/system_config.py:40-54 at 7c1a7ff418 (defaults simplified)
    vectorization: Literal["serial", "multiprocessing"] = "multiprocessing"
    seed: int = 0
    torch_deterministic: bool = True
    device: str = "cpu"
    data_dir: Path = Path("./train_dir")
    remote_prefix: str | None = None
    local_only: bool = False
    nccl_timeout: timedelta = timedelta(minutes=10)


class SystemMain(Config):  # metta/rl/system_config.py:41-54 at a8d1ecee19: no remote_prefix
    vectorization: Literal["serial", "multiprocessing"] = "multiprocessing"
    seed: int = 0
    torch_deterministic: bool = True
    device: str = "cpu"
    data_dir: Path = Path("./train_dir")
    local_only: bool = False
    nccl_timeout: timedelta = timedelta(minutes=10)


class WandbFom(Config):  # common/src/metta/common/wandb/context.py:16-26 at 7c1a7ff418
    enabled: bool
    project: str
    entity: str
    group: str | None = None
    name: str | None = None
    run_id: str | None = None
    data_dir: str | None = None
    job_type: str | None = None
    tags: list[str] = []
    notes: str = ""


class WandbMain(Config):  # context.py:16-25 at a8d1ecee19: no name
    enabled: bool
    project: str
    entity: str
    group: str | None = None
    run_id: str | None = None
    data_dir: str | None = None
    job_type: str | None = None
    tags: list[str] = []
    notes: str = ""


class ProteinSettings(Config):  # metta/sweep/protein_config.py:71-91 (7c1a7ff418), :16-36
    max_suggestion_cost: float = 10800
    global_search_scale: float = 1.0
    random_suggestions: int = 15
    suggestions_per_pareto: int = 256
    resample_frequency: int = 10
    num_random_samples: int = 0
    seed_with_search_center: bool = True
    expansion_rate: float = 0.25
    acquisition_fn: Literal["naive", "ei", "ucb"] = "naive"
    ucb_beta: float = 2.0
    randomize_acquisition: bool = False


class ProteinConfig(Config):  # metta/sweep/protein_config.py:94-110 at 7c1a7ff418
    metric: str
    goal: Literal["maximize", "minimize"] = "maximize"
    method: Literal["bayes"] = "bayes"
    parameters: dict[str, Any] = Field(default_factory=dict)
    settings: ProteinSettings = Field(default_factory=ProteinSettings)


class _SweepCommon(Config):  # metta/tools/sweep.py:113-167 (7c1a7ff418), :115-178 (a8d1ecee19)
    sweep_name: str | None = None
    sweep_dir: str | None = None
    max_trials: int = 10
    batch_size: int = 4
    recipe_module: str = "r"
    train_entrypoint: str = "train"
    eval_entrypoint: str = "evaluate"
    max_concurrent_evals: int = 1
    liar_strategy: str = "best"
    max_parallel_jobs: int = 1
    monitoring_interval: int = 60
    sweep_server_uri: str = "u"
    gpus: int = 1
    nodes: int = 1
    local_test: bool = False
    force_eval: bool = False
    eval_overrides: dict[str, Any] = {}
    stats_server_uri: str = "u"
    dispatcher_type: DispatcherType = DispatcherType.SKYPILOT
    capture_output: bool = True


class SweepToolFom(_SweepCommon):
    system: SystemFom = Field(default_factory=SystemFom)  # tool.py:27 at 7c1a7ff418
    protein_config: ProteinConfig = ProteinConfig(metric="m")
    scheduler_type: SchedulerFom = SchedulerFom.BATCHED_SYNCED
    train_overrides: dict[str, Any] = {}
    wandb: WandbFom = WandbFom(enabled=False, project="unconfigured", entity="unconfigured")


class SweepToolMain(_SweepCommon):
    system: SystemMain = Field(default_factory=SystemMain)  # tool.py:31 at a8d1ecee19
    search_space: dict[str, Any] = {}
    protein_metric: str = "m"
    protein_goal: Literal["maximize", "minimize"] = "maximize"
    protein_method: Literal["bayes"] = "bayes"
    protein_settings: ProteinSettings = Field(default_factory=ProteinSettings)
    scheduler_type: SchedulerMain = SchedulerMain.ASYNC_CAPPED
    wandb: WandbMain = WandbMain(enabled=False, project="unconfigured", entity="unconfigured")
    grid_parameters: dict[str, Any] = {}
    grid_metric: str | None = None
    cost_key: str | None = None


TOOLS = {"fom-v1": SweepToolFom, "main": SweepToolMain}


def metta_takes(profile: str, tok: str) -> bool:
    key, _, raw = tok.partition("=")
    try:
        override(TOOLS[profile](), key, parse_value(raw))
    except Exception:
        return False
    return True


# -- extras: none of them is a key the runner sends or the experiment decides (goal, metric) -----------------------------------------------

COMMON = [
    "wandb.bogus=1",
    "wandb.tags=x",
    'wandb.tags=["hw","a"]',
    "wandb.tags=[1]",
    "wandb.group=g1",
    "wandb.group=2025",
    "wandb.group=none",
    "wandb.notes=true",
    "wandb.notes=hello",
    "wandb.enabled=yes",
    "wandb.enabled=maybe",
    "wandb.job_type=sweep",
    "wandb.name=n",
    "wandb.tags.x=1",
    "local_test=maybe",
    "local_test=yes",
    "local_test=On",
    "local_test=1",
    "local_test=2",
    "local_test=1.0",
    "local_test=none",
    "local_test.x=1",
    "force_eval=true",
    "force_eval=[]",
    "capture_output=false",
    "liar_strategy=mean",
    "liar_strategy=1",
    "monitoring_interval=30",
    "monitoring_interval=30.0",
    "monitoring_interval=30.5",
    "monitoring_interval=abc",
    "monitoring_interval=true",
    "monitoring_interval=1e30",
    "max_concurrent_evals=2",
    "sweep_dir=/tmp/sweeps",
    "sweep_dir=none",
    "sweep_dir=7",
    "stats_server_uri=http://127.0.0.1:1",
    "sweep_server_uri=null",
    "scheduler_type=async_capped",
    "scheduler_type=grid_search",
    "scheduler_type=batched_synced",
    "scheduler_type=ASYNC_CAPPED",
    "scheduler_type.x=1",
    "system.seed=7",
    "system.seed=1.5",
    "system.seed=x",
    "system.vectorization=serial",
    "system.vectorization=threads",
    "system.device=cpu",
    "system.device=0",
    "system.data_dir=/data",
    "system.local_only=no",
    "system.remote_prefix=s3://b",
    "system.nccl_timeout=60",
    "system.bogus=1",
    "system.seed.x=1",
    'system={"seed":3}',
    'system={"seed":3,"bogus":1}',
    "system=3",
    'eval_overrides={"a":1}',
    "eval_overrides=5",
    "eval_overrides.a=1",
    "bogus.x=1",
]
EXTRAS = {
    "fom-v1": COMMON
    + [
        "protein_config.bogus=1",
        "protein_config.method=bayes",
        "protein_config.method=grid",
        "protein_config.settings.ucb_beta=3",
        "protein_config.settings.ucb_beta=abc",
        # protein_config.settings.acquisition_fn is sent from sweep.acquisition_fn (test_qa88_fom_settings)
        "protein_config.settings.randomize_acquisition=true",
        "protein_config.settings.randomize_acquisition=sometimes",
        "protein_config.settings.bogus=1",
        "protein_config.settings.random_suggestions=2.5",
        "protein_settings.bogus=1",
        "grid_metric=x",
    ],
    "main": COMMON
    + [
        "protein_settings.bogus=1",
        "protein_settings.ucb_beta=3",
        "protein_settings.ucb_beta=x",
        "protein_settings.randomize_acquisition=true",
        "protein_settings.randomize_acquisition=sometimes",
        "protein_settings.expansion_rate=0.5",
        "protein_method=bayes",
        "protein_method=grid",
        "grid_metric=none",
        "grid_metric=x",
        "cost_key=monitor/cost",
        "cost_key=1",
        'grid_parameters={"a":[1,2]}',
        "protein_config.bogus=1",
    ],
}


def _cfg(repo, profile):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {"wandb.entity": "team", "metta.repo": str(repo), "metta.profile": profile},
    )


def _product_takes(cfg, tmp_path, tok):
    try:
        plan_experiment(cfg, tmp_path / "e.toml", [tok])
    except UsageError as e:
        return False, str(e)
    return True, ""


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_extras_under_sweeptool_fields_are_refused_exactly_as_metta_refuses_them(tmp_path, profile):
    repo = make_checkout(tmp_path / "metta", profile)
    cfg = _cfg(repo, profile)
    wrong = []
    for tok in EXTRAS[profile]:
        # a base that is no SweepTool field is "Unknown arguments" (run_tool.py:174-191)
        upstream = tok.split("=")[0].split(".")[0] in TOOLS[profile].model_fields and metta_takes(
            profile, tok
        )
        took, why = _product_takes(cfg, tmp_path, tok)
        if took != upstream:
            wrong.append((tok, "Metta takes it" if upstream else "Metta refuses it", why))
        elif not took:  # one sentence naming the extra and what is accepted
            assert why.startswith(f"extra argument {tok!r}") and "; accepted" in why, why
            assert why.endswith(".") and ". " not in why, why
    assert not wrong, wrong
    # both kinds occur for this profile: the list exercises refusals and acceptances
    kinds = {metta_takes(profile, t) for t in EXTRAS[profile]}
    assert kinds == {True, False}


@pytest.mark.parametrize(
    "profile, tok, sentence",
    [
        (
            "fom-v1",
            "wandb.bogus=1",
            "extra argument 'wandb.bogus=1': bogus is not a field of WandbConfig (wandb) in Metta "
            "fom-v1, which forbids unknown keys, so the sweep would exit 1 before any trial; "
            "accepted: wandb.<field> with a field of WandbConfig: enabled, project, entity, "
            "group, name, run_id, data_dir, job_type, tags, notes.",
        ),
        (
            "main",
            "protein_settings.bogus=1",
            "extra argument 'protein_settings.bogus=1': bogus is not a field of ProteinSettings "
            "(protein_settings) in Metta main, which forbids unknown keys, so the sweep would "
            "exit 1 before any trial; accepted: protein_settings.<field> with a field of "
            "ProteinSettings: max_suggestion_cost, global_search_scale, random_suggestions, "
            "suggestions_per_pareto, resample_frequency, num_random_samples, "
            "seed_with_search_center, expansion_rate, acquisition_fn, ucb_beta, "
            "randomize_acquisition.",
        ),
        (
            "main",
            "local_test=maybe",
            "extra argument 'local_test=maybe': Metta main's SweepTool refuses 'maybe' for "
            "local_test, a bool, so the sweep would exit 1 before any trial; accepted for "
            "local_test: true or false (or 1/0, yes/no, on/off).",
        ),
        (  # an empty value was shown as nothing ("refuses  for tags")
            "fom-v1",
            "wandb.tags=",
            "extra argument 'wandb.tags=': Metta fom-v1's WandbConfig refuses '' for tags, a "
            "list of str, so the sweep would exit 1 before any trial; accepted for wandb.tags: a "
            'JSON list of strings, like ["a","b"].',
        ),
        (
            "main",
            "wandb.group=2025",
            "extra argument 'wandb.group=2025': Metta main's WandbConfig refuses '2025' for group, "
            "a str or None (tools/run.py reads it as the number 2025), so the sweep would exit 1 "
            "before any trial; accepted for wandb.group: none or a string that tools/run.py does "
            "not read as a number, true/false or none/null.",
        ),
    ],
)
def test_launch_refuses_a_bad_field_extra_with_one_sentence_and_starts_nothing(
    tmp_path, profile, tok, sentence
):
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        install_tool(repo)
    exp = tmp_path / "e.toml"
    cfg = cfgmod.apply_overrides(
        _cfg(repo, profile), {"grid.gpu_counts": [1], "grid.node_counts": [1]}
    )
    cfgmod.save(cfg, exp)
    for cmd in ("plan", "launch"):
        r = subprocess.run(
            hwscale_cmd(cmd, "-e", str(exp), tok), capture_output=True, text=True, env=cli_env()
        )
        assert r.returncode == 2 and r.stdout == "", (cmd, r.stdout)
        assert r.stderr == f"hwscale-tui: error: {sentence}\n", cmd
    assert launched_nothing(exp)
