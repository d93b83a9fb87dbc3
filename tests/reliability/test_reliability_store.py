"""Store faults: a damaged, truncated, foreign, newer, missing, locked or read-only store is one
sentence naming the file and what to do, exit 1, never a traceback -- and reading commands never
create, write or migrate it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from hwscale_tui.cli import main
from hwscale_tui.errors import StoreError
from hwscale_tui.paths import app_paths
from hwscale_tui.store import SCHEMA_VERSION, Store
from tests.reliability.reliability_helpers import nothing_starts  # noqa: F401 (autouse fixture)
from tests.support.launches import recorded_launch

READERS = [
    ["status"],
    ["status", "--json"],
    ["trials"],
    ["trials", "--json"],
    ["analyze"],
    ["sweep", "--gpus", "1", "--nodes", "1", "--status"],
]
WRITERS = [["cancel", "--all", "--experiment-name", "hardware_scaling"], ["launch", "--delay", "0"]]


def _good_store(path: Path) -> None:
    with Store(path) as st:
        st.upsert_sweep("hardware_scaling.g1n1", experiment="hardware_scaling", gpus=1, nodes=1)
        for i in range(50):
            st.insert_trial(
                f"hardware_scaling.g1n1_trial_{i:04d}_abcdef",
                "hardware_scaling.g1n1",
                experiment="hardware_scaling",
                idx=i + 1,
                gpus=1,
                nodes=1,
                state="finished",
                score=float(i),
                params={"x": "y" * 200},
            )
        st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _one_sentence_exit_1(capsys, argv: list[str], *fragments: str) -> str:
    assert main(argv) == 1, argv
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    for fragment in fragments:
        assert fragment in err, (argv, fragment, err)
    return err


def _damage(kind: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "garbage":
        path.write_bytes(os.urandom(8192))
    elif kind == "truncated":
        _good_store(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "foreign":
        with contextlib.closing(sqlite3.connect(path)) as c:
            c.execute("CREATE TABLE unrelated (a, b)")
            c.commit()
    elif kind == "mangled":  # the header is fine, a table page is not
        _good_store(path)
        data = bytearray(path.read_bytes())
        page = 4096
        data[2 * page : 3 * page] = os.urandom(page)
        path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("kind", ["garbage", "truncated", "foreign", "mangled"])
def test_a_damaged_store_is_one_sentence_exit_1_for_every_command(capsys, kind):
    store = app_paths().store
    _damage(kind, store)
    before = store.read_bytes()
    for argv in READERS + WRITERS:
        if kind == "mangled" and argv[0] in ("status", "cancel", "launch", "sweep"):
            # the trials table's pages are damaged; what these read may still be intact
            code = main(argv)
            err = capsys.readouterr().err
            assert code in (0, 1, 2) and "Traceback" not in err and err.count("\n") <= 1, (
                argv,
                err,
            )
            continue
        _one_sentence_exit_1(capsys, argv, str(store), "hwscale-tui doctor")
    assert store.read_bytes() == before, "a command changed the damaged store"


def _newer_schema_store() -> Path:
    """A good store whose schema version says a newer hwscale-tui wrote it."""
    store = app_paths().store
    _good_store(store)
    with contextlib.closing(sqlite3.connect(store)) as c:
        c.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 5),)
        )
        c.commit()
    return store


def test_a_store_of_a_newer_schema_says_upgrade(capsys):
    store = _newer_schema_store()
    for argv in READERS[:4]:
        _one_sentence_exit_1(capsys, argv, str(store), "upgrade hwscale-tui")


def test_reading_commands_create_nothing(capsys, private_home):
    for argv in READERS:
        code = main(argv)
        capsys.readouterr()
        assert code in (0, 2), argv  # 2: analyze says there are no trials
    assert not app_paths().store.exists()
    assert not app_paths().data.exists()


def test_an_empty_store_file_reads_as_no_store_and_a_writer_makes_it_one(capsys):
    """A 0-byte store file (made, then nothing written: an interrupted first open) holds no
    tables at all. Reading commands saw 'no hwscale-tui schema' and said to run doctor, while a
    writing command migrated it: now they read it as no store yet and leave it as it is."""
    store = app_paths().store
    store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    store.parent.chmod(0o700)
    store.write_bytes(b"")
    store.chmod(0o600)
    for argv in READERS:
        code = main(argv)
        err = capsys.readouterr().err
        assert code in (0, 2), (argv, err)  # 2: analyze says there are no trials
        assert "doctor" not in err and "schema" not in err, (argv, err)
    assert store.read_bytes() == b"", "a reading command wrote the empty store"
    assert main(["doctor"]) == 0  # it called the file no hwscale-tui store, a problem to repair
    assert "empty, no tables yet" in capsys.readouterr().out
    with Store.open_default() as st:  # a writer makes it a store, as before
        assert st.experiment_names() == []
    assert store.stat().st_size > 0


def test_reading_does_not_migrate_an_older_store(capsys):
    store = app_paths().store
    _good_store(store)
    with contextlib.closing(sqlite3.connect(store)) as c:  # an older store: no events table
        c.execute("DROP TABLE events")
        c.commit()
    assert main(["trials", "--json"]) == 0
    assert '"state": "finished"' in capsys.readouterr().out
    with contextlib.closing(sqlite3.connect(store)) as c:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "events" not in tables, "a reading command migrated the store"


def test_a_writer_holding_the_lock_is_a_bounded_wait_then_one_sentence(capsys, monkeypatch):
    store = app_paths().store
    _good_store(store)
    monkeypatch.setenv("HWSCALE_LOCK_WAIT_S", "0.5")
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["trials", "--json"]) == 0  # WAL: readers are not blocked by a writer
        capsys.readouterr()
        # it named doctor to find the holder, and doctor, reading past a WAL writer, found
        # nothing: fuser does
        _one_sentence_exit_1(
            capsys,
            ["cancel", "--all", "--experiment-name", "hardware_scaling"],
            "lock",
            f"(fuser {store} names the process that holds it)",
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_status_of_a_launched_experiment_reads_past_a_writers_lock(capsys, monkeypatch):
    """status is a reading command: its progress line opened the store read-write, so a writer
    holding the lock made status of any launched experiment fail ('another process holds its
    lock'), while trials read on."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.paths import snapshot_path

    store = app_paths().store
    _good_store(store)
    cfgmod.save(cfgmod.default_config(env={}), snapshot_path("hardware_scaling"))
    with Store(store) as st:
        recorded_launch(
            st, "hardware_scaling", ["hardware_scaling.g1n1"], snapshot_path("hardware_scaling")
        )
    monkeypatch.setenv("HWSCALE_LOCK_WAIT_S", "0.5")
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for argv in (["status"], ["status", "--json"]):
            assert main([*argv, "--experiment-name", "hardware_scaling"]) == 0, capsys.readouterr()
            out = capsys.readouterr().out
            assert "g1n1" in out and "progress" in out, out
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_store_errors_from_the_python_api_are_store_errors(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"x" * 5000)
    for readonly in (False, True):
        with pytest.raises(StoreError, match=r"the file is damaged.*doctor"):
            Store(bad, readonly=readonly)


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.mark.skipif(not _can_mount(), reason="needs root and mount for a read-only tmpfs")
def test_reading_commands_work_on_a_read_only_state_location(tmp_path, capsys, monkeypatch):
    home = tmp_path / "ro"
    home.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(home)]).returncode:
        pytest.skip("mount failed (no privilege in this container)")
    try:
        monkeypatch.setenv("HWSCALE_HOME", str(home))
        _good_store(app_paths().store)  # WAL store, checkpointed, -wal/-shm may remain
        for suffix in ("-wal", "-shm"):
            Path(f"{app_paths().store}{suffix}").unlink(missing_ok=True)
        assert subprocess.run(["mount", "-o", "remount,ro", str(home)]).returncode == 0
        assert main(["trials", "--json"]) == 0
        assert capsys.readouterr().out.count('"state": "finished"') == 50
        assert main(["status"]) == 0
        capsys.readouterr()
        _one_sentence_exit_1(
            capsys,
            ["cancel", "--all", "--experiment-name", "hardware_scaling"],
            str(home),
            "Read-only",
        )
    finally:
        subprocess.run(["umount", "-l", str(home)])


