"""What each SweepTool field accepts, for extras such as ``wandb.tags=[...]`` or ``local_test=true``.

``tools/run.py`` applies every extra that is not a tool-maker parameter with ``Config.override``
(common/src/metta/common/tool/run_tool.py:720-730 at 7c1a7ff418, :634-644 at a8d1ecee19): it walks
a dotted key through the Configs' fields (and a dict's keys as each commit does: dict_walk_error),
refuses a key that is no field, and validates the value with ``TypeAdapter(field.annotation).validate_python``
(packages/mettagrid/python/src/mettagrid/base_config.py:42-101 at 7c1a7ff418, :42-139 at
a8d1ecee19; Configs forbid unknown keys, ``extra="forbid"``, :16). A failure is "Error applying
override" and exit 1 (run_tool.py:725-730; :640-644) before any trial, in every pair. So each
Metta model the extras can reach is spelled out below with its fields, and each field's type where
it is simple (pydantic's lax mode, what the override uses); a timedelta's value is not checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .profiles import FOM_V1, MAIN, PROFILES


@dataclass(frozen=True)
class Model:
    """A Metta Config (pydantic, ``extra="forbid"``): its fields and which have no default."""

    name: str
    fields: Mapping[str, Spec]
    required: frozenset[str] = field(default_factory=frozenset)


# A leaf kind ("bool", "int", "float", "float?" for ``float | None``, "str", "str?" for
# ``str | None``, "path", "list[str]", "dict", "timedelta"), the values of a Literal or StrEnum as a tuple, or a nested Model.
Spec = str | tuple[str, ...] | Model

# SystemConfig: metta/rl/system_config.py:40-54 at 7c1a7ff418, :41-54 at a8d1ecee19 (no
# remote_prefix there); nccl_timeout's value (a timedelta) is not checked.
_SYSTEM_FIELDS: dict[str, Spec] = {
    "vectorization": ("serial", "multiprocessing"),
    "seed": "int",
    "torch_deterministic": "bool",
    "device": "str",
    "data_dir": "path",
    "remote_prefix": "str?",
    "local_only": "bool",
    "nccl_timeout": "timedelta",
}
SYSTEM_FOM_V1 = Model("SystemConfig", _SYSTEM_FIELDS)
SYSTEM_MAIN = Model(
    "SystemConfig", {k: v for k, v in _SYSTEM_FIELDS.items() if k != "remote_prefix"}
)

# WandbConfig: common/src/metta/common/wandb/context.py:16-26 at 7c1a7ff418, :16-25 at
# a8d1ecee19 (no name there).
_WANDB_FIELDS: dict[str, Spec] = {
    "enabled": "bool",
    "project": "str",
    "entity": "str",
    "group": "str?",
    "name": "str?",
    "run_id": "str?",
    "data_dir": "str?",
    "job_type": "str?",
    "tags": "list[str]",
    "notes": "str",
}
_WANDB_REQUIRED = frozenset(("enabled", "project", "entity"))
WANDB_FOM_V1 = Model("WandbConfig", _WANDB_FIELDS, _WANDB_REQUIRED)
WANDB_MAIN = Model(
    "WandbConfig", {k: v for k, v in _WANDB_FIELDS.items() if k != "name"}, _WANDB_REQUIRED
)

# ProteinSettings, the same at both commits: metta/sweep/protein_config.py:71-91 at 7c1a7ff418,
# :16-36 at a8d1ecee19.
PROTEIN_SETTINGS = Model(
    "ProteinSettings",
    {
        "max_suggestion_cost": "float",
        "global_search_scale": "float",
        "random_suggestions": "int",
        "suggestions_per_pareto": "int",
        "resample_frequency": "int",
        "num_random_samples": "int",
        "seed_with_search_center": "bool",
        "expansion_rate": "float",
        "acquisition_fn": ("naive", "ei", "ucb"),
        "ucb_beta": "float",
        "randomize_acquisition": "bool",
    },
)
# ProteinConfig at 7c1a7ff418: metta/sweep/protein_config.py:94-110.
PROTEIN_CONFIG = Model(
    "ProteinConfig",
    {
        "metric": "str",
        "goal": ("maximize", "minimize"),
        "method": ("bayes",),
        "parameters": "dict",
        "settings": PROTEIN_SETTINGS,
    },
    frozenset(("metric",)),
)

# SweepTool fields both commits share (metta/tools/sweep.py:113-167 at 7c1a7ff418, :115-178 at
# a8d1ecee19; DispatcherType :90-94 / :92-96); Tool.system (common/src/metta/common/tool/tool.py:27
# / :31) is added per profile.
_SWEEP_COMMON: dict[str, Spec] = {
    "sweep_name": "str?",
    "sweep_dir": "str?",
    "max_trials": "int",
    "batch_size": "int",
    "recipe_module": "str",
    "train_entrypoint": "str",
    "eval_entrypoint": "str",
    "max_concurrent_evals": "int",
    "liar_strategy": "str",
    "max_parallel_jobs": "int",
    "monitoring_interval": "int",
    "sweep_server_uri": "str",
    "gpus": "int",
    "nodes": "int",
    "local_test": "bool",
    "force_eval": "bool",
    "eval_overrides": "dict",
    "stats_server_uri": "str",
    "dispatcher_type": ("local", "skypilot"),
    "capture_output": "bool",
}

SWEEP_TOOL: dict[str, Model] = {
    # 7c1a7ff418: SweepSchedulerType metta/tools/sweep.py:97-101
    FOM_V1: Model(
        "SweepTool",
        {
            **_SWEEP_COMMON,
            "system": SYSTEM_FOM_V1,
            "protein_config": PROTEIN_CONFIG,
            "scheduler_type": ("batched_synced", "async_capped"),
            "train_overrides": "dict",
            "wandb": WANDB_FOM_V1,
        },
    ),
    # a8d1ecee19: SweepSchedulerType metta/tools/sweep.py:99-103
    MAIN: Model(
        "SweepTool",
        {
            **_SWEEP_COMMON,
            "system": SYSTEM_MAIN,
            "search_space": "dict",
            "protein_metric": "str",
            "protein_goal": ("maximize", "minimize"),
            "protein_method": ("bayes",),
            "protein_settings": PROTEIN_SETTINGS,
            "scheduler_type": ("async_capped", "grid_search"),
            "wandb": WANDB_MAIN,
            "grid_parameters": "dict",
            "grid_metric": "str?",
            "cost_key": "str?",
        },
    ),
}
assert all(frozenset(SWEEP_TOOL[p].fields) == PROFILES[p].tool_fields for p in PROFILES)

_BOOL_WORDS = frozenset(("0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes"))
_INT64 = 2**63


def value_ok(spec: Spec, value: Any) -> bool:
    """Whether pydantic's lax validation takes ``value`` (as tools/run.py parsed it) for ``spec``.

    Only the kinds above: a bool takes 0/1 and the words pydantic knows in any case, an int a
    bool or a whole float, a float a bool or int, a str (or path) only a string."""
    if isinstance(spec, Model):
        if not isinstance(value, dict):
            return False
        if set(value) - set(spec.fields) or spec.required - set(value):
            return False
        return all(value_ok(spec.fields[k], v) for k, v in value.items())
    if isinstance(spec, tuple):
        return isinstance(value, str) and value in spec
    if spec == "bool":
        if isinstance(value, str):
            return value.lower() in _BOOL_WORDS
        return isinstance(value, (bool, int, float)) and value in (0, 1)
    if spec == "int":
        if isinstance(value, float):
            return math.isfinite(value) and value.is_integer() and abs(value) < _INT64
        return isinstance(value, int)
    if spec == "float":
        return isinstance(value, (bool, int, float))
    if spec == "float?":
        return value is None or isinstance(value, (bool, int, float))
    if spec in ("str", "path"):
        return isinstance(value, str)
    if spec == "str?":
        return value is None or isinstance(value, str)
    if spec == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if spec == "dict":
        return isinstance(value, dict)
    return True  # "timedelta": not checked


_STRING = "a string that tools/run.py does not read as a number, true/false or none/null"
_KIND_WORDS = {
    "bool": "true or false (or 1/0, yes/no, on/off)",
    "int": "a whole number",
    "float": "a number",
    "float?": "none or a number",
    "str": _STRING,
    "path": _STRING,
    "str?": "none or " + _STRING,
    "list[str]": 'a JSON list of strings, like ["a","b"]',
    "dict": "a JSON object",
    "timedelta": "a duration in seconds",
}


def describe(spec: Spec) -> str:
    """What ``spec`` accepts, in words."""
    if isinstance(spec, Model):
        req = sorted(spec.required)
        need = f", with {', '.join(req)}" if req else ""
        return f"a JSON object of {spec.name} fields ({', '.join(spec.fields)}){need}"
    if isinstance(spec, tuple):
        return "one of " + ", ".join(spec)
    return _KIND_WORDS.get(spec, "any value")


def kind_name(spec: Spec) -> str:
    if isinstance(spec, Model):
        return spec.name
    if isinstance(spec, tuple):
        return "fixed choice"
    return {"str?": "str or None", "float?": "float or None", "list[str]": "list of str"}.get(
        spec, spec
    )


def dict_walk_error(
    profile: str, field: str, held: dict[str, Any], rest: list[str], value: Any
) -> str | None:
    """Set ``value`` at the dotted ``rest`` inside the dict ``held`` (the SweepTool dict field
    ``field``, as the extras so far left it) the way Metta ``profile``'s ``Config.override`` does,
    or say (a clause) why it fails there; ``held`` is changed only when it binds.

    7c1a7ff418 (packages/mettagrid/python/src/mettagrid/base_config.py:53-59, :89-91): a dict is
    walked only through keys it holds, and the last part is set there. a8d1ecee19 (:61-85,
    :116-129): a missing part takes the rest of the path as one key with dots, but only when at
    most the final part follows it (``eval_overrides.a.b=1`` sets ``{"a.b": 1}``). At both, a value
    that is no dict (or Config) in the middle of the path fails (:61-75 / :87-101, and
    ``type(inner).model_fields`` at :94 / :132 for the last step)."""
    node: Any = held
    i = 0
    while i < len(rest) - 1:
        if not isinstance(node, dict):
            break
        if rest[i] in node:
            node = node[rest[i]]
            i += 1
            continue
        if profile == MAIN:
            remaining = ".".join(rest[i:])
            if remaining in node or i == len(rest) - 2:
                node[remaining] = value
                return None
        where = ".".join((field, *rest[:i]))
        if profile == MAIN:
            return (
                f"{where} has no key {rest[i]!r}, and Metta main's Config.override then takes at "
                f"most one more part, as a key with a dot ({where}.a.b=1 sets the key 'a.b')"
            )
        return (
            f"{where} has no key {rest[i]!r}, and Metta fom-v1's Config.override walks a dict "
            "only through keys it already holds"
        )
    if not isinstance(node, dict):
        where = ".".join((field, *rest[:i]))
        return f"{where} holds {node!r}, not a JSON object that Config.override could walk into"
    node[rest[-1]] = value
    return None


def field_error(
    profile: str, tok: str, dicts: dict[str, dict[str, Any]] | None = None
) -> str | None:
    """One sentence (without the final period) on why Metta ``profile``'s SweepTool refuses the
    extra ``tok`` (``key=value``, its first part a SweepTool field), or None when it takes it.

    ``dicts`` holds the SweepTool dict fields as the extras before ``tok`` left them (keyed by
    their dotted path; a missing one starts empty, as ``eval_overrides`` and ``grid_parameters``
    do at both commits, metta/tools/sweep.py:159 at 7c1a7ff418, :162 and :173 at a8d1ecee19); it
    is updated with what ``tok`` sets when Metta takes it."""
    from .command import parse_value, read_as, reads_back

    key, _, raw = tok.partition("=")
    parts = key.split(".")
    root = SWEEP_TOOL[profile]
    node: Spec = root
    parent = root.name
    fail = "so the sweep would exit 1 before any trial"
    state = {} if dicts is None else dicts
    for i, part in enumerate(parts):
        if not isinstance(node, Model):  # base_config.py:73-75 (7c1a7ff418), :99-101 (a8d1ecee19)
            above = ".".join(parts[:i])
            if node == "dict":
                held = state.setdefault(above, {})
                why = dict_walk_error(profile, above, held, parts[i:], parse_value(raw))
                if why is None:
                    return None
                keys = (
                    f"{above}.<key>=VALUE or {above}.<a>.<b>=VALUE (the key 'a.b')"
                    if profile == MAIN
                    else f"{above}.<key>=VALUE (one level below {above})"
                )
                return (
                    f"extra argument {tok!r}: {why}, {fail}; accepted: {keys}, deeper only "
                    f"through keys {above} holds, or the whole {above}=<JSON object>"
                )
            return (
                f"extra argument {tok!r}: {above} is a {kind_name(node)} field of Metta {profile}'s "
                f"{parent}, not a config with fields, {fail}; accepted: {above}=<value> with "
                f"{describe(node)}"
            )
        if part not in node.fields:  # base_config.py:61-63, 85-96 (7c1a7ff418); :87-89, 112-134
            where = ".".join(parts[:i])
            return (
                f"extra argument {tok!r}: {part} is not a field of {node.name} ({where}) in "
                f"Metta {profile}, which forbids unknown keys, {fail}; accepted: {where}.<field> "
                f"with a field of {node.name}: {', '.join(node.fields)}"
            )
        parent, node = node.name, node.fields[part]
    spec = node
    value = parse_value(raw)
    if value_ok(spec, value):
        if spec == "dict":  # the whole dict field: what later extras walk through
            state[key] = value
        return None
    plain = reads_back(raw) or isinstance(value, (dict, list))
    read = "" if plain else f" (tools/run.py reads it as {read_as(raw)})"
    shown = repr(raw if len(raw) <= 40 else raw[:37] + "...")  # '' for an empty value
    return (
        f"extra argument {tok!r}: Metta {profile}'s {parent} refuses {shown} for {parts[-1]}, "
        f"a {kind_name(spec)}{read}, {fail}; accepted for {key}: {describe(spec)}"
    )
