"""Defects a demanding new user hit in a real terminal (QA pass 45): launching while the grid
form shows an error, ..."""

from __future__ import annotations

from textual.widgets import Input

from hwscale_tui.tui.screens.modals import ConfirmScreen
from tests.tui.tui_helpers import make_app, wait_for

SIZE = (80, 24)


def _notices(app) -> list[str]:
    return [n.message for n in app._notifications]


# -- a launch never runs other values than the form shows ----------------------------------------


async def test_launching_while_a_grid_field_shows_an_error_is_refused(tmp_path):
    """max trials typed as 'abc' shows its error on the grid, and save refused it; L on the
    launch screen asked to launch, and would have run the last valid max trials (8) without a
    word, while the form showed something else."""
    app, world = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-sweep--max_trials"), what="form")
        field = grid.query_one("#field-sweep--max_trials", Input)
        field.focus()
        field.value = "abc"
        await wait_for(pilot, lambda: grid.query("#error-sweep--max_trials"), what="the error")
        await pilot.press("escape", "2")
        await wait_for(pilot, lambda: app.current_mode == "launch", what="launch screen")
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.rows) == 8, what="rows")
        for key in ("L", "l"):
            await pilot.press(key)
            await wait_for(
                pilot,
                lambda: any(m.startswith("Not launched: ") for m in _notices(app)),
                what="the refusal",
            )
            refusal = [m for m in _notices(app) if m.startswith("Not launched: ")][-1]
            assert "max trials: got 'abc'" in refusal and "(1)" in refusal
            app.clear_notifications()
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
        assert world.supervisor.calls == []
        await pilot.press("1")  # fixed: L asks again
        await wait_for(pilot, lambda: app.current_mode == "grid", what="grid")
        field.focus()
        field.value = "3"
        await wait_for(pilot, lambda: not grid.query("#error-sweep--max_trials"), what="fixed")
        await pilot.press("escape", "2", "L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "24 trials in all" in app.screen.question
