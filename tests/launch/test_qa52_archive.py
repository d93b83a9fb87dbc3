"""Archiving is not activity: the list's last activity stays; archiving twice says so.

Real CLI processes, the real supervisor, real store; the pair runs tests/launch/fake_sweep.py.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.launch.launch_testkit import WAIT_S, clean_processes, fake_command, write_experiment
from tests.support.cli import hwscale_cmd

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hwscale_cmd(*args), capture_output=True, text=True, timeout=WAIT_S, stdin=subprocess.DEVNULL
    )


def _row(name: str) -> dict:
    res = cli("experiments", "--json", "--all")
    assert res.returncode == 0, res.stderr
    return next(r for r in json.loads(res.stdout) if r["name"] == name)


def test_archive_and_unarchive_leave_last_activity_and_a_repeat_changes_nothing(tmp_path):
    exp = tmp_path / "mine.toml"
    write_experiment(exp, fake_command(), name="mine", gpus=(1,), delay_s=0)
    assert cli("launch", "-e", str(exp), "--foreground").returncode == 0
    other = tmp_path / "other.toml"
    write_experiment(other, fake_command(), name="other", gpus=(1,), delay_s=0)
    assert cli("plan", "-e", str(other)).returncode == 0  # mine is no longer current
    before = _row("mine")["last_activity"]
    assert before is not None

    res = cli("experiments", "archive", "mine")
    assert res.returncode == 0 and res.stdout.strip() == "archived mine", res
    row = _row("mine")
    # it showed the moment of archiving as the experiment's last activity
    assert row["state"] == "archived" and row["last_activity"] == before
    res = cli("experiments", "archive", "mine")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "mine is archived already; nothing changed"

    res = cli("experiments", "unarchive", "mine")
    assert res.returncode == 0 and res.stdout.strip() == "unarchived mine", res
    assert _row("mine")["last_activity"] == before
    res = cli("experiments", "unarchive", "mine")
    assert res.stdout.strip() == "mine is not archived; nothing changed", res
    assert _row("mine")["state"] == "launched"

    # archived, then selected: archiving it again hides it again
    assert cli("experiments", "archive", "mine").returncode == 0
    assert cli("experiments", "select", "mine").returncode == 0
    res = cli("experiments", "archive", "mine")
    assert res.stdout.splitlines()[0] == "archived mine", res
    assert "mine" not in [r["name"] for r in json.loads(cli("experiments", "--json").stdout)]
