"""Under fom-v1, sweep.acquisition_fn and sweep.max_suggestion_cost reach Metta as
``protein_config.settings.<key>=``.

Before, plan warned that they "cannot reach Metta fom-v1" and sent nothing, so a sweep set to
``acquisition_fn = "ei"`` ran Metta's naive acquisition. Upstream at 7c1a7ff418 the key exists
and is read: hw_sweep's SweepTool holds the ProteinConfig it builds (hw_sweep.py:56-82,
optimized_sweep_config.py:148-160), whose ``settings`` is ProteinSettings with ``acquisition_fn:
Literal["naive", "ei", "ucb"]`` and ``max_suggestion_cost: float``
(metta/sweep/protein_config.py:71-91, :108-110), an override walks Configs through their fields
(base_config.py:42-101), and the scheduler's optimizer reads the settings at every suggestion
(metta/sweep/schedulers/async_capped.py:110, metta/sweep/optimizer/protein.py:27-44, into
metta/sweep/protein.py:244-276, where ``acquisition_fn`` picks the acquisition at :502-522).
The replica of SweepTool and Config.override is tests/metta/test_qa82_sweep_fields.py's.
"""

from __future__ import annotations

import json

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from tests.metta.standin import make_checkout
from tests.metta.test_qa82_sweep_fields import (
    ProteinConfig,
    ProteinSettings,
    SweepToolFom,
    override,
    parse_value,
)

# what hw_sweep builds (optimized_sweep_config.py:148-160 at 7c1a7ff418)
HW_SWEEP_SETTINGS = {
    "num_random_samples": 0,
    "seed_with_search_center": True,
    "global_search_scale": 1.0,
    "max_suggestion_cost": 10800,
    "resample_frequency": 5,
    "random_suggestions": 256,
    "suggestions_per_pareto": 128,
}
PARAMS = ("gpus", "nodes", "recipe_module", "train_entrypoint", "eval_entrypoint")
PARAMS += ("total_timesteps", "protein_metric_path")  # hw_sweep.py:18-27


def _cfg(repo, **over):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {"wandb.entity": "team", "metta.repo": str(repo), "metta.profile": "fom-v1", **over},
    )


def _bind(argv):
    """The SweepTool hw_sweep returns, with the command's overrides applied as Metta applies them."""
    tool = SweepToolFom(
        protein_config=ProteinConfig(metric="m", settings=ProteinSettings(**HW_SWEEP_SETTINGS))
    )
    for tok in argv[4:]:
        key, _, raw = tok.partition("=")
        if key not in PARAMS:
            override(tool, key, parse_value(raw))
    return tool.protein_config.settings


def test_the_acquisition_and_cost_cap_reach_hw_sweep_s_protein_config(tmp_path):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    cfg = _cfg(repo, **{"sweep.acquisition_fn": "ei", "sweep.max_suggestion_cost": 3600.0})
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    for pp in plan.pairs:
        assert "protein_config.settings.acquisition_fn=ei" in pp.argv
        assert "protein_config.settings.max_suggestion_cost=3600" in pp.argv
        settings = _bind(pp.argv)
        assert (settings.acquisition_fn, settings.max_suggestion_cost) == ("ei", 3600)
        assert settings.random_suggestions == 256  # the rest stays hw_sweep's
    assert not [w for w in plan.warnings if "cannot reach Metta" in w]


def test_hw_sweep_s_own_values_are_not_sent_and_a_saved_file_sends_what_the_unsaved_one_did(
    tmp_path,
):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    cfg = _cfg(repo)
    exp = cfgmod.save(cfg, tmp_path / "e.toml")
    for c in (cfg, cfgmod.load(exp, env={})):
        for pp in plan_experiment(c, exp).pairs:
            assert not [t for t in pp.argv if t.startswith("protein_config.settings.")]
            assert _bind(pp.argv).acquisition_fn == "naive"


@pytest.mark.parametrize("acq", ["naive", "ei"])
def test_an_extra_for_them_names_the_experiment_setting(tmp_path, acq):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    with pytest.raises(UsageError) as e:
        plan_experiment(
            _cfg(repo, **{"sweep.acquisition_fn": acq}),
            tmp_path / "e.toml",
            ["protein_config.settings.acquisition_fn=ucb"],
        )
    msg = str(e.value)
    assert "which the metta runner" in msg and "sweep.acquisition_fn" in msg, msg
    assert msg.endswith(".") and ". " not in msg


def test_the_cpu_count_still_cannot_reach_it_and_plan_says_so(tmp_path):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    plan = plan_experiment(_cfg(repo, **{"grid.cpus_per_node": 96}), tmp_path / "e.toml")
    reach = [w for w in plan.warnings if "cannot reach Metta" in w]
    assert len(reach) == 1 and reach[0].startswith("grid.cpus_per_node cannot reach Metta fom-v1")


def test_a_pair_with_them_binds_in_the_fom_v1_standin(tmp_path):
    """tests/metta/standin.py binds as tools/run.py does; it now knows protein_config.settings."""
    from tests.metta.standin import run_standin

    repo = make_checkout(tmp_path / "metta", "fom-v1")
    cfg = _cfg(repo, **{"sweep.acquisition_fn": "ucb", "grid.gpu_counts": [1]})
    for pp in plan_experiment(cfg, tmp_path / "e.toml").pairs:
        r = run_standin(repo, pp.argv)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["overrides"]["protein_config.settings.acquisition_fn"] == "ucb"
    r = run_standin(repo, [*pp.argv, "protein_config.settings.bogus=1"])
    assert r.returncode == 1
