"""Defects found in the app (QA pass 59), each driven by Pilot on fake services."""

from __future__ import annotations

from hwscale_tui.tui.screens.modals import ConfirmScreen
from tests.tui.test_tui_pilot import text_of
from tests.tui.tui_helpers import make_app, wait_for

SIZE = (80, 24)


def _cell(screen, sweep: str, column: str) -> str:
    value = screen.query_one("#launch-table").get_cell(sweep, column)
    return getattr(value, "plain", str(value))


# -- 1. a dialog no longer freezes the screen behind it ------------------------------------------
async def test_the_launch_countdown_goes_on_behind_a_question(tmp_path):
    """The launch screen polls every second; with a question open over it (cancel all?) the
    screen stays in view around the dialog, yet its polls stopped: g1n2's ``in 1m00s`` stood
    still however long the question was open."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        sweep = "hardware_scaling.g1n2"
        await wait_for(pilot, lambda: _cell(screen, sweep, "starts") == "in 1m00s", what="60s")
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        world.clock.now += 15
        await wait_for(
            pilot, lambda: _cell(screen, sweep, "starts") == "in 45s", what="the countdown"
        )
        world.supervisor.pairs[sweep].status = "running"  # the supervisor started it meanwhile
        await wait_for(pilot, lambda: _cell(screen, sweep, "status") == "running", what="running")
        assert isinstance(app.screen, ConfirmScreen)  # all while the question was open
        await pilot.press("n")


async def test_the_trials_retry_countdown_goes_on_behind_a_question(tmp_path):
    """A stale source's ``retry in 30s`` read ``retry paused`` as soon as a dialog opened (the
    stop-trial question), and the retry waited for the dialog to close: it counts down."""
    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        status = screen.query_one("#poll-status")
        await wait_for(pilot, lambda: screen.poll_state is not None, what="first poll")
        world.source.fail_next = "rate limited by W&B (HTTP 429, reset in 30 s)"
        world.source.retry_after_s = 30.0
        await pilot.press("R")
        await wait_for(pilot, lambda: "(retry in 30s)" in text_of(status), what="stale")
        table = screen.query_one("#trial-table")
        running = next(
            i
            for i, rid in enumerate(table.visible_run_ids())
            if table.trials[rid].state == "running"
        )
        table.move_cursor(row=running, animate=False)
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        world.clock.now += 10
        await wait_for(pilot, lambda: "(retry in 20s)" in text_of(status), what="20s")
        assert isinstance(app.screen, ConfirmScreen) and "paused" not in text_of(status)
        await pilot.press("n")


# -- 2. the grid form names ranks in local mode -------------------------------------------------
def _form_labels(grid) -> list[str]:
    from textual.widgets import Label

    return [text_of(label) for label in grid.query(".form-label").results(Label)]


async def test_the_grid_form_says_ranks_in_local_mode(tmp_path):
    """Local mode's pairs are CPU ranks (the matrix's rows, ``+ranks``, the price line), yet the
    form said ``max GPUs/node`` and ``$/GPU-hour`` (now ``max rank/node``, short enough for the
    80-column form, as the footer's ``+rank``). A runner change to metta (GPUs) brings the
    GPU words back, and builtin takes them away again; a bad value's refusal names the field as
    the form does."""
    from textual.widgets import Input

    from hwscale_tui.tui.widgets.choice import ChoiceField

    app, _ = make_app(tmp_path)
    assert app.session.cfg.local_ranks
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form mounted")
        labels = _form_labels(grid)
        assert "max rank/node" in labels and "$/rank-hour" in labels
        # at 80 columns the labels' column is 14 wide: a 14-letter label touched its value
        # ("max ranks/node8")
        assert all(len(label) <= 13 for label in labels)
        assert not any("GPU" in label for label in labels if label != "GPU type")
        runner = grid.query_one("#field-experiment--runner", ChoiceField)
        runner.focus()
        await pilot.press("right")  # metta: pairs are GPUs
        await wait_for(pilot, lambda: not app.session.cfg.local_ranks, what="metta")
        await wait_for(pilot, lambda: "max GPUs/node" in _form_labels(grid), what="GPUs")
        assert "$/GPU-hour" in _form_labels(grid) and "max rank/node" not in _form_labels(grid)
        await pilot.press("left")
        await wait_for(pilot, lambda: "max rank/node" in _form_labels(grid), what="ranks again")
        field = grid.query_one("#field-grid--max_gpus_per_node", Input)
        field.focus()
        field.value = "0"
        await wait_for(pilot, lambda: grid.form_error() is not None, what="the error")
        assert grid.form_error().startswith("max rank/node: ")


# -- 3. the grid's pair details say a pair runs while it runs -----------------------------------
def _with_experiment_and_generation(app, world) -> None:
    """The fake supervisor's status names its experiment and generation, as the real one does
    (the grid reads only a status of the experiment and generation on screen)."""
    pair_status = world.supervisor.pair_status

    def named(experiment, store=None):
        status = pair_status(experiment, store)
        status.experiment, status.generation = experiment, app.session.cfg.generation
        return status

    world.supervisor.pair_status = named


def _state_line(details) -> str:
    """What the pair details' ``state`` line says ("" while there is none)."""
    shown = text_of(details, width=400).splitlines()
    line = next((x for x in shown if x.startswith("state ")), "state ")
    return line.removeprefix("state").strip()


async def test_the_pair_details_say_running_while_the_pair_runs(tmp_path):
    """The grid's details said ``state  will run`` of g1n1 while its sweep was running (and of
    g1n2 while it waited for its start); they say what the launch screen says. Once the pair
    has ended, it will run again on L, and its last launch's end is named."""
    from textual.widgets import Static

    app, world = make_app(tmp_path, launched=True)
    _with_experiment_and_generation(app, world)
    async with app.run_test(size=(100, 34)) as pilot:
        grid = app.screen
        details = grid.query_one("#pair-details", Static)

        def state() -> str:
            return _state_line(details)

        await wait_for(pilot, lambda: app.pair_status_seen is not None, what="the first look")
        await wait_for(pilot, lambda: "g1n1" in text_of(details, width=400), what="g1n1")
        await wait_for(pilot, lambda: state().startswith("running"), what="running")
        assert "will run" not in state()
        await pilot.press("right")  # g1n2: due to start in a minute
        await wait_for(pilot, lambda: state().startswith("scheduled"), what="scheduled")
        await pilot.press("left")
        world.supervisor.pairs["hardware_scaling.g1n1"].status = "cancelled"
        await wait_for(pilot, lambda: state().startswith("will run"), what="ended")
        assert "(its last launch: cancelled)" in state()


# -- 4. the trials filter closes when the cursor leaves it ----------------------------------------
async def test_tab_out_of_the_trials_filter_closes_it(tmp_path):
    """``/``, "g2n1", then tab: the cursor went to the table while the box stayed open under it
    with its text (typed into no more, applied to nothing). It closes as esc closes it; ``/``
    opens it again with the filter in force."""
    from textual.widgets import Input

    from hwscale_tui.tui.screens.base import HwFooter
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        table = screen.query_one(TrialTable)
        box = screen.query_one("#filter-input", Input)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        await pilot.press("slash", *"g2n1")
        assert box.display and box.has_focus and box.value == "g2n1"
        await pilot.press("tab")
        await wait_for(pilot, lambda: not box.has_focus, what="the cursor leaves")
        await wait_for(pilot, lambda: not box.display, what="the box closes")
        assert table.row_count == 32 and not table.filter_terms  # enter was not pressed
        assert "/" in dict(screen.query_one(HwFooter).shown_keys())
        await pilot.press("slash")
        assert box.display and box.has_focus and box.value == ""
        await pilot.press(*"g2n1", "enter")
        assert table.row_count == 4 and not box.display


# -- 5. the launch table at 60 columns keeps its important columns --------------------------------
def _launch_columns(screen) -> dict[str, int]:
    table = screen.query_one("#launch-table")
    return {c.key.value: c.width for c in table.ordered_columns}


async def test_the_launch_table_keeps_pair_status_trials_and_best_at_60_columns(tmp_path):
    """At 60 columns (a narrow SSH window) the table ran past the screen's edge and cut its
    last columns: best and cost, and part of the ETA. Cost gives way first, then the ETA (while
    a pair counts down to its start) or the countdown (the line under the table still says
    the highlighted pair's ETA and cost); a long status is shown whole."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=(60, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("#launch-table")
        await wait_for(
            pilot, lambda: any(r.countdown != "-" for r in screen.rows.values()), what="rows"
        )
        await wait_for(pilot, lambda: "starts" in _launch_columns(screen), what="the countdown")
        columns = _launch_columns(screen)
        assert list(columns) == ["pair", "status", "starts", "trials", "best"]
        assert sum(w + 2 for w in columns.values()) <= table.scrollable_content_region.width
        for p in world.supervisor.pairs.values():  # ended while no supervisor watched them
            p.status, p.exit_code, p.planned_start = "exited", None, None
        await wait_for(
            pilot,
            lambda: _launch_columns(screen).get("status", 0) >= len("exited (code unknown)"),
            what="the status whole",
        )
        columns = _launch_columns(screen)
        assert {"pair", "trials", "best"} <= set(columns) and "cost" not in columns
        assert sum(w + 2 for w in columns.values()) <= table.scrollable_content_region.width
        await pilot.resize_terminal(80, 24)  # 80 columns: the columns as before
        await wait_for(pilot, lambda: "cost" in _launch_columns(screen), what="80 columns")
        assert list(_launch_columns(screen)) == ["pair", "status", "trials", "eta", "cost", "best"]


async def test_the_pair_details_are_up_to_date_when_the_grid_is_shown_again(tmp_path):
    """Back on the grid after the pair ended (seen by the app's watch while the launch screen
    was shown), its state line said ``running`` until the watch's next look, up to 2 s later."""
    from textual.widgets import Static

    app, world = make_app(tmp_path, launched=True)
    _with_experiment_and_generation(app, world)
    async with app.run_test(size=(100, 34)) as pilot:
        grid = app.screen
        details = grid.query_one("#pair-details", Static)

        def state() -> str:
            return _state_line(details)

        await wait_for(pilot, lambda: state().startswith("running"), what="running")
        await pilot.press("2")
        await wait_for(pilot, lambda: app.current_mode == "launch", what="the launch screen")
        world.supervisor.pairs["hardware_scaling.g1n1"].status = "cancelled"

        def seen() -> bool:
            status = app.pair_status_seen
            return any(p.status == "cancelled" for p in status.pairs)

        await wait_for(pilot, seen, what="the watch sees it")
        await pilot.press("1")
        await pilot.pause()
        assert app.current_mode == "grid"
        assert state().startswith("will run (its last launch: cancelled)"), state()


# -- found by hand: a tall question covered the footer --------------------------------------------
async def test_a_tall_question_leaves_the_header_and_the_footer_in_view(tmp_path):
    """The launch question at 80x24 is taller than the screen: its box took every row and
    covered the footer (``y Yes n No ?``, ``Help`` under the box) and the header. It keeps a
    row above and below (its text scrolls, its buttons stay in view); a resize follows."""
    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.rows) == 8, what="planned rows")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.pause()
        for height in (24, 16):
            await pilot.resize_terminal(80, height)
            await pilot.pause()
            box = app.screen.query_one("#confirm-box").region
            assert box.y >= 1 and box.bottom <= height - 1, (height, box)
            assert app.screen.query_one("#yes").region.bottom <= box.bottom


