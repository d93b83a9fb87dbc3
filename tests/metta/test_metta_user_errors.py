"""What a new user runs into with the metta runner: the tool maker that is not installed yet,
``install-tool`` on odd paths, extra arguments that the runner's own values would overwrite (or
that would overwrite them), settings that never reached Metta (``sweep.goal``), settings that
make every pair or trial fail (names, ``wandb.mode``), and warnings that were wrong or missing
(a saved file's defaults, the SkyPilot task's YAML, ``local_test``)."""

from __future__ import annotations

import json
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import TOOL_RELPATH, install_tool
from hwscale_tui.metta.profiles import PROFILES
from tests.metta.standin import make_checkout, run_standin
from tests.support.cli import cli_env, hwscale_cmd, launched_nothing


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


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
@pytest.mark.parametrize("name", ["batch_size", "learning_rate", "clip_coef", "gae_lambda"])
def test_an_extra_for_a_swept_hyperparameter_is_refused(tmp_path, profile, name):
    """main sent it as a fixed value in search_space=<JSON>, so Metta stopped searching it while
    plan showed it searched; fom-v1 sent it in train_overrides, which each trial's suggestion
    replaces (async_capped.py:284-285 at 7c1a7ff418), so it did nothing."""
    key = PROFILES[profile].keys[name]
    repo = make_checkout(tmp_path / "metta", profile)
    with pytest.raises(UsageError) as e:
        plan_experiment(_cfg(repo, profile), tmp_path / "e.toml", [f"{key}=0.5"])
    assert str(e.value).startswith(
        f"extra argument '{key}=0.5' would override the swept hyperparameter {key} (Metta {profile} "
    )
    assert str(e.value).endswith(
        "; accepted: extras for keys the sweep does not search, like trainer.update_epochs=2."
    )
    # a key the sweep does not search still travels
    plan = plan_experiment(_cfg(repo, profile), tmp_path / "e.toml", ["trainer.update_epochs=2"])
    assert any("trainer.update_epochs" in tok for tok in plan.pairs[0].argv)


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_an_extra_total_timesteps_is_refused_for_sweep_total_timesteps(tmp_path, profile):
    """main's tool maker overwrote it with total_timesteps= (so it was ignored); fom-v1 sent it
    in train_overrides over sweep.total_timesteps (so plan's total_timesteps= was not what ran)."""
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        install_tool(repo)
    exp = tmp_path / "e.toml"
    cfgmod.save(_cfg(repo, profile, **{"grid.gpu_counts": [1], "grid.node_counts": [1]}), exp)
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp), "trainer.total_timesteps=5"),
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (
        "hwscale-tui: error: extra argument 'trainer.total_timesteps=5' repeats the "
        "total_timesteps the metta runner sends from sweep.total_timesteps (hwscale-tui plan "
        "shows it); accepted: sweep.total_timesteps in the experiment or --total-timesteps N, "
        "and extras only for keys the runner does not send.\n"
    )
    assert launched_nothing(exp)


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_a_refusal_never_offers_the_tool_makers_parameters_which_are_always_sent(tmp_path, profile):
    """The sentence said 'accepted: a parameter of <tool> (gpus, nodes, ..., search_space)', but
    the runner sends every one of them, so each such extra was refused as a repeat."""
    repo = make_checkout(tmp_path / "metta", profile)
    cfg = _cfg(repo, profile)
    for param in PROFILES[profile].tool_params:
        with pytest.raises(UsageError, match=f"extra argument '{param}=1' (repeats|would replace)"):
            plan_experiment(cfg, tmp_path / "e.toml", [f"{param}=1"])
    with pytest.raises(UsageError) as e:
        plan_experiment(cfg, tmp_path / "e.toml", ["metric_path=x"])
    accepted = str(e.value).split("; accepted: ", 1)[1]
    assert accepted.startswith("a SweepTool field the runner does not send or a dotted key")
    assert "a parameter of" not in accepted
    params = ", ".join(PROFILES[profile].tool_params)
    assert accepted.endswith(f"({params}) come from the experiment (hwscale-tui plan shows them).")


