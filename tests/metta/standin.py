"""Stand-in Metta checkouts whose ``tools/run.py`` binds arguments exactly as upstream does.

Written from Metta-AI/metta read at 7c1a7ff418 (profile fom-v1) and a8d1ecee19 (profile main;
re-checked on 2026-12-03, when the newest stored snapshot of Metta's main was still a8d1ecee19);
each rule cites its upstream file:line. The contract data here is typed in independently of
hwscale_tui/metta/profiles.py, so a wrong product table fails against it instead of agreeing with
itself. The stand-in never trains: once every token is bound and every nested key checked it
prints what Metta would have received as JSON and exits 0.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# -- upstream facts (independent copy) ------------------------------------------------------------

_WANDB_FIELDS = [  # common/src/metta/common/wandb/context.py:16-26 at 7c1a7ff418
    "enabled",
    "project",
    "entity",
    "group",
    "name",
    "run_id",
    "data_dir",
    "job_type",
    "tags",
    "notes",
]
_WANDB_FIELDS_MAIN = [f for f in _WANDB_FIELDS if f != "name"]  # context.py:16-25 at a8d1ecee19
_PROTEIN_SETTINGS = [  # metta/sweep/protein_config.py:71-91 at 7c1a7ff418, :16-36 at a8d1ecee19
    "max_suggestion_cost",
    "global_search_scale",
    "random_suggestions",
    "suggestions_per_pareto",
    "resample_frequency",
    "num_random_samples",
    "seed_with_search_center",
    "expansion_rate",
    "acquisition_fn",
    "ucb_beta",
    "randomize_acquisition",
]
_COMMON_FIELDS = {  # SweepTool fields both commits share; kind for override checks
    "system": "config:*",  # Tool.system (common/src/metta/common/tool/tool.py:27 / :31)
    "sweep_name": "str",
    "sweep_dir": "str",
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
    "wandb": "config:" + ",".join(_WANDB_FIELDS),
    "stats_server_uri": "str",
    "dispatcher_type": "enum:local,skypilot",
    "capture_output": "bool",
}

CONTRACTS = {
    "fom-v1": {
        "commit": "7c1a7ff418",
        # experiments/adaptive/hardware_scaling/hw_sweep.py:18-27
        "tool_file": "experiments/adaptive/hardware_scaling/hw_sweep.py",
        "tool_stub": (
            "def hw_sweep(\n    *,\n    gpus: int,\n    nodes: int,\n"
            '    recipe_module: str = "experiments.recipes.arena_basic_easy_shaped",\n'
            '    train_entrypoint: str = "train",\n    eval_entrypoint: str = "evaluate_in_sweep",\n'
            "    total_timesteps: int = 300_000_000,\n"
            '    protein_metric_path: str = "evaluator/eval_sweep/score",\n):\n'
            '    raise NotImplementedError("stand-in: tools/run.py only reads this signature")\n'
        ),
        # metta/tools/sweep.py:113-167 at 7c1a7ff418
        "fields": {
            **_COMMON_FIELDS,
            "protein_config": "config:metric,goal,method,parameters,settings",
            "scheduler_type": "enum:batched_synced,async_capped",
            "train_overrides": "dict",
        },
        # trainer paths a trial's TrainTool accepts (extra="forbid" Configs):
        # metta/rl/trainer_config.py:10-21, :47-66; metta/rl/loss/loss_config.py:19-25, :35;
        # metta/rl/loss/ppo.py:31-62
        "trainer_paths": [
            "trainer.total_timesteps",
            "trainer.batch_size",
            "trainer.minibatch_size",
            "trainer.bptt_horizon",
            "trainer.update_epochs",
            "trainer.compile",
            "trainer.optimizer.learning_rate",
            "trainer.optimizer.beta1",
            "trainer.optimizer.beta2",
            "trainer.optimizer.eps",
            "trainer.optimizer.weight_decay",
            "trainer.optimizer.type",
        ]
        + [
            f"trainer.losses.loss_configs.ppo.{k}"
            for k in (
                "clip_coef",
                "ent_coef",
                "gae_lambda",
                "gamma",
                "max_grad_norm",
                "vf_clip_coef",
                "vf_coef",
                "norm_adv",
                "clip_vloss",
                "target_kl",
            )
        ],
        # state hw_sweep leaves behind: train_overrides={"trainer.total_timesteps": N}
        # (hw_sweep.py:79-81)
        "initial_train_overrides": "total_timesteps",
        # ProteinConfig.settings is ProteinSettings (metta/sweep/protein_config.py:108-110, :71-91)
        "nested": {"protein_config.settings": _PROTEIN_SETTINGS},
        # Config.override walks a dict only through keys that exist (base_config.py:53-58)
        "dict_walk": "existing",
    },
    "main": {
        "commit": "a8d1ecee19",
        "tool_file": None,  # written by hwscale-tui metta install-tool
        # metta/tools/sweep.py:115-178 at a8d1ecee19
        "fields": {
            **_COMMON_FIELDS,
            "search_space": "dict",
            "protein_metric": "str",
            "protein_goal": "enum:maximize,minimize",
            "protein_method": "enum:bayes",
            "protein_settings": "config:" + ",".join(_PROTEIN_SETTINGS),
            "scheduler_type": "enum:async_capped,grid_search",
            "grid_parameters": "dict",
            "grid_metric": "str",
            "cost_key": "str",
        },
        # metta/rl/trainer_config.py:11-25, :42-50, :76-94; metta/rl/loss/losses.py:55-56;
        # metta/rl/loss/ppo_actor.py:16-27; metta/rl/loss/ppo_critic.py:17-25
        "trainer_paths": [
            "trainer.total_timesteps",
            "trainer.batch_size",
            "trainer.minibatch_size",
            "trainer.bptt_horizon",
            "trainer.update_epochs",
            "trainer.compile",
            "trainer.optimizer.learning_rate",
            "trainer.optimizer.beta1",
            "trainer.optimizer.beta2",
            "trainer.optimizer.eps",
            "trainer.optimizer.type",
            "trainer.optimizer.weight_decay",
            "trainer.optimizer.momentum",
            "trainer.optimizer.warmup_steps",
            "trainer.advantage.gae_lambda",
            "trainer.advantage.gamma",
            "trainer.losses.ppo_actor.clip_coef",
            "trainer.losses.ppo_actor.ent_coef",
            "trainer.losses.ppo_critic.vf_clip_coef",
            "trainer.losses.ppo_critic.vf_coef",
        ],
        "initial_train_overrides": None,
        # a dict also takes the dotted remainder as one key (base_config.py:61-85, :116-129)
        "dict_walk": "dotted_remainder",
        # what a trial's trainer checks at start (trial_batch_error below)
        "trial": {
            "bptt_horizon": 256,  # TrainerConfig default, metta/rl/trainer_config.py:88
            "minibatch_size": 16384,  # :87
            "forward_pass_minibatch_target_size": 4096,  # training_environment.py:51
            "async_factor": 2,  # training_environment.py:45
            "num_agents": 24,  # recipes/prod/arena_basic_easy_shaped.py:36-37
        },
    },
}


def trial_batch_error(profile: str, trainer: dict, cpus: int, gpus_per_node: int) -> str | None:
    """Why a trial of ``profile`` on this node refuses these trainer values at start, or None.

    Metta main at a8d1ecee19: TrainerConfig's validator (metta/rl/trainer_config.py:108-113); the
    rank's agents are its envs x agents per env (metta/rl/trainer.py:78-83,
    training_environment.py:227-232), envs from the auto-tuned worker count
    (training_environment.py:158-170) and calculate_batch_sizes (metta/rl/training/batch.py:13-19);
    Experience needs batch_size // bptt_horizon >= agents and whole minibatch segments
    (metta/rl/training/experience.py:41-49, :61-83).
    """
    t = CONTRACTS[profile]["trial"]
    batch = trainer["batch_size"]
    minibatch = trainer.get("minibatch_size", t["minibatch_size"])
    bptt = trainer.get("bptt_horizon", t["bptt_horizon"])
    if minibatch > batch or batch % minibatch:
        return "minibatch_size must be <= batch_size and divide it"
    workers = max(1, (cpus // 2) // max(gpus_per_node, 1))
    target = max(t["forward_pass_minibatch_target_size"] // t["num_agents"], 2, workers)
    envs = (target // workers) * workers * t["async_factor"]
    agents = envs * t["num_agents"]
    segments = batch // bptt
    if agents > segments:
        return f"batch_size ({batch}) is too small for {agents} agents"
    if minibatch % bptt:
        return f"minibatch_size {minibatch} must be divisible by bptt_horizon {bptt}"
    if segments % (minibatch // bptt):
        return "segments must be divisible by minibatch_segments"
    return None


# -- the stand-in tools/run.py ----------------------------------------------------------------------

RUN_PY = r'''#!/usr/bin/env python3
"""Stand-in for Metta's tools/run.py (see tests/metta/standin.py). Exit 2: usage, 1: tool error."""
import ast, json, os, sys

