"""CLI defects a new user met: unknown experiment names, a blamed flag that was not given,
piped output wrapped mid-sentence, "1 pairs", and a watch that never ends."""

from __future__ import annotations

import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from tests.launch.launch_testkit import WAIT_S, clean_processes, fake_command, write_experiment
from tests.support.cli import hwscale_cmd

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def test_status_of_an_unknown_experiment_name_exits_2(tmp_path, capsys):
    assert main(["status", "--experiment-name", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "there is no experiment named 'nope'" in err


def test_status_of_a_known_experiment_never_launched_says_so_as_plain_status_does(capsys):
    """status --experiment-name of an experiment that exists but never ran said "'mine' was
    never launched" and exited 2, naming only the launched ones (none here), where `status`
    with it current says how to launch it; and a name no experiment has was called "never
    launched" too, not unknown."""
    assert main(["experiments", "new", "mine"]) == 0
    assert main(["experiments", "new", "other"]) == 0  # 'other' is current now
    capsys.readouterr()
    assert main(["status", "--experiment-name", "mine"]) == 0
    out = capsys.readouterr().out
    assert "experiment mine has not been launched (hwscale-tui launch --experiment-name mine" in out
    assert main(["status", "--experiment-name", "ghost"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "there is no experiment named 'ghost'; accepted: one of" in err
    assert "mine" in err and "other" in err


def test_max_trials_below_the_default_batch_clamps_the_batch(tmp_path):
    cfg = cfgmod.apply_overrides(cfgmod.default_config(), {"sweep.max_trials": 1}, "command line")
    assert cfg.sweep.batch_size == 1 and cfg.sweep.max_trials == 1
    # a batch the user gave is still checked, and blamed by its own flag
    with pytest.raises(cfgmod.ConfigError) as e:
        cfgmod.apply_overrides(
            cfgmod.default_config(), {"sweep.max_trials": 1, "sweep.batch_size": 3}, "command line"
        )
    assert e.value.key == "sweep.batch_size"


def test_launch_max_trials_1_does_not_blame_batch_size(tmp_path, capsys):
    # --max-trials 0 is refused, naming --max-trials (not --batch-size, which was not given)
    assert main(["plan", "--max-trials", "0"]) == 2
    err = capsys.readouterr().err
    assert "--max-trials" in err and "--batch-size" not in err
    assert main(["plan", "--max-trials", "1", "--json"]) == 0


def test_transfer_flag_turns_transfer_on_and_plan_says_so(tmp_path):
    def plan(*flags: str) -> str:
        r = subprocess.run(
            hwscale_cmd("plan", "--gpu-counts", "1", "2", "--node-counts", "1", *flags),
            capture_output=True, text=True, timeout=WAIT_S, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        return r.stdout.splitlines()[0]

    assert "transfer" not in plan()
    assert plan("--transfer").endswith("  transfer")


def test_piped_plan_keeps_long_lines_whole_and_counts_one_pair(tmp_path):
    r = subprocess.run(
        hwscale_cmd(
            "plan", "--gpu-counts", "1", "--node-counts", "1", "--runner", "metta",
            "--metta-repo", str(tmp_path / "no-such-metta"),
        ),
        capture_output=True, text=True, timeout=WAIT_S, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "1 pair to launch" in r.stdout and "1 pairs" not in r.stdout
    warnings = [line for line in r.stdout.splitlines() if line.startswith("warning:")]
    assert warnings, r.stdout
    lines = r.stdout.splitlines()
    after_first = lines[lines.index(warnings[0]) :]
    assert all(line.startswith("warning:") for line in after_first), after_first  # none cut
    assert any(len(w) > 80 for w in warnings)  # long enough to have been cut at 80 before


def test_status_watch_stops_with_exit_0_once_every_pair_ended(tmp_path):
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--say", "hi"), gpus=(1,), delay_s=0.1)
    r = subprocess.run(
        hwscale_cmd("launch", "-e", str(exp), "--foreground"),
        capture_output=True, text=True, timeout=WAIT_S, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        hwscale_cmd("status", "--watch", "0.2", "--experiment-name", "exp"),
        capture_output=True, text=True, timeout=WAIT_S, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "every pair has ended; stopped watching" in r.stdout


def test_status_prints_progress_eta_and_cost_and_json_has_them(tmp_path, capsys):
    import json

    from hwscale_tui.store import Store

    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--say", "hi"), gpus=(1, 2), delay_s=0.1)
    assert main(["launch", "-e", str(exp), "--foreground", "--json"]) == 0
    capsys.readouterr()
    with Store.open_default() as store:  # what a sweep would have written: one pair half done
        for i, state in enumerate(("finished", "failed", "killed", "running")):
            store.insert_trial(
                f"exp.g1n1_trial_{i}", "exp.g1n1", gpus=1, nodes=1, state=state,
                agent_steps=100_000.0 if state != "running" else 50_000.0,
                runtime_s=10.0, sps=10_000.0, cost_usd=0.01,
            )  # fmt: skip
    assert main(["status", "--json", "--experiment-name", "exp"]) == 0
    progress = json.loads(capsys.readouterr().out)["progress"]
    g1 = next(p for p in progress["pairs"] if p["tag"] == "g1n1")
    assert (g1["done"], g1["failed"], g1["killed"], g1["running"]) == (2, 1, 1, 1)
    assert g1["ended"]  # its sweep process exited: nothing more will run
    assert progress["cost_so_far_usd"] == pytest.approx(0.04)
    assert progress["estimate_basis"] in ("measured", "history", "scaled", "settings", "mixed")
    assert main(["status", "--experiment-name", "exp"]) == 0
    out = capsys.readouterr().out
    assert "ETA" in out and "cost" in out and "progress: all pairs ended | cost $0.04" in out
    assert "g1n1 2/8 done, 1 running, 1 failed, 1 killed" in out


def test_plan_check_on_a_local_experiment_is_one_sentence_exit_2(tmp_path, capsys):
    """``plan --check`` asks Slurm; on the local dispatcher there is nothing to ask."""
    assert main(["plan", "--check", "--save", str(tmp_path / "p.toml")]) == 2
    err = capsys.readouterr().err
    assert "--check asks Slurm (sbatch --test-only)" in err and 'dispatcher = "local"' in err, err
    assert err.count("error:") == 1 and err.rstrip().endswith("."), err
    assert not (tmp_path / "p.toml").exists()  # refused before --save wrote anything


def test_trials_counts_one_trial_in_the_singular(capsys):
    from tests.support.seed import finished_trials

    finished_trials(1)
    assert main(["trials"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("1 trial from local"), first  # it said "1 trials"
