"""Deleting or archiving the current experiment says which one commands act on now.

Real CLI processes, the real supervisor, real store; pairs run tests/launch/fake_sweep.py.
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


def test_deleting_or_archiving_the_current_experiment_names_the_one_now_current(tmp_path):
    for name in ("older", "newer", "third"):
        exp = tmp_path / f"{name}.toml"
        write_experiment(exp, fake_command(), name=name, gpus=(1,), delay_s=0)
        assert cli("launch", "-e", str(exp), "--foreground").returncode == 0
    res = cli("experiments", "delete", "third", "--yes")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    # bare commands went on with 'newer' (the last launched) without a word
    assert lines[1:] == [
        "third was the current experiment: commands now act on newer "
        "(hwscale-tui experiments select NAME picks another)"
    ], lines
    assert json.loads(cli("status", "--json").stdout)["experiment"] == "newer"

    res = cli("experiments", "select", "newer")
    res = cli("experiments", "archive", "newer")
    assert res.returncode == 0, res.stderr
    assert "newer was the current experiment: commands now act on older" in res.stdout
    assert json.loads(cli("status", "--json").stdout)["experiment"] == "older"

    # not the current one: nothing more said
    res = cli("experiments", "unarchive", "newer")
    assert res.stdout.strip() == "unarchived newer"
    res = cli("experiments", "archive", "newer")
    assert res.stdout.strip() == "archived newer"
