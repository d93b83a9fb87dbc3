"""A recipe module or entrypoint that Metta's tools/run.py reads as a value, not a name.

``parse_value`` (common/src/metta/common/tool/run_tool.py:84-115 at a8d1ecee19, :88-119 at
7c1a7ff418) turns ``true``/``false`` (any case) into a bool, ``none``/``null`` into None and
``nan``/``inf``/``infinity`` into floats. The tool maker's parameters are bound first (:533-587);
when ``type_parse`` fails the raw value is kept (:554-565), so hw_sweep builds its SweepTool with
a bool, None or float where ``recipe_module``/``train_entrypoint``/``eval_entrypoint`` are ``str``
(metta/tools/sweep.py:138-140), pydantic refuses it and tools/run.py exits 1, "Error creating tool
configuration" (:608-610), before any trial. ``launch`` used to start every pair into that.
"""

from __future__ import annotations

import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout, run_standin
from tests.support.cli import cli_env, hwscale_cmd, launched_nothing


def _cfg(repo, profile, **over):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {
            "wandb.entity": "team",
            "metta.repo": str(repo),
            "metta.profile": profile,
            "grid.gpu_counts": [1],
            "grid.node_counts": [1],
            **over,
        },
    )


def _checkout(tmp_path, profile):
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        install_tool(repo)
    return repo


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
@pytest.mark.parametrize(
    "key, value, read_as",
    [
        ("metta.train_entrypoint", "true", "the boolean true"),
        ("metta.eval_entrypoint", "False", "the boolean false"),
        ("metta.train_entrypoint", "null", "None"),
        ("metta.recipe_module", "none", "None"),
        ("metta.eval_entrypoint", "nan", "the number nan"),
        ("metta.recipe_module", "Infinity", "the number inf"),
    ],
)
def test_a_name_tools_run_reads_as_a_value_stops_the_launch(tmp_path, profile, key, value, read_as):
    repo = _checkout(tmp_path, profile)
    cfg = _cfg(repo, profile, **{key: value})
    exp = tmp_path / "e.toml"
    cfgmod.save(cfg, exp)
    plan = plan_experiment(cfg, exp)
    # what the product would send fails in Metta's binding (the stand-in binds as upstream)
    r = run_standin(repo, plan.pairs[0].argv)
    assert r.returncode == 1 and "Error creating tool configuration" in r.stderr, r.stderr
    sentence = f"{key} {value!r} would reach Metta as {read_as}, not a name"
    assert plan.blockers and plan.blockers[0].startswith(sentence)
    assert any(w.startswith(sentence) for w in plan.warnings)
    launched = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp)), capture_output=True, text=True, env=cli_env()
    )
    assert launched.returncode == 2 and launched.stdout == ""
    assert launched.stderr.startswith("hwscale-tui: error: " + sentence)
    assert launched.stderr.count("\n") == 1 and "other than those words." in launched.stderr
    assert launched_nothing(exp)


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_names_that_only_contain_those_words_bind_and_are_no_blockers(tmp_path, profile):
    repo = _checkout(tmp_path, profile)
    over = {
        "metta.train_entrypoint": "true_train",
        "metta.eval_entrypoint": "evaluate_nan",
        "metta.recipe_module": "recipes.null",
    }
    cfg = _cfg(repo, profile, **over)
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    assert plan.blockers == []
    r = run_standin(repo, plan.pairs[0].argv)
    assert r.returncode == 0, r.stderr
