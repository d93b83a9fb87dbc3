"""``status`` after a new generation: the newest generation's pairs only (the CLI, --json and the
app's launch rows read the same ``pair_status``), and ``status --watch`` piped laid out like
plain ``status``. Real child processes (fake sweeps) and a real store."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.commands import plan_experiment
from hwscale_tui.paths import snapshot_path
from hwscale_tui.store import Store
from hwscale_tui.tui.launch_rows import launch_rows
from tests.launch.launch_testkit import (
    WAIT_S,
    clean_processes,
    fake_command,
    wait_for,
    write_experiment,
)
from tests.support.cli import cli_env, hwscale_cmd
from tests.support.launches import dead_pid, recorded_launch

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)
ROW = re.compile(r"^(g\d+n\d+(?: \(gen \d+\))?) ")


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hwscale_cmd(*args),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        stdin=subprocess.DEVNULL,
        env=cli_env(**env),
    )


def table_pairs(text: str) -> list[str]:
    return [m[1] for line in text.splitlines() if (m := ROW.match(line))]


def _two_generations(tmp_path, delay_s: float = 0.0):
    """Generation 1 ran g1n1 and g2n1; generation 2 only g1n1 (``--only``)."""
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command(), gpus=(1, 2), delay_s=delay_s)
    return exp


def test_status_of_a_new_generation_shows_only_its_pairs(tmp_path):
    exp = _two_generations(tmp_path)
    first = cli("launch", "-e", str(exp), "--foreground")
    assert first.returncode == 0, first.stderr
    second = cli("launch", "-e", str(exp), "--new-generation", "--only", "g1n1", "--foreground")
    assert second.returncode == 0, second.stderr

    status = sup.pair_status("exp")
    assert (status.generation, status.generations) == (2, 2)
    assert [(p.sweep_name, p.generation) for p in status.pairs] == [("exp.g1n1.gen2", 2)]
    for flags in ((), ("--generation", "2")):
        out = json.loads(cli("status", "--json", *flags).stdout)
        assert [p["sweep_name"] for p in out["pairs"]] == ["exp.g1n1.gen2"]
        assert [p["sweep"] for p in out["progress"]["pairs"]] == ["exp.g1n1.gen2"]
        shown = cli("status", *flags)
        assert shown.returncode == 0, shown.stderr
        assert "generation 2 of 2" in shown.stdout
        assert table_pairs(shown.stdout) == ["g1n1"], shown.stdout
        assert (
            "earlier generations' pairs and trials: hwscale-tui status --experiment-name exp "
            "--generation 1" in shown.stdout
        )
    # generation 1 is still there, from its own view
    old = cli("status", "--generation", "1")
    assert old.returncode == 0 and "generation 1 of 2" in old.stdout

    # the app's launch screen: generation 2's plan overlaid with the same status, and no
    # generation 1 rows appended as "recorded pairs no longer in the plan"
    cfg = cfgmod.load(exp)
    cfg.generation = 2
    plan = plan_experiment(cfg, snapshot_path("exp"), [])
    rows = launch_rows(plan.pairs, status, 0.0, max_trials=cfg.sweep.max_trials)
    assert [(r.sweep_name, r.status) for r in rows] == [
        ("exp.g1n1.gen2", "exited"),
        ("exp.g2n1.gen2", "not launched"),
    ]


def test_a_pair_of_the_earlier_generation_still_due_to_start_stays_visible(tmp_path):
    # generation 1: g1n1 at once, g2n1 ten minutes later under a live supervisor
    exp = _two_generations(tmp_path, delay_s=600.0)
    first = cli("launch", "-e", str(exp))
    assert first.returncode == 0, first.stderr
    wait_for(
        lambda: {p.tag: p.status for p in sup.pair_status("exp").pairs}.get("g1n1") == "exited",
        "g1n1 of generation 1 to exit",
    )
    # a new generation is refused while g2n1 is due (started later, it would run the new
    # settings as generation 2's sweep)
    second = cli("launch", "-e", str(exp), "--new-generation", "--only", "g1n1", "--foreground")
    assert second.returncode == 2, second.stderr
    assert "g2n1 of experiment exp is still running or due to start in generation 1" in (
        second.stderr
    )
    # the state such a launch left (an older release took it): generation 2 ran g1n1 alone
    with Store.open_default() as store:
        store.add_generation("exp", 2, "fp2", {}, "asked for")
        recorded_launch(store, "exp", ["exp.g1n1.gen2"], exp, running_pid=dead_pid()[0])

    status = sup.pair_status("exp")
    assert [(p.sweep_name, p.status) for p in status.pairs] == [
        ("exp.g1n1.gen2", "exited"),
        ("exp.g2n1", "scheduled"),  # would still start: never hidden
    ]
    assert table_pairs(cli("status").stdout) == ["g1n1", "g2n1 (gen 1)"]
    done = cli("cancel", "--all")
    assert done.returncode == 0, done.stderr
    # once it has ended it belongs to generation 1's view only
    assert [p.sweep_name for p in sup.pair_status("exp").pairs] == ["exp.g1n1.gen2"]


def test_status_watch_piped_is_laid_out_like_plain_status(tmp_path):
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command(), gpus=(1, 2), delay_s=0)
    assert cli("launch", "-e", str(exp), "--foreground").returncode == 0
    for env in ({}, {"COLUMNS": "200"}, {"COLUMNS": "90"}):
        plain = cli("status", **env)
        watched = cli("status", "--watch", "0.1", **env)  # every pair has ended: one frame
        assert plain.returncode == 0 and watched.returncode == 0, watched.stderr
        *frame, last = watched.stdout.split("\n")[:-1]
        assert watched.stdout.endswith("every pair has ended; stopped watching\n")
        assert "stopped watching" in last and frame == plain.stdout.split("\n")[:-1], env
        header = next(line for line in frame if line.startswith("pair "))
        assert header.rstrip().endswith("pid") == (env.get("COLUMNS") != "90"), header
        # a [launch] command is your own tool, not the built-in trainer: its pairs count GPUs,
        # so no "local mode:" line (the built-in trainer's: tests/foundation/test_docs_qa42.py)
        assert not any(line.startswith("local mode: ") for line in frame)


def test_an_earlier_generations_trials_done_count_as_the_trials_column_does(capsys):
    """`status --generation 1` counted killed (cancelled, replaced) trials as done: a pair
    cancelled mid-trial read '1' trial done there where its status had said 0/2. Done is
    finished and failed, what counts toward max_trials, as the newest generation's column."""
    from hwscale_tui.cli import main
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        store.touch_experiment("exp")
        for gen, why in ((1, "first launch"), (2, "sweep.total_timesteps 1 -> 2")):
            store.add_generation("exp", gen, f"fp{gen}", {}, why)
        states = {"a": "killed", "b": "finished", "c": "failed", "d": "killed"}
        for i, (suffix, state) in enumerate(states.items(), 1):
            run_id = f"exp.g1n1_trial_{i:04d}_{suffix * 6}"
            store.insert_trial(run_id, "exp.g1n1", experiment="exp", idx=i, gpus=1, nodes=1)
            store.update_trial(run_id, state=state, score=1.0 if state == "finished" else None)
    assert main(["status", "--experiment-name", "exp", "--generation", "1", "--json"]) == 0
    (pair,) = json.loads(capsys.readouterr().out)["pairs"]
    assert (pair["pair"], pair["trials_done"], pair["finished"]) == ("g1n1", 2, 1), pair


def test_status_json_carries_what_plain_status_prints_below_its_table(tmp_path):
    """A script reading ``status --json`` learns what a person reading ``status`` does: why a
    pair failed (its log's last lines), and the notes (here a launch snapshot gone). It had the
    table's fields only."""
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--say", "boom: out of memory", "--exit", "3"), gpus=(1,))
    assert cli("launch", "-e", str(exp), "--foreground").returncode != 0
    snapshot_path("exp").unlink()  # a note: no ETA or cost estimate without it
    plain, js = cli("status"), cli("status", "--json")
    assert plain.returncode == 0 and js.returncode == 0, js.stderr
    out = json.loads(js.stdout)
    attention = out["attention"]
    assert attention[0].startswith("g1n1 exited 3; its log ends ("), attention
    assert "    boom: out of memory" in attention, attention
    below_table = plain.stdout.split("\n")
    assert all(line in below_table for line in attention), (attention, plain.stdout)
    assert out["lost_trials"] == []
    assert [n for n in out["notes"] if "launch snapshot" in n] == [
        line for line in below_table if line.startswith("no ETA or cost estimate: its launch")
    ], (out["notes"], plain.stdout)
