"""Search presets (docs/upstream.md sections 1 and 2, exactly), per-pair commands, and `plan`."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.hardware import HardwarePair, builtin_batch_constraints, metta_batch_constraints
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.search.presets import builtin_preset, metta_preset, preset_for
from tests.support.cli import hwscale_cmd

# What Metta's hardware-scaling experiment searches: optimized_sweep_config.py:82-161 at
# Metta-AI/metta 7c1a7ff418 (the README's "defaults" are not what the code uses).
METTA_TABLE = {
    "trainer.optimizer.learning_rate": ("log_normal", 5.768185e-4, 2.307274e-3, 0.001153637),
    "trainer.losses.loss_configs.ppo.clip_coef": ("uniform", 0.15, 0.30, 0.24),
    "trainer.losses.loss_configs.ppo.vf_clip_coef": ("uniform", 0.10, 0.30, 0.20),
    "trainer.losses.loss_configs.ppo.gae_lambda": ("uniform", 0.90, 0.97, 0.94),
    "trainer.losses.loss_configs.ppo.ent_coef": ("log_normal", 0.001, 0.03, 0.01),
    "trainer.losses.loss_configs.ppo.vf_coef": ("uniform", 0.5, 1.2, 0.9),
}


@pytest.mark.parametrize(
    "gpus,nodes,exp", [(1, 1, 19), (2, 1, 20), (4, 1, 21), (8, 1, 22), (8, 2, 23)]
)
def test_metta_preset_reproduces_the_experiment_exactly(monkeypatch, gpus, nodes, exp):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    p = metta_preset(HardwarePair(gpus, nodes))
    sp = p.space.as_dict()
    mn = 2**exp
    assert sp["trainer.batch_size"] == {
        "distribution": "uniform_pow2",
        "min": mn,
        "max": max(8 * mn, 8192),
        "mean": 2 * mn,
    }
    for key, (dist, lo, hi, mean) in METTA_TABLE.items():
        assert sp[key] == {"distribution": dist, "min": lo, "max": hi, "mean": mean}
    assert list(sp) == ["trainer.batch_size", *METTA_TABLE]  # minibatch is not searched
    assert p.settings == {
        "num_random_samples": 0,
        "seed_with_search_center": True,
        "global_search_scale": 1.0,
        "acquisition_fn": "naive",  # ProteinSettings' default: the experiment never sets it
        "ucb_beta": 2.0,
        "randomize_acquisition": False,
        "max_suggestion_cost": 10800,
        "resample_frequency": 5,
        "expansion_rate": 0.25,
        "random_suggestions": 256,
        "suggestions_per_pareto": 128,
    }
    assert p.metric == "evaluator/eval_sweep/score" and p.goal == "maximize"


@pytest.mark.parametrize("profile", ["main", "fom-v1"])
def test_a_saved_metta_file_sends_metta_what_the_unsaved_one_did(tmp_path, profile):
    """`plan --save` spells every default out; that must not start sending Metta settings the
    unsaved file left to Metta (our acquisition default was 'ei', Metta's is 'naive')."""
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta", env={}), {"metta.profile": profile})
    path = tmp_path / "exp.toml"
    cfgmod.save(cfg, path)
    saved = cfgmod.load(path, env={})
    assert "sweep.acquisition_fn" in saved.explicit and saved.sweep.acquisition_fn == "naive"
    pair = HardwarePair(2, 1)
    assert preset_for(saved, pair).space.settings == preset_for(cfg, pair).space.settings
    assert preset_for(saved, pair).space.settings["acquisition_fn"] == "naive"
    chosen = cfgmod.apply_overrides(saved, {"sweep.acquisition_fn": "ei"})
    sent = preset_for(chosen, pair).space.settings["acquisition_fn"]
    # both profiles send it (fom-v1 as protein_config.settings.acquisition_fn=, since 6e1a9e9),
    # so plan's settings line shows what Metta uses: under fom-v1 it said naive beside a command
    # sending ei
    assert sent == "ei"


def test_metta_batch_cpus_fom_v1_from_the_sweep_machine_main_from_cpus_per_node(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 96)
    assert metta_batch_constraints(1, 8).min_batch == 2**19
    # 4 CPUs: 2 workers -> 170 // 2 * 2 = 170 envs/GPU * 2 = 340 -> 340*24*64 = 522240 -> 2^19 still
    assert metta_batch_constraints(1, 4).num_envs == 340
    # 96 CPUs: 48 workers -> 170 // 48 * 48 = 144 * 2 = 288 envs per GPU
    assert metta_batch_constraints(1, 96).num_envs == 288
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta", env={}), {"grid.cpus_per_node": 4})
    # fom-v1's hw_sweep counts os.cpu_count() (optimized_sweep_config.py:46), here 96
    assert preset_for(cfg, HardwarePair(1, 1)).constraints.num_envs == 288
    main = cfgmod.apply_overrides(cfg, {"metta.profile": "main"})
    assert preset_for(main, HardwarePair(1, 1)).constraints.num_envs == 340


def test_small_metta_batch_default_minibatch_follows_formula():
    # 2**round(log2(min(max(min//4, min_mb), max_mb)))
    c = metta_batch_constraints(1, 8)
    assert (c.min_minibatch, c.max_minibatch, c.default_minibatch) == (1024, 65536, 65536)


def test_profiles_rename_only_the_ppo_paths():
    keys = metta_preset(HardwarePair(1, 1), profile="main").space.keys
    assert "trainer.advantage.gae_lambda" in keys and "trainer.losses.ppo_actor.clip_coef" in keys
    assert "trainer.losses.ppo_critic.vf_coef" in keys
    keys = metta_preset(HardwarePair(1, 1), profile="fom-v1").space.keys
    assert "trainer.losses.loss_configs.ppo.vf_coef" in keys
    assert keys[:2] == ["trainer.batch_size", "trainer.optimizer.learning_rate"]


def test_builtin_preset_applies_the_formula_with_trainer_constants():
    for total in (1, 2, 4, 8, 16):
        c = builtin_batch_constraints(total)
        assert c.min_batch == 8 * 1 * 64 * total  # 8 envs/rank x 1 agent x 64-step rollout x ranks
        assert c.max_batch == 8 * c.min_batch and c.center_batch == 2 * c.min_batch
        assert c.min_minibatch == 256 and c.max_minibatch == min(c.max_batch // 4, 65536)
    p = builtin_preset(HardwarePair(1, 1))
    center = p.space.center()
    assert center["trainer.batch_size"] == 1024 and center["trainer.minibatch_size"] == 256
    assert p.space["trainer.optimizer.learning_rate"].min == 1e-5  # same bounds as Metta's
    assert p.metric == "score"


def _metta_cfg(**over):
    base = {"wandb.entity": "team", "grid.gpu_counts": [4], "grid.node_counts": [1]}
    base.update(over)
    return cfgmod.apply_overrides(cfgmod.default_config("metta", env={}), base)


def test_metta_argv_exactly_as_upstreams_launcher(tmp_path):
    """fom-v1: the tokens of experiments/adaptive/hardware_scaling/launch.py:53-74 at 7c1a7ff418."""
    cfg = _metta_cfg(**{"experiment.dispatcher": "skypilot"})
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    (pp,) = plan.pairs
    assert pp.argv == [
        "uv",
        "run",
        "./tools/run.py",
        "experiments.adaptive.hardware_scaling.hw_sweep",
        "gpus=4",
        "nodes=1",
        "recipe_module=experiments.recipes.arena_basic_easy_shaped",
        "train_entrypoint=train",
        "eval_entrypoint=evaluate_in_sweep",
        "total_timesteps=300000000",
        "protein_metric_path=evaluator/eval_sweep/score",
        "sweep_name=hardware_scaling.g4n1",
        "wandb.entity=team",
        "wandb.project=hardware-scaling",
        "dispatcher_type=skypilot",
        "max_trials=50",
        "batch_size=4",
        "max_parallel_jobs=4",
    ]
    assert pp.env["WANDB_ENTITY"] == "team" and pp.env["WANDB_PROJECT"] == "hardware-scaling"
    assert any("async_capped" in w for w in plan.warnings)
    assert plan.metta_profile == "fom-v1" and not pp.space_editable


def test_metta_tool_local_test_extra_args_and_pitfall_warnings(tmp_path):
    repo = tmp_path / "metta"
    (repo / "experiments" / "adaptive").mkdir(parents=True)
    cfg = _metta_cfg(
        **{
            "metta.repo": str(repo),
            "metta.profile": "fom-v1",
            "metta.local_test": True,
            "metta.eval_entrypoint": "evaluate",
            "launch.extra_args": ["trainer.update_epochs=3"],
        }
    )
    plan = plan_experiment(cfg, tmp_path / "e.toml", ["capture_output=false"])
    argv = plan.pairs[0].argv
    assert argv[-3:] == [
        'train_overrides={"trainer.total_timesteps":300000000,"trainer.update_epochs":3}',
        "local_test=true",
        "capture_output=false",
    ]
    assert "eval_entrypoint=evaluate" in argv
    text = " ".join(plan.warnings)
    assert "breaks sweep evaluations" in text
    assert "is not in" in text and "check out Metta 7c1a7ff418" in text
    hs = repo / "experiments" / "adaptive" / "hardware_scaling"
    hs.mkdir()
    (hs / "__init__.py").write_text("from .hw_sweep import hw_sweep\n")
    plan = plan_experiment(cfg, tmp_path / "e.toml")
    assert not any("is not in" in w for w in plan.warnings)
    cfg2 = cfgmod.apply_overrides(cfg, {"metta.tool": "experiments.sweeps.mine.run"})
    assert (
        plan_experiment(cfg2, tmp_path / "e.toml").pairs[0].argv[3] == "experiments.sweeps.mine.run"
    )


def test_builtin_argv_and_template(tmp_path):
    cfg = cfgmod.default_config(env={})
    plan = plan_experiment(cfg, tmp_path / "exp.toml", ["trainer.seed=1"])
    assert plan.pairs[0].argv == [
        "hwscale-tui",
        "sweep",
        "--experiment",
        str(tmp_path / "exp.toml"),
        "--gpus",
        "1",
        "--nodes",
        "1",
        "trainer.seed=1",
    ]
    cfg = cfgmod.apply_overrides(
        cfg,
        {
            "launch.command": [
                "my-sweep",
                "{sweep_name}",
                "--g={gpus}",
                "{total_gpus}",
                "{experiment}",
            ]
        },
    )
    plan = plan_experiment(cfg, tmp_path / "exp.toml")
    assert plan.pairs[-1].argv == [
        "my-sweep",
        "hardware_scaling.g8n2",
        "--g=8",
        "16",
        "hardware_scaling",
    ]


def test_plan_json_schema_and_save(tmp_path):
    out = tmp_path / "saved.toml"
    env = dict(os.environ, WANDB_API_KEY="secret-value-123", WANDB_ENTITY="entity-from-env")
    r = subprocess.run(
        hwscale_cmd(
            "plan",
            "--runner",
            "metta",
            "--gpu-counts",
            "1,2",
            "--node-counts",
            "1",
            "--max-trials",
            "9",
            "--cpus-per-node",
            "8",
            "--json",
            "--save",
            str(out),
            "local_test=true",
        ),
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "secret-value-123" not in r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert [(p["gpus"], p["nodes"], p["total_gpus"], p["sweep_name"]) for p in data["pairs"]] == [
        (1, 1, 1, "hardware_scaling.g1n1"),
        (2, 1, 2, "hardware_scaling.g2n1"),
    ]
    p0 = data["pairs"][0]
    assert set(p0) >= {
        "gpus",
        "nodes",
        "total_gpus",
        "sweep_name",
        "argv",
        "env",
        "search_space",
        "settings",
        "warnings",
    }
    # names only; WANDB_ENABLED and WANDB_MODE: whether the Metta trials log to W&B (docs/metta.md)
    assert p0["env"] == ["WANDB_ENABLED", "WANDB_ENTITY", "WANDB_MODE", "WANDB_PROJECT"]
    assert "max_trials=9" in p0["argv"] and p0["argv"][-1] == "local_test=true"
    assert p0["search_space"]["trainer.batch_size"] == {
        "distribution": "uniform_pow2",
        "min": 2**19,
        "max": 2**22,
        "mean": 2**20,
    }
    assert p0["settings"]["acquisition_fn"] == "naive"
    assert "trainer.minibatch_size" not in p0["search_space"]
    assert data["skipped"] == []
    saved = cfgmod.load(out, env={})
    assert (
        saved.experiment.runner == "metta"
        and saved.sweep.max_trials == 9
        and saved.grid.gpu_counts == [1, 2]
    )
    assert "entity-from-env" not in out.read_text()  # environment-filled entity is not saved


def test_plan_table_lists_skipped_pairs_with_reason():
    r = subprocess.run(
        hwscale_cmd("plan", "--max-gpus-per-node", "4"), capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert "skipped g8n1: 8 GPUs per node is more than max_gpus_per_node = 4" in " ".join(
        r.stdout.split()
    )
    assert "6 pairs to launch" in r.stdout
    # batch bounds as the app's grid writes them (thousands separators, never 2^k)
    assert "1,024..8,192" in r.stdout and "^" not in r.stdout


def test_plan_table_keeps_every_value_whole_at_60_columns():
    """Piped with COLUMNS=60 (a narrow terminal): the pairs' table fits, nothing is cut with an
    ellipsis, and each pair's batch range, centers and start read whole on its row."""
    r = subprocess.run(
        hwscale_cmd("plan", "--gpu-counts", "1", "8", "--node-counts", "1", "4"),
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "60"},
    )
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if "│" in line or "┃" in line]
    assert rows and all(len(line) <= 60 for line in rows), r.stdout
    assert "…" not in "".join(rows)
    cells = [[x.strip() for x in line.split("│")] for line in rows if "│" in line]
    # a pair's row and the line below it (each range on two lines: "16,384.." above "131,072")
    whole = {
        top[0]: [a + b for a, b in zip(top, below, strict=True)]
        for top, below in zip(cells, cells[1:], strict=False)
        if top[0]
    }
    assert whole["g8n4"][1:4] == ["32", "16,384..131,072", "32,768"], whole["g8n4"]
    assert whole["g1n1"][1:4] == ["1", "512..4,096", "1,024"], whole["g1n1"]
    assert whole["g8n4"][-1] == "+180s"
