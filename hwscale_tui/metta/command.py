"""The per-pair Metta command, built so that Metta's ``tools/run.py`` binds every token.

How upstream binds (common/src/metta/common/tool/run_tool.py at 7c1a7ff418; the same steps at
a8d1ecee19, lines in brackets): every token is ``key=value`` (:122-131 [:118-127]); values are
parsed by :88-119 [:84-115]; the tool maker's parameters take their keys first (:614-673
[:533-596]); what is left must be a field of the returned Tool, or a dotted key whose first part
is one (:174-191 [:170-187]), else "Unknown arguments" and exit 2 (:706-718 [:619-632]); each
left-over key is then applied with ``Config.override`` (:720-730 [:634-644]). At 7c1a7ff418 that
walks dicts only through keys that already exist
(packages/mettagrid/python/src/mettagrid/base_config.py:53-58); at a8d1ecee19 a dict also takes
the dotted remainder as one key (base_config.py:61-85, :116-129).

So under fom-v1 a forwarded trainer key cannot travel as ``train_overrides.trainer.<key>=``:
``hw_sweep``'s ``train_overrides`` dict holds the flat key ``"trainer.total_timesteps"``
(hw_sweep.py:79-81), the walk finds no ``"trainer"`` key and the override fails. ``fom-v1``
therefore sends one ``train_overrides=<JSON>`` with ``trainer.total_timesteps`` and every
forwarded key; ``main`` sends them, with the profile's pinned trainer keys, as fixed values inside
``search_space=<JSON>`` (metta/tools/sweep.py:448-458 at a8d1ecee19).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import ExperimentConfig
from ..errors import UsageError
from ..hardware import HardwarePair
from ..search.presets import Preset
from .fields import describe, field_error, kind_name, value_ok
from .profiles import (
    OPTIMIZED_SETTINGS,
    PROFILES,
    PROTEIN_SETTINGS_DEFAULTS,
    MettaProfile,
    resolve_profile,
)

TOTAL_TIMESTEPS_KEY = "trainer.total_timesteps"  # sent from sweep.total_timesteps, never an extra
# TrainerConfig's ``int = Field(gt=0)`` keys an extra may set, the same in both profiles'
# commits (metta/rl/trainer_config.py:56-58 at 7c1a7ff418, :87-89 at a8d1ecee19); batch_size
# (swept) and total_timesteps (sent) are refused as extras anyway. Any other value fails the
# trial's TrainerConfig at start, in every trial of every pair.
# TrainerConfig validates every assignment (validate_assignment, trainer_config.py:70-74 at
# 7c1a7ff418, :102-106 at a8d1ecee19) with minibatch_size <= batch_size and batch_size %
# minibatch_size == 0 (:76-82, :108-113), so a trial's override of this key is checked against
# the batch_size it has before its suggestion (MettaProfile.batch_before_suggestion).
MINIBATCH_KEY = "trainer.minibatch_size"
BPTT_KEY = "trainer.bptt_horizon"
DEFAULT_MINIBATCH = 16384  # TrainerConfig.minibatch_size: trainer_config.py:56 / :87
POSITIVE_INT_TRAINER_KEYS = frozenset(
    ("trainer.minibatch_size", "trainer.bptt_horizon", "trainer.update_epochs")
)


def parse_value(text: str) -> Any:
    """A ``key=value`` value as tools/run.py reads it (run_tool.py:88-119 at 7c1a7ff418)."""
    lower = text.lower()
    if lower in ("true", "false"):
        return lower == "true"
    if lower in ("none", "null"):
        return None
    if (text.startswith("{") and text.endswith("}")) or (
        text.startswith("[") and text.endswith("]")
    ):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def fmt(value: Any) -> str:
    """A value as a token that :func:`parse_value` reads back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class RoutedExtras:
    """Extra ``key=value`` arguments sorted by where they reach Metta."""

    tokens: list[str] = field(default_factory=list)  # passed as given
    trainer: dict[str, Any] = field(default_factory=dict)  # forwarded trainer keys


