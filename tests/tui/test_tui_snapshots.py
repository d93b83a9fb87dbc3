"""SVG snapshots of every screen and dialog at 80x24, 100x30 and 160x48: fake services, frozen
clock, demo data.

Update after an intended change: ``pytest tests/tui/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import time

import pytest

from tests.tui.tui_helpers import make_app, wait_for

SIZES = {"80x24": (80, 24), "100x30": (100, 30), "160x48": (160, 48)}


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """The header clock shows local time; pin the zone so the frozen clock draws the same digits."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def ready(screen_id: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        screen = app.screen
        if screen_id == "grid":
            await wait_for(pilot, lambda: screen.query("#field-analysis--target"), what="form")
        elif screen_id == "launch":
            await wait_for(
                pilot,
                lambda: screen.rows and any(r.active for r in screen.rows.values()),
                what="rows",
            )
            await wait_for(
                pilot, lambda: "line 30" in str(screen.query_one("#log-tail").content), what="log"
            )
        elif screen_id == "launch-unlaunched":
            await wait_for(pilot, lambda: len(screen.rows) == 8, what="planned rows")
        elif screen_id == "trials":
            from hwscale_tui.tui.widgets.trial_table import TrialTable

            table = screen.query_one(TrialTable)
            await wait_for(pilot, lambda: table.row_count == 32, what="trials")
            await wait_for(
                pilot, lambda: table.selected_trial().run_id in screen.curve_cache, what="curve"
            )
        elif screen_id == "analysis":
            await wait_for(pilot, lambda: screen.view is not None, what="analysis")
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("screen_id", ["grid", "launch", "trials", "analysis"])
def test_screen_snapshot(screen_id, size, snap_compare, tmp_path):
    app, _ = make_app(tmp_path, start=screen_id, launched=screen_id == "launch")
    assert snap_compare(app, terminal_size=SIZES[size], run_before=ready(screen_id))


def dialog(name: str):
    """Open one dialog on its screen (after the screen's data is in)."""

    async def run_before(pilot) -> None:
        app = pilot.app
        from hwscale_tui.tui.screens.modals import ConfirmScreen, HelpScreen, PromptScreen

        if name == "launch-confirm":
            await ready("launch-unlaunched")(pilot)
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="dialog")
        elif name == "prompt-error":
            await ready("grid")(pilot)
            await pilot.press("g")
            await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="dialog")
            from textual.widgets import Input

            app.screen.query_one(Input).cursor_blink = False  # a blinking cursor is not stable
            await pilot.press(*"abc", "enter")
            await wait_for(
                pilot, lambda: app.screen.query_one("#prompt-error").display, what="error"
            )
        elif name == "stop-trial":
            await ready("trials")(pilot)
            from hwscale_tui.tui.widgets.trial_table import TrialTable

            table = app.screen.query_one(TrialTable)
            running = next(  # the first running trial in row order: no scrolling needed
                table.trials[r]
                for r in table.visible_run_ids()
                if table.trials[r].state == "running"
            )
            table.select_run(running.run_id)
            screen = app.screen
            await wait_for(pilot, lambda: running.run_id in screen.curve_cache, what="its curve")
            await pilot.pause()
            await pilot.press("k")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="dialog")
        elif name == "help":
            await ready("trials")(pilot)
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="dialog")
            await wait_for(pilot, lambda: app.screen.scrolled, what="scrolled to this screen")
        await pilot.pause()

    return run_before


DIALOG_SCREENS = {
    "launch-confirm": "launch",
    "prompt-error": "grid",
    "stop-trial": "trials",
    "help": "trials",
}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", list(DIALOG_SCREENS))
def test_dialog_snapshot(name, size, snap_compare, tmp_path):
    app, _ = make_app(tmp_path, start=DIALOG_SCREENS[name])
    assert snap_compare(app, terminal_size=SIZES[size], run_before=dialog(name))