@pytest.mark.parametrize(
    "envs, warned",
    [
        ("  WANDB_ENTITY: team\n  WANDB_PROJECT: hw\n", False),
        ("  WANDB_ENTITY: 'team'\n  WANDB_PROJECT: 'hw'\n", False),
        ('  WANDB_ENTITY: "team"  # for hwscale-tui\n  WANDB_PROJECT: hw # ours\n', False),
        ("  # WANDB_ENTITY: team\n  WANDB_PROJECT: hw\n", True),
        ("  WANDB_ENTITY: other\n  WANDB_PROJECT: hw\n", True),
        ("  WANDB_ENTITY:team\n  WANDB_PROJECT:hw\n", True),  # YAML: a plain string, no key
    ],
)
def test_the_skypilot_wandb_warning_goes_once_the_task_sets_them_in_any_yaml_spelling(
    tmp_path, envs, warned
):
    """Single quotes or a trailing comment, both plain YAML, kept the warning (and its 'fix')
    after the user had applied the fix."""
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    task = repo / "devops/skypilot/config/skypilot_run.yaml"
    task.parent.mkdir(parents=True)
    task.write_text("resources:\n  accelerators: L4:1\nenvs:\n" + envs)
    cfg = _cfg(repo, "fom-v1", **{"wandb.project": "hw", "experiment.dispatcher": "skypilot"})
    warnings = plan_experiment(cfg, tmp_path / "e.toml").warnings
    assert any("forwards no WANDB_*" in w for w in warnings) is warned


@pytest.mark.parametrize(
    "profile, token, replaced",
    [
        ("main", 'wandb={"enabled":false}', "wandb.entity and wandb.project"),
        ("fom-v1", "wandb={}", "wandb.entity and wandb.project"),
        (
            "main",
            'protein_settings={"ucb_beta":3}',
            "protein_settings.random_suggestions, protein_settings.resample_frequency and "
            "protein_settings.suggestions_per_pareto",
        ),
    ],
)
def test_a_whole_field_over_the_runners_dotted_keys_is_refused(tmp_path, profile, token, replaced):
    """tools/run.py applies overrides in order, so 'wandb={...}' after wandb.entity= and
    wandb.project= dropped the sweep's entity (the 'unconfigured' pitfall), and a whole
    protein_settings dropped the settings plan showed as sent."""
    repo = make_checkout(tmp_path / "metta", profile)
    field = token.split("=", 1)[0]
    with pytest.raises(UsageError) as e:
        plan_experiment(_cfg(repo, profile), tmp_path / "e.toml", [token])
    assert str(e.value) == (
        f"extra argument {token!r} would replace {replaced}, which the metta runner sends from "
        "the experiment (hwscale-tui plan shows them); accepted: dotted keys under "
        f"{field} that the runner does not send, like {field}.<field>=VALUE."
    )
    # a dotted key under it is fine
    plan = plan_experiment(_cfg(repo, profile), tmp_path / "e.toml", ['wandb.tags=["hw"]'])
    assert plan.pairs[0].argv[-1] == 'wandb.tags=["hw"]'


@pytest.mark.parametrize(
    "profile, token, bound",
    [
        ("main", "protein_goal=minimize", ("overrides", "protein_goal")),
        ("fom-v1", "protein_config.goal=minimize", ("overrides", "protein_config.goal")),
    ],
)
def test_a_minimized_metric_reaches_metta(tmp_path, profile, token, bound):
    """sweep.goal = "minimize" was never sent: both commits default to maximize, so Metta's sweep
    chased the worst trials while plan and the analysis minimized."""
    repo = make_checkout(tmp_path / "metta", profile)
    if profile == "main":
        install_tool(repo)
    for goal, sent in (("maximize", False), ("minimize", True)):
        cfg = _cfg(repo, profile, **{"sweep.goal": goal})
        argv = plan_experiment(cfg, tmp_path / "e.toml").pairs[0].argv
        assert (token in argv) is sent
        assert not any("goal" in tok for tok in argv) or sent
        r = run_standin(repo, argv)  # it binds in the stand-in checkout (exit 0)
        assert r.returncode == 0, r.stdout + r.stderr
        if sent:
            where, key = bound
            assert json.loads(r.stdout)[where][key] == "minimize"