CONTRACT = json.loads(__CONTRACT__)


def out(msg):
    print(msg, file=sys.stderr)


# -- whether a trial of this sweep logs to W&B (the same at 7c1a7ff418 and a8d1ecee19) --
# A trial's TrainTool starts with WandbConfig.Unconfigured() (metta/tools/train.py:76 at
# a8d1ecee19, :68 at 7c1a7ff418); the recipes' train() leave it (recipes/prod/
# arena_basic_easy_shaped.py:130-136; experiments/recipes/arena_basic_easy_shaped.py:120-126) and
# a sweep's trial gets only run= and group= (metta/adaptive/utils.py:237), so the trial takes
# auto_wandb_config(run) (train.py:108-109; :99-100) and logs only when `enabled`
# (train.py:439-442; :360-363). A local trial inherits the sweep's environment
# (metta/adaptive/dispatcher/local.py:100-114: Popen without env=).
# User types whose Metta profile enables the wandb component (metta/setup/profiles.py:39-111 at
# a8d1ecee19, :39-107 at 7c1a7ff418; the wandb lines 49, 65, 81, 100/99: external off; cloud,
# softmax-docker, softmax on).
PROFILE_WANDB = {"external": False, "cloud": True, "softmax-docker": True, "softmax": True}
TRUE_WORDS = ("1", "on", "t", "true", "y", "yes")  # pydantic's lax bool from a str, any case
FALSE_WORDS = ("0", "off", "f", "false", "n", "no")


