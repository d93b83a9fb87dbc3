"""Extras that silently replaced what the experiment decides.

The runner sends the goal only when it is ``minimize`` (both commits default to maximize), and
``sweep.acquisition_fn`` / ``sweep.max_suggestion_cost`` only when they differ from Metta's
defaults (``main``); the tool maker sets the metric from ``protein_metric_path`` (``main``'s
``SweepTool(protein_metric=...)``, hwscale_tui/metta/install.py; ``fom-v1``'s
``ProteinConfig(metric=metric_path)``, optimized_sweep_config.py:82-84 at 7c1a7ff418) and, under
``fom-v1``, the whole search space (``protein_config.parameters``, optimized_sweep_config.py:86-147).
So ``protein_goal=minimize`` with ``sweep.goal = "maximize"``, ``protein_metric=other``,
``protein_config.metric=other``, ``protein_settings.acquisition_fn=ucb`` with the default
``naive``, or ``protein_config={...}`` passed the repeat check, Metta's ``tools/run.py`` bound them
(the stand-in shows it: exit 0, the key among the overrides) and the sweep optimized another goal,
metric, acquisition or space than plan, the grid and the analysis showed."""

from __future__ import annotations

import json

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout, run_standin


def _cfg(repo, profile):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {"wandb.entity": "team", "metta.repo": str(repo), "metta.profile": profile},
    )


def _checkout(tmp_path, profile):
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        install_tool(repo)
    return repo


@pytest.mark.parametrize(
    "profile, token, origin",
    [
        ("main", "protein_goal=minimize", "sweep.goal"),
        ("main", "protein_metric=evaluator/eval_other/score", "sweep.metric"),
        ("main", "protein_settings.acquisition_fn=ucb", "sweep.acquisition_fn"),
        ("main", "protein_settings.max_suggestion_cost=60", "sweep.max_suggestion_cost"),
        ("fom-v1", "protein_config.goal=minimize", "sweep.goal"),
        ("fom-v1", "protein_config.metric=evaluator/eval_other/score", "sweep.metric"),
    ],
)
def test_an_extra_for_a_key_the_experiment_decides_is_refused(tmp_path, profile, token, origin):
    repo = _checkout(tmp_path, profile)
    cfg = _cfg(repo, profile)  # sweep.goal maximize, acquisition naive, cost 10800: not sent
    key = token.split("=", 1)[0]
    argv = plan_experiment(cfg, tmp_path / "e.toml").pairs[0].argv
    assert not any(t.startswith(key + "=") for t in argv)
    # Metta binds it as an override: without the refusal the sweep ran with it
    r = run_standin(repo, [*argv, token])
    assert r.returncode == 0, r.stdout + r.stderr
    assert key in json.loads(r.stdout)["overrides"]
    with pytest.raises(UsageError) as e:
        plan_experiment(cfg, tmp_path / "e.toml", [token])
    msg = str(e.value)
    assert msg.startswith(f"extra argument {token!r} would replace {key}, which the metta runner ")
    assert f"accepted: set {origin} in the experiment instead" in msg and msg.count(". ") == 0


@pytest.mark.parametrize(
    "token",
    [
        'protein_config={"metric":"evaluator/eval_sweep/score"}',
        "protein_config.parameters.foo=1",
        'protein_config.parameters={"trainer.batch_size":{"min":1,"max":2}}',
    ],
)
def test_fom_v1_extras_that_replace_hw_sweeps_search_space_are_refused(tmp_path, token):
    repo = _checkout(tmp_path, "fom-v1")
    with pytest.raises(UsageError) as e:
        plan_experiment(_cfg(repo, "fom-v1"), tmp_path / "e.toml", [token])
    msg = str(e.value)
    assert msg.startswith(f"extra argument {token!r} would replace ")
    assert "protein_config.parameters" in msg and "; accepted: " in msg


@pytest.mark.parametrize(
    "profile, token",
    [("main", "protein_settings.ucb_beta=3"), ("fom-v1", "protein_config.settings.ucb_beta=3")],
)
def test_optimizer_settings_without_an_experiment_key_still_pass(tmp_path, profile, token):
    repo = _checkout(tmp_path, profile)
    plan = plan_experiment(_cfg(repo, profile), tmp_path / "e.toml", [token])
    assert plan.pairs[0].argv[-1] == token
    if profile == "main":  # (the stand-in walks no deeper than protein_config.<field>)
        assert run_standin(repo, plan.pairs[0].argv).returncode == 0