# -- found by hand: quitting dropped a typed value the form refused -------------------------------
async def test_quitting_asks_about_a_typed_value_the_form_shows_an_error_for(tmp_path):
    """max trials typed as ``abc`` (its error under the field, so not in force and the
    experiment not marked edited): ctrl+q quit at once and dropped it, where an edit in force
    asks first. It asks too; ``n`` stays, ``y`` quits with the note that edits were discarded."""
    from textual.widgets import Input

    from tests.tui.tui_helpers import shown_error

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-sweep--max_trials"), what="form")
        field = grid.query_one("#field-sweep--max_trials", Input)
        field.focus()
        field.value = "abc"
        await wait_for(pilot, lambda: shown_error(grid, "sweep.max_trials"), what="the error")
        assert not app.session.dirty
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        question = app.screen.question
        assert "max trials: got 'abc'" in question and "Quit and discard it?" in question
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="stays")
        assert app.is_running and field.value == "abc"
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="again")
        await pilot.press("y")
    assert "Unsaved grid edits were discarded" in (app.return_value or "")


async def test_switching_experiment_asks_about_a_typed_value_the_form_refused(tmp_path):
    """The experiment switcher left the experiment (and the typed ``abc``) without a word,
    as quitting did: it asks first too."""
    from textual.widgets import Input

    from hwscale_tui import config as cfgmod
    from hwscale_tui.launch import experiments as ex
    from hwscale_tui.tui.app import create_app
    from hwscale_tui.tui.experiment_switcher import ExperimentSwitcher
    from tests.tui.tui_helpers import shown_error

    for name in ("one", "two"):  # two is current
        cfg = cfgmod.apply_overrides(cfgmod.default_config(env={}), {"experiment.name": name})
        cfgmod.save(cfg, tmp_path / f"{name}.toml")
        ex.remember(name, tmp_path / f"{name}.toml")
    app = create_app(remember_state=False, start="grid")
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-sweep--max_trials"), what="form")
        field = grid.query_one("#field-sweep--max_trials", Input)
        field.focus()
        field.value = "abc"
        await wait_for(pilot, lambda: shown_error(grid, "sweep.max_trials"), what="the error")
        await pilot.press("escape", "E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        await pilot.press("up", "enter")  # switch to "one"
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        question = app.screen.question
        assert (
            "max trials: got 'abc'" in question and "Leave it for one and discard it?" in question
        )
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="stays")
        assert app.switch_to is None
        await pilot.press("enter", "y")
        await wait_for(pilot, lambda: app.switch_to == "one", what="switch after yes")