def env_wandb_enabled():
    """SupportedWandbEnvOverrides().WANDB_ENABLED (metta/tools/utils/auto_config.py:18-37 at
    a8d1ecee19, :16-35 at 7c1a7ff418): pydantic-settings 2.11.0 (both commits' uv.lock) reads the
    name in any case (main.py:481 case_sensitive=False; lower-cased into one dict, so the last of
    os.environ wins, sources/utils.py:22-23, 30-40), takes an empty value as a value (main.py:486)
    and no word as None (:489), and pydantic reads the str as a bool; the instance is built at
    import, so a bad value fails every Metta tool."""
    found = None
    for k, v in os.environ.items():
        if k.lower() == "wandb_enabled":
            found = v
    if found is None:
        return None
    if found.lower() in TRUE_WORDS:
        return True
    if found.lower() in FALSE_WORDS:
        return False
    raise ValueError(f"WANDB_ENABLED={found!r}: Input should be a valid boolean")


def setup_wandb_enabled():
    """WandbSetup().to_config_settings()["enabled"] (metta/setup/components/wandb.py:100-128 at
    both commits): on for a softmax user type, else when the wandb component is enabled
    (metta/setup/components/base.py:52-56; :51-55); the settings are ~/.metta/config.yaml
    (metta/setup/saved_settings.py:115-117), user type "external" by default (:56-58), the
    profile's components unless custom_config (:72-85)."""
    path = os.path.join(os.path.expanduser("~"), ".metta", "config.yaml")
    saved = {}
    if os.path.exists(path):
        text = open(path, encoding="utf-8").read()
        try:
            import yaml
            saved = yaml.safe_load(text) or {}
        except ImportError:  # the tests write it as JSON, which is YAML too
            saved = json.loads(text or "{}")
    user_type = saved.get("user_type", "external")
    if user_type in ("softmax", "softmax-docker"):
        return True
    if saved.get("custom_config", False):
        return bool((saved.get("components") or {}).get("wandb", {}).get("enabled", False))
    return PROFILE_WANDB.get(user_type, False)


