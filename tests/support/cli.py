"""Running the CLI from a test: the repository root, and a child ``hwscale-tui`` command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a child `hwscale-tui` process in a test (inherits the private dirs)."""
    env = dict(os.environ)
    env.update(extra)
    return env


def hwscale_cmd(*args: str) -> list[str]:
    """The command line that runs ``hwscale-tui ARGS`` with this interpreter."""
    return [sys.executable, "-m", "hwscale_tui", *args]


def launched_nothing(experiment: Path | str) -> bool:
    """Whether ``hwscale-tui status -e EXPERIMENT --json`` says the experiment was never
    launched (a refused launch must leave nothing behind)."""
    import json
    import subprocess

    st = subprocess.run(
        hwscale_cmd("status", "-e", str(experiment), "--json"),
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert st.returncode == 0, st.stderr
    return bool(json.loads(st.stdout)["launch_id"] is None)
