"""A new user's pass over the app in a real terminal at 80x24 (QA pass 37): the note printed on
quitting mid-run, ..."""

from __future__ import annotations

from tests.tui.tui_helpers import make_app, wait_for

# -- the note printed when quitting mid-run --------------------------------------------------------


async def test_the_quit_note_fits_the_terminal_and_puts_each_command_on_its_own_line(tmp_path):
    """At 80 columns the note was one long line: the terminal broke it inside words
    (``har`` / ``dware_scaling``) and inside the commands to copy."""
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot, lambda: any(r.active for r in app.screen.rows.values()), what="active rows"
        )
        await pilot.press("ctrl+q")
    note = app.return_value
    assert note
    lines = note.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert "  hwscale-tui" in lines
    assert "  hwscale-tui status --experiment-name hardware_scaling" in lines
    assert "  hwscale-tui cancel --experiment-name hardware_scaling --all" in lines
    prose = " ".join(line for line in lines if not line.startswith("  "))
    assert "keeps running in the background (g1n1)" in prose


# -- the analysis screen's a: the app's ASCII setting, and it says so ------------------------------


async def test_the_analysis_ascii_key_says_it_changes_every_screen(tmp_path):
    """``a`` on the analysis screen said "Plots in ASCII." but set the app's ASCII mode: the
    grid's check marks then read ``+``, bars ``#``, with nothing saying why."""
    app, _ = make_app(tmp_path, start="analysis")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.view is not None, what="analysis result")
        await pilot.press("a")
        await wait_for(pilot, lambda: app._notifications, what="notice")
        said = [n.message for n in app._notifications]
        assert app.ascii_only
        assert any("every screen" in m and "--ascii" in m for m in said), said
        await pilot.press("a")
        await wait_for(pilot, lambda: not app.ascii_only, what="back")
        said = [n.message for n in app._notifications]
        assert any(m.startswith("Braille plots, block bars and marks again") for m in said), said