@pytest.mark.parametrize(
    "key, value, sentence",
    [
        (
            "metta.tool",
            "nodots",
            "metta.tool 'nodots' is not a Python name, so tools/run.py could not import it and no "
            "pair would start; accepted: a tool maker path like pkg.module.function, or empty for "
            "the profile's.",
        ),
        ("metta.tool", "-x.y", "metta.tool '-x.y' is not a Python name"),
        ("metta.tool", "a b.c", "metta.tool 'a b.c' is not a Python name"),
        (
            "metta.recipe_module",
            "x y",
            "metta.recipe_module 'x y' is not a Python name, so no trial could import it; accepted: "
            "a module path like recipes.prod.arena_basic_easy_shaped, or empty for the profile's.",
        ),
        (
            "metta.train_entrypoint",
            "",
            "metta.train_entrypoint '' is not a Python name, so no trial could start; accepted: "
            "the name of the recipe's training function, like train.",
        ),
        ("metta.train_entrypoint", "a=b", "metta.train_entrypoint 'a=b' is not a Python name"),
        ("metta.eval_entrypoint", "m.evaluate", "metta.eval_entrypoint 'm.evaluate' is not a"),
    ],
)
def test_a_tool_recipe_or_entrypoint_that_is_no_python_name_stops_the_launch(
    tmp_path, key, value, sentence
):
    """They went into every command as given: launch started a supervisor whose pairs (a tool
    path starting with '-' reads as a runner option) or every trial then failed."""
    repo = make_checkout(tmp_path / "metta", "main")
    install_tool(repo)
    exp = tmp_path / "e.toml"
    cfg = _cfg(repo, **{"grid.gpu_counts": [1], "grid.node_counts": [1], key: value})
    cfgmod.save(cfg, exp)
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp)), capture_output=True, text=True, env=cli_env()
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("hwscale-tui: error: " + sentence) and r.stderr.count("\n") == 1
    assert launched_nothing(exp)
    assert any(w.startswith(sentence.rstrip(".")) for w in plan_experiment(cfg, exp).warnings)


def test_the_profiles_own_names_and_dotted_overrides_are_no_blockers(tmp_path):
    repo = make_checkout(tmp_path / "metta", "main")
    for over in ({}, {"metta.tool": "recipes.experiment.mine.sweep", "metta.recipe_module": "r"}):
        assert plan_experiment(_cfg(repo, **over), tmp_path / "e.toml").blockers == []


def test_a_saved_experiment_is_not_told_its_defaults_cannot_reach_fom_v1(tmp_path):
    """Every saved file spells out grid.cpus_per_node, sweep.acquisition_fn and
    sweep.max_suggestion_cost, so planning a file saved with the defaults warned that all three
    'cannot reach Metta fom-v1', though the user had set none of them."""
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    exp = cfgmod.save(_cfg(repo, "fom-v1"), tmp_path / "e.toml")
    saved = cfgmod.load(exp, env={})
    assert {"sweep.acquisition_fn", "grid.cpus_per_node"} <= saved.explicit
    assert not [w for w in plan_experiment(saved, exp).warnings if "cannot reach Metta" in w]
    # sweep.acquisition_fn and sweep.max_suggestion_cost reach fom-v1 since
    # tests/metta/test_qa88_fom_settings.py; the CPU count still does not
    changed = cfgmod.apply_overrides(saved, {"grid.cpus_per_node": 96})
    reach = [w for w in plan_experiment(changed, exp).warnings if "cannot reach Metta" in w]
    assert len(reach) == 1 and reach[0].startswith("grid.cpus_per_node cannot reach Metta fom-v1")


@pytest.mark.parametrize(
    "token, origin",
    [
        ("max_trials=3", "sweep.max_trials"),
        ("gpus=2", "grid.gpu_counts"),
        ("protein_metric_path=x", "sweep.metric"),
        ("protein_settings.acquisition_fn=ucb", "sweep.acquisition_fn"),
    ],
)
def test_a_repeated_key_names_the_experiment_setting_it_comes_from(tmp_path, token, origin):
    """It said 'accepted: change that setting in the experiment' without naming it."""
    repo = make_checkout(tmp_path / "metta", "main")
    cfg = _cfg(repo, **{"sweep.acquisition_fn": "ei"})
    key = token.split("=", 1)[0]
    with pytest.raises(UsageError) as e:
        plan_experiment(cfg, tmp_path / "e.toml", [token])
    assert str(e.value) == (
        f"extra argument {token!r} repeats {key}, which the metta runner already sends from "
        f"{origin} (hwscale-tui plan shows it); accepted: set {origin} in the experiment "
        "instead, and extras only for keys the runner does not send."
    )


