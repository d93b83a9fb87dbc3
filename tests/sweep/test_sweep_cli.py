"""`hwscale-tui sweep` as a user runs it: events on stdout, --status, bad input, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import tomllib

import pytest
import tomli_w

from hwscale_tui.paths import app_paths
from hwscale_tui.processes import live_group_members
from hwscale_tui.store import Store
from tests.support.cli import cli_env, hwscale_cmd
from tests.sweep.sweep_helpers import pid_alive, wait_for, write_experiment

SWEEP = "cli.g1n1"


def sweep_cmd(exp, *more):
    return hwscale_cmd("sweep", "--experiment", str(exp), "--gpus", "1", "--nodes", "1", *more)


def test_sweep_runs_to_completion_prints_events_and_status(tmp_path):
    exp = write_experiment(
        tmp_path / "exp.toml", name="cli", max_trials=3, batch_size=2, max_parallel_jobs=2
    )
    r = subprocess.run(
        sweep_cmd(exp, "extra.flag=1"), capture_output=True, text=True, env=cli_env(), timeout=300
    )
    assert r.returncode == 0, r.stderr
    kinds = [line.split()[1] for line in r.stdout.splitlines()]
    assert (
        kinds.count("suggested") == 3
        and kinds.count("started") == 3
        and kinds.count("finished") == 3
    )
    assert kinds[-1] == "done" and "3 finished; best score=" in r.stdout.splitlines()[-1]
    assert all("score=" in line for line in r.stdout.splitlines() if line.split()[1] == "finished")

    j = subprocess.run(
        sweep_cmd(exp, "--status", "--json"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert j.returncode == 0, j.stderr
    trials = json.loads(j.stdout)
    assert [t["idx"] for t in trials] == [1, 2, 3]
    for t in trials:
        assert {"run_id", "state", "score", "cost_usd", "agent_steps", "params"} <= set(t)
        assert t["state"] == "finished" and t["score"] > 0 and t["agent_steps"] == 3000
        assert "trainer.optimizer.learning_rate" in t["params"]
    # the extra argument reached every trial, and the runner copied the template trial's live metrics
    store = Store.open_default()
    for t in trials:
        assert "extra.flag=1" in (app_paths().runs / t["run_id"] / "trial.log").read_text()
        assert [h.agent_step for h in store.history(t["run_id"])] == [1000, 2000, 3000]
    sweep_row = store.get_sweep(SWEEP)
    assert (
        sweep_row["status"],
        sweep_row["max_trials"],
        sweep_row["runner"],
        sweep_row["dispatcher"],
    ) == ("finished", 3, "builtin", "local")

    table = subprocess.run(
        sweep_cmd(exp, "--status"), capture_output=True, text=True, env=cli_env(), timeout=120
    )
    assert table.returncode == 0 and "cli.g1n1" in table.stdout and "done 3/3" in table.stdout
    assert table.stdout.count("finished") >= 3
    # 60 columns: every line fits, and no number is cut or folded (the trial ids fold instead)
    narrow = subprocess.run(
        sweep_cmd(exp, "--status"),
        capture_output=True,
        text=True,
        env=cli_env(COLUMNS="60"),
        timeout=120,
    )
    rows = [line for line in narrow.stdout.splitlines() if "│" in line]
    assert narrow.returncode == 0 and "…" not in narrow.stdout
    assert all(len(line) <= 60 for line in rows), narrow.stdout
    for t in trials:
        row = next(line for line in rows if line.split("│")[0].strip() == str(t["idx"]))
        cells = [c.strip() for c in row.split("│")]
        assert f"{t['cost_usd']:.4f}" in cells and "3000" in cells and f"{t['score']:.4g}" in cells


def test_bad_input_is_one_sentence_exit_2_and_writes_nothing(tmp_path):
    exp = write_experiment(tmp_path / "exp.toml", name="cli")
    for args in (
        ["--gpus", "0", "--nodes", "1"],
        ["--gpus", "1", "--nodes", "1", "run=mine"],
        ["--gpus", "1", "--nodes", "1", "--json"],
    ):
        r = subprocess.run(
            hwscale_cmd("sweep", "--experiment", str(exp), *args),
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=120,
        )
        assert r.returncode == 2, (args, r.stderr)
        assert (
            r.stderr.startswith("hwscale-tui: error: ") and len(r.stderr.strip().splitlines()) == 1
        )
    assert not app_paths().store.exists() and not app_paths().runs.exists()


def test_an_extra_key_the_trainer_rejects_is_refused_before_anything_is_written(tmp_path):
    """A typo'd trainer key would fail the first trial and record the sweep and its generation
    (whose fingerprint then refuses the corrected command): refused up front, as launch does."""
    exp = write_experiment(tmp_path / "exp.toml", name="cli", trial_command=[])
    r = subprocess.run(
        sweep_cmd(exp, "trainer.update_epoch=2"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert (
        r.stderr.strip().splitlines() == [r.stderr.strip()]
        and "unknown key 'trainer.update_epoch' (did you mean trainer.update_epochs?)" in r.stderr
    )
    assert r.stdout == ""
    assert not app_paths().store.exists() and not app_paths().runs.exists()


def test_an_extra_wandb_online_is_refused_only_without_a_key(tmp_path, monkeypatch):
    """The check launch, plan and sweep make looked for the W&B key in an empty environment:
    wandb.mode=online as an extra argument was refused with WANDB_API_KEY set."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.errors import UsageError
    from hwscale_tui.hardware import HardwarePair
    from hwscale_tui.sweep.preflight import check_pairs, check_sweep
    from hwscale_tui.sweep.runner import prepare_sweep

    cfg, pair, extra = cfgmod.default_config(), HardwarePair(1, 1), ["wandb.mode=online"]
    with pytest.raises(UsageError, match="needs a W&B API key and none was found"):
        check_pairs(cfg, [pair], extra, tmp_path)
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    check_pairs(cfg, [pair], extra, tmp_path)
    check_sweep(prepare_sweep(cfg, pair, extra, tmp_path))


