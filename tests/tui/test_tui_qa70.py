"""Defects a user reported in the app (QA pass 70), each driven by Pilot."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Label, Static

from hwscale_tui.tui.app import create_app
from tests.analysis.test_qa65_analyze import _killed_part_way
from tests.tui.test_tui_pilot import text_of
from tests.tui.tui_helpers import make_app, wait_for


# -- 1. the analysis screen names a pair stopped short, as analyze does ---------------------------
async def test_the_analysis_screen_names_a_pair_killed_part_way(tmp_path):
    """g2n1's sweep was killed (SIGKILL) after 1 of its 3 trials: `hwscale-tui analyze` says so
    in a note, the app's analysis screen ranked it beside g1n1's 3 trials with nothing said."""
    exp = _killed_part_way(tmp_path)
    app = create_app(experiment_file=exp, start="analysis")
    async with app.run_test(size=(140, 40)) as pilot:
        status = app.screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: "4 trials" in text_of(status), 120, "the analysis")
        notes = " ".join(
            text_of(app.screen.query_one("#analysis-tables", Static), width=400).split()
        )
        assert (
            "Stopped short: g2n1 was killed by signal 9 after 1 of its 3 trials, so the analysis "
            "has fewer trials than planned of it; hwscale-tui launch --experiment-name exp runs "
            "the rest."
        ) in notes


async def test_the_analysis_screen_says_nothing_of_pairs_that_ran_their_trials(tmp_path):
    exp = _killed_part_way(tmp_path, exit_code=0)  # ended by itself: done, not stopped short
    app = create_app(experiment_file=exp, start="analysis")
    async with app.run_test(size=(140, 40)) as pilot:
        status = app.screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: "4 trials" in text_of(status), 120, "the analysis")
        notes = text_of(app.screen.query_one("#analysis-tables", Static), width=400)
        assert "Stopped short" not in notes


# -- 2. ctrl+c in the help, as docs/tui.md says it and as it works --------------------------------
def _doc_row(key: str) -> str:
    """What docs/tui.md's Everywhere table says ``key`` does."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "tui.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith(f"| `{key}` |"))
    return row.split(" | ")[1]


async def test_help_lists_ctrl_c_everywhere_as_the_docs_say(tmp_path):
    """docs/tui.md lists ctrl+c under Everywhere; the help's Everywhere section left it out
    (a Textual system binding): a user looking for how to quit or copy did not find it."""
    from hwscale_tui.tui.screens.modals import HelpScreen

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        (everywhere,) = [rows for title, rows in app.screen.sections() if title == "Everywhere"]
        row = next(r for r in everywhere if r[2] == "app.help_quit")
        assert row[0] == app.get_key_display(Binding("ctrl+c", "")) == "^c"
        assert row[1] == _doc_row("ctrl+c")
        assert "app.help_quit" in text_of(app.screen.query_one("#help-keys", Static), width=200)


async def test_ctrl_c_does_what_the_help_says(tmp_path):
    """What the help's row says: no quitting; with nothing selected a notice names ctrl+q; in a
    text field its selection is copied (no notice); in a dialog nothing."""
    from textual.widgets import Input

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-experiment--name"), what="form")

        async def notices_after_ctrl_c() -> list[str]:
            app._notifications.clear()
            await pilot.press("ctrl+c")
            await pilot.pause()
            return [n.message for n in app._notifications]

        assert await notices_after_ctrl_c() == ["Press [b]ctrl+q[/b] to quit the app"]
        assert app.is_running
        await pilot.press("e")  # the name field, its text selected
        name = grid.query_one("#field-experiment--name", Input)
        assert app.focused is name and name.selected_text == "hardware_scaling"
        assert await notices_after_ctrl_c() == []
        assert app.clipboard == "hardware_scaling"
        await pilot.press("escape", "question_mark")
        await wait_for(pilot, lambda: app.screen is not grid, what="help")
        assert await notices_after_ctrl_c() == []
        assert app.is_running