def accepted_forms(prof: MettaProfile, tool: str) -> str:
    route = (
        "sent inside train_overrides=<JSON>"
        if prof.trainer_overrides == "train_overrides"
        else "sent as fixed values inside search_space=<JSON>"
    )
    # every parameter of the tool maker is sent from the experiment (metta_argv), so an extra
    # for one is refused as a repeat: they are named as what is not accepted
    return (
        f"a SweepTool field the runner does not send or a dotted key under one (like "
        f"local_test=true, wandb.tags=[...]), or a trainer key of Metta {prof.name} that the sweep "
        f"does not search (like trainer.update_epochs=2, {route}); the parameters of {tool} "
        f"({', '.join(prof.tool_params)}) come from the experiment (hwscale-tui plan shows them)"
    )


def route_extras(prof: MettaProfile, tool: str, extra: Sequence[str]) -> RoutedExtras:
    """Check every extra against the profile; UsageError (one sentence) for the first bad one."""
    out = RoutedExtras()
    owned = {"train_overrides", "search_space"}  # the product sends these whole
    for tok in extra:
        key, sep, raw = tok.partition("=")
        if not sep or not key:
            raise UsageError(
                f"extra argument {tok!r} is not key=value; accepted: {accepted_forms(prof, tool)}."
            )
        base = key.split(".", 1)[0]
        if base in owned and (base in prof.tool_fields or base in prof.tool_params):
            raise UsageError(
                f"extra argument {tok!r} would replace the {base} the metta runner sends; "
                f"accepted: {accepted_forms(prof, tool)}."
            )
        if key in prof.tool_params or base in prof.tool_fields:
            out.tokens.append(tok)
        elif base == "trainer":
            if not prof.accepts_trainer_key(key):
                raise UsageError(
                    f"extra argument {tok!r}: {key} is not a trainer key of Metta {prof.name} "
                    f"(its TrainerConfig forbids unknown keys); accepted: {accepted_forms(prof, tool)}."
                )
            if key == TOTAL_TIMESTEPS_KEY:
                raise UsageError(
                    f"extra argument {tok!r} repeats the total_timesteps the metta runner sends "
                    "from sweep.total_timesteps (hwscale-tui plan shows it); accepted: "
                    "sweep.total_timesteps in the experiment or --total-timesteps N, and extras "
                    "only for keys the runner does not send."
                )
            if key in prof.keys.values():
                effect = (
                    "gives each trial its suggestion instead, so it would have no effect"
                    if prof.trainer_overrides == "train_overrides"
                    else "would train every trial at that value instead of searching it, "
                    "while plan shows it searched"
                )
                raise UsageError(
                    f"extra argument {tok!r} would override the swept hyperparameter {key} "
                    f"(Metta {prof.name} {effect}); accepted: extras for keys the sweep does "
                    "not search, like trainer.update_epochs=2."
                )
            value = parse_value(raw)
            pinned = prof.fixed_trainer.get(key)
            if (isinstance(pinned, int) or key in POSITIVE_INT_TRAINER_KEYS) and not positive_int(
                value
            ):
                default = f"the profile's {pinned}" if pinned is not None else "Metta's default"
                raise UsageError(
                    f"extra argument {tok!r}: {key} is a positive integer in Metta {prof.name}'s "
                    f"TrainerConfig, so every trial would fail to start; accepted: {key}=<n> with "
                    f"n >= 1, or no {key} extra ({default})."
                )
            first = prof.batch_before_suggestion
            if key == MINIBATCH_KEY and first and (value > first or first % value):
                raise UsageError(
                    f"extra argument {tok!r}: a trial sets {key} before its suggested batch_size, "
                    f"while batch_size is still Metta {prof.name}'s default {first:,}, and "
                    "TrainerConfig then requires a minibatch_size that is at most batch_size and "
                    "divides it, so every trial would fail to start; accepted: "
                    f"{key}=<n> with n a power of two up to {first:,} (like 8192), or no {key} "
                    "extra (Metta's default 16384)."
                )
            kind = prof.trainer_type(key)
            if kind is not None and not value_ok(kind, value):
                raise UsageError(trainer_value_error(prof, tok, kind))
            out.trainer[key] = value
        else:
            raise UsageError(
                f"extra argument {tok!r} is not accepted by Metta {prof.name}'s tools/run.py "
                f"(it would exit 2 with 'Unknown arguments'); accepted: {accepted_forms(prof, tool)}."
            )
    if prof.bptt_default:  # a pinned horizon is checked per searched batch (checks.py)
        minibatch_horizon_check(prof, extra, out.trainer)
    return out


