"""A profile's pinned trainer keys: plan and launch warn when an extra replaces one.

The main profile pins trainer.bptt_horizon = 64 (profiles.py ``fixed_trainer``): Metta main at
a8d1ecee19 defaults to 256 (metta/rl/trainer_config.py:88) and a trial refuses a batch whose
batch_size // bptt_horizon is below the rank's agents (metta/rl/training/experience.py:41-49).
Which batches a replaced horizon breaks is checked against the stand-in's own reading of those
checks (tests/metta/standin.py ``trial_batch_error``), not against the product's.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout, run_standin, trial_batch_error, uv_shim
from tests.support.cli import cli_env, hwscale_cmd

REPLACES = "replaces trainer.bptt_horizon = 64, which Metta main's profile pins"


def _main_cfg(tmp_path, extra=(), **over):
    repo = make_checkout(tmp_path / "metta-main", "main")
    install_tool(repo)
    values = {
        "wandb.entity": "team",
        "metta.repo": str(repo),
        "metta.profile": "main",
        "grid.gpu_counts": [1, 2],
        "grid.node_counts": [1],
        "grid.cpus_per_node": 8,
        "launch.extra_args": list(extra),
        **over,
    }
    return repo, cfgmod.apply_overrides(cfgmod.default_config("metta", env={}), values)


def _pinned(warnings):
    return [w for w in warnings if REPLACES in w]


def test_no_warning_without_an_extra_or_with_the_pinned_value(tmp_path):
    _, cfg = _main_cfg(tmp_path)
    assert _pinned(plan_experiment(cfg, tmp_path / "e.toml").warnings) == []
    plan = plan_experiment(cfg, tmp_path / "e.toml", ["trainer.update_epochs=2"])
    assert not any("pins" in w for w in plan.warnings)
    _, same = _main_cfg(tmp_path / "same", ["trainer.bptt_horizon=64"])
    assert _pinned(plan_experiment(same, tmp_path / "e.toml").warnings) == []


def test_a_smaller_horizon_that_fits_is_still_named(tmp_path):
    _, cfg = _main_cfg(tmp_path, ["trainer.bptt_horizon=32"])
    (w,) = _pinned(plan_experiment(cfg, tmp_path / "e.toml").warnings)
    assert w == (
        "extra argument 'trainer.bptt_horizon=32' replaces trainer.bptt_horizon = 64, which Metta "
        "main's profile pins so that every batch it searches fits a trial, and every batch it "
        "searches still fits a trial at 32"
    )


def test_a_horizon_that_breaks_searched_batches_names_the_pairs_and_what_is_accepted(tmp_path):
    repo, cfg = _main_cfg(tmp_path, ["trainer.bptt_horizon=256"])
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    (w,) = _pinned(plan.warnings)
    assert w.startswith("extra argument 'trainer.bptt_horizon=256' replaces")
    assert w.endswith(
        "; accepted: a trainer.bptt_horizon up to 64 that divides minibatch_size 16,384, or no "
        "trainer.bptt_horizon extra (the profile's 64)"
    )
    assert ". " not in w  # one sentence
    # What the stand-in's trial checks say about each pair's searched batches, from what is sent.
    broken = {}
    for pp in plan.pairs:
        r = run_standin(repo, pp.argv)
        assert r.returncode == 0, r.stderr  # the extra binds: the product sends the user's value
        space = json.loads(r.stdout)["state"]["search_space"]
        assert space["trainer.bptt_horizon"] == 256
        fixed = {k.split(".")[-1]: v for k, v in space.items() if not isinstance(v, dict)}
        batch, b, bad = space["trainer.batch_size"], 1, []
        while b <= batch["max"]:
            if b >= batch["min"] and trial_batch_error(
                "main", {**fixed, "batch_size": b}, 8, pp.pair.gpus
            ):
                bad.append(b)
            b *= 2
        if bad:
            broken[pp.pair.tag] = bad
    # at 8 CPUs: 8,064 agents per rank on 1 GPU, 8,160 on 2; 256 leaves 2,048 / 4,096 segments
    assert broken == {"g1n1": [524_288, 1_048_576], "g2n1": [1_048_576]}
    assert (
        "g1n1 524,288..1,048,576 (2 of 4; batch_size // bptt_horizon must be at least the rank's "
        "8,064 agents)" in w
    )
    assert (
        "and g2n1 1,048,576 (1 of 4; batch_size // bptt_horizon must be at least the rank's "
        "8,160 agents);" in w
    )


def test_a_horizon_no_minibatch_divides_is_named_for_every_batch(tmp_path):
    _, cfg = _main_cfg(tmp_path, ["trainer.bptt_horizon=96"], **{"grid.gpu_counts": [2]})
    (w,) = _pinned(plan_experiment(cfg, tmp_path / "e.toml").warnings)
    assert "g2n1 1,048,576..8,388,608 (all 4; minibatch_size 16,384 is not a multiple of " in w


@pytest.mark.parametrize("value", ["abc", "0", "-64", "true", "6.5"])
def test_a_horizon_that_is_not_a_positive_integer_is_refused(tmp_path, value):
    _, cfg = _main_cfg(tmp_path)
    with pytest.raises(UsageError) as e:
        plan_experiment(cfg, tmp_path / "e.toml", [f"trainer.bptt_horizon={value}"])
    msg = str(e.value)
    assert msg.startswith(f"extra argument 'trainer.bptt_horizon={value}': trainer.bptt_horizon ")
    assert "; accepted: trainer.bptt_horizon=<n> with n >= 1" in msg
    assert msg.count(". ") == 0 and msg.endswith(".")


def test_plan_and_launch_show_the_warning(tmp_path):
    _, cfg = _main_cfg(
        tmp_path,
        ["trainer.bptt_horizon=256"],
        **{"grid.gpu_counts": [1], "launch.delay_s": 0.0, "experiment.name": "pinned"},
    )
    exp = tmp_path / "exp.toml"
    cfgmod.save(cfg, exp)
    shim_dir = tmp_path / "bin"
    uv_shim(shim_dir)
    env = cli_env(PATH=f"{shim_dir}{os.pathsep}{os.environ['PATH']}", WANDB_API_KEY="k")
    r = subprocess.run(hwscale_cmd("plan", "-e", str(exp)), capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert (
        "warning: extra argument 'trainer.bptt_horizon=256' replaces trainer.bptt_horizon"
        in r.stdout
    )
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp), "--foreground", "--json"),
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr
    (w,) = _pinned(json.loads(r.stdout)["warnings"])
    assert "g1n1 524,288..1,048,576 (2 of 4;" in w


def test_a_command_line_extra_is_warned_too_and_wins_over_the_files(tmp_path):
    """Extras given to plan/launch on the command line reach the pairs' commands after the
    file's, so the warning is about the value actually sent."""
    _, cfg = _main_cfg(tmp_path, ["trainer.bptt_horizon=32"])
    plan = plan_experiment(cfg, tmp_path / "e.toml", ["trainer.bptt_horizon=256"])
    (w,) = _pinned(plan.warnings)
    assert w.startswith("extra argument 'trainer.bptt_horizon=256' replaces")
    _, plain = _main_cfg(tmp_path / "plain")
    (w,) = _pinned(
        plan_experiment(plain, tmp_path / "e.toml", ["trainer.bptt_horizon=32"]).warnings
    )
    assert "still fits a trial at 32" in w
