"""metta.profile set and metta.repo a directory that is no Metta checkout (or another version's):
plan only said "run: hwscale-tui metta install-tool --repo X", which then refused ("does not look
like a Metta checkout"), and nothing said that every pair's ./tools/run.py would be missing."""

from __future__ import annotations

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import install_tool
from tests.metta.standin import make_checkout


def _warnings(tmp_path, repo, profile="main"):
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {"wandb.entity": "team", "metta.repo": str(repo), "metta.profile": profile},
    )
    return plan_experiment(cfg, tmp_path / "e.toml").warnings


def test_a_directory_that_is_no_checkout_is_named_and_not_sent_to_install_tool(tmp_path):
    repo = tmp_path / "notmetta"
    repo.mkdir()
    w = _warnings(tmp_path, repo)
    assert (
        f'metta.profile = "main" but {repo} does not look like a Metta checkout (it has neither '
        "recipes/prod/arena_basic_easy_shaped.py nor experiments/adaptive/hardware_scaling/"
        "hw_sweep.py), and every pair's command runs ./tools/run.py there; accepted: the path of "
        "a Metta checkout in metta.repo"
    ) in w
    assert not [x for x in w if "install-tool" in x]
    try:
        install_tool(repo)
    except UsageError:
        pass  # what the advice used to lead to
    else:  # pragma: no cover
        raise AssertionError("install-tool wrote into a directory that is no checkout")


def test_a_fom_v1_checkout_with_profile_main_is_not_sent_to_install_tool(tmp_path):
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    w = _warnings(tmp_path, repo)
    assert f'metta.profile = "main" but {repo} looks like Metta fom-v1; ' in " ".join(w)
    missing = [x for x in w if x.startswith("Metta tool ")]
    assert len(missing) == 1 and "install-tool" not in missing[0]
    assert "check out Metta a8d1ecee19 there" in missing[0]


def test_a_main_checkout_still_gets_the_install_tool_advice_and_no_checkout_warning(tmp_path):
    repo = make_checkout(tmp_path / "metta", "main")
    w = _warnings(tmp_path, repo)
    assert not [x for x in w if "does not look like a Metta checkout" in x]
    assert f"run: hwscale-tui metta install-tool --repo {repo}" in " ".join(w)