def minibatch_horizon_check(prof: MettaProfile, extra: Sequence[str], trainer: dict) -> None:
    """UsageError when a trial's experience buffer would refuse the minibatch at the horizon in
    force, whatever its batch: ``minibatch_size / bptt_horizon`` must be whole
    (metta/rl/training/experience.py:53-59 at 7c1a7ff418, the minibatch being the trainer's own,
    metta/rl/trainer.py:83), with Metta's defaults where no extra sets them (trainer_config.py:56-57)."""
    bptt = trainer.get(BPTT_KEY, prof.bptt_default)
    minibatch = trainer.get(MINIBATCH_KEY, DEFAULT_MINIBATCH)
    if minibatch % bptt == 0:
        return
    key = BPTT_KEY if BPTT_KEY in trainer else MINIBATCH_KEY
    tok = [t for t in extra if t.partition("=")[0] == key][-1]  # the last one wins
    if key == BPTT_KEY:
        accepted = (
            f"{key}=<n> with n dividing minibatch_size {int(minibatch):,} (a power of two up to "
            f"it), or no {key} extra (Metta's {prof.bptt_default})"
        )
    else:
        accepted = (
            f"{key}=<n> with n a multiple of bptt_horizon {int(bptt):,} (a power of two from "
            f"{int(bptt):,} up to {prof.batch_before_suggestion:,}), or no {key} extra (Metta's "
            f"{DEFAULT_MINIBATCH})"
        )
    raise UsageError(
        f"extra argument {tok!r}: Metta {prof.name}'s trials need minibatch_size "
        f"{int(minibatch):,} to be a multiple of bptt_horizon {int(bptt):,} (their experience "
        f"buffer splits each minibatch into whole BPTT segments), so every trial would fail to "
        f"start; accepted: {accepted}."
    )


def trainer_value_error(prof: MettaProfile, tok: str, kind: str | tuple[str, ...]) -> str:
    """One sentence on a trainer key's value that its Metta model refuses: each trial applies the
    key with ``Config.override``, which validates the value with the field's annotation
    (``TypeAdapter(field.annotation)``, base_config.py:98 at 7c1a7ff418, :136 at a8d1ecee19) after
    the value went through ``f"{k}={v}"`` into the trial's command and ``parse_value`` again
    (metta/adaptive/dispatcher/skypilot.py:47 and local.py:85-89 at 7c1a7ff418, :45-46 and
    :86-89 at a8d1ecee19), which give back what ``parse_value`` made of it here."""
    key, _, raw = tok.partition("=")
    plain = reads_back(raw) or isinstance(parse_value(raw), (dict, list))
    read = "" if plain else f" (tools/run.py reads it as {read_as(raw)})"
    shown = repr(raw if len(raw) <= 40 else raw[:37] + "...")
    return (
        f"extra argument {tok!r}: Metta {prof.name}'s TrainerConfig refuses {shown} for {key}, "
        f"a {kind_name(kind)}{read}, so every trial would fail to start; accepted for {key}: "
        f"{describe(kind)}, or no {key} extra (Metta's default)."
    )


def positive_int(value: Any) -> bool:
    """A positive whole number, not a bool: what an ``int = Field(gt=0)`` means (a pinned key such
    as ``bptt_horizon``, metta/rl/trainer_config.py:88 at a8d1ecee19)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return float(value).is_integer() and value > 0


def fom_settings(cfg: ExperimentConfig) -> dict[str, Any]:
    """The experiment's optimizer settings that reach Metta fom-v1, whose hw_sweep builds the rest.

    hw_sweep's ProteinConfig carries ProteinSettings (optimized_sweep_config.py:148-160 at
    7c1a7ff418), an override reaches them (``protein_config.settings.<key>=``: SweepTool field
    metta/tools/sweep.py:117, ProteinConfig.settings metta/sweep/protein_config.py:108-110,
    ProteinSettings :71-91), and the scheduler's optimizer reads them at every suggestion
    (metta/sweep/schedulers/async_capped.py:110, metta/sweep/optimizer/protein.py:27-44 into
    metta/sweep/protein.py:244-276). Sent only when they differ from hw_sweep's (naive, 10800)."""
    cost = float(cfg.sweep.max_suggestion_cost)
    return {
        "acquisition_fn": cfg.sweep.acquisition_fn,
        "max_suggestion_cost": int(cost) if cost.is_integer() else cost,
    }


