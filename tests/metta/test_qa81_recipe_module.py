"""A metta.recipe_module that the checkout does not have: every trial runs
``tools/run.py <recipe_module>.<entrypoint>`` (metta/adaptive/utils.py:192, 233), so a typo made
the sweep start and every trial fail at import, and plan said nothing."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.launch.commands import plan_experiment
from tests.metta.standin import make_checkout


def _recipe_warnings(tmp_path, profile, recipe):
    repo = make_checkout(tmp_path / "metta", profile)
    (repo / "recipes" / "prod").mkdir(parents=True, exist_ok=True)
    (repo / "recipes" / "prod" / "arena_basic_easy_shaped.py").write_text("def train(): ...\n")
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta", env={}),
        {
            "wandb.entity": "team",
            "metta.repo": str(repo),
            "metta.profile": profile,
            "metta.recipe_module": recipe,
        },
    )
    warnings = plan_experiment(cfg, tmp_path / "e.toml").warnings
    return repo, [w for w in warnings if w.startswith("metta.recipe_module ")]


@pytest.mark.parametrize("profile", ["main", "fom-v1"])
def test_plan_warns_about_a_recipe_module_the_checkout_does_not_have(tmp_path, profile):
    repo, found = _recipe_warnings(tmp_path, profile, "recipes.prod.arena_typo")
    assert found == [
        f"metta.recipe_module recipes.prod.arena_typo is not in {repo}, so every trial would "
        "fail to find recipes.prod.arena_typo.train; accepted: a module of the checkout like "
        "recipes.prod.arena_basic_easy_shaped, or empty for the profile's"
    ]


@pytest.mark.parametrize(
    "recipe", ["recipes.prod.arena_basic_easy_shaped", "arena_basic_easy_shaped", "recipes.prod"]
)
def test_a_recipe_module_metta_finds_is_no_warning(tmp_path, recipe):
    """Full path, a short name the recipe registry prefixes (recipe_registry.py:45-51 at
    a8d1ecee19), or a package."""
    _, found = _recipe_warnings(tmp_path, "main", recipe)
    assert found == []
