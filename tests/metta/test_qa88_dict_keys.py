"""Dotted keys under a SweepTool dict field (``eval_overrides.a.b=1``) are taken or refused
exactly as each pinned Metta commit's ``Config.override`` takes or refuses them.

Before, plan and launch passed every dotted key under a dict field unchecked, so under fom-v1
``eval_overrides.a.b=1`` passed plan and Metta's sweep exited 1 in every pair ("Error applying
override ... key eval_overrides.a.b not found"). The replicas below are typed in from
Metta-AI/metta, independently of hwscale_tui/metta/fields.py:

- 7c1a7ff418 (profile fom-v1): packages/mettagrid/python/src/mettagrid/base_config.py:42-101; a
  dict is walked only through keys it holds (:53-59) and the last part set there (:89-91).
- a8d1ecee19 (profile main): base_config.py:42-139; a missing part takes the rest of the path as
  one key with dots when it exists or only the final part follows (:61-85), the last part is set
  or the rest joined (:116-129).

Both SweepTools start ``eval_overrides`` (and main's ``grid_parameters``) empty
(metta/tools/sweep.py:159 at 7c1a7ff418, :162 and :173 at a8d1ecee19; neither hw_sweep.py:67-82
nor our tool maker sets them), and tools/run.py keeps one value per key, the last, at the key's
first place (run_tool.py:122-131, a dict; :118-127), applying them in that order (:725-730;
:639-644); a failure is exit 1 before any trial.
"""

from __future__ import annotations

from typing import Any

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout
from tests.metta.upstream_replica import parse_value


def walk_fom(root: dict[str, Any], key: str, value: Any) -> None:
    """base_config.py:42-101 at 7c1a7ff418, for a key whose first part is a dict field of
    ``root`` (the SweepTool's dict fields by name). Raises where Metta raises."""
    path = key.split(".")
    inner: Any = root[path[0]]
    for part in path[1:-1]:
        if isinstance(inner, dict):  # :54-59
            if part not in inner:
                raise ValueError(f"key {key} not found")
            inner = inner[part]
            continue
        # :61-75: not a Config (JSON values never are): hasattr fails, or getattr gives no Config
        raise ValueError(f"key {part} is not a Config object")
    if isinstance(inner, dict):  # :89-91
        inner[path[-1]] = value
        return
    raise AttributeError("model_fields")  # :93-94 on an int, str or list


def walk_main(root: dict[str, Any], key: str, value: Any) -> None:
    """base_config.py:42-139 at a8d1ecee19, likewise."""
    path = key.split(".")
    inner: Any = root[path[0]]
    i = 1
    while i < len(path) - 1:  # :58
        part = path[i]
        if isinstance(inner, dict):
            if part in inner:  # :63-67
                inner = inner[part]
                i += 1
                continue
            remaining = ".".join(path[i:])  # :71-75
            if remaining in inner:
                inner[remaining] = value
                return
            if i == len(path) - 2:  # :79-82
                inner[remaining] = value
                return
            raise ValueError(f"key {key} not found in dict")  # :85
        raise ValueError(f"key {part} is not a Config object")  # :87-101
    if isinstance(inner, dict):  # :116-129
        final = path[-1]
        if final in inner:
            inner[final] = value
        else:
            remaining = ".".join(path[i:])
            inner[remaining if remaining in inner else final] = value
        return
    raise AttributeError("model_fields")  # :131-132


DICT_FIELDS = {"fom-v1": ("eval_overrides",), "main": ("eval_overrides", "grid_parameters")}
WALK = {"fom-v1": walk_fom, "main": walk_main}


def metta_takes(profile: str, tokens: list[str]) -> bool:
    root: dict[str, Any] = {f: {} for f in DICT_FIELDS[profile]}
    cli: dict[str, Any] = {}
    for tok in tokens:  # parse_cli_args: a dict, one value per key (run_tool.py:122-131)
        k, _, raw = tok.partition("=")
        cli[k] = parse_value(raw)
    try:
        for k, v in cli.items():
            if "." not in k:  # the whole field: dict[str, Any] takes any JSON object
                if not isinstance(v, dict):
                    return False
                root[k] = dict(v)
            else:
                WALK[profile](root, k, v)
    except (ValueError, AttributeError):
        return False
    return True


