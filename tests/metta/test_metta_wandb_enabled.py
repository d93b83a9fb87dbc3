"""A launched Metta pair's trials log to W&B exactly when ``[wandb] mode`` says so.

Metta's trials decide W&B on or off with ``auto_wandb_config`` (metta/tools/train.py:108-109 at
a8d1ecee19, :99-100 at 7c1a7ff418): off (``WandbConfig.Off()``), then the user's Metta setup
(metta/setup/components/wandb.py:100-128: off for the default "external" user), then the
environment variable ``WANDB_ENABLED`` (metta/tools/utils/auto_config.py:18-34, 50-58; :16-32,
48-56). ``WANDB_MODE`` and the API key play no part, so before the fix a sweep with ``mode =
"online"`` on a machine whose Metta setup has W&B off ran trials that never logged (the W&B source
saw only the sweep's placeholders), and a softmax user's trials turned W&B on with ``mode =
"disabled"``. The stand-in (tests/metta/standin.py, ``trial_wandb``) decides as Metta does and
records it; the private HOME of every test has no ``~/.metta``, i.e. the "external" user.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.launch.commands import full_env, plan_experiment
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout, run_standin, uv_shim
from tests.support.cli import cli_env, hwscale_cmd

MODES = ("online", "offline", "disabled")


def _checkout(tmp_path, profile):
    repo = make_checkout(tmp_path / f"metta-{profile}", profile)
    if profile == "main":
        install_tool(repo)
    return repo


def _cfg(repo, profile, mode, **over):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {
            "wandb.entity": "team",
            "wandb.mode": mode,
            "metta.repo": str(repo),
            "metta.profile": profile,
            "grid.gpu_counts": [1, 2],
            "grid.node_counts": [1],
            **over,
        },
    )


def _metta_setup(user_type: str | None) -> None:
    """The user's Metta settings file (metta/setup/saved_settings.py:115-117), in the private
    HOME; None leaves it absent (Metta's default user type, "external": W&B off)."""
    if user_type is None:
        return
    path = os.path.join(os.environ["HOME"], ".metta", "config.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"user_type": user_type}))  # JSON is YAML


def _trials_wandb(tmp_path, profile, mode, monkeypatch, user_env=None):
    """What each planned pair's trials would decide, run through the stand-in with the
    environment a launched pair gets (the run loop's ``full_env(child_env(cfg))``)."""
    for k, v in (user_env or {}).items():
        monkeypatch.setenv(k, v)
    repo = _checkout(tmp_path, profile)
    plan = plan_experiment(_cfg(repo, profile, mode), tmp_path / "exp.toml", cpu_count=8)
    got = []
    for pp in plan.pairs:
        r = run_standin(repo, pp.argv, env=full_env(pp.env))
        assert r.returncode == 0, r.stderr
        got.append(json.loads(r.stdout)["trial_wandb"])
    return got


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("user_type", [None, "external", "softmax", "cloud"])
def test_trials_log_to_wandb_exactly_when_the_mode_says(
    tmp_path, monkeypatch, profile, mode, user_type
):
    _metta_setup(user_type)
    got = _trials_wandb(tmp_path, profile, mode, monkeypatch)
    assert len(got) == 2
    for trial in got:
        # online: logs; offline: logs, to wandb's offline files (WANDB_MODE=offline);
        # disabled: Metta's own switch off, so it never even opens a W&B context
        assert trial["enabled"] is (mode != "disabled"), (mode, user_type, trial)
        assert trial["wandb_mode"] == mode  # what wandb.init then reads


@pytest.mark.parametrize("mode", MODES)
def test_a_users_own_wandb_enabled_in_any_case_does_not_override_the_mode(
    tmp_path, monkeypatch, mode
):
    """pydantic-settings reads ``wandb_enabled`` as ``WANDB_ENABLED`` (case_sensitive=False,
    pydantic-settings 2.11.0 main.py:481): the launched pair's value must be the only one."""
    opposite = "true" if mode == "disabled" else "false"
    got = _trials_wandb(
        tmp_path,
        "main",
        mode,
        monkeypatch,
        # upper case first: the lower-case name, later in the environment, is what Metta reads
        user_env={"WANDB_ENABLED": opposite, "wandb_enabled": opposite},
    )
    assert [t["enabled"] for t in got] == [mode != "disabled"] * 2


def test_launch_foreground_trials_log_to_wandb_when_online(tmp_path):
    """End to end: ``launch --foreground`` with mode online on a machine whose Metta setup has
    W&B off (no ~/.metta), through the stand-in."""
    repo = _checkout(tmp_path, "main")
    shim_dir = tmp_path / "bin"
    uv_shim(shim_dir)
    record = tmp_path / "record.jsonl"
    exp = tmp_path / "exp.toml"
    cfg = _cfg(repo, "main", "online", **{"experiment.name": "wb-on", "launch.delay_s": 0.0})
    cfgmod.save(cfg, exp)
    env = cli_env(
        PATH=f"{shim_dir}{os.pathsep}{os.environ['PATH']}",
        STANDIN_RECORD=str(record),
        WANDB_API_KEY="k",
    )
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp), "--foreground", "--json"),
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert len(lines) == 2
    assert [x["trial_wandb"] for x in lines] == [{"enabled": True, "wandb_mode": "online"}] * 2


def test_plan_shows_wandb_enabled_for_metta_pairs_only(tmp_path):
    repo = _checkout(tmp_path, "main")
    metta = plan_experiment(_cfg(repo, "main", "online"), tmp_path / "e.toml", cpu_count=8)
    assert {pp.env["WANDB_ENABLED"] for pp in metta.pairs} == {"true"}
    off = plan_experiment(_cfg(repo, "main", "disabled"), tmp_path / "e.toml", cpu_count=8)
    assert {pp.env["WANDB_ENABLED"] for pp in off.pairs} == {"false"}
    builtin = cfgmod.apply_overrides(cfgmod.default_config("builtin", env={}), {})
    plan = plan_experiment(builtin, tmp_path / "b.toml", cpu_count=8)
    assert all("WANDB_ENABLED" not in pp.env for pp in plan.pairs)


@pytest.mark.parametrize("value", ["", "None", "2"])
def test_the_standin_refuses_a_wandb_enabled_metta_cannot_read(tmp_path, value):
    """The stand-in's own check: such a value fails auto_config's import (exit 1), which is why
    the launched pair always gets "true" or "false"."""
    repo = _checkout(tmp_path, "main")
    plan = plan_experiment(_cfg(repo, "main", "online"), tmp_path / "exp.toml", cpu_count=8)
    env = {**full_env(plan.pairs[0].env), "WANDB_ENABLED": value}
    r = run_standin(repo, plan.pairs[0].argv, env=env)
    assert r.returncode == 1 and "valid boolean" in r.stderr
