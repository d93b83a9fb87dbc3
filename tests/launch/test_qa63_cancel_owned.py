"""QA 63: an interrupted ``launch --foreground`` (launch L) cancels the pairs it owns -- by
sweep name, so a pair that a newer launch M of the same experiment had started again since
(``launch --only g1n1`` after L's g1n1 was cancelled) was cancelled too: M's running sweep was
stopped, and L's answer ("g1n1: cancelled") was about M's pair. L now cancels only the pairs
it still owns and says which it left alone, and why."""

from __future__ import annotations

import signal
import subprocess

import pytest

from hwscale_tui.errors import StoreError
from hwscale_tui.launch import supervisor as sup
from tests.launch.launch_testkit import (
    WAIT_S,
    clean_processes,
    fake_command,
    statuses,
    wait_for,
    write_experiment,
)
from tests.support.cli import cli_env, hwscale_cmd

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def settled(want: dict[str, str]) -> bool:
    """The pairs' statuses are ``want`` (the store may still be being created)."""
    try:
        return statuses() == want
    except StoreError:
        return False


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        hwscale_cmd(*args), capture_output=True, text=True, timeout=WAIT_S, env=cli_env()
    )


def test_an_interrupted_foreground_launch_leaves_a_newer_launchs_pair_alone(tmp_path):
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--sleep", "600"), gpus=(1, 2), delay_s=0)
    older = subprocess.Popen(
        hwscale_cmd("launch", "-e", str(exp), "--foreground"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=True,
    )
    try:
        wait_for(lambda: settled({"g1n1": "running", "g2n1": "running"}), "both pairs")
        r = cli("cancel", "g1n1", "--grace", "1")
        assert r.returncode == 0 and "cancelled g1n1 (was running)" in r.stdout, r.stderr
        r = cli("launch", "-e", str(exp), "--only", "g1n1")  # launch 2 starts g1n1 again
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: statuses().get("g1n1") == "running", "g1n1 under launch 2")
        newer = {p.tag: p.launch_id for p in sup.pair_status("exp").pairs}["g1n1"]

        older.send_signal(signal.SIGINT)  # ctrl+c in the older launch's terminal
        _, err = older.communicate(timeout=WAIT_S)
    finally:
        if older.poll() is None:
            older.kill()
            older.wait()
    assert older.returncode == 130, err
    assert "  g2n1: cancelled: " in err, err
    assert (
        f"  g1n1: not cancelled: left alone: launch 2 (id {newer}) started it again since, "
        "and owns it now" in err
    ), err
    assert statuses() == {"g1n1": "running", "g2n1": "cancelled"}
