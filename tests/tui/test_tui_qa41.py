"""Defects found by hand in the app (QA pass 41), each driven by Pilot on fake services."""

from __future__ import annotations

from textual.widgets import Input

from hwscale_tui.tui.widgets.choice import ChoiceField
from tests.tui.test_tui_glance import header_text
from tests.tui.test_tui_pilot import SIZE
from tests.tui.tui_helpers import make_app, wait_for


# -- 1. the unsaved-edits mark follows the form back to the saved file ------------------------
async def test_an_undone_edit_leaves_no_unsaved_mark(tmp_path):
    """runner builtin -> metta -> builtin, or max trials 8 -> 12 -> 8: the form is the saved
    file again, so the header's ``*`` goes and quitting does not ask (both stayed)."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form mounted")
        assert not app.session.dirty and "hardware_scaling*" not in header_text(app)
        runner = grid.query_one("#field-experiment--runner", ChoiceField)
        runner.focus()
        await pilot.press("right")
        await wait_for(pilot, lambda: app.session.cfg.experiment.runner == "metta", what="metta")
        assert app.session.dirty and "hardware_scaling*" in header_text(app)
        await pilot.press("left")
        await wait_for(pilot, lambda: app.session.cfg.experiment.runner == "builtin", what="back")
        assert not app.session.dirty
        await wait_for(pilot, lambda: "hardware_scaling*" not in header_text(app), what="no *")

        field = grid.query_one("#field-sweep--max_trials", Input)
        field.focus()
        await pilot.press("end", "backspace", *"12")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 12, what="12")
        assert app.session.dirty and "hardware_scaling*" in header_text(app)
        await pilot.press("backspace", "backspace", "8")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 8, what="8 again")
        assert not app.session.dirty
        await wait_for(pilot, lambda: "hardware_scaling*" not in header_text(app), what="no *")
        await pilot.press("ctrl+q")  # nothing to discard: no question
    assert app.return_value is None or "discarded" not in app.return_value


async def test_an_edit_after_a_save_is_measured_against_the_saved_file(tmp_path):
    """Saved with max trials 12, then 12 -> 8 -> 12: unsaved, then saved again (no ``*``)."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form mounted")
        field = grid.query_one("#field-sweep--max_trials", Input)
        field.focus()
        await pilot.press("end", "backspace", *"12")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 12, what="12")
        await pilot.press("ctrl+s")
        assert not app.session.dirty
        await pilot.press("backspace", "backspace", "8")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 8, what="8")
        assert app.session.dirty  # 8 is the default, but the file says 12
        await pilot.press("backspace", *"12")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 12, what="12 again")
        assert not app.session.dirty
