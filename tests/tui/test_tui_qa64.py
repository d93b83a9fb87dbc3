"""Defects a demanding new user hit in a real terminal over SSH (QA pass 64), each driven by
Pilot on fake services."""

from __future__ import annotations

from tests.tui.tui_helpers import make_app, shown_error, wait_for

SIZE = (80, 24)


def _fully_shown(widget) -> bool:
    """Whether every line of ``widget`` is on screen (not scrolled out of its container)."""
    geometry = widget.screen.find_widget(widget)
    return bool(geometry.region.height) and geometry.clip.contains_region(geometry.region)


# -- 1. the error under the form's last field is shown --------------------------------------------
async def test_the_error_under_the_last_form_field_scrolls_into_view(tmp_path):
    """The analysis target is the form's last field; typed 'a' there, its error ("got 'a';
    accepted: ...") went under the form's bottom edge: the field kept the cursor, save refused,
    and the screen showed no reason."""
    from textual.widgets import Input

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        field = grid.query_one("#field-analysis--target", Input)
        field.focus()
        await pilot.pause()
        await wait_for(pilot, lambda: _fully_shown(field), what="the field in view")
        await pilot.press("end", "a")
        await wait_for(pilot, lambda: shown_error(grid, "analysis.target"), what="the error")
        error = shown_error(grid, "analysis.target")
        await wait_for(pilot, lambda: _fully_shown(error), what="the error in view", timeout=5)
        assert _fully_shown(field)


# -- 2. e pressed as the grid appears -------------------------------------------------------------
async def test_e_typed_with_the_key_that_shows_the_grid_focuses_the_form(tmp_path):
    """``1e`` in one burst (typeahead over SSH) on the launch screen: the grid came up, and ``e``
    crashed the app (NoMatches: '#field-experiment--name'), its form being mounted only after
    the grid's first frame. Now ``e`` mounts the form's first section at once and focuses the
    name, and what is typed next goes into it; the rest of the form follows, each field once."""
    from textual.widgets import Input

    from hwscale_tui.tui.screens.grid import FORM_FIELDS

    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.query("#launch-table"), what="launch screen")
        await pilot.press("1", "e", "x")
        grid = app.screen
        name = grid.query_one("#field-experiment--name", Input)
        assert app.focused is name
        assert name.value == "x"  # typed over the name, selected on focus as after any e
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="whole form")
        await pilot.pause()
        for f in FORM_FIELDS.values():  # every field mounted once
            assert len(grid.query("#" + f.widget_id)) == 1, f.dotted


# -- 3. keys typed behind the one that moves the cursor go where it moved ---------------------------
def _burst(app, *keys: tuple[str, str | None]) -> None:
    """Keys arriving together (typeahead over SSH): posted with no wait between them."""
    from textual import events

    for key, character in keys:
        app.post_message(events.Key(key, character))


async def test_keys_typed_behind_slash_go_into_the_trials_filter(tmp_path):
    """'/g2n' and enter in one burst: Textual moves the cursor into the filter box only after
    the keys already queued, so g, 2 and n went to the table, and the 2 switched to the launch
    screen (with the box taking the cursor at once, the app then dropped them: the box takes
    printable keys). Each now goes where the key before it moved the cursor."""
    from textual.widgets import Input

    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.poll_state is not None, what="first poll")
        box = screen.query_one("#filter-input", Input)
        table = screen.query_one("#trial-table")
        _burst(app, ("slash", "/"), ("g", "g"), ("2", "2"), ("n", "n"), ("enter", None))
        await wait_for(
            pilot,
            lambda: table.filter_terms or app.current_mode != "trials",
            what="the filter applied",
            timeout=10,
        )
        assert app.current_mode == "trials"
        assert table.filter_terms == ["g2n"] and not box.has_class("shown")


async def test_keys_typed_behind_e_go_into_the_grid_form(tmp_path):
    """'e' and a new name in one burst: the name's letters went to the matrix (n asked for a
    node count, y copied the command) instead of into the name field e had moved to."""
    from textual.widgets import Input

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        name = grid.query_one("#field-experiment--name", Input)
        _burst(app, ("e", "e"), *((c, c) for c in "ny2"))
        await wait_for(pilot, lambda: name.value == "ny2" or app.screen is not grid, timeout=10)
        assert app.screen is grid and app.focused is name and name.value == "ny2"


