"""Pure pieces: how a trial ended, the metrics file reader, and the trial command builder."""

from __future__ import annotations

import json
import shlex
import sys

import pytest

from hwscale_tui.config import ConfigError, apply_overrides, default_config, from_dict
from hwscale_tui.errors import UsageError
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.launch.commands import resolve_executable
from hwscale_tui.metrics_file import MetricsTail, history_row, read_final
from hwscale_tui.prices import job_cost_usd
from hwscale_tui.search.presets import preset_for
from hwscale_tui.sweep.outcome import TrialExit, decide_outcome
from hwscale_tui.sweep.trial_command import TORCHRUN_SKYPILOT, TrialCommandBuilder, format_value

PAIR = HardwarePair(2, 1)
FINAL = {
    "sweep/score": 412.5,
    "sweep/cost": 0.02,
    "metric/total_time": 7.5,
    "metric/agent_step": 20480,
    "final": True,
    "state": "finished",
}


def decide(exit, *, cancelled=False, row=None, wall_s=10.0):
    return decide_outcome(
        exit, cancelled=cancelled, row=row, wall_s=wall_s, price_per_gpu_hour=3.6, pair=PAIR
    )


def test_exit_0_with_final_score_is_finished_with_the_trials_numbers():
    o = decide(TrialExit(0, None, FINAL))
    assert (o.state, o.score, o.cost_usd, o.runtime_s, o.agent_steps) == (
        "finished",
        412.5,
        0.02,
        7.5,
        20480,
    )
    assert o.counts_toward_max_trials


def test_exit_0_without_final_line_is_failed_and_cost_comes_from_the_price_model():
    o = decide(TrialExit(0, None, None), wall_s=100.0)
    assert o.state == "failed" and "without a final metrics line" in o.error
    assert o.runtime_s == 100.0 and o.cost_usd == pytest.approx(
        job_cost_usd(3.6, 2, 1, 100.0)
    ) == pytest.approx(0.2)


@pytest.mark.parametrize(
    "final,said",
    [
        ({"final": True, "sweep/score": float("nan")}, "sweep/score is nan, not a finite number"),
        ({"final": True, "sweep/score": "high"}, "sweep/score is 'high', not a finite number"),
        ({"final": True, "sweep/cost": 1.0}, "its final metrics line has no sweep/score"),
        ({"final": True, "sweep/score": 3.0, "state": "failed"}, "says state 'failed'"),
    ],
)
def test_exit_0_with_a_final_line_but_no_result_says_what_the_line_lacks(final, said):
    """A final line whose sweep/score was NaN or text read 'exited 0 without a final metrics
    line with sweep/score', which sent the user looking for a line that was there."""
    o = decide(TrialExit(0, None, final))
    assert o.state == "failed" and o.error is not None and said in o.error, o.error
    assert "without a final metrics line" not in o.error


def test_a_zero_score_is_a_score():
    o = decide(TrialExit(0, None, {**FINAL, "sweep/score": 0.0}))
    assert o.state == "finished" and o.score == 0.0


@pytest.mark.parametrize("code", [143, 130, 129, -15, -2, -1])
def test_sigterm_sigint_and_sighup_exits_are_killed_and_not_counted(code):
    o = decide(TrialExit(code, "x"))
    assert o.state == "killed" and not o.counts_toward_max_trials
    # the signal named, as the app says it (a bare "exit code 143" in `trials` before); SIGHUP
    # (the trainer exits 129 on it, as on SIGTERM) was a failure counted toward max_trials
    said = {
        143: "stopped by SIGTERM (exit code 143)",
        130: "stopped by SIGINT (exit code 130)",
        129: "stopped by SIGHUP (exit code 129)",
        -15: "killed by SIGTERM",
        -2: "killed by SIGINT",
        -1: "killed by SIGHUP",
    }
    assert o.error == said[code]


def test_cancelled_by_the_runner_is_killed_whatever_the_exit():
    assert decide(TrialExit(-9), cancelled=True).state == "killed"
    assert decide(TrialExit(0, None, FINAL), cancelled=True).state == "killed"


