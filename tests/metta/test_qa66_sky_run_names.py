"""An experiment name that makes run names SkyPilot refuses as task names (metta + skypilot).

Metta's SkyPilot launch names each trial's task after its run id and validates it
(devops/skypilot/launch.py:249-250 at a8d1ecee19, :250-251 at 7c1a7ff418), the run id being
``<sweep>_trial_<NNNN>_<6 hex>`` (metta/adaptive/utils.py:243-258). SkyPilot task names allow at
most two '.', '-' or '_' in a row (sky/task.py:46, :57-80 in skypilot 0.14.1); experiment names
allow any (``a___b`` is valid), so every trial of every pair failed to launch. Checked here
against the installed SkyPilot's own ``Task.validate_name``, the call Metta's launch makes.
"""

from __future__ import annotations

import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.checks import metta_run_name
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout
from tests.support.cli import cli_env, hwscale_cmd, launched_nothing


def _cfg(repo, name, **over):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {
            "experiment.name": name,
            "experiment.dispatcher": "skypilot",
            "wandb.entity": "team",
            "metta.repo": str(repo),
            "metta.profile": "main",
            "grid.gpu_counts": [1],
            "grid.node_counts": [1],
            **over,
        },
    )


def _sky_accepts(task_name: str) -> bool:
    import sky

    try:
        sky.Task(name=task_name, run="true").validate_name()
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", ["scaling___v2", "hw-_-run", "a_.-b"])
def test_a_name_whose_run_names_skypilot_refuses_stops_the_launch(tmp_path, name):
    repo = make_checkout(tmp_path / "metta", "main")
    install_tool(repo)
    cfg = _cfg(repo, name)
    run_name = metta_run_name(cfg)
    assert run_name is not None and run_name.startswith(f"{name}.g1n1_trial_0001_")
    assert not _sky_accepts(run_name)  # what Metta's launch.py would hit for every trial
    exp = tmp_path / "e.toml"
    cfgmod.save(cfg, exp)
    sentence = f"experiment.name {name!r} makes trial run names like {run_name!r}, which Metta's"
    plan = plan_experiment(cfg, exp)
    assert plan.blockers and plan.blockers[0].startswith(sentence)
    assert any(w.startswith(sentence) for w in plan.warnings)
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp)), capture_output=True, text=True, env=cli_env()
    )
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    assert r.stderr.startswith("hwscale-tui: error: " + sentence)
    assert r.stderr.rstrip().endswith("accepted: a name without three of them in a row.")
    assert launched_nothing(exp)


@pytest.mark.parametrize(
    "name, over",
    [
        ("scaling__v2", {}),  # two in a row: SkyPilot takes it
        ("hardware_scaling", {}),
        ("scaling___v2", {"experiment.dispatcher": "local"}),  # no SkyPilot task is named
        ("scaling___v2", {"metta.local_test": True}),  # the quick test runs locally
    ],
)
def test_names_skypilot_takes_or_trials_that_never_reach_it_are_no_blockers(tmp_path, name, over):
    repo = make_checkout(tmp_path / "metta", "main")
    cfg = _cfg(repo, name, **over)
    run_name = metta_run_name(cfg)
    assert run_name is None or _sky_accepts(run_name)
    assert not [b for b in plan_experiment(cfg, tmp_path / "e.toml").blockers if "run names" in b]
