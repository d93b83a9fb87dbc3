"""doctor names a read-only file system under the state location, not chown and chmod.

Found by hand (session 43, helper 91): with HWSCALE_HOME on a read-only bind mount, doctor
said of each state folder 'not writable; make it yours and writable (chown, chmod 0700)',
though each was already the user's, mode 0700, and no chown or chmod works on a read-only file
system. It now says 'not writable: it is on a read-only file system; remount it read-write, or
set HWSCALE_HOME to a folder of yours on a writable disk', and --repair does not try a chmod.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from hwscale_tui.commands import doctor
from hwscale_tui.paths import app_paths


def test_a_state_folder_on_a_read_only_file_system_is_named_so(monkeypatch):
    paths = app_paths().ensure()
    real_access = os.access

    def access(path, mode, *a, **kw):
        if mode & os.W_OK and str(path).startswith(str(paths.data)):
            return False
        return real_access(path, mode, *a, **kw)

    real_statvfs = os.statvfs

    def statvfs(path):
        if str(path).startswith(str(paths.data)):
            return SimpleNamespace(f_flag=os.ST_RDONLY)
        return real_statvfs(path)

    with monkeypatch.context() as m:
        m.setattr(doctor.os, "access", access)
        m.setattr(doctor.os, "statvfs", statvfs)
        report = doctor.Report()
        doctor.check_dirs(report, repair=True)
    (data,) = [f for f in report.findings if f.detail.startswith(f"{paths.data}:")]
    assert not data.ok and not data.fixed and not data.repairable
    assert "not writable: it is on a read-only file system" in data.detail
    assert "remount it read-write" in data.detail
    assert "chmod" not in data.detail
