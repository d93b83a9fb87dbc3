"""``doctor --repair`` run twice within one second (helper 73's QA pass): the second found the
first's backup under its name (``hwscale-<date>-<time>.sqlite``) and failed, exit 1, with
'<backup>: File exists; check that the path exists and is yours and writable', the damaged
store left unrepaired. The next free name is taken, and no backup is ever replaced."""

from __future__ import annotations

import pytest

from hwscale_tui.cli import main
from hwscale_tui.commands import doctor
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store


@pytest.fixture
def frozen_clock(monkeypatch):
    monkeypatch.setattr(doctor.time, "strftime", lambda fmt, *a: "20261207-215102")


def test_backups_in_the_same_second_get_their_own_names(tmp_path, frozen_clock):
    store = tmp_path / "hwscale.sqlite"
    names = []
    for content in (b"first", b"second", b"third"):
        store.write_bytes(content)
        (tmp_path / "hwscale.sqlite-wal").write_bytes(content + b"-wal")
        names.append(doctor.backup_store(store))
    assert [p.name for p in names] == [
        "hwscale-20261207-215102.sqlite",
        "hwscale-20261207-215102-2.sqlite",
        "hwscale-20261207-215102-3.sqlite",
    ]
    for path, content in zip(names, (b"first", b"second", b"third"), strict=True):
        assert path.read_bytes() == content
        assert path.with_name(path.name + "-wal").read_bytes() == content + b"-wal"


def test_a_second_repair_in_the_same_second_repairs(frozen_clock, capsys):
    with Store.open_default() as st:
        st.insert_trial("e.g1n1_trial_0001_aaaaaa", "e.g1n1", experiment="e", state="finished")
    path = app_paths().store
    for _ in range(2):
        path.write_bytes(b"not a database")
        for side in ("-wal", "-shm"):
            path.with_name(path.name + side).unlink(missing_ok=True)
        assert main(["doctor", "--repair"]) == 0, capsys.readouterr()
        captured = capsys.readouterr()
        assert "File exists" not in captured.err, captured.err
    assert len(list((path.parent / "backups").glob("*.sqlite"))) == 2
