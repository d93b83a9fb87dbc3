"""Defects a new user hit in a real terminal over SSH (QA pass 84), each driven by Pilot on
fake services."""

from __future__ import annotations

from tests.tui.tui_helpers import make_app, wait_for

SIZE = (80, 24)


def _burst(app, *keys: tuple[str, str | None]) -> None:
    """Keys arriving together (typeahead over SSH): posted with no wait between them."""
    from textual import events

    for key, character in keys:
        app.post_message(events.Key(key, character))


def _typed(text: str) -> list[tuple[str, str | None]]:
    """The keys of ``text`` as a terminal sends them (a newline is enter)."""
    from textual.keys import _character_to_key

    return [
        ("enter", "\r") if c == "\n" else (c if c.isalnum() else _character_to_key(c), c)
        for c in text
    ]


# -- 1. keys typed behind an enter that closes a text field ---------------------------------------
async def test_keys_typed_behind_the_enter_of_a_prompt_go_to_the_screen_below(tmp_path):
    """'n3', enter, 'n5', enter in one burst on the grid: the 3 was added, the 5 never was. The
    n, 5 and enter went to the prompt's field behind the enter (its answer was acted on only
    after them), so they were typed into a field that closed. They now go where the cursor is
    once the enter was acted on: the second n opens a second prompt, which takes the 5."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        before = list(app.session.cfg.grid.node_counts)
        assert 3 not in before and 5 not in before
        _burst(app, *_typed("n3\nn5\n"))
        await wait_for(
            pilot,
            lambda: 5 in app.session.cfg.grid.node_counts and app.screen is grid,
            what="both node counts added",
            timeout=10,
        )
        assert list(app.session.cfg.grid.node_counts) == sorted([*before, 3, 5])


async def test_a_key_typed_behind_the_enter_of_the_trials_filter_sorts(tmp_path):
    """'/g2n', enter and 's' in one burst: the filter was applied, the s went into the filter
    box behind the enter that hid it, and the table was not sorted."""
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.poll_state is not None, what="first poll")
        table = screen.query_one(TrialTable)
        assert not table.sort_column
        _burst(app, *_typed("/g2n\ns"))
        await wait_for(pilot, lambda: table.sort_column, what="the sort", timeout=10)
        assert table.filter_terms == ["g2n"] and app.focused is table