def test_status_of_a_sweep_never_run_is_empty(tmp_path):
    exp = write_experiment(tmp_path / "exp.toml", name="cli")
    r = subprocess.run(
        sweep_cmd(exp, "--status", "--json"),
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert r.returncode == 0 and json.loads(r.stdout) == []
    # the table's line says how to start it, pasteable; a pair off the grid is named as such
    for gpus, off_grid in (("1", False), ("3", True)):
        r = subprocess.run(
            hwscale_cmd("sweep", "-e", str(exp), "--gpus", gpus, "--nodes", "1", "--status"),
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        assert f"(start it with hwscale-tui sweep --gpus {gpus} --nodes 1 -e {exp}" in r.stdout
        assert (f"g{gpus}n1 is not a pair of experiment 'cli'" in r.stdout) == off_grid


def test_sigterm_kills_in_flight_trials_and_a_second_runner_is_refused(tmp_path):
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(
        tmp_path / "exp.toml", name="cli", max_trials=4, batch_size=2, max_parallel_jobs=2
    )
    runner = subprocess.Popen(
        sweep_cmd(exp),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(STUB_HOLD_DIR=str(hold)),
    )
    store = Store.open_default()
    try:
        rows = wait_for(
            lambda: len(r := [x for x in store.trial_rows([SWEEP]) if x["pid"]]) == 2 and r,
            what="two running trials",
        )
        second = subprocess.run(
            sweep_cmd(exp), capture_output=True, text=True, env=cli_env(), timeout=120
        )
        assert second.returncode == 2 and "already being run by process" in second.stderr
        # run by hand, not launched: the way to stop it is its signal, not hwscale-tui cancel
        assert (
            f"kill -TERM {runner.pid}" in second.stderr
            and "hwscale-tui cancel" not in second.stderr
        )
        cancel = subprocess.run(
            hwscale_cmd("cancel", "--experiment-name", "cli", "g1n1"),
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=120,
        )
        assert cancel.returncode == 0, cancel.stderr
        assert "g1n1: not cancelled" in cancel.stdout and "started by hand" in cancel.stdout
        assert f"kill -TERM {runner.pid}" in cancel.stdout
        assert "nothing of it is running" not in cancel.stdout
        assert runner.poll() is None  # cancel left it alone
        runner.send_signal(signal.SIGTERM)
        out, _ = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 128 + signal.SIGTERM
    final = store.trial_rows([SWEEP])
    assert [r["state"] for r in final] == ["killed", "killed"]
    assert not any(pid_alive(r["pid"]) or live_group_members(r["pgid"]) for r in rows)
    assert store.get_sweep(SWEEP)["status"] == "cancelled"
    lines = out.splitlines()
    assert (
        lines[-1].split()[1] == "cancelled"
        and sum(line.split()[1] == "killed" for line in lines) == 2
    )


def test_a_failing_trial_is_reported_with_its_last_log_line_and_the_sweep_goes_on(tmp_path):
    exp = write_experiment(tmp_path / "exp.toml", name="cli", max_trials=3)
    r = subprocess.run(
        sweep_cmd(exp), capture_output=True, text=True, env=cli_env(STUB_FAIL_IDX="2"), timeout=300
    )
    assert r.returncode == 0, r.stderr
    failed = [line for line in r.stdout.splitlines() if line.split()[1] == "failed"]
    assert len(failed) == 1 and failed[0].endswith("exit code 1: stub: trial 2 fails on purpose")
    rows = Store.open_default().trial_rows([SWEEP])
    assert [row["state"] for row in rows] == ["finished", "failed", "finished"]
    assert (
        "done" in r.stdout.splitlines()[-1] and "1 failed, 2 finished" in r.stdout.splitlines()[-1]
    )


def test_sigusr1_prints_the_runners_stacks_and_the_sweep_goes_on(tmp_path):
    """A sweep that seems stuck can be asked where it is without stopping it."""
    hold = tmp_path / "hold"
    hold.mkdir()
    exp = write_experiment(tmp_path / "exp.toml", name="cli", max_trials=2, max_parallel_jobs=1)
    err = tmp_path / "stderr.txt"
    with open(err, "w") as err_fh:
        runner = subprocess.Popen(
            sweep_cmd(exp),
            stdout=subprocess.DEVNULL,
            stderr=err_fh,
            env=cli_env(STUB_HOLD_DIR=str(hold)),
        )
    store = Store.open_default()
    try:
        wait_for(lambda: any(x["pid"] for x in store.trial_rows([SWEEP])), what="a running trial")
        runner.send_signal(signal.SIGUSR1)
        dump = wait_for(lambda: "_loop" in (t := err.read_text()) and t, what="the stack dump")
        (hold / "all").touch()
        assert runner.wait(timeout=120) == 0  # the signal stopped nothing
    finally:
        if runner.poll() is None:
            runner.kill()
    assert "Current thread" in dump and "hwscale_tui/sweep/runner.py" in dump
    assert [r["state"] for r in store.trial_rows([SWEEP])] == ["finished", "finished"]


def test_a_sweep_from_a_file_registers_the_file_so_analyze_reads_its_settings(tmp_path):
    """``sweep -e FILE`` ran the file's settings, but ``analyze``/``experiments`` then read the
    experiment by name and fell back to the built-in defaults (their 2-pair grid, the 0.9
    fraction target): the analysis waited for a pair the file never had and used another
    target. The file is now registered (not made current), unless it is a launch snapshot."""
    import tomllib

    import tomli_w

    from hwscale_tui.launch.experiments import load_named, read_current

    exp = write_experiment(tmp_path / "solo.toml", name="solo", max_trials=1)
    data = tomllib.loads(exp.read_text())
    data["grid"] = {"gpu_counts": [1], "node_counts": [1]}
    data["analysis"] = {"target": 50.0, "target_kind": "absolute"}
    exp.write_text(tomli_w.dumps(data))
    r = subprocess.run(sweep_cmd(exp), capture_output=True, text=True, env=cli_env(), timeout=300)
    assert r.returncode == 0, r.stderr
    cfg, path = load_named("solo")
    assert path == exp.resolve()
    assert (cfg.grid.gpu_counts, cfg.analysis.target, cfg.analysis.target_kind) == (
        [1],
        50.0,
        "absolute",
    )
    assert read_current() is None  # a pair's sweep never changes the current experiment
    out = subprocess.run(
        hwscale_cmd("experiments"), capture_output=True, text=True, env=cli_env(), timeout=120
    ).stdout
    (line,) = [x for x in out.splitlines() if " solo " in x]
    assert line.split("│")[3].strip() == "1", line  # its pairs: the file's 1, not the default 2


def test_a_refused_sweep_offers_a_launch_of_this_pair_with_its_own_settings(tmp_path):
    """A sweep whose flags change the generation's settings is refused; the launch it offered
    had the experiment's file alone, so pasting it ran every pair at the file's settings, not
    the sweep's. The hint carries the sweep's flags, its extra arguments and --only its pair,
    and pasted, starts just that pair in the next generation with those settings."""
    import shlex

    exp = write_experiment(tmp_path / "exp.toml", name="gen", max_trials=1)
    data = tomllib.loads(exp.read_text())
    data["grid"] = {"gpu_counts": [1, 2], "node_counts": [1]}
    data["launch"] = {"delay_s": 0}
    exp.write_text(tomli_w.dumps(data))
    first = subprocess.run(sweep_cmd(exp), capture_output=True, text=True, env=cli_env())
    assert first.returncode == 0, first.stderr
    changed = sweep_cmd(exp, "--total-timesteps", "6000", "extra.flag=1")
    r = subprocess.run(changed, capture_output=True, text=True, env=cli_env(), timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    hint = r.stderr.split("accepted: ", 1)[1].split(" (starts generation 2")[0]
    assert hint == (
        f"hwscale-tui launch -e {shlex.quote(str(exp))} --total-timesteps 6000 --only g1n1 "
        "extra.flag=1 --new-generation"
    ), r.stderr
    pasted = hwscale_cmd(*shlex.split(hint)[1:], "--foreground")
    done = subprocess.run(pasted, capture_output=True, text=True, env=cli_env(), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    with Store.open_default(readonly=True) as st:
        rows = st.trial_rows(experiment="gen")
        assert sorted((r["sweep"], r["generation"]) for r in rows) == [
            ("gen.g1n1", 1),
            ("gen.g1n1.gen2", 2),  # this pair only: g2n1 was not started
        ]
        settings = json.loads(st.generations("gen")[1]["settings_json"])
    assert (settings["total_timesteps"], settings["extra_args"]) == (6000, ["extra.flag=1"])


def test_a_sweep_whose_trials_are_all_stopped_from_outside_stops_after_ten_in_a_row(tmp_path):
    """A killed trial is replaced and not counted (preempted, scancelled): with every trial
    stopped from outside the sweep replaced them without end (19 in 20 s on Slurm, max_trials
    never reached). After 10 in a row with nothing finished or failed it stops, exit 1, saying
    why; one that finishes in between starts the count again."""
    exp = write_experiment(tmp_path / "exp.toml", name="cli", max_trials=2)
    r = subprocess.run(
        sweep_cmd(exp), capture_output=True, text=True, env=cli_env(STUB_KILL_IDX="all"),
        timeout=300,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    last = r.stdout.splitlines()[-1]
    assert "the last 10 trials were all stopped before they ended" in last, last
    assert "stopped by SIGTERM" in last and "launch --only g1n1" in last, last
    rows = Store.open_default().trial_rows([SWEEP])
    assert [row["state"] for row in rows] == ["killed"] * 10
    # trials 1-9 and 11-19 stopped, 10 finishes: no 10 in a row until trial 20
    Store.open_default().conn.execute("DELETE FROM trials")
    exp = write_experiment(tmp_path / "exp2.toml", name="cli2", max_trials=2)
    kills = ",".join(str(i) for i in range(1, 30) if i != 10)
    r = subprocess.run(
        sweep_cmd(exp), capture_output=True, text=True, env=cli_env(STUB_KILL_IDX=kills),
        timeout=300,
    )  # fmt: skip
    assert r.returncode == 1 and "the last 10 trials" in r.stdout.splitlines()[-1], r.stdout
    states = [row["state"] for row in Store.open_default().trial_rows(["cli2.g1n1"])]
    assert states == ["killed"] * 9 + ["finished"] + ["killed"] * 10, states


def test_a_sweep_whose_every_trial_failed_exits_1_and_says_so(tmp_path):
    """Every trial failed: the sweep ended 'done ... 2 failed' with exit 0, so its launch showed
    the pair as exited 0 and `launch --foreground` reported success. It is a failed sweep."""
    exp = write_experiment(tmp_path / "exp.toml", name="cli", max_trials=2)
    r = subprocess.run(
        sweep_cmd(exp),
        capture_output=True,
        text=True,
        env=cli_env(STUB_FAIL_IDX="1,2"),
        timeout=300,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    last = r.stdout.splitlines()[-1]
    assert "every trial failed: 2 failed" in last and "done" not in last, last
    rows = Store.open_default().trial_rows([SWEEP])
    assert [row["state"] for row in rows] == ["failed", "failed"]
    again = subprocess.run(
        sweep_cmd(exp), capture_output=True, text=True, env=cli_env(), timeout=300
    )
    assert again.returncode == 1 and "every trial failed" in again.stdout  # resumed: the same end
