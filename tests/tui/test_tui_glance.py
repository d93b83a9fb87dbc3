"""The app at a glance: defects a new user met, each driven by Pilot on fake services."""

from __future__ import annotations

from textual.widgets import Input, Label, Static

from hwscale_tui.tui.screens.modals import ConfirmScreen, HelpScreen, PromptScreen
from hwscale_tui.tui.widgets.header import ExperimentHeader
from tests.tui.test_tui_pilot import SIZE, text_of
from tests.tui.tui_helpers import make_app, wait_for


def header_text(app) -> str:
    return text_of(app.screen.query_one(ExperimentHeader).query_one("#header-left", Static))


async def test_a_rename_shows_in_every_header_and_drops_the_old_log(tmp_path):
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        log = screen.query_one("#log-tail", Static)
        await wait_for(pilot, lambda: "line 30" in text_of(log), what="old log")
        assert "hardware_scaling" in header_text(app)
        await pilot.press("1")
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-experiment--name"), what="form")
        name = grid.query_one("#field-experiment--name", Input)
        name.value = "renamed"
        await wait_for(pilot, lambda: app.session.name == "renamed", what="rename")
        await pilot.press("2")
        assert "renamed*" in header_text(app) and "hardware_scaling" not in header_text(app)
        await wait_for(pilot, lambda: "line 30" not in text_of(log), what="old log cleared")
        assert all(not r.sweep_name.startswith("hardware_scaling.") for r in screen.rows.values())


async def test_a_bad_prompt_answer_keeps_the_prompt_open_with_the_error(tmp_path):
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        await pilot.press(*"abc", "enter")
        assert app.screen is prompt
        error = prompt.query_one("#prompt-error", Label)
        assert error.display and "'abc' is not a count" in text_of(error)
        await pilot.press("backspace", "backspace", "backspace", *"16", "enter")
        assert app.screen is prompt and "max_gpus_per_node" in text_of(error)
        assert "/" not in text_of(error)  # the short form: no file path
        await pilot.press("backspace", "backspace", "3", "enter")
        await wait_for(pilot, lambda: app.screen is not prompt, what="prompt closes")
        assert 3 in app.session.cfg.grid.gpu_counts


async def test_quit_with_unsaved_edits_asks_first(tmp_path):
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")  # toggles the highlighted pair: an unsaved edit
        assert app.session.dirty
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen) and "unsaved" in app.screen.question
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("ctrl+q")
        await pilot.press("y")
    assert app.return_value and "Unsaved grid edits were discarded" in app.return_value


async def test_help_groups_the_apps_own_keys_by_screen(tmp_path):
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = text_of(app.screen.query_one("#help-keys", Static))
        titles = ["Everywhere", "1 Grid", "2 Launch", "3 Trials (this screen)", "4 Analysis"]
        at = [shown.index(t) for t in titles]
        assert at == sorted(at)  # screen order
        for ident in ("grid.toggle", "launch.all", "trials.filter", "analysis.export", "app.quit"):
            assert shown.count(ident) == 1
        # Textual internals are one line, not one per DataTable or palette binding
        assert "Page Left" not in shown and "Show menu" not in shown and "Select" not in shown
        assert shown.count("move in tables and lists") == 1
        assert shown.index("trials.filter") < shown.index("4 Analysis")


async def test_help_shows_remapped_keys(tmp_path):
    from hwscale_tui.paths import app_paths

    paths = app_paths().ensure()
    (paths.config / "keymap.toml").write_text('"launch.all" = "A"\n')
    app, _ = make_app(tmp_path, start="grid")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        rows = {ident: keys for keys, _, ident in app.screen.binding_rows()}
        assert rows["launch.all"] == "A"
