"""Defects a new user hit in a real terminal over SSH (QA pass 84), each driven by Pilot on
fake services."""

from __future__ import annotations

import pytest

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


# -- 2. an esc typed right before a space, ?, enter or ctrl key ----------------------------------
def _read(app, data: str) -> list:
    """The key events the app's terminal driver reads from ``data`` arriving in one burst (its
    parser, fed the bytes at once, then the end of input: what it does after the esc delay)."""
    import importlib

    parser = importlib.import_module(app.driver_class.__module__).XTermParser()
    return [*parser.feed(data), *parser.feed("")]


def test_the_parser_keeps_an_esc_typed_before_a_key_that_is_no_letter(tmp_path):
    """Textual read an esc and a space (or ?, enter, ctrl+c) typed within 100 ms as the space
    alone, the esc lost; an unknown escape sequence is still not read as an esc."""
    app, _ = make_app(tmp_path)
    for data, keys in (
        ("\x1b ", ["escape", "space"]),
        ("\x1b?", ["escape", "question_mark"]),
        ("\x1b\r", ["escape", "enter"]),
        ("\x1b\x03", ["escape", "ctrl+c"]),
        ("\x1bs", ["alt+s"]),  # a letter: alt+, the app presses both (app.esc_then)
        ("\x1b[?z", ["left_square_bracket", "question_mark", "z"]),  # no sequence known
        ("\x1b]11;x", ["right_square_bracket", "1", "1", "semicolon", "x"]),
    ):
        assert [e.key for e in _read(app, data)] == keys, repr(data)


async def test_esc_then_space_closes_the_help_and_toggles_the_pair(tmp_path):
    """'?' then esc and space in one burst on the grid: the help stayed open (the space went
    to it) and the pair was not switched off."""
    from hwscale_tui.tui.screens.modals import HelpScreen

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        assert "g1n1" not in app.session.cfg.grid.exclude
        for event in _read(app, "\x1b "):
            app.post_message(event)
        await wait_for(
            pilot,
            lambda: app.screen is grid and "g1n1" in app.session.cfg.grid.exclude,
            what="help closed, g1n1 off",
            timeout=10,
        )


async def test_esc_then_minus_leaves_the_filter_box_and_polls_faster(tmp_path):
    """esc and '-' typed together read as one key, "–" (the esc-digit pairs' table), typed
    into the trials filter box; now the box closes and the poll interval goes down."""
    from textual.widgets import Input

    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.poll_state is not None, what="first poll")
        box = screen.query_one("#filter-input", Input)
        await pilot.press("slash")
        await wait_for(pilot, lambda: app.focused is box, what="the filter box")
        interval = screen.poll_interval_s
        for event in _read(app, "\x1b-"):
            app.post_message(event)
        await wait_for(
            pilot, lambda: screen.poll_interval_s < interval, what="faster poll", timeout=10
        )
        assert "–" not in box.value and not box.has_class("shown")


# -- 3. y to the launch question and ctrl+q in one burst ------------------------------------------
async def test_yes_to_launch_and_quit_in_one_burst_launches_and_says_so(tmp_path):
    """L, then y and ctrl+q together (typeahead over SSH): ctrl+q, a priority key, quit before
    the y was read, or while the launch it asked for was being started: nothing was launched
    (or it was, at random) and the app printed nothing. Now the y is read first, the launch
    ends, and the note says which pairs keep running."""
    from hwscale_tui.tui.screens.modals import ConfirmScreen

    app, world = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.query("#launch-table"), what="launch screen")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        _burst(app, ("y", "y"), ("ctrl+q", None))
        await wait_for(pilot, lambda: not app.is_running, what="the app quit", timeout=10)
    assert ("launch", None) in world.supervisor.calls
    said = " ".join((app.return_value or "").split())
    assert "running in the background (g1n1" in said


@pytest.mark.parametrize("where", ["field", "help", "palette"])
async def test_ctrl_q_still_quits_from_a_form_field_a_dialog_and_the_palette(tmp_path, where):
    """ctrl+q, sent on behind the keys typed before it, still quits wherever the cursor is."""
    from textual.command import CommandPalette

    from hwscale_tui.tui.screens.modals import HelpScreen

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        if where == "field":
            await pilot.press("e")
            await wait_for(pilot, lambda: app.focused is not None, what="a field")
        elif where == "help":
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        else:
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what=f"quit from {where}")