def test_doctor_counts_one_trial_in_the_singular(capsys):
    with Store(app_paths().store) as st:
        st.insert_trial("e.g1n1_trial_0001", "e.g1n1", experiment="e", idx=1, gpus=1, nodes=1)
    assert main(["doctor"]) == 0
    assert f"(schema {SCHEMA_VERSION}, 1 trial, 0 finished, WAL" in capsys.readouterr().out


def test_doctor_finds_a_damaged_store_and_repair_keeps_every_finished_trial(capsys):
    store = app_paths().store
    with Store(store) as st:
        for i in range(300):
            run = f"e.g1n1_trial_{i:04d}"
            st.insert_trial(
                run,
                "e.g1n1",
                experiment="e",
                idx=i + 1,
                gpus=1,
                nodes=1,
                state="finished" if i % 2 else "failed",
                score=float(i),
                params={"x": "y" * 300},
            )
            st.append_history(run, [{"agent_step": s, "score": s * 0.1} for s in range(20)])
        st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert main(["doctor"]) == 0
    assert "300 trials, 150 finished" in capsys.readouterr().out
    data = bytearray(store.read_bytes())
    page = 4096
    data[-20 * page : -19 * page] = os.urandom(page)  # a page near the end: history rows
    store.write_bytes(bytes(data))
    assert main(["doctor"]) == 1
    assert "PROBLEM store" in capsys.readouterr().out
    assert main(["doctor", "--json"]) == 1
    damaged = json.loads(capsys.readouterr().out)
    assert [f["check"] for f in damaged["findings"] if f["repairable"]] == ["store"], damaged
    assert main(["doctor", "--repair"]) == 0
    out = capsys.readouterr().out
    assert "backed up to" in out and "150 finished" in out, out
    backups = list((store.parent / "backups").glob("*.sqlite"))
    assert len(backups) == 1 and backups[0].stat().st_mode & 0o777 == 0o600
    assert backups[0].read_bytes() == bytes(data)  # the damaged original, byte for byte
    assert main(["doctor", "--json"]) == 0
    healthy = json.loads(capsys.readouterr().out)
    assert healthy["healthy"] is True
    # 'repairable' is never said of a passed check (it was, of every one but the folders)
    assert not any(f["repairable"] for f in healthy["findings"]), healthy
    with Store(store, readonly=True) as st:
        finished = [t for t in st.trials() if t.state == "finished"]
    assert len(finished) == 150


