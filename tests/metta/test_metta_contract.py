"""The metta runner's commands against stand-in checkouts that bind exactly as Metta does.

Upstream: Metta-AI/metta at 7c1a7ff418 (profile fom-v1) and a8d1ecee19 (profile main; re-checked
on 2026-12-03, when the newest stored snapshot of Metta's main was still a8d1ecee19). The binding
rules are common/src/metta/common/tool/run_tool.py:122-131 (key=value), :614-673 (tool maker
parameters first), :174-191 and :706-718 (then Tool fields or dotted keys under one, else "Unknown
arguments", exit 2), :720-730 with packages/mettagrid/python/src/mettagrid/base_config.py:42-101
(overrides walk dicts only through existing keys) at 7c1a7ff418; at a8d1ecee19 the same steps are
run_tool.py:118-127, :533-596, :170-187 with :619-632, and :634-644, and base_config.py:42-139
also lets a dict take a dotted remainder as one key (:61-85, :116-129). tests/metta/standin.py
cites the rest.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.metta.install import TOOL_RELPATH, install_tool
from hwscale_tui.metta.profiles import PROFILES
from tests.metta.standin import make_checkout, run_standin, trial_batch_error, uv_shim
from tests.support.cli import cli_env, hwscale_cmd

PAIRS = {"grid.gpu_counts": [1, 2, 4, 8], "grid.node_counts": [1, 2]}


def _cfg(repo, profile, **over):
    base = {
        "wandb.entity": "team",
        "metta.repo": str(repo),
        "metta.profile": profile,
        **PAIRS,
    }
    base.update(over)
    return cfgmod.apply_overrides(cfgmod.default_config("metta", env={}), base)


def _checkout(tmp_path, profile):
    repo = make_checkout(tmp_path / f"metta-{profile}", profile)
    if profile == "main":
        install_tool(repo)
    return repo


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
@pytest.mark.parametrize("dispatcher", ["local", "skypilot"])
def test_every_pair_binds_in_the_profiles_standin(tmp_path, profile, dispatcher):
    repo = _checkout(tmp_path, profile)
    cfg = _cfg(
        repo,
        profile,
        **{
            "experiment.dispatcher": dispatcher,
            "sweep.metric": "evaluator/eval_sweep/combat/score",
            "launch.extra_args": ["trainer.update_epochs=2", "local_test=false"],
        },
    )
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    assert len(plan.pairs) == 8 and plan.metta_profile == profile
    for pp in plan.pairs:
        # fom-v1's hw_sweep builds the space itself: read-only, and the plan says why
        assert pp.space_editable == (profile == "main")
        assert pp.to_json()["search_space_editable"] == (profile == "main")
        r = run_standin(repo, pp.argv)
        assert r.returncode == 0, (pp.pair.tag, r.stderr)
        rec = json.loads(r.stdout)
        call = rec["call"]
        assert (call["gpus"], call["nodes"]) == (pp.pair.gpus, pp.pair.nodes)
        assert call["protein_metric_path"] == "evaluator/eval_sweep/combat/score"
        assert call["total_timesteps"] == 300_000_000
        assert rec["overrides"]["sweep_name"] == pp.sweep_name
        assert rec["overrides"]["wandb.entity"] == "team"
        assert rec["overrides"]["wandb.project"] == "hardware-scaling"
        assert rec["overrides"]["dispatcher_type"] == dispatcher
        if profile == "fom-v1":
            # the forwarded trainer key reaches the trials through train_overrides
            assert rec["state"]["train_overrides"] == {
                "trainer.total_timesteps": 300_000_000,
                "trainer.update_epochs": 2,
            }
            assert call["recipe_module"] == "experiments.recipes.arena_basic_easy_shaped"
        else:
            space = rec["state"]["search_space"]
            planned = pp.preset.space.as_dict()
            assert {k: v for k, v in space.items() if isinstance(v, dict)} == {
                k: {**v, "scale": "auto"} for k, v in planned.items()
            }
            assert space["trainer.update_epochs"] == 2
            assert space["trainer.total_timesteps"] == 300_000_000
            assert space["trainer.bptt_horizon"] == 64  # the profile's pinned horizon
            assert call["recipe_module"] == "recipes.prod.arena_basic_easy_shaped"
            assert rec["overrides"]["protein_settings.resample_frequency"] == 5


@pytest.mark.parametrize("cpus", [4, 8, 48, 96])
def test_main_trials_accept_every_batch_the_plan_searches(tmp_path, cpus):
    """Metta main's trainer refuses a batch too small for the rank's agents at its BPTT horizon.

    a8d1ecee19 defaults bptt_horizon to 256 (metta/rl/trainer_config.py:88) and needs
    batch_size // bptt_horizon >= agents (metta/rl/training/experience.py:41-49); the batch bounds
    assume 64 (hw_sweep.py:60 at 7c1a7ff418), so the profile pins trainer.bptt_horizon = 64.
    """
    repo = _checkout(tmp_path, "main")
    cfg = _cfg(repo, "main", **{"grid.cpus_per_node": cpus})
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    for pp in plan.pairs:
        r = run_standin(repo, pp.argv)
        assert r.returncode == 0, (pp.pair.tag, r.stderr)
        space = json.loads(r.stdout)["state"]["search_space"]
        fixed = {k.split(".")[-1]: v for k, v in space.items() if not isinstance(v, dict)}
        batch = space["trainer.batch_size"]
        b = int(batch["min"])
        while b <= batch["max"]:  # every power of two uniform_pow2 can draw
            trainer = {**fixed, "batch_size": b}
            assert trial_batch_error("main", trainer, cpus, pp.pair.gpus) is None, (pp.pair.tag, b)
            b *= 2
    # without the pinned horizon Metta's default of 256 refuses a 1-GPU pair's search center
    one = next(pp for pp in plan.pairs if pp.pair.total_gpus == 1)
    center = int(one.preset.space["trainer.batch_size"].mean)
    assert "too small" in (trial_batch_error("main", {"batch_size": center}, cpus, 1) or "")


def test_dotted_dict_overrides_bind_as_each_commit_walks_dicts(tmp_path):
    """eval_overrides.a.b=1: refused at 7c1a7ff418, a flat key "a.b" at a8d1ecee19. plan refuses
    it under fom-v1 (exit 2) as Metta's sweep would (exit 1); tests/metta/test_qa88_dict_keys.py
    checks more such keys."""
    for profile, code in (("fom-v1", 1), ("main", 0)):
        repo = _checkout(tmp_path, profile)
        if code:
            with pytest.raises(UsageError, match="eval_overrides has no key 'a'"):
                plan_experiment(_cfg(repo, profile), tmp_path / "e.toml", ["eval_overrides.a.b=1"])
            argv = plan_experiment(_cfg(repo, profile), tmp_path / "e.toml").pairs[0].argv
            r = run_standin(repo, [*argv, "eval_overrides.a.b=1"])
        else:
            plan = plan_experiment(
                _cfg(repo, profile), tmp_path / "e.toml", ["eval_overrides.a.b=1"]
            )
            r = run_standin(repo, plan.pairs[0].argv)
        assert r.returncode == code, (profile, r.stderr)
        if code == 0:
            assert json.loads(r.stdout)["state"]["eval_overrides"] == {"a.b": 1}


def test_todays_argv_fails_the_standin(tmp_path):
    """The command the runner built before this change (commit 1a17dcb's metta_argv), verbatim."""
    fom = _checkout(tmp_path, "fom-v1")
    old = [
        "uv", "run", "./tools/run.py", "experiments.adaptive.hardware_scaling.hw_sweep",
        "gpus=4", "nodes=1", "recipe_module=experiments.recipes.arena_basic_easy_shaped",
        "train_entrypoint=train", "eval_entrypoint=evaluate_in_sweep",
        "total_timesteps=300000000", "sweep_name=hardware_scaling.g4n1",
        "wandb.entity=team", "wandb.project=hardware-scaling", "dispatcher_type=skypilot",
        "max_trials=50", "batch_size=4", "max_parallel_jobs=4",
        "metric_path=evaluator/eval_sweep/combat/score", "trainer.seed=7",
    ]  # fmt: skip
    r = run_standin(fom, old)
    assert r.returncode == 2
    assert "Unknown arguments: metric_path, trainer.seed" in r.stderr
    # the dotted form a user would try next: the override walk finds no "trainer" key
    r = run_standin(fom, old[:-2] + ["train_overrides.trainer.update_epochs=2"])
    assert r.returncode == 1 and "key train_overrides.trainer.update_epochs not found" in r.stderr
    # a key TrainerConfig does not have fails when it reaches the trial (extra="forbid")
    r = run_standin(fom, old[:-2] + ['train_overrides={"trainer.seed":7}'])
    assert r.returncode == 1 and "trainer.seed is not a field" in r.stderr
    # on main the experiment's tool does not exist at all
    main = _checkout(tmp_path, "main")
    r = run_standin(main, old[:-2])
    assert r.returncode == 1 and "Could not find tool" in r.stderr


@pytest.mark.parametrize(
    "token,expected",
    [
        ("metric_path=x", "not accepted by Metta fom-v1's tools/run.py"),
        ("trainer.seed=1", "trainer.seed is not a trainer key of Metta fom-v1"),
        ("train_overrides.trainer.seed=1", "would replace the train_overrides"),
        ("novalue=", "is not accepted by Metta"),
        ("sweep_name=other", "repeats sweep_name, which the metta runner already sends"),
        ("gpus=2", "repeats gpus"),
    ],
)
def test_bad_extras_are_refused_before_anything_runs(tmp_path, token, expected):
    repo = _checkout(tmp_path, "fom-v1")
    with pytest.raises(UsageError, match="; accepted: ") as e:
        plan_experiment(_cfg(repo, "fom-v1"), tmp_path / "e.toml", [token])
    assert expected in str(e.value)
    assert str(e.value).count(". ") == 0 and str(e.value).endswith(".")  # one sentence


def test_bad_extra_on_the_command_line_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "saved.toml"
    r = subprocess.run(
        hwscale_cmd(
            "plan", "--runner", "metta", "--wandb-entity", "t", "--save", str(out), "metric_path=x"
        ),
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert r.returncode == 2
    assert "metric_path=x" in r.stderr and "protein_metric_path" in r.stderr
    assert not out.exists()


def test_main_profiles_tool_maker_is_installed_and_matches_the_profile(tmp_path):
    fom = make_checkout(tmp_path / "fom", "fom-v1")
    with pytest.raises(UsageError, match="looks like Metta fom-v1"):
        install_tool(fom)
    assert not (fom / TOOL_RELPATH).exists()
    main = make_checkout(tmp_path / "main", "main")
    r = subprocess.run(
        hwscale_cmd("metta", "install-tool", "--repo", str(main)),
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert r.returncode == 0, r.stderr
    src = (main / TOOL_RELPATH).read_text()
    compile(src, str(TOOL_RELPATH), "exec")
    fn = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef))
    assert [a.arg for a in fn.args.kwonlyargs] == list(PROFILES["main"].tool_params)
    assert PROFILES["main"].tool == "recipes.experiment.hwscale_sweep." + fn.name
    # a file it did not write is left alone
    (main / TOOL_RELPATH).write_text("# mine\n")
    r = subprocess.run(
        hwscale_cmd("metta", "install-tool", "--repo", str(main)),
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert r.returncode == 2 and "not written by hwscale-tui" in r.stderr
    assert (main / TOOL_RELPATH).read_text() == "# mine\n"


@pytest.mark.parametrize("profile", ["fom-v1", "main"])
def test_launch_foreground_runs_every_pair_through_the_standin(tmp_path, profile):
    repo = _checkout(tmp_path, profile)
    shim_dir = tmp_path / "bin"
    uv_shim(shim_dir)
    record = tmp_path / "record.jsonl"
    exp = tmp_path / "exp.toml"
    cfg = _cfg(
        repo,
        profile,
        **{
            "experiment.name": f"std-{profile}",
            "grid.gpu_counts": [1, 2, 4],
            "grid.node_counts": [1, 2],
            "launch.delay_s": 0.0,
            "launch.extra_args": ["trainer.update_epochs=2"],
        },
    )
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
    final = json.loads(r.stdout)["final_status"]["pairs"]
    assert [(p["status"], p["exit_code"]) for p in final] == [("exited", 0)] * 6
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    got = sorted((x["call"]["gpus"], x["call"]["nodes"]) for x in lines)
    assert got == [(1, 1), (1, 2), (2, 1), (2, 2), (4, 1), (4, 2)]
    assert {x["overrides"]["sweep_name"] for x in lines} == {
        f"std-{profile}.g{g}n{n}" for g, n in got
    }
