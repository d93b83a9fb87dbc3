"""scripts/run.sh installs only when the venv is missing or pyproject/lock changed (a stamp).

The real scripts run in a scratch copy of the repository whose ``.venv/bin/python``,
``.venv/bin/hwscale-tui`` (and, where a test says so, ``.venv/bin/uv``) are tiny recorders: every
call is appended to a log, so the test sees exactly whether run.sh asked uv or pip for anything.
The package index is unreachable (``PIP_INDEX_URL=http://127.0.0.1:9/``) throughout.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from tests.support.cli import REPO

RECORDER = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
"""


def _scratch_repo(tmp_path: Path, uv: str | None = None) -> tuple[Path, Path]:
    """``uv``: None for no uv in the venv, else the shell line its recorder ends with."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    (root / "requirements").mkdir()
    for rel in ("scripts/run.sh", "scripts/_venv.sh", "pyproject.toml", "requirements/lock.txt"):
        shutil.copy(REPO / rel, root / rel)
    log = tmp_path / "calls.log"
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for exe in ("python", "hwscale-tui"):
        p = bin_dir / exe
        p.write_text(RECORDER.format(log=log))
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
    if uv is not None:
        p = bin_dir / "uv"
        p.write_text(RECORDER.format(log=log) + uv + "\n")
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return root, log


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PIP_INDEX_URL="http://127.0.0.1:9/", PIP_NO_INPUT="1")
    return subprocess.run(
        ["bash", str(root / "scripts" / "run.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_changed_lock_installs_then_matching_stamp_starts_the_app_without_pip(tmp_path):
    root, log = _scratch_repo(tmp_path)
    first = _run(root, "--version")
    assert first.returncode == 0, first.stderr
    calls = _calls(log)
    # No stamp yet and no uv to be had (the pip call that would fetch it finds none): one pip
    # install from the lock, then the app.
    assert calls[0].startswith("python -m pip install") and "uv==" in calls[0]
    assert calls[1].startswith("python -m pip install")
    assert "-c requirements/lock.txt" in calls[1]
    assert calls[2:] == ["hwscale-tui --version"]
    stamps = list((root / ".venv").glob(".hwscale-installed-*"))
    assert len(stamps) == 1

    log.unlink()
    second = _run(root, "--help")
    assert second.returncode == 0, second.stderr
    assert _calls(log) == ["hwscale-tui --help"]  # no python / pip call at all

    # The lock changes: the stamp no longer matches, so it installs again.
    log.unlink()
    lock = root / "requirements" / "lock.txt"
    lock.write_text(lock.read_text() + "# changed\n")
    third = _run(root, "--help")
    assert third.returncode == 0, third.stderr
    calls = _calls(log)
    assert calls[1].startswith("python -m pip install") and calls[-1] == "hwscale-tui --help"


def test_uv_in_the_venv_installs_the_lock_and_pip_is_not_asked(tmp_path):
    root, log = _scratch_repo(tmp_path, uv="exit 0")
    res = _run(root, "--version")
    assert res.returncode == 0, res.stderr
    calls = _calls(log)
    assert len(calls) == 2 and calls[-1] == "hwscale-tui --version"
    assert calls[0].startswith("uv pip install")
    assert "--python .venv/bin/python -c requirements/lock.txt -e ." in calls[0]
    assert "--compile-bytecode" in calls[0]  # as pip does; uv does not by default
    assert len(list((root / ".venv").glob(".hwscale-installed-*"))) == 1


def test_a_failing_uv_falls_back_to_pip_and_says_so(tmp_path):
    root, log = _scratch_repo(tmp_path, uv="exit 1")
    res = _run(root, "--version")
    assert res.returncode == 0, res.stderr
    calls = _calls(log)
    assert calls[0].startswith("uv pip install")
    assert calls[1].startswith("python -m pip install") and "-c requirements/lock.txt" in calls[1]
    assert calls[2:] == ["hwscale-tui --version"]
    assert "uv could not install .; installing with pip instead" in res.stderr
    assert len(list((root / ".venv").glob(".hwscale-installed-*"))) == 1


def test_a_failed_install_leaves_no_stamp_and_does_not_start_the_app(tmp_path):
    root, log = _scratch_repo(tmp_path)
    failing = root / ".venv" / "bin" / "python"
    failing.write_text(RECORDER.format(log=log) + "exit 1\n")
    res = _run(root, "--help")
    assert res.returncode != 0
    assert not list((root / ".venv").glob(".hwscale-installed-*"))
    assert "hwscale-tui --help" not in _calls(log)