def test_other_exits_fail_with_the_reason():
    o = decide(TrialExit(1, "Traceback: ZeroDivisionError"))
    assert o.state == "failed" and o.error == "exit code 1: Traceback: ZeroDivisionError"
    assert decide(TrialExit(-9)).error == "killed by SIGKILL"
    assert "rejected its arguments" in decide(TrialExit(2, "unknown key")).error


def test_unknown_exit_uses_the_final_line_or_the_row_the_trainer_wrote():
    assert decide(TrialExit(None, "gone", FINAL)).state == "finished"
    row = {
        "state": "finished",
        "score": 99.0,
        "runtime_s": 3.0,
        "cost_usd": 0.5,
        "agent_steps": 100,
    }
    o = decide(TrialExit(None, "gone", None), row=row)
    assert (o.state, o.score, o.runtime_s, o.cost_usd) == ("finished", 99.0, 3.0, 0.5)
    o = decide(
        TrialExit(None, "its process ended while no runner was watching", None),
        row={"state": "running"},
    )
    assert o.state == "failed" and o.error == "its process ended while no runner was watching"


def test_metrics_tail_reads_only_complete_new_lines(tmp_path):
    path = tmp_path / "m.jsonl"
    tail = MetricsTail(path)
    assert tail.read_new() == []  # no file yet
    with open(path, "w") as fh:
        fh.write(json.dumps({"metric/agent_step": 1, "score": 1.0}) + "\n" + '{"metric/agent_st')
    assert [r["score"] for r in tail.read_new()] == [1.0]
    with open(path, "a") as fh:
        fh.write('ep": 2, "score": 2.0}\nnot json\n' + json.dumps(FINAL) + "\n")
    new = tail.read_new()
    assert [r.get("score") for r in new] == [2.0, None] and tail.final == FINAL
    assert tail.read_new() == []
    assert read_final(path) == FINAL
    assert history_row(
        {"metric/agent_step": 5, "metric/total_time": 1.5, "overview/sps": 9, "score": "nan"}
    ) == {
        "agent_step": 5.0,
        "wall_s": 1.5,
        "score": None,
        "reward": None,
        "sps": 9.0,
    }


def builder(cfg, extra=(), pair=PAIR, tmp_path=None):
    return TrialCommandBuilder(cfg, pair, list(extra), tmp_path, preset_for(cfg, pair).space.keys)


def test_builtin_trainer_argv_carries_params_hardware_budget_store_and_wandb(tmp_path):
    cfg = apply_overrides(
        default_config(env={}),
        {
            "experiment.name": "exp",
            "sweep.total_timesteps": 20000,
            "wandb.entity": "me",
            "cost.price_per_gpu_hour": 2.5,
            "sweep.seed": 7,
        },
    )
    spec = builder(cfg, ["trainer.update_epochs=2", "env=Acrobot-v1"], tmp_path=tmp_path).build(
        "exp.g2n1_trial_0001_abcdef",
        1,
        {"trainer.batch_size": 2048, "trainer.optimizer.learning_rate": 0.00123456789},
    )
    a = spec.argv
    assert a[:4] == ["hwscale-tui", "train", "run=exp.g2n1_trial_0001_abcdef", "group=exp.g2n1"]
    for tok in (
        "trainer.batch_size=2048",
        "trainer.optimizer.learning_rate=0.00123456789",
        "hardware.gpus=2",
        "hardware.nodes=1",
        "trainer.total_timesteps=20000",
        "seed=7",
        "store=true",
        f"metrics_file={tmp_path / 'exp.g2n1_trial_0001_abcdef' / 'metrics.jsonl'}",
        "wandb.mode=disabled",
        "wandb.project=hardware-scaling",
        "wandb.entity=me",
        "cost.price_per_gpu_hour=2.5",
        "trainer.update_epochs=2",
        "env=Acrobot-v1",
    ):
        assert tok in a, tok
    assert "env=CartPole-v1" not in a  # the extra argument replaced the default
    assert spec.writes_store and spec.log_path == spec.run_dir / "trial.log"
    assert spec.env["HWSCALE_RUN_ID"] == spec.run_id and spec.env["WANDB_MODE"] == "disabled"
    # the remote form writes no local store and no local metrics path
    remote = shlex.split(spec.remote_script)
    assert "store=true" not in remote and not any(t.startswith("metrics_file=") for t in remote)
    assert resolve_executable(a)[:1] in (["hwscale-tui"], [sys.executable])