def test_the_app_on_a_damaged_store_is_one_sentence_not_a_traceback(capsys, monkeypatch):
    import hwscale_tui.tui.app as tui_app

    def never_run(self, *a, **k):  # the app must refuse before it takes the terminal
        raise AssertionError("the app started on a damaged store")

    monkeypatch.setattr(tui_app.HwscaleApp, "run", never_run)
    _damage("garbage", app_paths().store)
    _one_sentence_exit_1(capsys, ["tui"], str(app_paths().store), "doctor")


def test_repair_of_a_truncated_store_keeps_the_trials_its_pages_still_hold(capsys):
    store = app_paths().store
    _good_store(store)
    with Store(store) as st:  # curves after the trials: the file's tail holds history pages
        for i in range(50):
            st.append_history(
                f"hardware_scaling.g1n1_trial_{i:04d}_abcdef",
                [{"agent_step": s, "score": s * 0.1} for s in range(40)],
            )
        st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = store.read_bytes()
    store.write_bytes(data[: len(data) - 3 * 4096 - 1000])  # a copy cut short of its end
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM store" in out and "doctor --repair" in out, out
    assert main(["doctor", "--repair"]) == 0
    out = capsys.readouterr().out
    assert "rebuilt keeping 50 trials (50 finished)" in out, out
    with Store(store, readonly=True) as st:
        assert sum(t.state == "finished" for t in st.trials()) == 50


