"""[metta] profile (key_profile deprecated), the W&B entity a launch needs, plan's warnings, and
``metta profiles``."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import ConfigError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.profiles import PROFILES, resolve_profile
from tests.metta.standin import make_checkout
from tests.support.cli import cli_env, hwscale_cmd, launched_nothing


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "old,profile", [("ppo", "fom-v1"), ("loss_configs", "fom-v1"), ("ppo_actor", "main")]
)
def test_old_key_profile_files_keep_working_with_a_deprecation(tmp_path, old, profile):
    exp = _write(
        tmp_path / "old.toml",
        f'[experiment]\nrunner = "metta"\n[wandb]\nentity = "t"\n[metta]\nkey_profile = "{old}"\n',
    )
    cfg = cfgmod.load(exp, env={})
    assert cfg.metta.profile == profile
    plan = plan_experiment(cfg, exp)
    assert any(f'key_profile = "{old}" is deprecated' in w for w in plan.warnings)
    assert plan.metta_profile == profile
    saved = cfgmod.save(cfg, tmp_path / "new.toml").read_text()
    assert f'profile = "{profile}"' in saved and "key_profile" not in saved
    # an explicit profile wins over the old key
    both = _write(
        tmp_path / "both.toml",
        f'[experiment]\nrunner = "metta"\n[metta]\nkey_profile = "{old}"\nprofile = "main"\n',
    )
    loaded = cfgmod.load(both, env={})
    assert loaded.metta.profile == "main"
    # and the deprecation says the old key is ignored, not 'read as' a profile that lost
    # (session 43: it said 'read as metta.profile = "fom-v1"' beside profile = "main")
    (said,) = loaded.deprecations
    assert f'key_profile = "{old}" is deprecated and ignored here' in said, said
    assert "metta.profile = 'main' is given" in said and "read as" not in said


def test_bad_profile_values_name_what_is_accepted(tmp_path):
    exp = _write(tmp_path / "e.toml", '[metta]\nkey_profile = "nope"\n')
    with pytest.raises(
        ConfigError, match=re.escape('deprecated: use metta.profile = "fom-v1" or "main"')
    ):
        cfgmod.load(exp, env={})
    exp = _write(tmp_path / "e.toml", '[metta]\nprofile = "v2"\n')
    with pytest.raises(ConfigError, match=re.escape('"auto" or "fom-v1" or "main"')):
        cfgmod.load(exp, env={})


def test_profile_is_detected_from_the_checkout(tmp_path):
    base = cfgmod.default_config("metta", env={})
    fom = make_checkout(tmp_path / "a", "fom-v1")
    main = make_checkout(tmp_path / "b", "main")
    for repo, want in ((fom, "fom-v1"), (main, "main")):
        r = resolve_profile(cfgmod.apply_overrides(base, {"metta.repo": str(repo)}))
        assert (r.profile.name, r.how) == (want, "detected")
    r = resolve_profile(cfgmod.apply_overrides(base, {"metta.repo": str(tmp_path)}))
    assert (r.profile.name, r.how) == ("fom-v1", "default")
    over = cfgmod.apply_overrides(base, {"metta.repo": str(main), "metta.profile": "fom-v1"})
    plan = plan_experiment(over, tmp_path / "e.toml")
    assert any("looks like Metta main" in w for w in plan.warnings)


def test_launch_with_a_metta_repo_that_is_not_there_exits_2_and_starts_nothing(tmp_path):
    """metta.repo is where every pair's command runs: a path that is not there was only a
    warning, and the launch started a supervisor whose pairs all failed to start."""
    exp = tmp_path / "e.toml"
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {
            "metta.repo": str(tmp_path / "no-such-checkout"),
            "wandb.entity": "t",
            "grid.gpu_counts": [1],
            "grid.node_counts": [1],
        },
    )
    cfgmod.save(cfg, exp)
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp)), capture_output=True, text=True, env=cli_env()
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0  # one sentence
    assert f"metta.repo {tmp_path / 'no-such-checkout'} is not a directory" in r.stderr
    assert launched_nothing(exp)
    plan = plan_experiment(cfgmod.load(exp, env={}), exp)  # plan says it, once
    assert len([w for w in plan.warnings if "no-such-checkout" in w]) == 1 and plan.blockers


def test_launch_without_a_wandb_entity_exits_2_and_starts_nothing(tmp_path):
    repo = make_checkout(tmp_path / "m", "fom-v1")
    exp = tmp_path / "e.toml"
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {"metta.repo": str(repo), "grid.gpu_counts": [1], "grid.node_counts": [1]},
    )
    cfgmod.save(cfg, exp)
    env = cli_env()
    env.pop("WANDB_ENTITY", None)
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp)), capture_output=True, text=True, env=env
    )
    assert r.returncode == 2
    assert "needs a W&B entity" in r.stderr and "WANDB_ENTITY" in r.stderr
    assert r.stderr.strip().count("\n") == 0  # one sentence
    st = subprocess.run(
        hwscale_cmd("status", "-e", str(exp), "--json"), capture_output=True, text=True, env=env
    )
    assert st.returncode == 0, st.stderr
    status = json.loads(st.stdout)
    assert status["launch_id"] is None and status["pairs"] == []  # nothing was launched
    # plan shows it as a warning and exits 0; with WANDB_ENTITY both travel together
    r = subprocess.run(
        hwscale_cmd("plan", "-e", str(exp), "--json"), capture_output=True, text=True, env=env
    )
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["blockers"]
    # no WANDB_ENTITY/WANDB_PROJECT; W&B's switches still go (tests/metta/test_metta_wandb_enabled.py)
    assert data["pairs"][0]["env"] == ["WANDB_ENABLED", "WANDB_MODE"]
    assert not any(t.startswith("wandb.") for t in data["pairs"][0]["argv"])
    env["WANDB_ENTITY"] = "team"
    data = json.loads(
        subprocess.run(
            hwscale_cmd("plan", "-e", str(exp), "--json"), capture_output=True, text=True, env=env
        ).stdout
    )
    argv = data["pairs"][0]["argv"]
    assert "wandb.entity=team" in argv and "wandb.project=hardware-scaling" in argv
    assert data["blockers"] == []


def test_skypilot_warnings_project_split_with_fix_and_unplaceable_pairs(tmp_path):
    repo = make_checkout(tmp_path / "m", "fom-v1")
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {
            "metta.repo": str(repo),
            "wandb.entity": "team",
            "wandb.project": "hw",
            "experiment.dispatcher": "skypilot",
            "grid.gpu_counts": [1, 2, 4, 6, 8],
            "grid.node_counts": [1],
        },
    )
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    split = [w for w in plan.warnings if "forwards no WANDB_*" in w]
    assert split and "'WANDB_ENTITY: team' and 'WANDB_PROJECT: hw'" in split[0]
    bad = {pp.pair.tag for pp in plan.pairs if any("cannot be placed" in w for w in pp.warnings)}
    assert bad == {"g2n1", "g6n1"}
    # once the checkout's task forwards them, the warning goes away
    task = repo / "devops/skypilot/config/skypilot_run.yaml"
    task.parent.mkdir(parents=True)
    task.write_text(
        "resources:\n  accelerators: L4:1\nenvs:\n  WANDB_ENTITY: team\n  WANDB_PROJECT: hw\n"
    )
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    assert not any("forwards no WANDB_*" in w for w in plan.warnings)
    # metta + local: not a hardware comparison
    local = cfgmod.apply_overrides(cfg, {"experiment.dispatcher": "local"})
    assert any(
        "ignores gpus and nodes" in w for w in plan_experiment(local, tmp_path / "e").warnings
    )


def test_key_profile_flag_is_read_as_the_profile_with_a_deprecation():
    r = subprocess.run(
        hwscale_cmd(
            "plan",
            "--runner",
            "metta",
            "--wandb-entity",
            "t",
            "--key-profile",
            "ppo_actor",
            "--json",
        ),
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["metta_profile"] == "main"
    assert any("key_profile" in w and "deprecated" in w for w in data["warnings"])
    assert data["pairs"][0]["argv"][3] == "recipes.experiment.hwscale_sweep.hw_sweep"


def test_profiles_lists_each_profiles_pinned_trainer_keys():
    env = cli_env()
    r = subprocess.run(
        hwscale_cmd("metta", "profiles", "--json"), capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr
    rows = {row["profile"]: row for row in json.loads(r.stdout)}
    assert rows["main"]["pinned_trainer_keys"] == {"trainer.bptt_horizon": 64}
    assert rows["main"]["pinned_trainer_keys"] == dict(PROFILES["main"].fixed_trainer)
    assert rows["fom-v1"]["pinned_trainer_keys"] == {}
    r = subprocess.run(hwscale_cmd("metta", "profiles"), capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    fom, main = text[: text.index("main (Metta")], text[text.index("main (Metta") :]
    assert "  pinned trainer keys: none\n" in fom
    assert "  pinned trainer keys: trainer.bptt_horizon = 64 (fixed values in search_space" in main


def test_plan_text_aligns_the_search_space_columns_for_long_keys():
    r = subprocess.run(
        hwscale_cmd("plan", "--runner", "metta", "--wandb-entity", "t"),
        capture_output=True,
        text=True,
        env=cli_env(COLUMNS="200"),
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("search space", 1)[1].splitlines()
    rows = [line for line in lines if line.startswith("  trainer.")]
    assert len(rows) == 7  # fom-v1's seven parameters
    # every row's distribution column starts where the longest key's does
    starts = {line.index(line.split()[1], len(line.split()[0]) + 2) for line in rows}
    assert len(starts) == 1, rows