def trial_wandb():
    """auto_wandb_config's `enabled` (auto_config.py:50-58 at a8d1ecee19, :48-56 at 7c1a7ff418):
    WandbConfig.Off() (False), then the setup's, then WANDB_ENABLED, later ones winning."""
    from_env = env_wandb_enabled()
    enabled = setup_wandb_enabled() if from_env is None else from_env
    return {"enabled": enabled, "wandb_mode": os.environ.get("WANDB_MODE")}


def parse_value(s):  # run_tool.py:88-119
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if (s.startswith("{") and s.endswith("}")) or (s.startswith("[") and s.endswith("]")):
        try:
            return json.loads(s)
        except json.JSONDecodeError:
            pass
    for conv in (int, float):
        try:
            return conv(s)
        except ValueError:
            pass
    return s


def nestify(flat):  # run_tool.py:144-151
    out_ = {}
    for k, v in flat.items():
        node = out_
        parts = k.split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = v
    return out_


def module_file(mod):
    for cand in (mod.replace(".", "/") + ".py", mod.replace(".", "/") + "/__init__.py"):
        if os.path.isfile(cand):
            return cand
    return None


def load_signature(tool_path):
    # tool_path.py:24-52 (7c1a7ff418): import_module(module), getattr(module, symbol); a
    # package re-exports its maker (experiments/adaptive/hardware_scaling/__init__.py:9)
    if "." not in tool_path:
        return None
    mod, sym = tool_path.rsplit(".", 1)
    cand = module_file(mod)
    if cand is None:
        return None
    tree = ast.parse(open(cand, encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == sym:
            return node.args
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            if any(a.name == sym and a.asname in (None, sym) for a in node.names):
                base = mod if cand.endswith("__init__.py") else mod.rsplit(".", 1)[0]
                return load_signature(base + "." + node.module + "." + sym)
    return None


def params_of(args):
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    anns = {a.arg: (ast.unparse(a.annotation) if a.annotation else None)
            for a in args.posonlyargs + args.args + args.kwonlyargs}
    pos_defaults = dict(zip([a.arg for a in args.args][len(args.args) - len(args.defaults):], args.defaults))
    required = [a.arg for a in args.args if a.arg not in pos_defaults]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    defaults = {a.arg: ast.literal_eval(d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
    defaults.update({k: ast.literal_eval(v) for k, v in pos_defaults.items()})
    return names, anns, required, defaults


def type_ok(value, ann):  # type_parse via pydantic.TypeAdapter (run_tool.py:194-199), lax mode
    if ann in (None, "Any"):
        return True
    if ann == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if ann == "str":
        return isinstance(value, str)
    if ann.startswith("dict"):
        return isinstance(value, dict) or (value is None and "None" in ann)
    return True


def main():
    argv = sys.argv[1:]
    if not argv:
        return 0
    tool_path, rest = argv[0], argv[1:]
    try:  # metta.tools.sweep imports auto_config (metta/tools/sweep.py:24; :21)
        wandb_of_trials = trial_wandb()
    except ValueError as e:
        out(f"Error: {e}")
        return 1
    dash = [a for a in rest if a.startswith("-")]
    if dash:  # run_tool.py:499-509
        out("Error: Unknown runner option(s): " + ", ".join(dash))
        return 2
    cli = {}
    for a in rest:  # parse_cli_args, run_tool.py:122-131 and :577-581
        if "=" not in a:
            out(f"Error: Invalid argument format: {a}. Expected key=value")
            return 2
        k, v = a.split("=", 1)
        cli[k] = parse_value(v)
    nested = nestify(cli)
    sig = load_signature(tool_path)
    if sig is None:  # run_tool.py:586-589
        out(f"Error: Could not find tool '{tool_path}'")
        return 1
    names, anns, required, defaults = params_of(sig)
    kwargs, consumed = {}, set()
    for name in names:  # run_tool.py:623-673 (a8d1ecee19: :533-587)
        if name in nested:  # every flat key is in the nested payload too (nestify, :494)
            kwargs[name] = nested[name]
            consumed |= {k for k in cli if k == name or k.startswith(name + ".")}
        elif name in cli:
            kwargs[name] = cli[name]
            consumed.add(name)
        # type_parse failing keeps the raw value (a8d1ecee19 :554-565), which the tool maker
        # hands to SweepTool: pydantic refuses a bool, None or float for a str field
        # (recipe_module, train_entrypoint, eval_entrypoint: metta/tools/sweep.py:138-140 at
        # a8d1ecee19), "Error creating tool configuration", exit 1 (:608-610)
        if name in kwargs and not type_ok(kwargs[name], anns[name]):
            out(f"Error creating tool configuration: {name}={kwargs[name]!r} is not {anns[name]}")
            return 1
    missing = [n for n in required if n not in kwargs]
    if missing:  # the call raises TypeError -> exit 1 (:683-693)
        out(f"Error creating tool configuration: missing required argument(s) {missing}")
        return 1
    call = {**defaults, **kwargs}
    fields = CONTRACT["fields"]
    remaining = {k: v for k, v in cli.items() if k not in consumed}
    unknown = [k for k in remaining if k.split(".", 1)[0] not in fields]  # :174-191
    if unknown:  # run_tool.py:706-718
        out("Error: Unknown arguments: " + ", ".join(unknown))
        return 2
    # state of the returned tool that overrides walk through
    state = {f: {} for f, kind in fields.items() if kind == "dict"}
    if CONTRACT["initial_train_overrides"]:
        state["train_overrides"] = {"trainer.total_timesteps": call["total_timesteps"]}
    if "search_space" in names:  # our tool maker: search_space + fixed total_timesteps
        state["search_space"] = dict(call.get("search_space") or {})
        state["search_space"]["trainer.total_timesteps"] = call["total_timesteps"]
    for key, value in remaining.items():  # Config.override, base_config.py:42-101
        parts = key.split(".")
        kind = fields[parts[0]]
        if len(parts) == 1:
            if kind.startswith("enum:") and value not in kind[5:].split(","):
                out(f"Error applying override {key}={value}: not one of {kind[5:]}")
                return 1
            if kind == "bool" and not isinstance(value, bool):
                out(f"Error applying override {key}={value}: not a bool")
                return 1
            if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                out(f"Error applying override {key}={value}: not an int")
                return 1
            if kind == "dict":
                if not isinstance(value, dict):
                    out(f"Error applying override {key}={value}: not a dict")
                    return 1
                state[parts[0]] = dict(value)
            continue
        if kind == "dict" and CONTRACT["dict_walk"] == "existing":
            node = state[parts[0]]  # dicts are walked only through keys that exist (:53-58)
            for p in parts[1:-1]:
                if not isinstance(node, dict) or p not in node:
                    out(f"Error applying override {key}={value}: key {key} not found")
                    return 1
                node = node[p]
            node[parts[-1]] = value
        elif kind == "dict":  # a8d1ecee19: base_config.py:61-85, :116-129
            node, i = state[parts[0]], 1
            while i < len(parts) - 1:
                if not isinstance(node, dict):
                    out(f"Error applying override {key}={value}: key {key} is not a Config object")
                    return 1
                if parts[i] in node:
                    node, i = node[parts[i]], i + 1
                    continue
                rest = ".".join(parts[i:])
                if rest in node or i == len(parts) - 2:
                    node[rest] = value
                    break
                out(f"Error applying override {key}={value}: key {key} not found in dict")
                return 1
            else:
                if not isinstance(node, dict):
                    out(f"Error applying override {key}={value}: key {key} is not a Config object")
                    return 1
                node[parts[-1]] = value
        elif kind.startswith("config:"):
            allowed = kind[7:].split(",")
            nested = CONTRACT.get("nested", {}).get(".".join(parts[:2]), [])
            if len(parts) == 3 and parts[2] in nested:
                pass  # a field of a Config inside this Config (protein_config.settings)
            elif allowed != ["*"] and (len(parts) != 2 or parts[1] not in allowed):
                out(f"Error applying override {key}={value}: key {key} not found")
                return 1
        else:
            out(f"Error applying override {key}={value}: key {parts[0]} is not a Config object")
            return 1
    # nested keys reach the trainer's extra="forbid" Configs when a trial starts
    paths = set(CONTRACT["trainer_paths"])
    for field_name in ("train_overrides", "search_space"):
        for k, v in (state.get(field_name) or {}).items():
            if k not in paths:
                out(f"Error: {field_name} key {k} is not a field of Metta's TrainerConfig (extra='forbid')")
                return 1
            if field_name == "search_space" and isinstance(v, dict):
                # ParameterConfig (metta/sweep/parameter_config.py:21-36 at a8d1ecee19)
                if set(v) - {"min", "max", "distribution", "mean", "scale"} or not {"min", "max", "distribution", "mean", "scale"} <= set(v):
                    out(f"Error: search_space {k} is not a ParameterConfig: {sorted(v)}")
                    return 1
                if v["distribution"] not in ("uniform", "int_uniform", "uniform_pow2", "log_normal", "logit_normal") or not v["min"] < v["max"]:
                    out(f"Error: search_space {k} is not a valid ParameterConfig")
                    return 1
    record = {
        "tool": tool_path,
        "call": call,
        "overrides": remaining,
        "state": state,
        "trial_wandb": wandb_of_trials,
    }
    print(json.dumps(record, sort_keys=True))
    rec = os.environ.get("STANDIN_RECORD")
    if rec:
        with open(rec, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def make_checkout(root: Path, profile: str) -> Path:
    """A stand-in Metta checkout of ``profile`` under ``root``."""
    c = CONTRACTS[profile]
    root.mkdir(parents=True, exist_ok=True)
    (root / "tools").mkdir(exist_ok=True)
    text = RUN_PY.replace("__CONTRACT__", repr(json.dumps(c)))
    (root / "tools" / "run.py").write_text(text)
    (root / "tools" / "run.py").chmod(0o755)
    if profile == "fom-v1":
        f = root / c["tool_file"]
        f.parent.mkdir(parents=True, exist_ok=True)
        for d in (root / "experiments", root / "experiments" / "adaptive"):
            (d / "__init__.py").touch()
        (f.parent / "__init__.py").write_text("from .hw_sweep import hw_sweep\n")
        f.write_text(c["tool_stub"])
    else:
        for d in ("recipes", "recipes/prod", "recipes/experiment"):
            (root / d).mkdir(parents=True, exist_ok=True)
            (root / d / "__init__.py").touch()
        (root / "recipes/prod/arena_basic_easy_shaped.py").write_text(
            "def train():\n    raise NotImplementedError\n"
        )
    return root


def uv_shim(bin_dir: Path) -> Path:
    """A ``uv`` on PATH that runs ``uv run SCRIPT ARGS`` as ``python SCRIPT ARGS`` (no uv here)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "uv"
    shim.write_text(f'#!/bin/sh\n[ "$1" = run ] && shift\nexec {sys.executable} "$@"\n')
    shim.chmod(0o755)
    return shim


def run_standin(repo: Path, argv: list[str], env: dict[str, str] | None = None):
    """Run an argv that starts ``uv run ./tools/run.py`` in the stand-in checkout."""
    import subprocess

    assert argv[:3] == ["uv", "run", "./tools/run.py"], argv[:3]
    return subprocess.run(
        [sys.executable, "./tools/run.py", *argv[3:]],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
    )
