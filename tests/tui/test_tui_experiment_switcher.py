"""`E` opens the experiment switcher: it lists the experiments (current marked) and switching
makes the picked one current and reopens the app on it."""

from __future__ import annotations

from hwscale_tui import config as cfgmod
from hwscale_tui.launch import experiments as ex
from hwscale_tui.tui.app import create_app
from hwscale_tui.tui.experiment_switcher import ExperimentSwitcher
from hwscale_tui.tui.session import ExperimentSession
from tests.tui.tui_helpers import wait_for

SIZE = (120, 36)


def _save(path, name: str) -> None:
    cfg = cfgmod.apply_overrides(cfgmod.default_config(env={}), {"experiment.name": name})
    cfgmod.save(cfg, path)
    ex.remember(name, path)


async def test_switcher_lists_and_switches(tmp_path):
    _save(tmp_path / "one.toml", "one")
    _save(tmp_path / "two.toml", "two")  # current
    app = create_app(remember_state=False)
    assert app.session.name == "two"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        names = [r.name for r in app.screen.rows]
        assert names == ["one", "two"] and app.screen.selected() == "two"
        from hwscale_tui.tui.experiment_switcher import _label

        # counts in the singular where they are one ("1 generation(s)" before)
        assert _label(app.screen.rows[0]).endswith("not launched, 1 generation, 8 pairs, 0 trials")
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: app.switch_to == "one", what="switch")
    assert ex.read_current().name == "one"
    assert ExperimentSession.open().name == "one"  # what the reopened app shows


async def test_a_refused_new_name_keeps_the_prompt_open_with_the_reason(tmp_path):
    from textual.widgets import Input, Label

    from hwscale_tui.tui.screens.modals import PromptScreen

    _save(tmp_path / "one.toml", "one")
    _save(tmp_path / "two.toml", "two")  # current
    app = create_app(remember_state=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="prompt")
        app.screen.query_one(Input).value = "bad name"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)  # still open, the reason under the field
        error = app.screen.query_one("#prompt-error", Label)
        assert error.has_class("shown") and "starts with a letter" in str(error.render())
        assert str(error.render()).count("'bad name'") == 1  # it was said twice
        app.screen.query_one(Input).value = "three"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.switch_to == "three", what="switch to the copy")
    assert ex.read_current().name == "three"


async def test_the_switcher_is_centred_like_the_other_dialogs(tmp_path):
    """It was drawn in the top left corner, over the header."""
    _save(tmp_path / "one.toml", "one")
    app = create_app(remember_state=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        await pilot.pause()
        box = app.screen.query_one("#confirm-box").region
        assert box.y > 0  # the header stays in view
        assert abs(box.x - (80 - box.right)) <= 1  # as much room left as right


async def test_read_only_refuses_new_archive_and_delete(tmp_path):
    """--read-only asked "Delete one: its trials, launches, snapshot and logs?" and did it."""
    from hwscale_tui.tui.screens.modals import ConfirmScreen, PromptScreen

    _save(tmp_path / "one.toml", "one")
    app = create_app(remember_state=False, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        title = str(app.screen.query_one("#switcher-title").render())
        assert "n new" not in title and "(read-only: no new, archive or delete)" in title
        for key in ("d", "a", "n"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, ExperimentSwitcher), key
            assert not isinstance(app.screen, ConfirmScreen | PromptScreen)
        said = [n.message for n in app._notifications]
        assert said.count("Read-only mode: new, archive and delete are off.") == 3
    assert [s.name for s in ex.summaries()] == ["one"]  # neither archived nor deleted


async def test_deleting_the_open_experiment_reopens_the_app_on_the_current_one(tmp_path):
    """Deleting the experiment the app showed left the app on it: its name in the header, its
    grid, and ctrl+s or L would have brought it back."""
    from hwscale_tui.tui.screens.modals import ConfirmScreen

    _save(tmp_path / "one.toml", "one")
    _save(tmp_path / "two.toml", "two")  # current, and what the app opens
    app = create_app(remember_state=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        assert app.screen.selected() == "two"
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.switch_to is not None, what="reopen")
    assert "two" not in [s.name for s in ex.summaries()]
    assert app.switch_to == ex.current_name() != "two"
    assert ExperimentSession.open().name == app.switch_to  # what the reopened app shows


async def test_archiving_the_open_experiment_reopens_the_app_and_another_stays(tmp_path):
    _save(tmp_path / "one.toml", "one")
    _save(tmp_path / "two.toml", "two")  # current
    app = create_app(remember_state=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        await pilot.press("up", "a")  # "one": not the open experiment, the app stays
        await wait_for(pilot, lambda: "one" not in [r.name for r in app.screen.rows], what="one")
        assert app.switch_to is None and app.session.name == "two"
        await pilot.press("a")  # "two", the open one
        await wait_for(pilot, lambda: app.switch_to is not None, what="reopen")
    assert app.switch_to == ex.current_name() != "two"


async def test_switching_away_from_unsaved_grid_edits_asks_first(tmp_path):
    """Quitting asked before discarding unsaved grid edits; switching experiment (or making a
    new one, which switches to it) dropped them without a word."""
    from hwscale_tui.tui.screens.modals import ConfirmScreen, PromptScreen

    _save(tmp_path / "one.toml", "one")
    _save(tmp_path / "two.toml", "two")  # current
    app = create_app(remember_state=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.session.set_field("sweep.max_trials", "5")
        assert app.session.dirty
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        await pilot.press("n")  # a new experiment: asked first, no: nothing asked for or made
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        assert "two has unsaved grid edits" in app.screen.question
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="back")
        await pilot.press("up", "enter")  # switch to "one"
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        assert "Leave it for one and discard them?" in app.screen.question
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="stays")
        assert app.switch_to is None and app.session.dirty
        assert not isinstance(app.screen, PromptScreen)
        await pilot.press("enter", "y")
        await wait_for(pilot, lambda: app.switch_to == "one", what="switch after yes")
    assert ex.read_current().name == "one"