# -- found by hand: the app's estimates no longer read the experiment's measured throughput -------
async def test_the_launch_question_estimates_from_this_experiments_earlier_runs(tmp_path):
    """The core reads measured throughput only for an experiment it is told (another's may
    train something else); the app named none, so its launch question said "no throughput
    measured yet" after this very experiment had run the same pairs."""
    from hwscale_tui.store import Store

    with Store.open_default() as store:  # an earlier run of this experiment: 1000 steps/s
        store.upsert_sweep(
            "hardware_scaling.old", experiment="hardware_scaling", gpus=1, nodes=1,
            runner="builtin",
        )  # fmt: skip
        for i in range(3):
            store.insert_trial(
                f"old{i}", "hardware_scaling.old", experiment="hardware_scaling", gpus=1,
                nodes=1, state="finished", sps=1000.0,
            )  # fmt: skip
    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.rows) == 8, what="planned rows")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        question = app.screen.question
        assert "no throughput measured yet" not in question, question
        assert "this experiment's earlier runs" in question, question


# -- found by hand: esc and a letter arriving together lost the esc -------------------------------
async def test_esc_then_a_letter_read_as_one_key_closes_the_filter_and_runs_the_letter(tmp_path):
    """``/``, "g2", then esc and ``s`` together (fast typing, or keys an SSH link delivers
    together): Textual reads them as one key, ``alt+s`` with the character "s", which typed
    "g2s" into the filter and left it open. The app presses esc, then s (as it does esc and a
    digit): the filter closes and the table sorts."""
    from textual import events
    from textual.widgets import Input

    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        table = screen.query_one(TrialTable)
        box = screen.query_one("#filter-input", Input)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        await pilot.press("slash", *"g2")
        app.post_message(events.Key("alt+s", "s"))  # Textual's key for "\x1bs"
        await wait_for(pilot, lambda: table.sort_column == "trial", what="sorted")
        assert not box.display and box.value == "g2" and not table.filter_terms
        app.post_message(events.Key("alt+shift+s", "S"))  # esc (nothing open), then S
        await wait_for(pilot, lambda: table.sort_reverse, what="reversed")
        assert app.current_mode == "trials"  # (opened on trials: no screen to go back to)