async def test_a_down_typed_behind_esc_moves_the_matrix_cursor(tmp_path):
    """esc and down in one burst from a form field (esc leaves the form for the matrix): the
    down was lost, the matrix's cursor stayed on g1n1."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        grid.query_one("#field-grid--max_gpus_per_node").focus()
        await pilot.pause()
        matrix = grid.query_one("#pair-matrix")
        assert matrix.cursor_coordinate.row == 0
        _burst(app, ("escape", None), ("down", None))
        await wait_for(pilot, lambda: matrix.cursor_coordinate.row == 1, what="down", timeout=10)
        assert app.focused is matrix


# -- 4. the name field refuses another experiment's name -------------------------------------------
async def test_the_name_field_refuses_the_name_of_another_experiment(tmp_path):
    """exp2 (made from hardware_scaling) renamed 'hardware_scaling' in the name field showed no
    error, and ctrl+s wrote exp2's file under that name: the store then pointed
    hardware_scaling, its trials and generations, at exp2's file, while its own file still said
    hardware_scaling. The field says the name is taken, as the switcher's new-name prompt
    does, and nothing is saved; the experiment's own name, typed back, is taken again."""
    from textual.widgets import Input

    from hwscale_tui.config import apply_overrides, default_config
    from hwscale_tui.launch.experiments import file_for, new_from, remember

    first = tmp_path / "first.toml"
    remember("hardware_scaling", _save(first))
    new_from("hardware_scaling", "exp2")
    cfg = apply_overrides(default_config(), {"experiment.name": "exp2"})
    app, _ = make_app(tmp_path, cfg=cfg)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        name = grid.query_one("#field-experiment--name", Input)
        name.focus()
        name.value = "hardware_scaling"
        await wait_for(pilot, lambda: shown_error(grid, "experiment.name"), what="the error")
        assert grid.field_errors["experiment.name"] == (
            "an experiment named 'hardware_scaling' already exists; accepted: a new name "
            "(hwscale-tui experiments lists the taken ones)."
        )
        assert app.session.cfg.name == "exp2"  # not in force
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not app.session.path.exists()  # refused: nothing written
        assert file_for("hardware_scaling") == first.resolve()
        name.value = "exp3"  # a new name is taken at once
        await wait_for(pilot, lambda: not shown_error(grid, "experiment.name"), what="ok")
        assert app.session.cfg.name == "exp3"
        name.value = "exp2"  # and its own name back
        await wait_for(pilot, lambda: app.session.cfg.name == "exp2", what="its own name")
        assert not shown_error(grid, "experiment.name")


def _save(path):
    from hwscale_tui.config import default_config, save

    return save(default_config(), path)


# -- 5. an invalid row's reason counts ranks in local mode ----------------------------------------
async def test_an_invalid_rows_reason_counts_ranks_in_local_mode(tmp_path):
    """max rank/node lowered to 1: the row '2 ranks' read '✗ invalid', its state line 'invalid:
    2 GPUs per node is more than max_gpus_per_node = 1', and space on it noticed the file's
    path and key and 'at most max_gpus_per_node = 1 GPUs per node'."""
    from textual.widgets import Input

    from tests.tui.test_tui_pilot import text_of

    app, _ = make_app(tmp_path)
    assert app.session.cfg.local_ranks
    async with app.run_test(size=(100, 30)) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        field = grid.query_one("#field-grid--max_gpus_per_node", Input)
        field.focus()
        field.value = "1"
        await wait_for(pilot, lambda: app.session.cfg.grid.max_gpus_per_node == 1, what="1")
        await pilot.press("escape", "down")
        details = grid.query_one("#pair-details")
        await wait_for(pilot, lambda: "g2n1" in text_of(details, width=200), what="g2n1")
        shown = " ".join(text_of(details, width=200).split())
        assert "invalid: 2 ranks per node is more than max_gpus_per_node = 1" in shown
        state = shown.split(" state ", 1)[1].split(" sweep ", 1)[0]
        assert state == "invalid: 2 ranks per node is more than max_gpus_per_node = 1"
        app.clear_notifications()
        await pilot.press("space")
        await wait_for(pilot, lambda: app._notifications, what="the notice")
        assert [n.message for n in app._notifications] == [
            "g2n1 is not a valid pair (2 ranks per node is more than max_gpus_per_node = 1); "
            "accepted: pairs with at most 1 rank per node."
        ]


# -- 6. the grid's marks follow a on the analysis screen ------------------------------------------
async def test_the_grid_marks_follow_the_ascii_key(tmp_path):
    """a on the analysis screen switches plots, bars and marks to ASCII "on every screen": the
    trials' ★ and the launch bars followed, the grid kept its ✓ (and, started with --ascii, kept
    + after a switched back)."""
    app, _ = make_app(tmp_path)

    def marks(grid) -> str:
        matrix = grid.query_one("#pair-matrix")
        return "".join(str(matrix.get_cell_at((r, 0))) for r in range(matrix.row_count))

    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        assert "✓" in marks(grid) and "+" not in marks(grid)
        for ascii_now, mark in ((True, "+"), (False, "✓")):
            await pilot.press("4")
            await wait_for(pilot, lambda: app.current_mode == "analysis", what="analysis")
            await pilot.press("a")
            assert app.ascii_only is ascii_now
            await pilot.press("1")
            await wait_for(pilot, lambda: app.current_mode == "grid", what="grid")
            await pilot.pause()
            assert mark in marks(grid), marks(grid)


# -- 7. a keymap.toml that is not TOML is said as long as its other notices ------------------------
async def test_a_keymap_that_is_not_toml_is_said_as_long_as_the_other_keymap_notices(tmp_path):
    """keymap.toml with a line that is not TOML: '<path>: ignored (Expected '=' after a key
    ...)' came for Textual's default 5 s at start-up (gone before a slow SSH link showed the
    screen; the notices about an unknown id or a clash stay 15 s) and did not say that no key
    was remapped or what the file takes."""
    from hwscale_tui.paths import app_paths

    config = app_paths().ensure().config
    (config / "keymap.toml").write_text("launch.all A\n")
    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app._notifications, what="the notice")
        (notice,) = list(app._notifications)
        assert notice.message.startswith(f"{config / 'keymap.toml'} is not TOML (")
        assert notice.message.endswith(
            '), so no key is remapped; accepted: lines like "launch.all" = "A" or '
            '"trials.filter" = "f,slash".'
        )
        assert notice.timeout == 15
    (config / "keymap.toml").write_text('"launch.al" = "A"\n"trials.filter" = 5\n')
    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app._notifications) == 2, what="both notices")
        assert [n.timeout for n in app._notifications] == [15, 15]