def test_repair_leaves_a_store_of_a_newer_schema_as_it_is(capsys):
    store = _newer_schema_store()
    before = store.read_bytes()
    assert main(["doctor", "--repair"]) == 1
    out = capsys.readouterr().out
    assert "upgrade hwscale-tui" in out and "backed up" not in out, out
    assert store.read_bytes() == before
    assert not (store.parent / "backups").exists()
    assert main(["doctor"]) == 1
    assert "doctor --repair fixes" not in capsys.readouterr().out  # it would not


@pytest.mark.parametrize(("table", "reader"), [("trials", "trials"), ("launches", "status")])
def test_a_store_missing_a_table_readers_need_is_a_problem_repair_fixes(capsys, table, reader):
    store = app_paths().store
    _good_store(store)
    with contextlib.closing(sqlite3.connect(store)) as c:
        c.execute(f"DROP TABLE {table}")
        c.commit()
    assert main([reader]) == 1
    assert "no such table" in capsys.readouterr().err
    assert main(["doctor"]) == 1  # it was 0 ('ok'), while status sent the user here
    out = capsys.readouterr().out
    assert f"table {table} missing" in out and "doctor --repair" in out, out
    assert main(["doctor", "--repair"]) == 0
    out = capsys.readouterr().out
    assert "backed up to" in out, out
    assert main([reader]) == 0
    assert main(["trials", "--json"]) == 0
    kept = capsys.readouterr().out.count('"state": "finished"')
    assert kept == (0 if table == "trials" else 50)


