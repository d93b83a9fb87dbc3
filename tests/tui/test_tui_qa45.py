"""Defects a demanding new user hit in a real terminal (QA pass 45): launching while the grid
form shows an error, ..."""

from __future__ import annotations

from textual.widgets import Input

from hwscale_tui.tui.screens.modals import ConfirmScreen
from tests.tui.tui_helpers import make_app, shown_error, wait_for

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
        await wait_for(pilot, lambda: shown_error(grid, "sweep.max_trials"), what="the error")
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
        await wait_for(pilot, lambda: not shown_error(grid, "sweep.max_trials"), what="fixed")
        await pilot.press("escape", "2", "L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "24 trials in all" in app.screen.question


# -- the add-count prompts say which counts they take ---------------------------------------------


async def _prompt_answer(pilot, app, key: str, answer: str) -> str:
    """Open the add-count prompt with ``key``, type ``answer`` and return the error shown."""
    from textual.widgets import Label

    from hwscale_tui.tui.screens.modals import PromptScreen
    from tests.tui.test_tui_pilot import text_of

    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the prompt")
    prompt = app.screen
    await pilot.press(*answer, "enter")
    await wait_for(pilot, lambda: prompt.query_one("#prompt-error").display, what="error")
    return text_of(prompt.query_one("#prompt-error", Label))


async def test_the_add_count_prompts_suggest_and_name_the_counts_they_take(tmp_path):
    """The rows' prompt suggested 'e.g. 16', which the default max GPUs/node (8) refuses; 5000
    nodes (or 2000 GPUs per node) got the config's sentence about a list ("got [1, 2, 5000]
    (counts must be from 1 to 4096); accepted: a list of integers ...") and 'abc' claimed any
    whole number >= 1 would do."""
    from hwscale_tui.tui.screens.modals import PromptScreen

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#pair-matrix"), what="matrix")
        assert list(app.session.cfg.grid.gpu_counts) == [1, 2, 4, 8]
        assert app.session.cfg.local_ranks  # rows are CPU ranks, and the sentence says so
        assert await _prompt_answer(pilot, app, "g", "2000") == (  # the CLI's, as 9 gets
            "2000 ranks is more than max_gpus_per_node = 8; accepted: integers from 1 to 8."
        )
        assert app.screen.placeholder == "e.g. 7"  # twice 8 does not fit: the largest free one
        await pilot.press("escape")
        assert await _prompt_answer(pilot, app, "n", "5000") == (
            "5000 is more than 4096, the most nodes a pair can have; accepted: a whole number "
            "from 1 to 4096."
        )
        assert app.screen.placeholder == "e.g. 4"  # the default columns are 1 and 2 nodes
        await pilot.press("escape")
        assert (await _prompt_answer(pilot, app, "n", "abc")).endswith(
            "accepted: a whole number from 1 to 4096."
        )
        await pilot.press("escape")
        assert list(app.session.cfg.grid.node_counts) == [1, 2]
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the prompt")
        await pilot.press("4", "enter")  # the suggestion is taken
        await wait_for(pilot, lambda: not isinstance(app.screen, PromptScreen), what="closed")
        assert list(app.session.cfg.grid.node_counts) == [1, 2, 4]


async def test_the_rows_prompt_says_gpus_when_pairs_are_gpus(tmp_path):
    """The local default's rows are CPU ranks ("2000 ranks is more than ..."); with the metta
    runner the pairs are GPUs, and the rows' prompt says GPUs, as the CLI does."""
    from hwscale_tui.config import default_config

    app, _ = make_app(tmp_path, cfg=default_config("metta"))
    assert not app.session.cfg.local_ranks
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#pair-matrix"), what="matrix")
        top = app.session.cfg.grid.max_gpus_per_node
        assert await _prompt_answer(pilot, app, "g", "2000") == (
            f"2000 GPUs is more than max_gpus_per_node = {top}; accepted: integers from 1 to {top}."
        )


# -- a command with an unclosed quote says so -----------------------------------------------------


async def test_a_command_with_an_unclosed_quote_says_so_under_its_field(tmp_path):
    """The launch command field is a line of words; an unclosed quote read 'got "python
    'x"; accepted: a list of strings.', which is how the file holds it, not how it is typed."""

    from tests.tui.test_tui_pilot import text_of

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(100, 34)) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-launch--command"), what="form")
        field = grid.query_one("#field-launch--command", Input)
        field.focus()
        field.value = "python 'my run.py"
        await wait_for(pilot, lambda: shown_error(grid, "launch.command"), what="the error")
        error = text_of(shown_error(grid, "launch.command"), width=200)
        assert error == (
            'got "python \'my run.py": a quote is not closed; accepted: words as a shell '
            "splits them (quote a word that has spaces: python 'my run.py')."
        )
        assert app.session.cfg.launch.command == []
        field.value = "python 'my run.py' {gpus}"
        await wait_for(pilot, lambda: not shown_error(grid, "launch.command"), what="cleared")
        assert app.session.cfg.launch.command == ["python", "my run.py", "{gpus}"]