def test_a_repeated_fixed_optimizer_setting_is_not_sent_to_the_experiment_to_change(tmp_path):
    """protein_settings.random_suggestions comes from the hardware-scaling experiment's optimized
    config, not from a key of the experiment file: 'change that setting in the experiment' sent
    the user looking for a key that does not exist."""
    repo = make_checkout(tmp_path / "metta", "main")
    with pytest.raises(UsageError) as e:
        plan_experiment(_cfg(repo), tmp_path / "e.toml", ["protein_settings.random_suggestions=10"])
    assert str(e.value) == (
        "extra argument 'protein_settings.random_suggestions=10' repeats "
        "protein_settings.random_suggestions, which the metta runner already sends as the "
        "hardware-scaling experiment's optimizer setting (docs/metta.md, 'What Metta searches'; "
        "hwscale-tui plan shows it); accepted: extras only for keys the runner does not send."
    )


@pytest.mark.parametrize("mode", ["disabled", "offline"])
def test_launch_refuses_the_metta_runner_without_wandb_online(tmp_path, mode):
    """Each pair's command ran with WANDB_MODE=disabled (or offline): Metta's sweep keeps its
    trials in W&B and `trials` reads them from there, so the launch ran for nothing."""
    repo = make_checkout(tmp_path / "metta", "fom-v1")
    exp = tmp_path / "e.toml"
    cfg = _cfg(repo, "fom-v1", **{"wandb.mode": mode, "grid.gpu_counts": [1]})
    cfgmod.save(cfg, exp)
    sentence = (
        f"wandb.mode = {mode!r} with the metta runner: Metta's sweep keeps its trials in W&B "
        "and hwscale-tui reads them back from there, so with W&B "
        f'{mode} no trial would ever be seen; accepted: wandb.mode = "online" with runner = '
        '"metta"'
    )
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp)), capture_output=True, text=True, env=cli_env()
    )
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == f"hwscale-tui: error: {sentence}.\n"
    assert launched_nothing(exp)
    plan = plan_experiment(cfg, exp)
    assert plan.blockers[0] == sentence
    assert f"{sentence}; launch refuses to start" in plan.warnings
    online = _cfg(repo, "fom-v1", **{"wandb.mode": "online"})
    assert plan_experiment(online, exp).blockers == []


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_local_test_says_what_metta_runs_and_drops_the_skypilot_warnings(tmp_path, profile):
    """metta.local_test = true makes SweepTool.invoke run every trial locally for 50,000 steps
    without searching trainer.batch_size (metta/tools/sweep.py:172-182 at 7c1a7ff418, :183-192
    at a8d1ecee19); with dispatcher skypilot plan said nothing of it and warned about SkyPilot
    placement and W&B forwarding that the quick test never reaches."""
    repo = make_checkout(tmp_path / "metta", profile)
    over = {"experiment.dispatcher": "skypilot", "grid.gpu_counts": [1, 2]}
    plan = plan_experiment(_cfg(repo, profile, **over), tmp_path / "e.toml")
    assert any("forwards no WANDB_*" in w for w in plan.warnings)
    assert any("cannot be placed" in w for p in plan.pairs for w in p.warnings)
    assert not any("quick test" in w for w in plan.warnings)
    quick = _cfg(repo, profile, **over, **{"metta.local_test": True})
    plan = plan_experiment(quick, tmp_path / "e.toml")
    assert (
        "metta.local_test = true runs Metta's quick test: every trial trains on this machine "
        "(whatever experiment.dispatcher says) for 50,000 agent steps, not sweep.total_timesteps "
        "= 300,000,000, without searching trainer.batch_size, so this is not a hardware "
        "comparison"
    ) in plan.warnings
    assert not any("forwards no WANDB_*" in w for w in plan.warnings)
    assert not any(w for p in plan.pairs for w in p.warnings if "cannot be placed" in w)
    assert not any("local dispatcher ignores" in w for w in plan.warnings)
