"""What a new user runs into with the metta runner: the tool maker that is not installed yet,
``install-tool`` on odd paths, and extra arguments that the sweep's own values would overwrite."""

from __future__ import annotations

import subprocess

from hwscale_tui import config as cfgmod
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import TOOL_RELPATH, install_tool
from tests.metta.standin import make_checkout
from tests.support.cli import cli_env, hwscale_cmd


def _cfg(repo, profile="main", **over):
    return cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {"wandb.entity": "team", "metta.repo": str(repo), "metta.profile": profile, **over},
    )


def _missing_tool(warnings):
    return [w for w in warnings if w.startswith("Metta tool ")]


def test_plan_says_the_main_tool_maker_is_missing_until_install_tool_writes_it(tmp_path):
    """Every Metta main checkout has recipes/experiment/__init__.py; the check took that parent
    package for the tool's module, so plan never said to run install-tool."""
    repo = make_checkout(tmp_path / "metta", "main")
    assert (repo / "recipes" / "experiment" / "__init__.py").is_file()
    missing = _missing_tool(plan_experiment(_cfg(repo), tmp_path / "e.toml").warnings)
    assert missing == [
        f"Metta tool recipes.experiment.hwscale_sweep.hw_sweep is not in {repo}; "
        f"run: hwscale-tui metta install-tool --repo {repo}"
    ]
    install_tool(repo)
    assert _missing_tool(plan_experiment(_cfg(repo), tmp_path / "e.toml").warnings) == []


def test_fom_v1_tool_is_found_in_its_package_init_and_missing_without_it(tmp_path):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    cfg = _cfg(repo, "fom-v1")
    assert _missing_tool(plan_experiment(cfg, tmp_path / "e.toml").warnings) == []
    (repo / "experiments" / "adaptive" / "hardware_scaling" / "__init__.py").unlink()
    (repo / "experiments" / "adaptive" / "hardware_scaling" / "hw_sweep.py").unlink()
    missing = _missing_tool(plan_experiment(cfg, tmp_path / "e.toml").warnings)
    assert len(missing) == 1 and "check out Metta 7c1a7ff418 there" in missing[0]


def test_install_tool_over_a_directory_is_one_sentence_exit_2_with_or_without_force(tmp_path):
    """A directory at the tool's path gave exit 1 and, with --force, named a temp file
    ('.hwscale_sweep.py.<pid>.tmp: Is a directory')."""
    repo = make_checkout(tmp_path / "metta", "main")
    (repo / TOOL_RELPATH).mkdir()
    for force in ([], ["--force"]):
        r = subprocess.run(
            hwscale_cmd("metta", "install-tool", "--repo", str(repo), *force),
            capture_output=True,
            text=True,
            env=cli_env(),
        )
        assert r.returncode == 2, r.stderr
        assert r.stderr == (
            f"hwscale-tui: error: {repo / TOOL_RELPATH} is a directory, not the tool maker's "
            "file; accepted: move it away, then run install-tool again.\n"
        )
        assert r.stdout == ""
        assert sorted(p.name for p in (repo / TOOL_RELPATH).parent.iterdir()) == [
            "__init__.py",
            "hwscale_sweep.py",
        ]
        assert list((repo / TOOL_RELPATH).iterdir()) == []