# -- an error typed in one burst of keys is shown -------------------------------------------------


async def test_an_error_typed_in_one_burst_of_keys_shows_under_its_field(tmp_path):
    """target cleared, then "1.5" typed fast (keys arriving together, as over SSH): the 1
    cleared the empty field's error while its label was still there, "1.5" wrote its error into
    that label as it was being removed, and the form showed 1.5 with no error (save refused it,
    naming an error no one could see)."""
    from textual import events

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(100, 34)) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        field = grid.query_one("#field-analysis--target", Input)
        field.focus()
        field.cursor_position = len(field.value)
        await pilot.pause()
        assert field.value == "0.9"
        keys = [("backspace", None)] * 3 + [("1", "1"), ("full_stop", "."), ("5", "5")]
        for key, character in keys:
            app.post_message(events.Key(key, character))  # no wait between them
        await wait_for(pilot, lambda: field.value == "1.5", what="typed")
        await pilot.pause(0.2)
        assert grid.field_errors.get("analysis.target", "").startswith("1.5 is not a fraction")
        error = shown_error(grid, "analysis.target")
        assert error is not None and error.is_attached
        assert str(error.render()).startswith("1.5 is not a fraction")


# -- quitting says what runs now, not what the launch screen last showed --------------------------


async def test_quit_after_leaving_the_launch_screen_says_what_runs_now(tmp_path):
    """Launch screen left while the pairs ran (its rows are refreshed only while it is shown),
    every pair then ended: ctrl+q printed '8 pairs of hardware_scaling keep running in the
    background' after `hwscale-tui status` said every pair had exited."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(
            pilot, lambda: screen.rows["hardware_scaling.g1n1"].keeps_running, what="running"
        )
        await pilot.press("1")
        await wait_for(pilot, lambda: app.current_mode == "grid", what="grid")
        for p in world.supervisor.pairs.values():
            p.status, p.exit_code, p.ended_at = "exited", 0, world.clock()
        world.supervisor.state = "finished"
        await pilot.press("ctrl+q")
    assert "keep" not in (app.return_value or ""), app.return_value


async def test_quit_note_for_one_pair_says_it(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.rows["hardware_scaling.g1n1"].keeps_running)
        for name, p in world.supervisor.pairs.items():
            if name != "hardware_scaling.g1n1":
                p.status, p.exit_code, p.ended_at = "exited", 0, world.clock()
        await pilot.press("ctrl+q")
    said = " ".join((app.return_value or "").split())
    assert "1 pair of hardware_scaling keeps running in the background (g1n1)" in said
    assert "Re-attach, check or stop it with:" in said


# -- ? Help stays on the footer in a narrow terminal ----------------------------------------------


async def test_help_stays_on_the_footer_of_every_screen_at_60_columns(tmp_path):
    """At 60x20 the analysis footer ended '... R Redo g Genera': the line ran past the edge
    and took '? Help' with it. The keys before it now give way (all stay in the help)."""
    from hwscale_tui.tui.screens.base import HwFooter

    app, _ = make_app(tmp_path, launched=True)
    async with app.run_test(size=(60, 20)) as pilot:
        for key, mode in (("1", "grid"), ("2", "launch"), ("3", "trials"), ("4", "analysis")):
            await pilot.press(key)
            await wait_for(pilot, lambda mode=mode: app.current_mode == mode, what=mode)
            footer = app.screen.query_one(HwFooter)
            await wait_for(pilot, lambda footer=footer: footer.items, what="footer keys")
            assert footer.shown_keys()[-1] == ("?", "Help"), (mode, footer.shown_keys())
            assert footer.items[-1].end <= 60, (mode, footer.items)
        # the keys left out are still the screen's: the first ones stay, in order
        assert footer.shown_keys()[0] == ("]", "Next plot")
    app, _ = make_app(tmp_path, launched=True)
    async with app.run_test(size=(80, 24)) as pilot:  # 80 columns: every key, as before
        await pilot.press("4")
        await wait_for(pilot, lambda: app.current_mode == "analysis", what="analysis")
        footer = app.screen.query_one(HwFooter)
        await wait_for(pilot, lambda: footer.items, what="footer keys")
        assert [k for k, _ in footer.shown_keys()] == ["]", "[", "t", "x", "a", "R", "g", "?"]


# -- --read-only: the help lists the keys that work -----------------------------------------------


async def test_read_only_help_leaves_out_the_keys_it_refuses(tmp_path):
    """The footers left them out (7acaf28), the help still listed Toggle, Save, Launch all,
    Cancel, Stop, the form's choice keys and the switcher's new/archive/delete: each pressed
    only said "Read-only mode"."""
    from hwscale_tui.tui.experiment_switcher import ExperimentSwitcher
    from hwscale_tui.tui.screens.modals import HelpScreen

    refused = {
        "grid.toggle",
        "grid.add_gpus",
        "grid.remove_gpus",
        "grid.add_nodes",
        "grid.remove_nodes",
        "grid.save",
        "choice.next",
        "choice.previous",
        "launch.all",
        "launch.selected",
        "launch.cancel_selected",
        "launch.cancel_all",
        "launch.relaunch_failed",
        "trials.stop",
        "experiments.new",
        "experiments.archive",
        "experiments.delete",
    }
    listed: dict[bool, set[str]] = {}
    for read_only in (False, True):
        app, _ = make_app(tmp_path, read_only=read_only, start="launch")
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.press("E")
            await wait_for(pilot, lambda a=app: isinstance(a.screen, ExperimentSwitcher))
            await pilot.press("question_mark")
            await wait_for(pilot, lambda a=app: isinstance(a.screen, HelpScreen), what="help")
            listed[read_only] = {ident for _, _, ident in app.screen.binding_rows()}
            hint = str(app.screen.query_one("#help-hint").render())
            assert ("Read-only" in hint) is read_only
    assert refused <= listed[False]
    assert not refused & listed[True], refused & listed[True]
    # what works read-only stays: the log, the filter, the form's scrolling, switching
    assert {"launch.open_log", "trials.filter", "grid.focus_form", "experiments.switch"} <= (
        listed[True]
    )


async def test_read_only_palette_offers_only_what_works(tmp_path):
    """The palette of a --read-only app offered Launch all, Launch, Cancel, Cancel all (and
    Toggle, Save on the grid, Stop on the trials screen), each only saying 'Read-only mode'."""
    offered: dict[bool, dict[str, set[str]]] = {}
    for read_only in (False, True):
        app, _ = make_app(tmp_path, read_only=read_only)
        async with app.run_test(size=(100, 34)) as pilot:
            for key, mode in (("1", "grid"), ("2", "launch"), ("3", "trials")):
                await pilot.press(key)
                await wait_for(pilot, lambda a=app, m=mode: a.current_mode == m, what=mode)
                commands = app.get_system_commands(app.screen)
                offered.setdefault(read_only, {})[mode] = {c.title for c in commands}
    gone = {mode: offered[False][mode] - offered[True][mode] for mode in offered[False]}
    assert gone["grid"] >= {"Toggle", "+ranks", "-ranks", "+nodes", "-nodes", "Save"}
    assert gone["launch"] >= {"Launch all", "Launch", "Cancel", "Cancel all", "Relaunch"}
    assert gone["trials"] >= {"Stop"}
    assert "Log" in offered[True]["launch"] and "Filter" in offered[True]["trials"]


# -- a remapped key that clashes with another on the same screen says so -------------------------


async def test_keymap_clash_on_one_screen_says_so(tmp_path):
    """ "launch.all" = "l" put Launch all on the key that launches the highlighted pair: one of
    the two no longer ran, the footer showed only one and the help listed both on l, without a
    word. A remap that clashes with nothing gets no notice."""
    from hwscale_tui.paths import app_paths

    config = app_paths().ensure().config
    (config / "keymap.toml").write_text('"launch.all" = "l"\n"trials.filter" = "f,slash"\n')
    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: any("only one of them runs" in m for m in _notices(app)), what="notice"
        )
        clash = next(m for m in _notices(app) if "only one of them runs" in m)
        assert "'l' is launch.all and launch.selected on the launch screen" in clash
        assert "trials.filter" not in clash  # f clashes with nothing on the trials screen
    (config / "keymap.toml").write_text('"launch.all" = "A"\n')
    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app._keymap == {"launch.all": "A"}, what="keymap")
        await pilot.pause(0.3)
        assert not any("only one of them runs" in m for m in _notices(app))


# -- notices with nothing to act on say why ------------------------------------------------------


async def test_nothing_to_export_or_step_to_says_why(tmp_path):
    """A never-launched experiment: x on the analysis said 'Nothing to export yet.' and g
    'This experiment has one generation.' (it has none); x on the trials screen with a filter
    that hides every trial said 'No trials to export.' as if none had run."""
    app, _ = make_app(tmp_path, start="analysis", trials=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        status = screen.query_one("#analysis-status")
        await wait_for(pilot, lambda: "no trials yet" in str(status.render()), what="no trials")
        await pilot.press("x", "g")
        await pilot.pause(0.1)
        said = _notices(app)
        assert "Nothing to export: no trials yet." in said, said
        assert any(m.startswith("Nothing to step to: no trials yet") for m in said), said
        assert not any("one generation" in m for m in said)
    app, _ = make_app(tmp_path, start="trials", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        from hwscale_tui.tui.widgets.trial_table import TrialTable

        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.trials, what="trials")
        table.set_filter("zzz")
        await pilot.press("x")
        await pilot.pause(0.1)
        assert "No trial matches the filter 'zzz'; nothing exported (/ changes it)." in _notices(
            app
        )


# -- the footer under a dialog shows the dialog's keys -------------------------------------------


async def test_the_footer_under_a_dialog_shows_the_dialogs_keys(tmp_path):
    """A yes/no question, the help or a prompt over the launch or grid screen left the
    screen's keys on the footer (L Launch all, c Cancel, space Toggle...), none of which the
    dialog lets through; its own keys (y, n, esc) were on no footer."""
    from hwscale_tui.tui.screens.base import HwFooter
    from hwscale_tui.tui.screens.modals import HelpScreen, PromptScreen

    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        footer = screen.query_one(HwFooter)
        await wait_for(pilot, lambda: len(screen.rows) == 8, what="rows")
        launch_keys = footer.shown_keys()
        assert launch_keys[0] == ("L", "Launch all")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await wait_for(pilot, lambda: footer.shown_keys() != launch_keys, what="dialog keys")
        assert footer.shown_keys() == [("y", "Yes"), ("n", "No"), ("?", "Help")]
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await wait_for(pilot, lambda: footer.shown_keys() == [("esc", "Close")], what="help keys")
        await pilot.press("escape", "n")
        await wait_for(pilot, lambda: footer.shown_keys() == launch_keys, what="screen keys back")
        await pilot.press("1", "g")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="prompt")
        grid_footer = app.screen_stack[-2].query_one(HwFooter)
        await wait_for(
            pilot,
            lambda: grid_footer.shown_keys() == [("esc", "Cancel"), ("f1", "Help")],
            what="prompt keys",
        )


# -- relaunch and cancel notices name pairs as the rows do ---------------------------------------


async def test_relaunch_and_cancel_notices_name_the_pair_as_the_rows_do(tmp_path):
    """'Relaunched hardware_scaling.g2n1.' / 'Cancelled hardware_scaling.g1n1.' beside rows and
    other notices that say g2n1 and g1n1 (a long name wrapped the toast at 80 columns)."""
    from dataclasses import replace

    app, world = make_app(tmp_path, start="launch", launched=True)
    failed = world.supervisor.pairs["hardware_scaling.g2n1"]
    world.supervisor.pairs["hardware_scaling.g2n1"] = replace(
        failed, status="exited", exit_code=3, started_at=world.clock() - 5, ended_at=world.clock()
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.rows["hardware_scaling.g2n1"].failed, what="failed")
        await pilot.press("r")
        await wait_for(pilot, lambda: "Relaunched g2n1." in _notices(app), what="relaunched")
        await pilot.press("home", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("y")
        await wait_for(pilot, lambda: "Cancelled g1n1." in _notices(app), what="cancelled")
        assert not any("hardware_scaling.g" in m for m in _notices(app)), _notices(app)
