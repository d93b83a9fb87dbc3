"""The experiment file: defaults, round-trip, environment fill, and every bad-input case."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import ConfigError
from hwscale_tui.paths import app_paths
from tests.support.cli import hwscale_cmd


def test_defaults_cover_every_section_and_runner_defaults_differ():
    b = cfgmod.default_config("builtin", env={})
    m = cfgmod.default_config("metta", env={})
    assert b.experiment.name == "hardware_scaling"
    assert (
        b.grid.gpu_counts == [1, 2, 4, 8]
        and b.grid.node_counts == [1, 2]
        and b.grid.max_gpus_per_node == 8
    )
    # local ranks on the tests' 16 usable cores: the default grid's pairs together need 45
    # ranks, so they run one after another (tests/launch/test_local_ranks.py)
    assert b.launch.delay_s == 60 and b.launch.sequential is True
    assert b.wandb.effective_project == "hardware-scaling"
    assert (
        m.sweep.max_trials,
        m.sweep.batch_size,
        m.sweep.max_parallel_jobs,
        m.sweep.total_timesteps,
    ) == (50, 4, 4, 300_000_000)
    assert m.sweep.metric == "evaluator/eval_sweep/score" and m.wandb.mode == "online"
    assert b.wandb.mode == "disabled" and b.sweep.total_timesteps < m.sweep.total_timesteps


def test_save_load_round_trip_is_lossless(tmp_path):
    cfg = cfgmod.default_config("metta", env={})
    cfg = cfgmod.apply_overrides(
        cfg,
        {
            "experiment.name": "exp-1.a",
            "grid.gpu_counts": [1, 2],
            "grid.exclude": ["g2n2"],
            "launch.command": ["echo", "{sweep_name}"],
            "launch.extra_args": ["trainer.seed=3"],
            "cost.price_per_gpu_hour": 2.5,
            "metta.local_test": True,
            "wandb.entity": "me",
        },
    )
    p = tmp_path / "e.toml"
    cfgmod.save(cfg, p)
    again = cfgmod.load(p, env={})
    assert again == cfg
    assert again.to_dict() == cfg.to_dict()
    cfgmod.save(again, tmp_path / "f.toml")
    assert (tmp_path / "f.toml").read_text() == p.read_text()
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600


def test_environment_fills_unset_wandb_fields_but_is_not_saved(tmp_path):
    p = tmp_path / "e.toml"
    p.write_text('[wandb]\nproject = "mine"\n')
    cfg = cfgmod.load(p, env={"WANDB_ENTITY": "team", "WANDB_PROJECT": "ignored"})
    assert cfg.wandb.entity == "team" and cfg.wandb.project == "mine"
    assert cfg.env_filled == {"wandb.entity"}
    cfgmod.save(cfg, tmp_path / "out.toml")
    assert "team" not in (tmp_path / "out.toml").read_text()
    assert cfgmod.load(tmp_path / "out.toml", env={}).wandb.entity is None


def test_runner_change_moves_unset_runner_defaults_only():
    cfg = cfgmod.apply_overrides(cfgmod.default_config(env={}), {"sweep.max_trials": 5})
    m = cfgmod.apply_overrides(cfg, {"experiment.runner": "metta"})
    assert m.sweep.max_trials == 5  # the user's value stays
    assert m.sweep.total_timesteps == 300_000_000  # a default follows the runner


def test_metta_runner_takes_any_metric_and_builtin_only_score():
    m = cfgmod.from_dict(
        {"experiment": {"runner": "metta"}, "sweep": {"metric": "evaluator/eval_sweep/x"}}, env={}
    )
    assert m.sweep.metric == "evaluator/eval_sweep/x"
    assert cfgmod.from_dict({"sweep": {"metric": "score"}}, env={}).sweep.metric == "score"
    with pytest.raises(ConfigError, match="has no effect with runner"):  # back to builtin
        cfgmod.apply_overrides(m, {"experiment.runner": "builtin"})


def test_default_gpu_count_over_a_lowered_max_is_skipped_not_an_error():
    cfg = cfgmod.from_dict({"grid": {"max_gpus_per_node": 4}}, env={})
    from hwscale_tui.hardware import plan_grid

    pairs, skipped = plan_grid(
        cfg.grid.gpu_counts, cfg.grid.node_counts, cfg.grid.max_gpus_per_node
    )
    assert [p.tag for p in pairs] == ["g1n1", "g1n2", "g2n1", "g2n2", "g4n1", "g4n2"]
    assert {(s.gpus, s.nodes) for s in skipped} == {(8, 1), (8, 2)}
    assert all("max_gpus_per_node = 4" in s.reason for s in skipped)


BAD_FILES = [
    ("[grid]\ngpu_count = [1]\n", "grid.gpu_count", "unknown key"),
    ("[nonsense]\nx = 1\n", "nonsense", "unknown section"),
    ('[sweep]\nmax_trials = "ten"\n', "sweep.max_trials", "an integer"),
    ("[grid]\nnode_counts = [1, -2]\n", "grid.node_counts", "integers from 1 to 4096"),
    ("[sweep]\nmax_parallel_jobs = -1\n", "sweep.max_parallel_jobs", "an integer from 1 to 100000"),
    ("[sweep]\nseed = -1\n", "sweep.seed", "an integer from 0 to 4294967295"),  # exact
    ("[grid]\ngpu_counts = [1, 16]\n", "grid.gpu_counts", "integers from 1 to 8"),
    ("[grid]\ngpu_counts = []\n", "grid.gpu_counts", "non-empty"),
    ("[grid]\nnode_counts = []\n", "grid.node_counts", "non-empty"),
    ('[experiment]\nname = "1st run"\n', "experiment.name", "starts with a letter"),
    ('[experiment]\nname = "bad/name"\n', "experiment.name", "starts with a letter"),
    ('[experiment]\nrunner = "slurm"\n', "experiment.runner", '"builtin" or "metta"'),
    ("[launch]\nsequential = 1\n", "launch.sequential", "true or false"),
    ('[launch]\ncommand = ["run", "{gpu}"]\n', "launch.command[1]", "{gpus}"),
    ("[analysis]\ntarget = 1.5\n", "analysis.target", "(0, 1]"),
    ("[sweep]\nmax_suggestion_cost = 0\n", "sweep.max_suggestion_cost", "seconds > 0"),
    ("not toml = = =\n", "<syntax>", "TOML"),
    ('[cost]\ngpu_type = ""\n', "cost.gpu_type", "a name without spaces like H100"),
    ('[cost]\ngpu_type = "H 100"\n', "cost.gpu_type", "a name without spaces like H100"),
    ("", "<file>", "at least one [section]"),
    ('[sweep]\nmetric = ""\n', "sweep.metric", "a metric name like score"),
    ('[analysis]\ncurve_metric = " "\n', "analysis.curve_metric", "a metric name like score"),
    # the built-in runner's trials report sweep/score: another metric would be ignored silently
    ('[sweep]\nmetric = "reward"\n', "sweep.metric", '"score" (runner = "metta" optimizes'),
    ("# hwscale-tui experiment (cut short here)\n", "<file>", "at least one [section]"),
]


@pytest.mark.parametrize("text,key,accepted", BAD_FILES)
def test_bad_file_raises_one_sentence_naming_file_key_and_accepted(tmp_path, text, key, accepted):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as ei:
        cfgmod.load(p, env={})
    msg = str(ei.value)
    if key.startswith("<"):  # the whole file's problem: no key, no "<file>" placeholder
        assert msg.startswith(f"{p}: ") and key not in msg and ei.value.key == key
    else:
        assert msg.startswith(f"{p}: {key}: ")
    assert accepted in msg
    assert msg.endswith(".") and "\n" not in msg


@pytest.mark.parametrize("text,key,accepted", BAD_FILES[:8])
def test_bad_file_on_cli_exits_2_and_writes_nothing(tmp_path, text, key, accepted):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    out = tmp_path / "saved.toml"
    r = subprocess.run(
        hwscale_cmd("plan", "--experiment", str(p), "--save", str(out)),
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stdout == ""
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and key in err[0] and str(p) in err[0] and accepted in err[0]
    assert not out.exists()
    assert p.read_text() == text  # the input is untouched
    assert not app_paths().state.exists()


@pytest.mark.parametrize(
    "flags,needle",
    [
        (["--gpu-counts", "1", "16"], "--gpu-counts (grid.gpu_counts): 16 ranks"),
        (["--gpu-counts", "one"], "--gpu-counts: 'one' is not an integer"),
        (["--node-counts", "0"], "--node-counts (grid.node_counts)"),
        (["--node-counts", "1,,2"], "--node-counts: '1,,2' has an empty item"),
        (["--gpu-counts", "1,2,"], "--gpu-counts: '1,2,' has an empty item"),
        (["--new-experiment", "9lives"], "--new-experiment (experiment.name)"),
        (["--runner", "slurm"], "--runner (experiment.runner)"),
        (["--delay", "soon"], "--delay: 'soon' is not a number"),
        (["notakeyvalue"], "extra argument 'notakeyvalue' is not key=value"),
        # `plan exp.toml`: the file was meant (session 43, helper 82)
        (["exp.toml"], "seed=1 (to open the experiment file, give it with -e: -e exp.toml)."),
        (["--metric-path", "reward"], "--metric-path (sweep.metric): 'reward' has no effect"),
    ],
)
def test_bad_flags_exit_2_with_one_sentence(tmp_path, flags, needle):
    out = tmp_path / "saved.toml"
    r = subprocess.run(
        hwscale_cmd("plan", *flags, "--save", str(out)), capture_output=True, text=True
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines
    assert not out.exists()


def test_missing_file_is_a_clear_error(tmp_path):
    r = subprocess.run(
        hwscale_cmd("plan", "--experiment", str(tmp_path / "nope.toml")),
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_save_refuses_an_invalid_in_memory_config_and_writes_nothing(tmp_path):
    cfg = cfgmod.default_config(env={})
    cfg.grid.node_counts = []
    with pytest.raises(ConfigError):
        cfgmod.save(cfg, tmp_path / "x.toml")
    assert not (tmp_path / "x.toml").exists()