def test_doctor_says_the_disk_is_full_and_repair_then_touches_nothing(capsys, monkeypatch):
    import shutil as shutil_mod
    from collections import namedtuple

    store = app_paths().store
    _damage("garbage", store)
    before = store.read_bytes()
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil_mod, "disk_usage", lambda path: usage(10**9, 10**9, 0))
    assert main(["doctor", "--repair"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM disk:" in out and "is full (0 KiB free)" in out, out
    assert "not repaired while the disk is full" in out, out
    assert store.read_bytes() == before and not (store.parent / "backups").exists()


def test_doctor_finds_state_folders_shut_to_their_owner_and_repair_opens_them(capsys):
    """A folder of mode 0000 (yours) passed as ok -- others were not let in -- and the folders
    under the four roots (data/running, logs/<experiment>) were never looked at."""
    paths = app_paths()
    _good_store(paths.store)
    running, logs = paths.data / "running", paths.logs / "exp"
    for d in (running, logs, paths.config):
        d.mkdir(parents=True, exist_ok=True)
        d.parent.chmod(0o700)
    running.chmod(0o000)
    logs.chmod(0o755)
    paths.config.chmod(0o500)
    try:
        assert main(["doctor"]) == 1
        out = capsys.readouterr().out
        assert f"PROBLEM state dir: {running}: mode 0000 shuts you out (want 0700)" in out, out
        assert f"PROBLEM state dir: {logs}: mode 0755 lets others in (want 0700)" in out, out
        assert f"PROBLEM state dir: {paths.config}: mode 0500 shuts you out" in out, out
        assert "hwscale-tui doctor --repair fixes what it can" in out
        assert main(["doctor", "--repair"]) == 0
        out = capsys.readouterr().out
        assert out.count("-> mode set to 0700") == 3, out
        for d in (running, logs, paths.config):
            assert d.stat().st_mode & 0o777 == 0o700, d
    finally:
        for d in (running, logs, paths.config):
            d.chmod(0o700)


def test_repair_leaves_a_locked_store_as_it_is(capsys):
    """A store another process holds locked read as damaged, and --repair swapped in an EMPTY
    rebuilt store (the rebuild could read no row), keeping the rows only in the backup."""
    import sys

    store = app_paths().store
    _good_store(store)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA locking_mode = EXCLUSIVE')\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "c.execute(\"INSERT INTO meta (key, value) VALUES ('held', '1')\")\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
            str(store),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert main(["doctor", "--repair"]) == 1
        out = capsys.readouterr().out
        assert "another process holds its lock" in out and "retry when it is done" in out, out
        assert "backed up" not in out and "doctor --repair fixes" not in out, out
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert not (store.parent / "backups").exists()
    with Store(store, readonly=True) as st:
        assert sum(t.state == "finished" for t in st.trials()) == 50


def test_doctor_finds_the_disk_reserves_of_sweeps_that_died_and_repair_removes_only_those(capsys):
    """A SIGKILLed sweep never released its 512 KiB reserve (state/reserve/<sweep>.bin) and
    nothing said so; a running sweep's reserve, and one of a sweep the store does not know,
    stay."""
    import sys
    import time as time_mod

    from hwscale_tui.processes import process_start_time

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    reserve = app_paths().state / "reserve"
    reserve.mkdir(parents=True)
    files = {name: reserve / f"{name}.bin" for name in ("e.g1n1", "e.g2n1", "other.g1n1")}
    for f in files.values():
        f.write_bytes(b"\0" * 4096)
    later = time_mod.time() + 5
    with Store(app_paths().store) as st:
        st.upsert_sweep("e.g1n1", experiment="e", pid=gone.pid, proc_start=1.0, updated_at=later)
        me = os.getpid()
        st.upsert_sweep(
            "e.g2n1", experiment="e", pid=me, proc_start=process_start_time(me), updated_at=later
        )
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM space reserve: 1 disk-space reserve of sweeps no longer running" in out, out
    assert "e.g1n1); --repair removes them" in out, out
    assert main(["doctor", "--repair"]) == 0
    assert "-> removed 1" in capsys.readouterr().out
    assert not files["e.g1n1"].exists()
    assert files["e.g2n1"].exists() and files["other.g1n1"].exists()


def test_doctor_says_when_the_state_location_cannot_be_created(tmp_path, capsys, monkeypatch):
    """HWSCALE_HOME naming a file passed every check ('does not exist yet (created on first
    write)') while every command that writes then failed."""
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    monkeypatch.setenv("HWSCALE_HOME", str(a_file))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert (
        f"PROBLEM state dir: {a_file}/data does not exist yet and cannot be created: {a_file} "
        "is not a folder; set HWSCALE_HOME to a folder of yours"
    ) in out, out
    assert "doctor --repair fixes" not in out  # it cannot
    monkeypatch.setenv("HWSCALE_HOME", str(tmp_path / "fresh"))
    assert main(["doctor"]) == 0
    assert "does not exist yet (created on first write)" in capsys.readouterr().out


def test_doctor_skips_a_folder_removed_while_it_looks(capsys, monkeypatch):
    """A run folder a sweep removes between doctor listing it and looking at it ended doctor
    with 'No such file or directory' (exit 1) instead of its report."""
    from hwscale_tui.commands import doctor

    _good_store(app_paths().store)
    listed = doctor._state_dirs

    def with_a_gone_folder(root, depth=2):
        return [*listed(root, depth), root / "runs-gone-meanwhile"]

    monkeypatch.setattr(doctor, "_state_dirs", with_a_gone_folder)
    assert main(["doctor"]) == 0
    assert "runs-gone-meanwhile" not in capsys.readouterr().out
