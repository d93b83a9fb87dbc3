"""``[sweep] lr_batch_exponent``: the scaling rule the transfer model's shear assumes, from the
experiment file to the optimizer, without touching experiments that leave it unset."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.launch import generations
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.search.presets import LR_BATCH_EXPONENT, MAX_LR_BATCH_EXPONENT, preset_for
from hwscale_tui.sweep.runner import protein_optimizer
from tests.support.cli import cli_env, hwscale_cmd


def _cfg(tmp_path, sweep: str, runner: str = "builtin"):
    path = tmp_path / "exp.toml"
    path.write_text(
        f'[experiment]\nname = "rule"\nrunner = "{runner}"\n[wandb]\nentity = "t"\n'
        f"[sweep]\n{sweep}\n"
    )
    return cfgmod.load(path, env={}), path


def test_the_config_default_and_bound_are_the_optimizers():
    spec = cfgmod.field_specs("sweep")["lr_batch_exponent"]
    assert spec.default == LR_BATCH_EXPONENT
    assert spec.metadata["max"] == MAX_LR_BATCH_EXPONENT and spec.metadata["min"] == 0


def test_a_set_exponent_reaches_the_sweeps_optimizer_and_its_shear(tmp_path):
    pair = HardwarePair(4, 1)
    default, _ = _cfg(tmp_path, "transfer = true")
    sqrt_rule, _ = _cfg(tmp_path, "transfer = true\nlr_batch_exponent = 0.5")
    linear = protein_optimizer(preset_for(default, pair), 0)
    half = protein_optimizer(preset_for(sqrt_rule, pair), 0)
    assert linear.settings.lr_batch_exponent == 1.0
    assert half.settings.lr_batch_exponent == 0.5
    assert linear._shear is not None and half._shear is not None
    np.testing.assert_allclose(half._shear, 0.5 * linear._shear)
    off, _ = _cfg(tmp_path, "transfer = true\nlr_batch_exponent = 0")
    assert protein_optimizer(preset_for(off, pair), 0)._shear is None


def test_it_changes_how_trials_are_chosen_not_what_they_measure(tmp_path):
    pair = HardwarePair(2, 1)
    unset, _ = _cfg(tmp_path, "transfer = true")
    at_default, _ = _cfg(tmp_path, "transfer = true\nlr_batch_exponent = 1.0")
    changed, _ = _cfg(tmp_path, "transfer = true\nlr_batch_exponent = 0.5")
    # unset or at the default, the settings a sweep records are the ones it recorded before
    assert "lr_batch_exponent" not in preset_for(unset, pair).space.settings
    assert preset_for(at_default, pair).space.to_json() == preset_for(unset, pair).space.to_json()
    # like transfer and the acquisition, the rule is not a comparability setting: a trial's
    # score does not depend on how it was chosen, so no new generation
    fp = generations.fingerprint
    assert fp(generations.settings(changed)) == fp(generations.settings(unset))


@pytest.mark.parametrize("value", ["3", "-1", '"half"'])
def test_a_bad_exponent_is_one_sentence_exit_2_and_nothing_written(tmp_path, value):
    path = tmp_path / "bad.toml"
    path.write_text(f'[experiment]\nname = "rule"\n[sweep]\nlr_batch_exponent = {value}\n')
    before = path.read_bytes()
    home = tmp_path / "hw"
    r = subprocess.run(
        hwscale_cmd("plan", "--experiment", str(path)),
        capture_output=True,
        text=True,
        env=cli_env(HWSCALE_HOME=str(home)),
        timeout=120,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "sweep.lr_batch_exponent" in lines[0], r.stderr
    assert "accepted" in lines[0] or "must be" in lines[0], r.stderr
    assert path.read_bytes() == before
    assert not (home / "data").exists()


def test_metta_runner_warns_that_transfer_and_the_rule_do_not_reach_metta(tmp_path):
    cfg, path = _cfg(tmp_path, "transfer = true\nlr_batch_exponent = 0.5", runner="metta")
    plan = plan_experiment(cfg, path)
    hits = [w for w in plan.warnings if "no effect with the metta runner" in w]
    assert len(hits) == 1
    assert "sweep.transfer = true" in hits[0] and "sweep.lr_batch_exponent" in hits[0]
    # and Metta's command never gets a setting Metta does not have
    pair = HardwarePair(1, 1)
    assert "lr_batch_exponent" not in preset_for(cfg, pair).space.settings
    quiet, qpath = _cfg(tmp_path, "max_trials = 4", runner="metta")
    assert not any(
        "no effect with the metta runner" in w for w in plan_experiment(quiet, qpath).warnings
    )
    # the default spelled out (every file `plan --save` writes has it) is no setting of ours
    spelled, spath = _cfg(tmp_path, "lr_batch_exponent = 1.0", runner="metta")
    assert not any(
        "no effect with the metta runner" in w for w in plan_experiment(spelled, spath).warnings
    )


def test_plan_shows_the_rule_next_to_transfer_when_it_is_not_the_default(tmp_path):
    headers = []
    for sweep in ("transfer = true", "transfer = true\nlr_batch_exponent = 0.5"):
        _, path = _cfg(tmp_path, sweep)
        r = subprocess.run(
            hwscale_cmd("plan", "--experiment", str(path)),
            capture_output=True,
            text=True,
            env=cli_env(HWSCALE_HOME=str(tmp_path / "hw")),
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        headers.append(r.stdout.splitlines()[0])
    assert headers[0].endswith("  transfer")
    assert headers[1].endswith("  transfer (lr ~ batch^0.5)")