# -- 4. x, o and k before the first poll has answered ---------------------------------------------
def _messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_x_o_and_k_before_the_first_poll_say_the_trials_are_being_read(tmp_path):
    """'3x' in one burst on an experiment with trials: "No trials to export." (o and k: "No
    trials yet: launch pairs on the launch screen (2).") while the first poll had not answered,
    and the trials were on screen a moment later. They now say the trials are being read."""
    import threading

    app, world = make_app(tmp_path, start="trials")
    answer = threading.Event()
    poll = world.source.poll
    world.source.poll = lambda: (answer.wait(30), poll())[1]  # type: ignore[method-assign]
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await wait_for(pilot, lambda: screen.query("#trial-table"), what="trials screen")
            for key in ("x", "o", "k"):
                await pilot.press(key)
            await wait_for(pilot, lambda: len(_messages(app)) >= 3, what="three notices")
            for message in _messages(app):
                assert "being read" in message and "launch pairs" not in message, message
            assert "being read" in str(screen.query_one("#trial-details").render())
            answer.set()
            await wait_for(pilot, lambda: screen.query_one("#trial-table").trials, what="poll")
            await pilot.press("x")
            await wait_for(pilot, lambda: any("written" in m for m in _messages(app)), what="csv")
    finally:
        answer.set()  # the poll's thread ends with the test


async def test_x_with_a_source_that_never_answered_says_why(tmp_path):
    """A trial source that failed from the start (no WANDB_API_KEY): x said "No trials to
    export." and o and k "No trials yet: launch pairs ...", the reason left to the side pane."""
    app, world = make_app(tmp_path, start="trials")
    world.source.fail_next = "WANDB_API_KEY is not set"
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.poll_state is not None, what="the failed poll")
        for key in ("x", "o"):
            await pilot.press(key)
        await wait_for(pilot, lambda: len(_messages(app)) >= 2, what="two notices")
        for message in _messages(app):
            assert "WANDB_API_KEY is not set" in message and "launch pairs" not in message


# -- 5. c typed with the key that shows the launch screen -----------------------------------------
async def test_c_typed_with_2_on_a_running_pair_asks_to_cancel_it(tmp_path):
    """'2c' in one burst from the grid while g1n1 ran: "g1n1 is not scheduled or running (not
    launched); nothing to cancel.", the rows drawn before the launch screen's first poll. They
    now start from the app's last look at the pairs, and c asks to cancel the running pair."""
    from hwscale_tui.tui.screens.modals import ConfirmScreen

    app, world = make_app(tmp_path, start="grid", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.pair_status_seen is not None, what="the app's look")
        assert world.supervisor.pairs["hardware_scaling.g1n1"].status == "running"
        _burst(app, ("2", "2"), ("c", "c"))
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen) or _messages(app),
            what="the question",
            timeout=10,
        )
        assert isinstance(app.screen, ConfirmScreen), _messages(app)
        assert "(running)" in str(app.screen.query_one("#confirm-question").render())


async def test_c_before_the_pairs_status_was_read_says_so(tmp_path):
    """Before any status was read the rows say "not launched" of every pair: c, C, l and r say
    the status is being read instead of acting on (or refusing) what the rows claim."""
    import threading

    app, world = make_app(tmp_path, start="grid", launched=True)
    answer = threading.Event()
    pair_status = world.supervisor.pair_status
    world.supervisor.pair_status = lambda *a, **k: (  # type: ignore[method-assign]
        answer.wait(30),
        pair_status(*a, **k),
    )[1]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await wait_for(pilot, lambda: app.screen.query("#launch-table"), what="launch")
            for key in ("c", "C", "l", "r"):
                app._notifications.clear()
                await pilot.press(key)
                await wait_for(pilot, lambda: _messages(app), what=f"{key}'s notice")
                assert all("being read" in m for m in _messages(app)), (key, _messages(app))
            assert not [c for c in world.supervisor.calls if c[0] != "launch"]
            answer.set()
            await wait_for(
                pilot, lambda: app.screen.status_read_for, what="the status read", timeout=10
            )
    finally:
        answer.set()


# -- 6. a key that comes back up twice ------------------------------------------------------------
async def test_a_new_experiment_typed_behind_e_in_one_burst_is_made(tmp_path):
    """'E', 'n', a name and enter in one burst: the switcher opened and nothing more. The n went
    to the grid's matrix, came back up and on to the switcher's list, which opened the name
    prompt; the name's letters, sent on to the list too, came back up a second time and were
    dropped (a key sent on was no longer told from a new one). Each goes on to where the cursor
    is, however often it comes back up: the experiment is made and the app switches to it."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        _burst(app, *_typed("Enab\n"))
        await wait_for(pilot, lambda: app.switch_to, what="the switch", timeout=10)
        assert app.switch_to == "ab"
