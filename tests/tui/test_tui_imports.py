"""The first frame never waits for heavy imports: building the app and drawing its first screen
loads none of wandb, sky, pandas, scipy (they load later, inside thread workers)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.cli import REPO

HEAVY = ("wandb", "sky", "pandas", "scipy", "plotext", "sklearn", "matplotlib")

PROBE = r"""
import asyncio, json, sys, threading
from hwscale_tui.tui.app import create_app
from hwscale_tui.tui.services import Services

class Untouchable:
    def __getattr__(self, name):
        raise AssertionError(f"the first frame called {name}")

seen = {}
async def main():
    app = create_app(Services(Untouchable(), Untouchable(), Untouchable()), start=sys.argv[1], remember_state=False)
    # record what is imported by the time the first frame is painted, on the UI thread
    app.call_after_refresh(lambda: seen.setdefault("mods", sorted(m.split(".")[0] for m in sys.modules)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
asyncio.run(main())
print(json.dumps(seen["mods"]))
"""


def first_frame_modules(screen: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, screen], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_first_frame_of_grid_and_launch_imports_nothing_heavy():
    for screen in ("grid", "launch"):
        loaded = first_frame_modules(screen)
        assert "textual" in loaded
        assert not loaded & set(HEAVY), f"{screen}: {sorted(loaded & set(HEAVY))}"


def test_tui_command_module_imports_only_the_standard_library():
    code = (
        "import sys, hwscale_tui.commands.tui; print(sorted(m.split('.')[0] for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=True,
    )
    loaded = set(json.loads(out.stdout.replace("'", '"')))
    assert not loaded & {"textual", "rich", *HEAVY}