@pytest.mark.parametrize("dispatcher", ["skypilot", "slurm"])
def test_builtin_trainer_on_several_nodes_is_refused_on_cluster_dispatchers(tmp_path, dispatcher):
    from hwscale_tui.sweep.runner import prepare_sweep

    overrides = {"experiment.dispatcher": dispatcher, "wandb.mode": "online"}
    cfg = apply_overrides(default_config(env={}), overrides)
    with pytest.raises(UsageError) as e:
        prepare_sweep(cfg, HardwarePair(1, 2), [], tmp_path)
    assert f"g1n2 on the {dispatcher} dispatcher would use one node while reporting 2" in str(
        e.value
    )
    prepare_sweep(cfg, HardwarePair(2, 1), [], tmp_path)  # one node: fine
    templated = apply_overrides(cfg, {"sweep.trial_command": ["{torchrun}", "train.py"]})
    prepare_sweep(templated, HardwarePair(1, 2), [], tmp_path)  # a distributed trainer: fine
    local = default_config(env={})
    prepare_sweep(local, HardwarePair(1, 2), [], tmp_path)  # local: ranks are local processes


def test_template_expands_placeholders_params_and_torchrun(tmp_path):
    cfg = from_dict(
        {
            "experiment": {"name": "exp"},
            "sweep": {
                "trial_command": [
                    "{torchrun}",
                    "train.py",
                    "--run",
                    "{run_id}",
                    "--out={metrics_file}",
                    "--g={gpus}x{nodes}",
                    "{params}",
                    "--steps",
                    "{total_timesteps}",
                ]
            },
        },
        env={},
    )
    spec = builder(cfg, ["foo=1"], tmp_path=tmp_path).build(
        "exp.g2n1_trial_0003_abcdef", 3, {"trainer.batch_size": 4096}
    )
    assert spec.argv == [
        "torchrun",
        "--standalone",
        "--nnodes=1",
        "--nproc_per_node=2",
        "train.py",
        "--run",
        "exp.g2n1_trial_0003_abcdef",
        f"--out={spec.metrics_path}",
        "--g=2x1",
        "trainer.batch_size=4096",
        "foo=1",
        "--steps",
        str(cfg.sweep.total_timesteps),
    ]
    assert not spec.writes_store
    assert spec.remote_script.startswith(
        TORCHRUN_SKYPILOT + " train.py --run exp.g2n1_trial_0003_abcdef "
    )
    assert "trainer.batch_size=4096 foo=1" in spec.remote_script


def test_placeholders_inside_a_token_are_shell_quoted_for_skypilot(tmp_path):
    cfg = from_dict(
        {"sweep": {"trial_command": ["bash", "-c", "{torchrun} train.py {params}"]}}, env={}
    )
    spec = builder(cfg, tmp_path=tmp_path).build(
        "hardware_scaling.g2n1_trial_0001_abcdef", 1, {"a.b": 0.5}
    )
    assert spec.argv[2] == "torchrun --standalone --nnodes=1 --nproc_per_node=2 train.py a.b=0.5"
    inner = shlex.split(spec.remote_script)
    assert inner[:2] == ["bash", "-c"] and inner[2] == f"{TORCHRUN_SKYPILOT} train.py a.b=0.5"


def test_unknown_trial_command_placeholder_is_a_config_error():
    with pytest.raises(
        ConfigError, match=r"sweep.trial_command\[1\]: unknown placeholder \{experiment\}"
    ):
        from_dict({"sweep": {"trial_command": ["x", "{experiment}"]}}, source="f.toml", env={})


@pytest.mark.parametrize(
    "extra, message",
    [
        (["hardware.gpus=4"], "sets hardware.gpus, which the sweep runner sets"),
        (["trainer.losses.ppo.clip_coef=0.3"], "would override the swept hyperparameter"),
    ],
)
def test_extra_arguments_may_not_set_runner_owned_or_swept_keys(extra, message, tmp_path):
    with pytest.raises(UsageError, match=message):
        builder(default_config(env={}), extra, tmp_path=tmp_path)


def test_format_value_keeps_full_float_precision():
    assert format_value(0.1 + 0.2) == "0.30000000000000004"
    assert format_value(True) == "true" and format_value(4096) == "4096"