def space_json(preset: Preset, fixed: dict[str, Any]) -> dict[str, Any]:
    """The search space as ``main``'s ParameterConfig fields (parameter_config.py:21-36)."""
    out: dict[str, Any] = {}
    for p in preset.space.params:
        out[p.key] = {
            "min": p.min,
            "max": p.max,
            "distribution": p.distribution,
            "mean": p.mean,
            "scale": p.scale,
        }
    out.update(fixed)
    return out


# Where each key the runner sends comes from (what to change instead of repeating it as an
# extra); the protein_settings keys not listed are the experiment's fixed optimizer settings.
SENT_FROM = {
    "gpus": "grid.gpu_counts",
    "nodes": "grid.node_counts",
    "recipe_module": "metta.recipe_module",
    "train_entrypoint": "metta.train_entrypoint",
    "eval_entrypoint": "metta.eval_entrypoint",
    "total_timesteps": "sweep.total_timesteps",
    "protein_metric_path": "sweep.metric",
    "sweep_name": "experiment.name",
    "wandb.entity": "wandb.entity",
    "wandb.project": "wandb.project",
    "wandb": "wandb.entity and wandb.project",
    "dispatcher_type": "experiment.dispatcher",
    "max_trials": "sweep.max_trials",
    "batch_size": "sweep.batch_size",
    "max_parallel_jobs": "sweep.max_parallel_jobs",
    "protein_goal": "sweep.goal",
    "protein_config.goal": "sweep.goal",
    "protein_settings.acquisition_fn": "sweep.acquisition_fn",
    "protein_settings.max_suggestion_cost": "sweep.max_suggestion_cost",
    "protein_config.settings.acquisition_fn": "sweep.acquisition_fn",
    "protein_config.settings.max_suggestion_cost": "sweep.max_suggestion_cost",
    "local_test": "metta.local_test",
}


# Keys the experiment decides that are not always in the command: the tool maker sets them from
# its parameters, or the runner sends them only when they differ from Metta's default. An extra
# for one would silently replace the experiment's value: key -> (setting, how it reaches Metta).
_NOT_DEFAULT = "sent only when it differs from Metta's default"
DECIDED_BY_EXPERIMENT: dict[str, dict[str, tuple[str, str]]] = {
    "fom-v1": {
        # optimized_sweep_config.py:82-85 at 7c1a7ff418: ProteinConfig(metric=metric_path,
        # goal="maximize"), built by hw_sweep (hw_sweep.py:56-62)
        "protein_config.metric": ("sweep.metric", "hw_sweep sets it from protein_metric_path"),
        "protein_config.goal": ("sweep.goal", "sent only when it is minimize"),
        # fom_settings: hw_sweep's own values are naive and 10800
        "protein_config.settings.acquisition_fn": (
            "sweep.acquisition_fn",
            "sent only when it differs from hw_sweep's naive",
        ),
        "protein_config.settings.max_suggestion_cost": (
            "sweep.max_suggestion_cost",
            "sent only when it differs from hw_sweep's 10800",
        ),
    },
    "main": {
        # our tool maker: SweepTool(protein_metric=protein_metric_path) (install.py); the goal
        # and settings: metta/tools/sweep.py:131 and protein_config.py:20, :30-32 at a8d1ecee19
        "protein_metric": ("sweep.metric", "the tool maker sets it from protein_metric_path"),
        "protein_goal": ("sweep.goal", "sent only when it is minimize"),
        "protein_settings.acquisition_fn": ("sweep.acquisition_fn", _NOT_DEFAULT),
        "protein_settings.max_suggestion_cost": ("sweep.max_suggestion_cost", _NOT_DEFAULT),
    },
}
# fom-v1's search space: hw_sweep builds protein_config.parameters from the pair
# (optimized_sweep_config.py:86-147 at 7c1a7ff418); plan shows it, and no setting changes it.
FIXED_SPACE = {"fom-v1": "protein_config.parameters"}


