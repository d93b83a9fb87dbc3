"""doctor --repair does not call leaked disk-space reserves fixed when it could not remove them.

Found by hand (session 43, helper 91): on a read-only state location (a read-only bind mount)
``doctor --repair`` printed ``fixed   space reserve: 1 disk-space reserve of sweeps no longer
running (...); --repair removes them -> removed 0``: every unlink failed and was swallowed, and
the finding counted as fixed (healthy). It now stays a problem saying how many were removed and
why the others were not.
"""

from __future__ import annotations

import time
from pathlib import Path

from hwscale_tui.commands import doctor
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store


def _leaked_reserve() -> Path:
    with Store.open_default() as st, st.transaction():
        st.conn.execute(
            "INSERT INTO sweeps (sweep, experiment, gpus, nodes, status, updated_at) "
            "VALUES ('exp.g1n1', 'exp', 1, 1, 'running', ?)",
            (time.time() + 60,),  # its sweep wrote after the reserve: the reserve is left over
        )
    folder = app_paths().state / "reserve"
    folder.mkdir(parents=True, exist_ok=True)
    reserve = folder / "exp.g1n1.bin"
    reserve.write_bytes(b"\0" * 1024)
    return reserve


def test_a_reserve_repair_could_not_remove_stays_a_problem(monkeypatch):
    reserve = _leaked_reserve()
    real_unlink = Path.unlink

    def read_only(self, *a, **kw):
        if self == reserve:
            raise OSError(30, "Read-only file system", str(self))
        return real_unlink(self, *a, **kw)

    with monkeypatch.context() as m:
        m.setattr(Path, "unlink", read_only)
        report = doctor.Report()
        doctor.check_reserves(report, repair=True, store_ok=True)
    (finding,) = report.findings
    assert not finding.ok and not finding.fixed and not report.healthy
    assert "--repair removed 0 of 1: the others cannot be removed (Read-only file system)" in (
        finding.detail
    )
    assert reserve.exists()

    report = doctor.Report()  # writable again: removed, and fixed
    doctor.check_reserves(report, repair=True, store_ok=True)
    assert report.findings[0].fixed == "removed 1" and not reserve.exists()
