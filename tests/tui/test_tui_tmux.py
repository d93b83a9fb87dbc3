"""The real thing in a real terminal: `hwscale-tui` under tmux at 80x24, driven by keys only.

Edits and saves the grid, launches through the real supervisor (a tiny real sweep), hands the
full log to $PAGER (the app suspends), quits (it says what keeps running) and reopens.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwscale_tui import config as cfgmod
from tests.support.cli import REPO
from tests.tui.tui_helpers import stop_everything

TINY_SWEEP = Path(__file__).with_name("tui_tiny_sweep.py")
pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (scripts/test.sh installs it)"
)


class Tmux:
    def __init__(self, socket: Path):
        self.base = ["tmux", "-S", str(socket), "-f", "/dev/null"]

    def run(self, *args: str) -> str:
        return subprocess.run(
            [*self.base, *args], check=True, capture_output=True, text=True, timeout=60
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "app")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "app", *keys)

    def wait_for(self, text: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen shows:\n{shown}")
            time.sleep(0.1)


@pytest.mark.slow
def test_hwscale_tui_in_tmux_by_keyboard(tmp_path, private_home):
    exp = tmp_path / "tmuxexp.toml"
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(env={}),
        {
            "experiment.name": "tmuxexp",
            "grid.gpu_counts": [1, 2, 4],
            "grid.node_counts": [1],
            "launch.delay_s": 0.2,
            "launch.command": [
                sys.executable,
                str(TINY_SWEEP),
                "{sweep_name}",
                "{gpus}",
                "{nodes}",
                "{experiment}",
                "2",
            ],
        },
    )
    cfgmod.save(cfg, exp)
    pager_saw = tmp_path / "pager-saw.txt"
    pager = tmp_path / "pager.sh"
    # copied then renamed: the test waits for the file to exist, and a plain cp makes it
    # exist empty before it writes (read in that gap once, under load: '' was all it saw)
    pager.write_text(f'#!/bin/sh\ncp "$1" {pager_saw}.part && mv {pager_saw}.part {pager_saw}\n')
    pager.chmod(0o700)
    env = {
        "HWSCALE_HOME": str(private_home),
        "HOME": os.environ["HOME"],
        "PAGER": str(pager),
        "TERM": "xterm-256color",
        "PYTHONPATH": str(REPO),
        "TEXTUAL_ANIMATIONS": "none",
        "WANDB_MODE": "disabled",
        "SKYPILOT_DISABLE_LOCAL_API_SERVER": "1",
        "SKYPILOT_DISABLE_USAGE_COLLECTION": "1",
    }
    command = [
        *(f"{k}={v}" for k, v in env.items()),
        sys.executable,
        "-m",
        "hwscale_tui",
        "--experiment",
        str(exp),
    ]
    tmux = Tmux(tmp_path / "tmux.sock")
    app_cmd = (
        " ".join(command) + "; echo EXIT=$?; sleep 600"
    )  # the app draws on stderr, so no redirection
    try:
        # A second session keeps the server alive across the app's kill-session below: killing
        # the last session makes the server exit, and a client that connects while it is
        # exiting fails with "server exited unexpectedly" (seen once in CI).
        tmux.run("new-session", "-d", "-s", "keep", "sleep", "3600")
        tmux.run(
            "new-session",
            "-d",
            "-s",
            "app",
            "-x",
            "80",
            "-y",
            "24",
            "env",
            "-i",
            "PATH=" + os.environ["PATH"],
            "sh",
            "-c",
            app_cmd,
        )
        # its own launch.command: the pairs count GPUs, not local mode's CPU ranks
        tmux.wait_for("GPUs per node")
        tmux.wait_for("max trials")  # the form is mounted after the first frame
        tmux.keys("Down", "Down")
        tmux.wait_for("g4n1  (4 GPUs/node")  # the details follow the cursor
        tmux.keys("G")  # drop the 4-GPU row: pairs g1n1, g2n1
        tmux.wait_for("Removed the row of 4")
        tmux.keys("C-s")
        tmux.wait_for("Saved")
        assert cfgmod.load(exp).grid.gpu_counts == [1, 2]
        tmux.keys("2")
        tmux.wait_for("not launched")
        tmux.keys("L")
        tmux.wait_for("Launch all pairs of tmuxexp?")  # asks first, with the plan's summary
        tmux.keys("y")
        shown = tmux.wait_for("exited 0")  # g1n1 ran its two trials and exited
        assert "g2n1" in shown
        tmux.keys("o")  # full log of the selected pair (g1n1) in $PAGER
        deadline = time.monotonic() + 60
        while not pager_saw.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "tiny sweep tmuxexp.g1n1" in pager_saw.read_text()
        tmux.keys("3")
        tmux.wait_for("finished")
        tmux.keys("?")
        tmux.wait_for("trials.filter")
        tmux.keys("Escape")
        tmux.keys("C-q")
        shown = tmux.wait_for("EXIT=0")
        assert "1 pair of tmuxexp keeps running in the background (g2n1)" in " ".join(shown.split())
        # reopen: re-attaches on the launch screen, g2n1 still running
        tmux.run("kill-session", "-t", "app")
        tmux.run(
            "new-session",
            "-d",
            "-s",
            "app",
            "-x",
            "80",
            "-y",
            "24",
            "env",
            "-i",
            "PATH=" + os.environ["PATH"],
            "sh",
            "-c",
            app_cmd,
        )
        shown = tmux.wait_for("exited 0")
        assert "running" in shown.split("g2n1", 1)[1].splitlines()[0]  # g2n1's row: still running
    finally:
        subprocess.run([*tmux.base, "kill-server"], capture_output=True, timeout=60)
        stop_everything("tmuxexp")
