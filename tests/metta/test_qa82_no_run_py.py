"""metta.repo a directory without tools/run.py (an empty or wrong folder): every pair's command is
``uv run ./tools/run.py ...`` run there (Metta's runner, ``tools/run.py`` at 7c1a7ff418 and
a8d1ecee19), so no pair could start, yet ``launch`` started the supervisor and each pair failed to
start one after another (only ``plan`` warned). It is now a launch blocker, like a metta.repo
that is not a directory: exit 2, one sentence, nothing launched."""

from __future__ import annotations

import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.launch.commands import plan_experiment
from tests.metta.standin import make_checkout
from tests.support.cli import cli_env, hwscale_cmd, launched_nothing


def _cfg(repo, profile):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {
            "wandb.entity": "team",
            "metta.repo": str(repo),
            "metta.profile": profile,
            "grid.gpu_counts": [1],
            "grid.node_counts": [1],
            "experiment.dispatcher": "local",
        },
    )


def _sentence(repo):
    return (
        f"metta.repo {repo} has no tools/run.py, which every pair's command runs there (uv run "
        "./tools/run.py ...), so none would start; accepted: the path of a Metta checkout "
        "(metta.repo, --metta-repo), or no metta.repo to run in the current directory"
    )


@pytest.mark.parametrize("profile", ["auto", "fom-v1", "main"])
def test_launch_refuses_a_repo_without_tools_run_py_and_starts_nothing(tmp_path, profile):
    repo = tmp_path / "notmetta"
    (repo / "recipes" / "prod").mkdir(parents=True)  # looks like main, but no runner
    (repo / "recipes" / "prod" / "arena_basic_easy_shaped.py").write_text("def train(): ...\n")
    exp = tmp_path / "e.toml"
    cfgmod.save(_cfg(repo, profile), exp)
    plan = plan_experiment(_cfg(repo, profile), exp)
    assert plan.blockers == [_sentence(repo)]
    assert _sentence(repo) + "; launch refuses to start" in plan.warnings
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp)), capture_output=True, text=True, env=cli_env()
    )
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr == f"hwscale-tui: error: {_sentence(repo)}.\n"
    assert launched_nothing(exp)


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_a_checkout_with_tools_run_py_is_no_blocker(tmp_path, profile):
    repo = make_checkout(tmp_path / "metta", profile)
    assert (repo / "tools" / "run.py").is_file()
    assert plan_experiment(_cfg(repo, profile), tmp_path / "e.toml").blockers == []
