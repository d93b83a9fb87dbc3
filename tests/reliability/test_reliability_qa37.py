"""State damaged the ways real machines damage it (QA pass 37): doctor names what it cannot see
(a per-launch file or current-experiment file that no longer parses, a launch snapshot gone or
edited into nonsense, a store file made read-only), --repair says which rows a damaged store
lost, and reading commands refuse a state location that cannot exist rather than showing an
empty, never-launched experiment. Real SQLite files, real child processes."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

from hwscale_tui.config import load
from hwscale_tui.launch.generations import fingerprint, settings
from hwscale_tui.paths import app_paths, ensure_private_dir, snapshot_path
from hwscale_tui.processes import process_start_time
from hwscale_tui.store import Store
from tests.reliability.reliability_helpers import nothing_starts  # noqa: F401 (autouse fixture)
from tests.support.cli import cli_env, hwscale_cmd
from tests.support.launches import dead_pid, recorded_launch

NAME = "qa37"
SWEEPS = [f"{NAME}.g1n1", f"{NAME}.g2n1"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(hwscale_cmd(*args), capture_output=True, text=True, env=cli_env())


def _launched(*, snapshot: bool = True) -> Path:
    """A store holding a launch of NAME whose pairs ran and are gone (dead pids) and two
    finished trials each; its launch snapshot written when ``snapshot``."""
    snap = snapshot_path(NAME)
    if snapshot:
        ensure_private_dir(snap.parent)
        snap.write_text(f'[experiment]\nname = "{NAME}"\n', encoding="utf-8")
    pid, start = dead_pid()
    store = app_paths().store
    with Store(store) as st:
        for sweep in SWEEPS:
            gpus = int(sweep.split(".g")[1][0])
            st.upsert_sweep(sweep, experiment=NAME, gpus=gpus, nodes=1)
            for i in range(2):
                st.insert_trial(
                    f"{sweep}_trial_{i + 1:04d}_abcdef",
                    sweep,
                    experiment=NAME,
                    idx=i + 1,
                    gpus=gpus,
                    nodes=1,
                    state="finished",
                    score=float(i),
                )
        recorded_launch(st, NAME, SWEEPS, snap, running_pid=pid, proc_start=start or 1.0)
        if snapshot:  # generation 1, recorded as its first sweep records it
            now = settings(load(snap))
            st.add_generation(NAME, 1, fingerprint(now), now, "first sweep")
        st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store


def _one_line(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert r.stderr.count("\n") <= 1, r.stderr


# -- doctor --repair says what a damaged store lost -------------------------------------------


def test_repair_of_a_truncated_store_names_the_tables_whose_rows_were_lost():
    store = _launched()
    assert _run("doctor").returncode == 0  # healthy before the damage
    with sqlite3.connect(store) as c:
        page = c.execute("PRAGMA page_size").fetchone()[0]
        launches_root = c.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'launches'"
        ).fetchone()[0]
        trials_root = c.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'trials'"
        ).fetchone()[0]
    assert trials_root < launches_root
    # the launches table (and what follows it) goes, the trials stay
    os.truncate(store, page * (launches_root - 1))
    r = _run("doctor", "--repair")
    _one_line(r)
    assert r.returncode == 0, r.stdout
    line = next(x for x in r.stdout.splitlines() if " store:" in x)
    assert "rebuilt keeping 4 trials (4 finished)" in line, line
    # it used to say only what it kept: the lost launch and pairs went unmentioned, and
    # status then said the experiment had never been launched
    assert "launches" in line and "pairs" in line and "could not be read" in line, line
    assert "backups" in line, line
    assert " trials" not in line.split("could not be read")[0].split("rows of")[-1], line


def test_repair_of_a_garbage_store_says_nothing_could_be_read():
    store = app_paths().store
    ensure_private_dir(store.parent)
    store.write_bytes(os.urandom(16384))
    r = _run("doctor", "--repair")
    _one_line(r)
    line = next(x for x in r.stdout.splitlines() if " store:" in x)
    assert "nothing of the old file could be read" in line, line
    assert "backups" in line, line


# -- the launch snapshot -----------------------------------------------------------------------


def test_a_deleted_launch_snapshot_is_a_doctor_problem_and_a_status_note():
    _launched(snapshot=False)
    r = _run("doctor")
    _one_line(r)
    assert r.returncode == 1, r.stdout  # it was 0, all ok
    assert f"PROBLEM launch snapshot: experiment {NAME}" in r.stdout, r.stdout
    assert str(snapshot_path(NAME)) in r.stdout and "is gone" in r.stdout, r.stdout
    assert _run("doctor", "--repair").returncode == 1  # nothing --repair can do: still a problem
    st = _run("status", "--experiment-name", NAME)
    _one_line(st)
    assert st.returncode == 0, st.stderr
    # the cost column and the progress line silently went blank before
    assert "no ETA or cost estimate" in st.stdout and "is gone" in st.stdout, st.stdout


def test_a_launch_snapshot_edited_into_bad_toml_is_a_doctor_problem():
    _launched()
    with open(snapshot_path(NAME), "a", encoding="utf-8") as f:
        f.write("this is = = not toml [\n")
    r = _run("doctor", "--json")
    assert r.returncode == 1, r.stdout
    found = [f for f in json.loads(r.stdout)["findings"] if f["check"] == "launch snapshot"]
    assert len(found) == 1 and not found[0]["ok"], found
    assert "not valid TOML" in found[0]["detail"], found
    st = _run("status", "--experiment-name", NAME)
    assert st.returncode == 0 and "no ETA or cost estimate" in st.stdout, st.stdout


def test_a_launch_snapshot_edited_in_a_comparability_setting_is_a_doctor_problem():
    _launched()
    assert _run("doctor").returncode == 0  # the snapshot as launched: no problem
    with open(snapshot_path(NAME), "a", encoding="utf-8") as f:
        f.write("[sweep]\ntotal_timesteps = 4096\nmax_trials = 9\n")
    r = _run("doctor")
    _one_line(r)
    # it was 0; launch --resume then started pairs that exited 2 at once
    assert r.returncode == 1, r.stdout
    line = next(x for x in r.stdout.splitlines() if "launch snapshot" in x)
    assert "was changed since generation 1 ran (sweep.total_timesteps" in line, line
    assert "-> 4096)" in line and "max_trials" not in line, line  # not a comparability setting


# -- the small JSON files beside the store ------------------------------------------------------


def test_a_per_launch_file_that_does_not_parse_is_found_and_removed_when_nothing_runs():
    _launched()
    reg = app_paths().data / "running" / f"{NAME}.json"
    ensure_private_dir(reg.parent)
    reg.write_text('{"version": 1, "experiment": "qa37", "pairs": {', encoding="utf-8")
    r = _run("doctor")
    _one_line(r)
    assert r.returncode == 1, r.stdout  # it was 0: the orphan check read it as empty
    assert f"PROBLEM per-launch file: {reg} cannot be read" in r.stdout, r.stdout
    assert "--repair removes it" in r.stdout, r.stdout
    fixed = _run("doctor", "--repair")
    assert fixed.returncode == 0, fixed.stdout
    assert "fixed   per-launch file" in fixed.stdout and not reg.exists(), fixed.stdout
    assert _run("doctor").returncode == 0


def test_a_damaged_per_launch_file_is_set_aside_by_the_next_writer_not_overwritten():
    """A writer read a file that did not parse as empty and replaced it with its own entry:
    the Slurm jobs it listed (what cancel stops when the runner is gone) were lost for good."""
    from hwscale_tui.launch import registry

    _launched()
    reg = registry.registry_path(NAME)
    ensure_private_dir(reg.parent)
    damaged = '{"version": 1, "experiment": "qa37", "trials": {"t1": {"slurm_job_id": "4242"'
    reg.write_text(damaged, encoding="utf-8")
    assert registry.record_pair(NAME, SWEEPS[0], pid=1, pgid=1, proc_start=None)
    (aside,) = registry.damaged_copies(NAME)
    assert aside.read_text(encoding="utf-8") == damaged  # kept, byte for byte
    assert registry.read(NAME)["pairs"].keys() == {SWEEPS[0]}  # the writer went on
    r = _run("doctor")
    _one_line(r)
    assert r.returncode == 1, r.stdout
    line = next(x for x in r.stdout.splitlines() if str(aside) in x)
    assert "cancel does not read it" in line and "scancel ID" in line, line
    assert "--repair" not in line, line  # a person reads it: doctor does not delete it
    assert aside.exists() and _run("doctor", "--repair").returncode == 1 and aside.exists()


def test_a_per_launch_file_that_cannot_be_read_is_not_replaced(monkeypatch):
    """One that could not be read (its mode changed, an I/O error) was replaced by a writer
    that took it for empty. The read fails here by a patched read (the tests run as root, whom
    a mode of 000 does not stop)."""
    from hwscale_tui.launch import registry

    assert registry.record_pair(NAME, SWEEPS[0], pid=1, pgid=1, proc_start=None)
    reg = registry.registry_path(NAME)
    before = reg.read_bytes()

    real_text, real_bytes = Path.read_text, Path.read_bytes

    def refuse(real):
        def read(self, *args, **kwargs):
            if self == reg:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kwargs)

        return read

    monkeypatch.setattr(Path, "read_text", refuse(real_text))
    monkeypatch.setattr(Path, "read_bytes", refuse(real_bytes))
    assert not registry.record_pair(NAME, SWEEPS[1], pid=2, pgid=2, proc_start=None)
    monkeypatch.undo()
    assert reg.read_bytes() == before and registry.damaged_copies(NAME) == []


def test_a_current_experiment_file_that_does_not_parse_names_the_fallback():
    _launched()
    pointer = app_paths().state / "current-experiment.json"
    pointer.write_bytes(b"\x00\xffgarbage")
    r = _run("doctor")
    _one_line(r)
    assert r.returncode == 1, r.stdout
    assert f"PROBLEM current experiment: {pointer} cannot be read" in r.stdout, r.stdout
    assert f"commands act on {NAME} instead" in r.stdout, r.stdout
    assert "experiments select NAME" in r.stdout, r.stdout
    assert _run("experiments", "select", NAME).returncode == 0
    assert _run("doctor").returncode == 0


# -- trials the store lost ---------------------------------------------------------------------


def test_sweep_trials_whose_rows_the_store_lost_are_said_by_doctor_status_and_trials():
    store = _launched()
    runs = app_paths().runs
    for sweep in SWEEPS:  # the recorded trials' run folders: as a sweep leaves them
        for i in range(2):
            ensure_private_dir(runs / f"{sweep}_trial_{i + 1:04d}_abcdef")
    ensure_private_dir(runs / "my-hand-run")  # hwscale-tui train run=my-hand-run: no row
    assert _run("doctor").returncode == 0
    tr = _run("trials", "--experiment-name", NAME)
    assert tr.returncode == 0 and tr.stderr == "", tr.stderr  # nothing lost: nothing said
    # a trial that finished after the last checkpoint, its row only in the -wal file, which
    # was deleted since: the main file is as that checkpoint left it
    checkpointed = store.read_bytes()
    with Store(store) as st:
        st.insert_trial(
            f"{NAME}.g1n1_trial_0003_0a1b2c", SWEEPS[0], experiment=NAME, idx=3, state="finished"
        )
    lost = ensure_private_dir(runs / f"{NAME}.g1n1_trial_0003_0a1b2c")
    (lost / "metrics.jsonl").write_text(
        '{"metric/agent_step": 10}\n{"final": true, "state": "finished", "sweep/score": 5.0}\n',
        encoding="utf-8",
    )
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    store.write_bytes(checkpointed)
    # status and trials show the 4 trials left, and say one is missing
    st = _run("status", "--experiment-name", NAME)
    _one_line(st)
    assert st.returncode == 0, st.stderr
    assert f"note: 1 of {NAME}'s trials left run folders in {runs}" in st.stdout, st.stdout
    js = _run("status", "--json", "--experiment-name", NAME)  # what a script reads says so too
    assert js.returncode == 0, js.stderr
    out = json.loads(js.stdout)
    assert out["lost_trials"] == [f"{NAME}.g1n1_trial_0003_0a1b2c"], out
    assert [n for n in out["notes"] if "left run folders" in n] == [
        next(x for x in st.stdout.splitlines() if "left run folders" in x)
    ], out["notes"]
    tr = _run("trials", "--json", "--experiment-name", NAME)
    _one_line(tr)
    assert tr.returncode == 0 and len(json.loads(tr.stdout)["trials"]) == 4, tr.stdout
    assert tr.stderr.startswith("hwscale-tui: warning: 1 of qa37's trials left run"), tr.stderr
    an = _run("analyze", "--experiment-name", NAME)  # the trials it analyzes leave it out too
    lost_line = f"analyze: 1 of {NAME}'s trials left run folders in {runs} but have no row"
    assert lost_line in an.stderr and "so they are not analyzed;" in an.stderr, an.stderr
    r = _run("doctor")
    _one_line(r)
    assert r.returncode == 1, r.stdout  # it was 0: the finished trial was gone without a word
    line = next(x for x in r.stdout.splitlines() if "trial runs" in x)
    assert line.startswith("PROBLEM trial runs: 1 trial run by sweeps (1 finished) is missing")
    assert f"{NAME}.g1n1_trial_0003_0a1b2c" in line and "my-hand-run" not in line, line


def test_status_of_an_experiment_with_trials_but_no_launch_says_where_they_are():
    """A repair that could not read the launches table (or sweeps run by hand) leaves trials of
    an experiment with no launch: status said only "has not been launched", as for one that
    never ran a trial."""
    store = app_paths().store
    ensure_private_dir(store.parent)
    with Store(store) as st:
        for i in (1, 2):
            run_id = f"{NAME}.g1n1_trial_000{i}_abcdef"
            st.insert_trial(run_id, SWEEPS[0], experiment=NAME, idx=i, state="finished")
    r = _run("status", "--experiment-name", NAME)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"experiment {NAME} has not been launched"), r.stdout
    note = f"note: the store has 2 trials of {NAME} but no launch of it (sweeps run by hand"
    assert note in " ".join(r.stdout.split()), r.stdout
    assert f"hwscale-tui trials --experiment-name {NAME} shows them" in " ".join(r.stdout.split())
    js = json.loads(_run("status", "--json", "--experiment-name", NAME).stdout)
    assert js["launch_id"] is None and js["notes"][0].startswith(note), js["notes"]
    with Store(store) as st:
        st.conn.execute("DELETE FROM trials")
    r = _run("status", "--experiment-name", NAME)
    assert r.returncode == 0 and "note:" not in r.stdout, r.stdout  # none: nothing said


# -- doctor --repair never rebuilds a store a sweep may be writing -----------------------------


def _garbage_store() -> Path:
    store = app_paths().store
    ensure_private_dir(store.parent)
    store.write_bytes(os.urandom(16384))
    return store


def test_repair_leaves_a_damaged_store_while_a_per_launch_file_does_not_parse():
    store = _garbage_store()
    before = store.read_bytes()
    reg = app_paths().data / "running" / f"{NAME}.json"
    ensure_private_dir(reg.parent)
    reg.write_text('{"version": 1, "experiment": "qa37", "pairs": {', encoding="utf-8")
    r = _run("doctor", "--repair")
    _one_line(r)
    # it rebuilt the store: whether the experiment's sweeps ran was unknown
    assert r.returncode == 1, r.stdout
    line = next(x for x in r.stdout.splitlines() if " store:" in x)
    assert f"not repaired: {reg} cannot be read" in line, line
    assert store.read_bytes() == before
    assert not (store.parent / "backups").exists()


def test_repair_leaves_a_damaged_store_while_a_registered_trial_runner_lives():
    # a sweep runner that found the per-launch file unreadable rewrote it holding only its
    # own trial: no supervisor, no pairs -- the runner is still alive and writing the store
    store = _garbage_store()
    before = store.read_bytes()
    runner = subprocess.Popen(["sleep", "300"])
    try:
        start = process_start_time(runner.pid)
        assert start is not None
        reg = app_paths().data / "running" / f"{NAME}.json"
        ensure_private_dir(reg.parent)
        reg.write_text(
            json.dumps(
                {
                    "version": 1,
                    "experiment": NAME,
                    "pairs": {},
                    "trials": {
                        f"{SWEEPS[0]}_trial_0002_dd4b09": {
                            "sweep": SWEEPS[0],
                            "dispatcher": "local",
                            "runner_pid": runner.pid,
                            "runner_start": start,
                        }
                    },
                }
            ),
            encoding="utf-8",
        )
        r = _run("doctor", "--repair")
        _one_line(r)
        assert r.returncode == 1, r.stdout  # it rebuilt the store under the live runner
        line = next(x for x in r.stdout.splitlines() if " store:" in x)
        assert f"not repaired while these run: {SWEEPS[0]} runner pid {runner.pid}" in line
        assert store.read_bytes() == before
    finally:
        runner.kill()
        runner.wait()


# -- the store file's own mode ------------------------------------------------------------------


def test_a_read_only_store_file_is_found_and_repair_sets_0600():
    # checked by its mode bits, not access(): as root a 0400 file is still writable, but
    # for its owner every launch, sweep and cancel fails to write it
    store = _launched()
    os.chmod(store, 0o400)
    r = _run("doctor")
    _one_line(r)
    assert r.returncode == 1, r.stdout  # it was 0: store ok
    assert f"PROBLEM store file: {store}: mode 0400" in r.stdout, r.stdout
    fixed = _run("doctor", "--repair")
    assert fixed.returncode == 0, fixed.stdout
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert _run("doctor").returncode == 0


# -- HWSCALE_HOME naming a file -----------------------------------------------------------------


def test_reading_commands_refuse_a_state_location_that_is_a_file(tmp_path):
    home = tmp_path / "not-a-folder"
    home.write_text("hi\n", encoding="utf-8")
    env = cli_env(HWSCALE_HOME=str(home))
    # analyze said "no trials for 'hardware_scaling'" (exit 2); the app (no argument) opened
    # the built-in default on an empty store
    for argv in (["status"], ["status", "--json"], ["trials"], ["experiments"], ["analyze"], []):
        r = subprocess.run(
            hwscale_cmd(*argv),
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        _one_line(r)
        # it was exit 0: "experiment hardware_scaling has not been launched", "0 trials"
        assert r.returncode == 1, (argv, r.stdout, r.stderr)
        assert f"{home} is a file, not a folder" in r.stderr, (argv, r.stderr)
        assert "HWSCALE_HOME" in r.stderr and r.stdout == "", (argv, r.stdout)
    assert home.read_text(encoding="utf-8") == "hi\n"


def test_a_state_folder_that_is_a_file_is_not_chmodded_and_called_fixed():
    state = app_paths().state
    ensure_private_dir(state.parent)
    state.write_text("x\n", encoding="utf-8")
    os.chmod(state, 0o644)
    r = _run("doctor", "--repair")
    _one_line(r)
    # it said "mode 0644 lets others in" and "fixed: mode set to 0700" on the file
    assert r.returncode == 1, r.stdout
    assert f"PROBLEM state dir: {state} is a file, not a folder" in r.stdout, r.stdout
    assert "fixed" not in r.stdout, r.stdout
    assert stat.S_IMODE(state.stat().st_mode) == 0o644 and state.is_file()