# -- 3. o and k with a filter that matches no trial say so ----------------------------------------
async def test_o_and_k_with_a_filter_matching_nothing_name_the_filter(tmp_path):
    """`/zzz` then `o` or `k`: "No trial selected." (o) or nothing at all (k), the filter that
    hid every trial out of mind. Both say the filter matches nothing and how to clear it, and
    that way of clearing it works."""
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.poll_state is not None, what="first poll")
        table = screen.query_one("#trial-table")
        count = len(table.trials)
        assert count > 1
        await pilot.press("slash", "z", "z", "z", "enter")
        await wait_for(pilot, lambda: table.filter_terms == ["zzz"], what="the filter")
        for key in ("o", "k"):
            app._notifications.clear()
            await pilot.press(key)
            await pilot.pause()
            assert [n.message for n in app._notifications] == [
                f"No trial matches the filter 'zzz' ({count} trials in all), so none is "
                "highlighted: / then backspace and enter clears it."
            ]
        await pilot.press("slash", "backspace", "enter")  # as the notice says
        await wait_for(pilot, lambda: not table.filter_terms, what="the filter cleared")
        assert table.row_count == count


async def test_o_and_k_with_no_trials_say_there_are_none_yet(tmp_path):
    app, _ = make_app(tmp_path, start="trials", trials=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.poll_state is not None, what="first poll")
        for key in ("o", "k"):
            app._notifications.clear()
            await pilot.press(key)
            await pilot.pause()
            assert [n.message for n in app._notifications] == [
                "No trials yet: launch pairs on the launch screen (2)."
            ]


# -- 4. enter on the empty add-count prompt -------------------------------------------------------
async def test_enter_on_an_empty_add_count_prompt_keeps_it_open_with_a_hint(tmp_path):
    """`n` then enter: the prompt closed and nothing was added, its placeholder "e.g. 4" read
    as a default taken. It stays open, one line says what it takes, and a count typed then is
    added."""
    from hwscale_tui.tui.screens.modals import PromptScreen

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen
        before = list(app.session.cfg.grid.node_counts)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the prompt")
        prompt = app.screen
        placeholder = prompt.query_one("#prompt-input").placeholder
        assert placeholder.startswith("e.g. ")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is prompt
        error = prompt.query_one("#prompt-error", Label)
        assert error.has_class("shown") and error.region.height == 1
        assert text_of(error) == f"Type a count first ({placeholder}); esc cancels."
        assert app.session.cfg.grid.node_counts == before
        await pilot.press("3", "enter")
        await wait_for(pilot, lambda: app.screen is grid, what="the prompt closed")
        assert app.session.cfg.grid.node_counts == sorted([*before, 3])


# -- 5. node columns out of view at 80 columns are named ------------------------------------------
async def test_node_columns_out_of_view_are_named_under_the_matrix(tmp_path):
    """node_counts [1, 2, 4, 8] at 80x24: the matrix is wider than its pane and scrolled
    sideways with nothing saying so, its 8-node column hidden until the cursor reached it. A
    line under it names the columns out of view on either side, as the cursor scrolls it; with
    room for every column the line goes."""
    from hwscale_tui.config import default_config

    cfg = default_config()
    cfg.grid.node_counts = [1, 2, 4, 8]
    app, _ = make_app(tmp_path, cfg=cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        line = app.screen.query_one("#matrix-more", Label)
        await wait_for(pilot, lambda: line.display, what="the line")
        assert text_of(line) == "out of view: 8 nodes →"  # 4 nodes is whole on screen
        assert line.region.height == 1 and line.region.width >= len(text_of(line))
        await pilot.press("right", "right", "right")
        await wait_for(pilot, lambda: "←" in text_of(line), what="scrolled")
        assert text_of(line) == "out of view: ← 1 node"
        await pilot.press("n", "1", "6", "enter")  # one more: columns out of view on both sides
        await wait_for(pilot, lambda: "16 nodes" in text_of(line), what="16 nodes")
        assert text_of(line) == "out of view: ← 1 node | 16 nodes →"
        await pilot.resize_terminal(120, 30)
        await wait_for(pilot, lambda: not line.display, what="the line gone")
