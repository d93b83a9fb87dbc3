"""One current experiment for every command and the app; list, select, archive, delete.

Real CLI processes, the real supervisor, real store; pairs run tests/launch/fake_sweep.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess

import pytest

from hwscale_tui.errors import UsageError
from hwscale_tui.launch import experiments as ex
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.files import supervisor_log_path
from hwscale_tui.paths import app_paths, snapshot_path
from hwscale_tui.store import Store
from hwscale_tui.tui.session import ExperimentSession
from tests.launch.launch_testkit import (
    WAIT_S,
    all_ended,
    clean_processes,
    fake_command,
    wait_for,
    write_experiment,
)
from tests.support.cli import hwscale_cmd

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hwscale_cmd(*args), capture_output=True, text=True, timeout=WAIT_S, stdin=subprocess.DEVNULL
    )


def _one_sentence_exit_2(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hwscale-tui: error: "), lines
    for n in needles:
        assert n in lines[0], lines[0]


def test_launch_with_a_file_makes_it_current_for_every_command_and_the_app(tmp_path):
    exp = tmp_path / "mine.toml"
    write_experiment(exp, fake_command(), name="mine", gpus=(1, 2), delay_s=0)
    res = cli("launch", "-e", str(exp), "--foreground")
    assert res.returncode == 0, res.stderr
    # every printed hint names the experiment
    follow = next(line for line in res.stdout.splitlines() if line.startswith("follow:"))
    assert "--experiment-name mine" in follow
    assert ex.read_current().name == "mine"
    # bare commands act on it, not on the built-in default's 8 phantom pairs
    status = json.loads(cli("status", "--json").stdout)
    assert status["experiment"] == "mine" and len(status["pairs"]) == 2
    trials = json.loads(cli("trials", "--json").stdout)
    assert trials["experiment"] == "mine"
    plan = json.loads(cli("plan", "--json").stdout)
    assert plan["experiment"] == "mine" and len(plan["pairs"]) == 2
    # the app opens it, on its own file (saving writes there)
    session = ExperimentSession.open()
    assert session.name == "mine" and session.path == exp.resolve()
    # the status hint works when pasted
    status_cmd = shlex.split(follow.split("follow: ", 1)[1].split("    cancel:")[0])
    assert status_cmd[:2] == ["hwscale-tui", "status"]
    pasted = cli(*[a for a in status_cmd[1:] if a != "--watch"])
    assert pasted.returncode == 0 and "mine" in pasted.stdout


def test_experiment_name_selects_on_every_command_and_a_missing_one_is_refused(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    write_experiment(a, fake_command(), name="alpha", gpus=(1,), delay_s=0)
    write_experiment(b, fake_command(), name="beta", gpus=(1, 2, 4), delay_s=0)
    assert cli("plan", "-e", str(a), "--save", str(a)).returncode == 0
    assert cli("plan", "-e", str(b), "--save", str(b)).returncode == 0
    assert ex.read_current().name == "beta"
    plan = json.loads(cli("plan", "--json", "--experiment-name", "alpha").stdout)
    assert plan["experiment"] == "alpha" and len(plan["pairs"]) == 1
    assert ex.read_current().name == "alpha"  # naming it selected it
    before = app_paths().state.joinpath(ex.CURRENT_FILENAME).read_bytes()
    for args in (
        ("experiments", "select", "ghost"),
        ("plan", "--experiment-name", "ghost"),
        ("trials", "--experiment-name", "ghost"),
        ("launch", "--experiment-name", "ghost"),
    ):
        _one_sentence_exit_2(cli(*args), "'ghost'", "alpha", "beta")
    assert app_paths().state.joinpath(ex.CURRENT_FILENAME).read_bytes() == before  # unchanged
    # naming a new experiment has its own flag
    plan = json.loads(cli("plan", "--json", "--new-experiment", "gamma").stdout)
    assert plan["experiment"] == "gamma"


def test_a_refused_command_naming_another_experiment_leaves_the_current_one(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    write_experiment(a, fake_command(), name="alpha", gpus=(1,), delay_s=0)
    write_experiment(b, fake_command(), name="beta", gpus=(1, 2), delay_s=0)
    assert cli("plan", "-e", str(b), "--save", str(b)).returncode == 0
    assert cli("plan", "-e", str(a), "--save", str(a)).returncode == 0
    assert ex.read_current().name == "alpha"
    current = app_paths().state.joinpath(ex.CURRENT_FILENAME)
    before = current.read_bytes()
    # beta exists, so each command gets past naming it; each is refused later
    for args, needle in (
        (("cancel", "g9n9", "--experiment-name", "beta"), "nothing to cancel"),
        (("trials", "--experiment-name", "beta", "--generation", "7"), "--generation 7"),
        (("analyze", "--experiment-name", "beta", "--generation", "7"), "--generation 7"),
        (("status", "-e", str(b), "--generation", "0"), "--generation 0"),
        (("launch", "-e", str(b), "--only", "g9n9"), "g9n9"),
    ):
        _one_sentence_exit_2(cli(*args), needle)
        assert current.read_bytes() == before, args  # still alpha
    # a command that goes through selects it
    assert cli("plan", "--experiment-name", "beta").returncode == 0
    assert ex.read_current().name == "beta"


def test_a_new_experiment_made_from_a_file_is_the_one_left_current(tmp_path):
    """`-e a.toml --new-experiment gamma`: the command acts on gamma, so a save or launch of it
    leaves gamma current (the named file's alpha was selected after it: the launch of gamma
    left alpha current); a plan that saves nothing selects neither."""
    a = tmp_path / "a.toml"
    write_experiment(a, fake_command(), name="alpha", gpus=(1,), delay_s=0)
    assert cli("plan", "-e", str(a), "--save", str(a)).returncode == 0
    assert ex.read_current().name == "alpha"
    res = cli("launch", "-e", str(a), "--new-experiment", "gamma", "--foreground", "--json")
    assert res.returncode == 0, res.stderr
    assert ex.read_current().name == "gamma"
    assert cli("plan", "-e", str(a), "--new-experiment", "delta").returncode == 0
    assert ex.read_current().name == "gamma"
    g = tmp_path / "g.toml"
    assert cli("plan", "-e", str(a), "--new-experiment", "eps", "--save", str(g)).returncode == 0
    assert ex.read_current().name == "eps" and ex.read_current().file == g.resolve()


def test_list_archive_and_delete_and_a_running_one_is_never_deleted(tmp_path):
    run, done = tmp_path / "run.toml", tmp_path / "done.toml"
    write_experiment(run, fake_command("--sleep", "600"), name="busy", gpus=(1,), delay_s=0)
    write_experiment(done, fake_command(), name="old", gpus=(1, 2), delay_s=0)
    assert cli("launch", "-e", str(done), "--foreground").returncode == 0
    with Store.open_default() as store:
        store.insert_trial("old.g1n1_trial_0001", "old.g1n1", experiment="old", idx=1)
    sup.launch(sup.cfgmod.load(run))
    wait_for(lambda: sup.pair_status("busy").pairs[0].alive, "busy g1n1 running")

    listed = {r["name"]: r for r in json.loads(cli("experiments", "--json").stdout)}
    assert set(listed) == {"busy", "old"}
    assert listed["busy"]["state"] == "running" and listed["busy"]["current"]
    assert listed["old"]["state"] == "launched" and listed["old"]["pairs"] == 2
    assert listed["old"]["trials"] == 1 and listed["old"]["generations"] == 1
    assert listed["old"]["last_activity"] is not None

    # deleting (or archiving) a running experiment is refused and nothing is lost
    _one_sentence_exit_2(cli("experiments", "delete", "busy", "--yes"), "busy is running")
    _one_sentence_exit_2(cli("experiments", "archive", "busy"), "busy is running")
    _one_sentence_exit_2(cli("experiments", "delete", "ghost", "--yes"), "'ghost'")
    # without --yes, an unknown name is still named as unknown (not asked to confirm)
    _one_sentence_exit_2(cli("experiments", "delete", "ghost"), "no experiment named 'ghost'")
    _one_sentence_exit_2(cli("experiments", "delete", "old"), "--yes")
    assert sup.pair_status("busy").pairs[0].alive and snapshot_path("busy").is_file()
    assert snapshot_path("old").is_file()

    assert cli("experiments", "archive", "old").returncode == 0
    assert [r["name"] for r in json.loads(cli("experiments", "--json").stdout)] == ["busy"]
    assert {r["name"] for r in json.loads(cli("experiments", "--json", "--all").stdout)} == {
        "busy",
        "old",
    }
    # its logs: a trial's run directory and the supervisor's log were left behind
    runs = app_paths().runs
    for run_dir in (runs / "old.g1n1_trial_0001", runs / "someone_else_trial_0001"):
        run_dir.mkdir(parents=True)
        (run_dir / "trial.log").write_text("a trial's log\n")
    supervisor_log_path("old").parent.mkdir(parents=True, exist_ok=True)
    supervisor_log_path("old").write_text("the supervisor's log\n")
    res = cli("experiments", "delete", "old", "--yes")
    assert res.returncode == 0 and "(1 trial)" in res.stdout
    assert not (runs / "old.g1n1_trial_0001").exists() and not supervisor_log_path("old").exists()
    assert (runs / "someone_else_trial_0001" / "trial.log").is_file()  # not a trial of old's
    with Store.open_default() as store:
        assert store.trials(experiment="old") == []
        assert (
            store.conn.execute("SELECT COUNT(*) FROM launches WHERE experiment = 'old'").fetchone()[
                0
            ]
            == 0
        )
    assert not snapshot_path("old").exists()
    assert done.is_file()  # the user's own file is never deleted

    sup.cancel("busy", None, by="test", grace_s=1.0)
    wait_for(lambda: all_ended("busy"), "busy ended")
    assert supervisor_log_path("busy").is_file()
    res = cli("experiments", "delete", "busy", "--yes")
    assert res.returncode == 0 and not supervisor_log_path("busy").exists()


def test_new_from_this_one_copies_settings_under_a_new_name(tmp_path):
    a = tmp_path / "a.toml"
    write_experiment(a, fake_command(), name="alpha", gpus=(1, 2), delay_s=0)
    assert cli("plan", "-e", str(a), "--save", str(a)).returncode == 0
    res = cli("experiments", "new", "alpha2")
    assert res.returncode == 0, res.stderr
    cfg, path = ex.load_named("alpha2")
    assert cfg.grid.gpu_counts == [1, 2] and path == ex.managed_file("alpha2")
    assert ex.read_current().name == "alpha2"
    _one_sentence_exit_2(cli("experiments", "new", "alpha"), "already exists")
    _one_sentence_exit_2(cli("experiments", "new", "9bad"), "is not an experiment name")
    # a flag of another action is refused, not ignored
    _one_sentence_exit_2(cli("experiments", "--yes"), "--yes does not go with list")
    _one_sentence_exit_2(cli("experiments", "list", "--from", "alpha"), "--from does not go")
    _one_sentence_exit_2(cli("experiments", "select", "alpha", "--json"), "--json does not go")


def test_a_copy_of_the_unsaved_default_leaves_the_default_listed():
    # a fresh machine: the built-in default is current, and nothing of it is saved
    assert cli("experiments", "new", "mine").returncode == 0
    res = cli("experiments", "list", "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert set(rows) == {ex.DEFAULT_NAME, "mine"}
    assert rows["mine"]["current"] and not rows[ex.DEFAULT_NAME]["current"]
    assert rows[ex.DEFAULT_NAME]["state"] == "not launched"
    assert cli("experiments", "select", ex.DEFAULT_NAME).returncode == 0


def test_an_archived_experiment_made_current_again_is_listed_as_the_current_one():
    """Selecting an archived experiment (select, or --experiment-name on a command) made it
    current, but the list left it out: no row was marked and no '* current:' line said which
    experiment every command now acts on."""
    assert cli("experiments", "new", "mine").returncode == 0
    assert cli("experiments", "new", "other").returncode == 0
    assert cli("experiments", "archive", "mine").returncode == 0
    for how in (["experiments", "select", "mine"], ["plan", "--experiment-name", "mine"]):
        assert cli("experiments", "select", "other").returncode == 0
        assert cli(*how).returncode == 0
        rows = json.loads(cli("experiments", "--json").stdout)
        assert [(r["name"], r["current"], r["state"]) for r in rows if r["current"]] == [
            ("mine", True, "archived")
        ]
        listed = cli("experiments").stdout
        assert "* current: mine " in listed and re.search(r"^\* .*\bmine\b.*archived", listed, re.M)


def test_archiving_the_current_experiment_leaves_the_newest_other_one_current(tmp_path):
    """With nothing current the newest launched experiment is: archiving the current one
    (which clears the pointer) made that same, archived experiment current again."""
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    write_experiment(first, fake_command(), name="first", gpus=(1,), delay_s=0)
    write_experiment(second, fake_command(), name="second", gpus=(1,), delay_s=0)
    for path in (first, second):
        assert cli("launch", "-e", str(path), "--foreground").returncode == 0
    assert ex.current_name() == "second"
    assert cli("experiments", "archive", "second").returncode == 0
    assert ex.current_name() == "first"
    rows = json.loads(cli("experiments", "--json").stdout)
    assert [(r["name"], r["current"]) for r in rows] == [("first", True)]
    assert cli("experiments", "archive", "first").returncode == 0  # none left: the default
    assert ex.current_name() == ex.DEFAULT_NAME


def test_piped_listings_keep_long_names_whole_and_lines_unwrapped(tmp_path):
    def piped(*args: str, columns: str | None = None) -> subprocess.CompletedProcess[str]:
        # this test process may carry COLUMNS=80 in its C environment (set by a library), so
        # the children get an explicit one: none (a script's pipe) or the width asked for
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        if columns:
            env["COLUMNS"] = columns
        return subprocess.run(
            hwscale_cmd(*args),
            capture_output=True,
            text=True,
            timeout=WAIT_S,
            stdin=subprocess.DEVNULL,
            env=env,
        )

    name = "a_long_experiment_name_for_the_gpu_scaling_study_of_ppo"
    path = tmp_path / "long.toml"
    write_experiment(path, fake_command(), name=name, gpus=(1,), delay_s=0)
    assert cli("launch", "-e", str(path), "--foreground").returncode == 0
    listed = piped("experiments")
    assert listed.returncode == 0
    assert any(name in line and "launched" in line for line in listed.stdout.splitlines())
    status = piped("status")
    assert status.returncode == 0
    first = status.stdout.splitlines()[0]
    assert first.startswith(name) and first.endswith("(every pair ended)")
    narrow = piped("experiments", columns="60").stdout  # a width the user asked for is kept
    # no room for a table beside the name: rich kept the table in 60 columns by cutting the
    # name and squeezing every other column, the current mark too, to nothing; now each
    # experiment is a block: its name whole and marked, then one field a line in the width
    lines = narrow.splitlines()[:-1]  # the "* current: ..." line is not wrapped (piped)
    at = lines.index(f"* {name}")
    fields = [line.split(maxsplit=1) for line in lines[at + 1 : at + 6]]
    assert [f[0] for f in fields] == ["state", "generations", "pairs", "trials", "last"]
    assert fields[0][1] == "launched" and fields[2][1] == "1"
    assert all(len(line) <= 60 for line in lines if line != f"* {name}")


def test_the_list_at_80_columns_keeps_the_default_name_whole():
    """At 80 columns rich shrank every column alike and cut the built-in default's name
    ('hardware_scali…'), the one thing the list is for; now the other columns wrap first."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"COLUMNS": "80"}
    res = subprocess.run(
        hwscale_cmd("experiments"),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    table = res.stdout.splitlines()[:-1]  # the "* current: ..." line is not wrapped (piped)
    assert any("hardware_scaling" in line for line in table), table
    assert max(map(len, table)) <= 80


def test_the_unsaved_builtin_default_has_nothing_to_archive_or_delete():
    """On a fresh machine the list shows the built-in default as current; archiving or deleting
    it says why there is nothing to act on (not "no experiment named ...; none yet")."""
    listed = cli("experiments", "--json")
    assert [r["name"] for r in json.loads(listed.stdout)] == ["hardware_scaling"]
    for action in (["archive"], ["delete", "--yes"]):  # NAME after --yes is fine too
        res = cli("experiments", *action, "hardware_scaling")
        _one_sentence_exit_2(res, "the built-in default experiment", "nothing of it is saved")
    _one_sentence_exit_2(cli("experiments", "delete", "ghost", "--yes"), "no experiment named")
    for args in (["experiments", "select", "ghost"], ["plan", "--experiment-name", "ghost"]):
        res = cli(*args)  # it said "accepted: one of none yet"
        _one_sentence_exit_2(res, "a saved or launched experiment, and there is none yet")
    # the listed default's own name is taken: it was copied under it ("a copy of
    # hardware_scaling" named hardware_scaling, a file written), with or without --from
    for extra in ([], ["--from", "hardware_scaling"]):
        res = cli("experiments", "new", "hardware_scaling", *extra)
        _one_sentence_exit_2(res, "an experiment named 'hardware_scaling' already exists")
    assert not ex.managed_file("hardware_scaling").exists()
    assert not app_paths().default_experiment.exists()


def test_a_refused_new_name_is_said_once():
    # the app passes the name straight to new_from: it read "'bad name!': 'bad name!' would make"
    with pytest.raises(UsageError) as err:
        ex.new_from(ex.DEFAULT_NAME, "bad name!")
    assert str(err.value).count("'bad name!'") == 1, str(err.value)
    assert "accepted: a name that starts with a letter" in str(err.value)


def test_the_list_reads_the_store_without_upgrading_an_older_one(tmp_path, capsys):
    """`experiments` opened the store read-write: every listing ran a write transaction and
    upgraded a store of an older schema in place (docs/launch.md: reading commands never
    migrate it)."""
    from hwscale_tui.cli import main
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        store.touch_experiment("old")
        store.conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        store.conn.execute("DROP TABLE generations")
        path = store.path
    assert main(["experiments", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["old"]["generations"] == 1, rows
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "1",
        )
    finally:
        conn.close()


def test_forget_jobs_never_deletes_an_experiment_under_a_live_sweep_runner(capsys):
    """A sweep started by hand (`hwscale-tui sweep`, no launch: no pair lists it) owns a Slurm
    job. `experiments delete --yes --forget-jobs` deleted the experiment under the live runner,
    which then wrote its trials back into the store; a live process refuses the delete."""
    from hwscale_tui.cli import main
    from hwscale_tui.launch import registry
    from hwscale_tui.processes import process_start_time

    with Store.open_default() as store:
        store.touch_experiment("old")
    runner = subprocess.Popen(["sleep", "60"])
    try:
        registry.record_trial(
            "old",
            "old.g1n1",
            "old.g1n1_trial_0001_aaaaaa",
            runner_pid=runner.pid,
            runner_start=process_start_time(runner.pid),
            fields={"job_name": "45"},
            dispatcher="slurm",
        )
        assert main(["experiments", "delete", "old", "--yes", "--forget-jobs"]) == 2
        err = capsys.readouterr().err
        assert f"the sweep runner of old.g1n1, pid {runner.pid}" in err, err
        assert err.count("\n") == 1, err
        assert "old" in ex.known_names()
    finally:
        runner.kill()
        runner.wait()
    assert main(["experiments", "delete", "old", "--yes", "--forget-jobs"]) == 0
    assert "forgot 1 cluster job (45)" in capsys.readouterr().out