SEQUENCES: list[list[str]] = [
    ["eval_overrides.a=1"],
    ["eval_overrides.a.b=1"],
    ["eval_overrides.a.b.c=1"],
    ["eval_overrides.trainer.total_timesteps=5"],
    ["eval_overrides..a=1"],
    ["eval_overrides.a=1", "eval_overrides.a.b=2"],
    ["eval_overrides.a={}", "eval_overrides.a.b=2"],
    ['eval_overrides.a={"b":1}', "eval_overrides.a.b.c=2"],
    ['eval_overrides.a={"b":{}}', "eval_overrides.a.b.c=2"],
    ['eval_overrides.a={"b":{}}', "eval_overrides.a.b.c.d=2"],
    ['eval_overrides={"a":{}}', "eval_overrides.a.b=1"],
    ['eval_overrides={"a":{}}', "eval_overrides.a.b.c=1"],
    ['eval_overrides={"a":1}', "eval_overrides.a.b=1"],
    ['eval_overrides={"a.b":1}', "eval_overrides.a.b=2"],
    ['eval_overrides={"a.b.c":1}', "eval_overrides.a.b.c=2"],
    ["eval_overrides.a.b=1", "eval_overrides.a.b.c=2"],
    ["eval_overrides.a=[1]", "eval_overrides.a.x=2"],
    ["eval_overrides.a=x", "eval_overrides.a.upper=2"],
    # one value per key, at its first place: the later dict wins before the dotted key
    ["eval_overrides={}", "eval_overrides.a.b=1", 'eval_overrides={"a":{}}'],
]
MAIN_ONLY = [
    ["grid_parameters.a=1"],
    ["grid_parameters.a.b=1"],
    ["grid_parameters.a.b.c=1"],
    ['grid_parameters={"a":{"b":{}}}', "grid_parameters.a.b.c.d=1"],
]


def _cfg(repo, profile):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {"wandb.entity": "team", "metta.repo": str(repo), "metta.profile": profile},
    )


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_dotted_dict_keys_are_refused_exactly_as_each_commit_refuses_them(tmp_path, profile):
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        install_tool(repo)
    cfg = _cfg(repo, profile)
    wrong = []
    seqs = SEQUENCES + (MAIN_ONLY if profile == "main" else [])
    for tokens in seqs:
        upstream = metta_takes(profile, tokens)
        try:
            plan_experiment(cfg, tmp_path / "e.toml", tokens)
            took, why = True, ""
        except UsageError as e:
            took, why = False, str(e)
        if took != upstream:
            wrong.append((tokens, "Metta takes it" if upstream else "Metta refuses it", why))
        elif not took:  # one sentence naming the extra and what is accepted
            assert why.startswith("extra argument ") and "; accepted: " in why, why
            assert why.endswith(".") and ". " not in why, why
    assert not wrong, wrong
    # the list exercises both outcomes, and the commits differ on some of them
    assert {metta_takes(profile, t) for t in seqs} == {True, False}
    assert any(metta_takes("fom-v1", t) != metta_takes("main", t) for t in SEQUENCES)


def test_the_refusal_names_the_missing_key_and_what_is_accepted(tmp_path):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    with pytest.raises(UsageError) as e:
        plan_experiment(_cfg(repo, "fom-v1"), tmp_path / "e.toml", ["eval_overrides.a.b=1"])
    assert str(e.value) == (
        "extra argument 'eval_overrides.a.b=1': eval_overrides has no key 'a', and Metta "
        "fom-v1's Config.override walks a dict only through keys it already holds, so the sweep "
        "would exit 1 before any trial; accepted: eval_overrides.<key>=VALUE (one level below "
        "eval_overrides), deeper only through keys eval_overrides holds, or the whole "
        "eval_overrides=<JSON object>."
    )


def test_a_key_under_a_value_that_is_no_object_says_so_once(tmp_path):
    """It read '..., so Config.override cannot walk into it, so the sweep would exit 1 ...'."""
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    with pytest.raises(UsageError) as e:
        plan_experiment(
            _cfg(repo, "fom-v1"),
            tmp_path / "e.toml",
            ["eval_overrides.a=1", "eval_overrides.a.b=2"],
        )
    assert str(e.value) == (
        "extra argument 'eval_overrides.a.b=2': eval_overrides.a holds 1, not a JSON object that "
        "Config.override could walk into, so the sweep would exit 1 before any trial; accepted: "
        "eval_overrides.<key>=VALUE (one level below eval_overrides), deeper only through keys "
        "eval_overrides holds, or the whole eval_overrides=<JSON object>."
    )