def reads_back(text: str) -> bool:
    """tools/run.py reads ``key=text`` as the string ``text`` (not a number, bool, None or JSON)."""
    value = parse_value(text)
    return isinstance(value, str) and value == text


def read_as(text: str) -> str:
    """What tools/run.py makes of ``key=text`` when it is not the string ``text``, in words."""
    value = parse_value(text)
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "None"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"JSON ({type(value).__name__})" if isinstance(value, (dict, list)) else repr(value)


def wandb_tokens(entity: str, project: str) -> list[str]:
    """The SweepTool ``wandb`` settings: ``wandb.entity=E wandb.project=P``, or, when
    tools/run.py would read either as something other than a string (a project ``2025`` is the
    int 2025, ``true`` a bool, ``null`` None), the whole field as JSON, which keeps it a string.

    ``Config.override`` validates each value against the field's type
    (``TypeAdapter(field.annotation).validate_python``, base_config.py:98 at 7c1a7ff418, :136 at
    a8d1ecee19) and pydantic refuses an int for ``WandbConfig.project: str``
    (common/src/metta/common/wandb/context.py:16-19 at both), so the sweep exited 1. The JSON
    form gives the same config as the dotted keys on ``SweepTool.wandb``'s default
    ``WandbConfig.Unconfigured()`` (``enabled=False``, every other field its default)."""
    if reads_back(entity) and reads_back(project):
        return [f"wandb.entity={entity}", f"wandb.project={project}"]
    return ["wandb=" + fmt({"enabled": False, "project": project, "entity": entity})]


def metta_tool(cfg: ExperimentConfig, prof: MettaProfile) -> str:
    return cfg.metta.tool or prof.tool


