"""doctor does not call a store damaged because the full disk keeps it from being read.

Found by hand (session 43, helper 91): with the state location on a full disk (a 600 KiB
tmpfs filled up), opening the WAL store failed with 'disk I/O error' (SQLite could not grow
its -shm file), and doctor said 'cannot be read (disk I/O error); hwscale-tui doctor --repair
backs it up and rebuilds it from every readable row'. After freeing space the same store read
as healthy: nothing was damaged. The finding now says the disk is full, to free space and run
doctor again, and is not offered for --repair.
"""

from __future__ import annotations

import sqlite3

from hwscale_tui.commands import doctor, status
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store


def _io_error(path):
    raise sqlite3.OperationalError("disk I/O error")


def test_a_store_unreadable_on_a_full_disk_is_not_called_damaged(monkeypatch):
    with Store.open_default():
        pass
    monkeypatch.setattr(doctor, "_open_damaged", _io_error)
    monkeypatch.setattr(status, "disk_full_note", lambda: "the disk ... is full (0 KiB free)")
    report = doctor.Report()
    doctor.check_store(report, repair=True)
    (finding,) = report.findings
    assert not finding.ok and not finding.fixed and not finding.repairable
    assert "cannot be read while the disk is full (disk I/O error)" in finding.detail
    assert "free space, then run hwscale-tui doctor again" in finding.detail
    assert doctor.REPAIR_HINT not in finding.detail
    assert not (app_paths().data / "backups").exists()  # nothing backed up or rebuilt

    # with room on the disk the same error is what it was: a store to repair
    monkeypatch.setattr(status, "disk_full_note", lambda: None)
    ok, detail, facts = doctor.inspect_store(app_paths().store)
    assert not ok and doctor.REPAIR_HINT in detail and not facts.get("disk_full")