def metta_argv(
    cfg: ExperimentConfig, pair: HardwarePair, preset: Preset, extra: Sequence[str] = ()
) -> list[str]:
    """The command one pair runs in the Metta checkout."""
    prof = resolve_profile(cfg).profile
    tool = metta_tool(cfg, prof)
    m, s = cfg.metta, cfg.sweep
    routed = route_extras(prof, tool, extra)
    argv = [
        "uv",
        "run",
        "./tools/run.py",
        tool,
        # tool-maker parameters
        f"gpus={pair.gpus}",
        f"nodes={pair.nodes}",
        f"recipe_module={m.recipe_module or prof.recipe_module}",
        f"train_entrypoint={m.train_entrypoint}",
        f"eval_entrypoint={m.eval_entrypoint}",
        f"total_timesteps={s.total_timesteps}",
        f"protein_metric_path={s.metric}",
    ]
    if prof.space_editable:
        fixed = {**prof.fixed_trainer, **routed.trainer}
        argv.append("search_space=" + fmt(space_json(preset, fixed)))
    # SweepTool fields
    argv.append(f"sweep_name={pair.sweep_name(cfg.name, cfg.generation)}")
    if cfg.wandb.entity:  # entity and project travel together, or Metta auto-configures both
        argv += wandb_tokens(cfg.wandb.entity, cfg.wandb.effective_project)
    argv += [
        f"dispatcher_type={cfg.experiment.dispatcher}",
        f"max_trials={s.max_trials}",
        f"batch_size={s.batch_size}",
        f"max_parallel_jobs={s.max_parallel_jobs}",
    ]
    if s.goal != "maximize":  # both commits default to maximize; the experiment may not
        # main: SweepTool.protein_goal (metta/tools/sweep.py:131 at a8d1ecee19); fom-v1: hw_sweep
        # builds protein_config with goal="maximize" (optimized_sweep_config.py:84 at
        # 7c1a7ff418), whose ProteinConfig.goal field an override reaches (protein_config.py:99)
        goal_key = "protein_goal" if "protein_goal" in prof.tool_fields else "protein_config.goal"
        argv.append(f"{goal_key}={s.goal}")
    if "protein_config" in prof.tool_fields:  # fom-v1
        argv += [
            f"protein_config.settings.{k}={fmt(v)}"
            for k, v in fom_settings(cfg).items()
            if OPTIMIZED_SETTINGS[k] != v
        ]
    if prof.space_editable:
        argv += [
            f"protein_settings.{k}={fmt(v)}"
            for k, v in preset.settings.items()
            if PROTEIN_SETTINGS_DEFAULTS.get(k) != v
        ]
    elif routed.trainer:
        overrides = {"trainer.total_timesteps": s.total_timesteps, **routed.trainer}
        argv.append("train_overrides=" + fmt(overrides))
    if m.local_test:
        argv.append("local_test=true")
    sent = {tok.split("=", 1)[0] for tok in argv[4:]}
    if "wandb" in sent:  # the whole field carries entity and project
        sent |= {"wandb.entity", "wandb.project"}
    decided = DECIDED_BY_EXPERIMENT.get(prof.name, {})
    space = FIXED_SPACE.get(prof.name)
    for tok in routed.tokens:
        key = tok.split("=", 1)[0]
        if space and (key == space or key.startswith(space + ".")):
            raise UsageError(
                f"extra argument {tok!r} would replace {space}, the search space {tool} builds "
                f"for each pair (hwscale-tui plan shows it; Metta {prof.name}'s space is fixed); "
                f'accepted: no extra under {space}, or metta.profile = "main", whose search '
                "space the runner sends."
            )
        if key in decided and key not in sent:
            setting, how = decided[key]
            raise UsageError(
                f"extra argument {tok!r} would replace {key}, which the metta runner takes from "
                f"{setting} ({how}; hwscale-tui plan shows {setting}); accepted: set {setting} in "
                "the experiment instead, and extras only for keys the runner does not send."
            )
        if key in sent:
            origin = SENT_FROM.get(key)
            if origin is None:  # an optimizer setting of the experiment's own config
                raise UsageError(
                    f"extra argument {tok!r} repeats {key}, which the metta runner already sends "
                    "as the hardware-scaling experiment's optimizer setting (docs/metta.md, 'What "
                    "Metta searches'; hwscale-tui plan shows it); accepted: extras only for keys "
                    "the runner does not send."
                )
            raise UsageError(
                f"extra argument {tok!r} repeats {key}, which the metta runner already sends from "
                f"{origin} (hwscale-tui plan shows it); accepted: set {origin} in the experiment "
                "instead, and extras only for keys the runner does not send."
            )
        # a whole field after the runner's dotted keys under it replaces them: tools/run.py
        # applies the overrides in order (run_tool.py:634-644 at a8d1ecee19)
        covered = sorted(s for s in sent if s.startswith(key + ".")) or sorted(
            s for s in (*decided, *([space] if space else [])) if s.startswith(key + ".")
        )
        if covered:
            listed = ", ".join(covered[:-1]) + " and " + covered[-1] if covered[1:] else covered[0]
            raise UsageError(
                f"extra argument {tok!r} would replace {listed}, which the metta "
                "runner sends from the experiment (hwscale-tui plan shows them); accepted: "
                f"dotted keys under {key} that the runner does not send, like {key}.<field>=VALUE."
            )
    # a SweepTool field's key and value as Config.override checks them (fields.py), in the order
    # tools/run.py applies them: one value per key, the last given, at the key's first place
    # (parse_cli_args fills a dict, run_tool.py:122-131 at 7c1a7ff418, :118-127 at a8d1ecee19),
    # the dict fields keeping what the extras before set in them
    dicts: dict[str, dict[str, Any]] = {}
    last = {tok.split("=", 1)[0]: tok for tok in routed.tokens}
    for key, tok in last.items():
        refusal = None if key in prof.tool_params else field_error(prof.name, tok, dicts)
        if refusal:
            raise UsageError(refusal + ".")
    return argv + routed.tokens


__all__ = ["PROFILES", "metta_argv", "parse_value", "route_extras", "space_json"]
