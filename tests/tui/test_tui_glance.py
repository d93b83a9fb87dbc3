"""The app at a glance: defects a new user met, each driven by Pilot on fake services."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Input, Label, Static

from hwscale_tui.tui.screens.modals import ConfirmScreen, HelpScreen, PromptScreen
from hwscale_tui.tui.widgets.header import ExperimentHeader
from tests.tui.test_tui_pilot import SIZE, text_of
from tests.tui.tui_helpers import end_every_pair, make_app, wait_for


def header_text(app) -> str:
    return app.screen.query_one(ExperimentHeader).left.plain


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


async def test_help_rows_that_wrap_go_on_under_their_text_at_80_columns(tmp_path):
    """At 80 columns a long help row went on at column 0, under the keys."""
    from textual.geometry import Region

    from hwscale_tui.tui.screens.modals import help_sections

    keys_width = 16  # the keys column, right-aligned; two spaces, then what the keys do

    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        keys = app.screen.query_one("#help-keys", Static)
        drawn = keys.render_lines(Region(0, 0, keys.size.width, keys.size.height))
        lines = [strip.text.rstrip() for strip in drawn]
        titles = {title for title, _ in help_sections(app, "launch")}
        rows = [line for line in lines if line and line not in titles]
        wrapped = next(line for line in rows if "screen.focus_previous" in line)
        assert wrapped.startswith(" " * (keys_width + 2) + "screen.focus_previous"), lines
        gap = slice(keys_width, keys_width + 2)
        assert all(line[gap] == "  " for line in rows), [r for r in rows if r[gap] != "  "]


async def test_help_shows_remapped_keys(tmp_path):
    from hwscale_tui.paths import app_paths

    paths = app_paths().ensure()
    (paths.config / "keymap.toml").write_text('"launch.all" = "A"\n')
    app, _ = make_app(tmp_path, start="grid")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        rows = {ident: keys for keys, _, ident in app.screen.binding_rows()}
        assert rows["launch.all"] == "A"


# -- per trial: progress, log, stop, CSV; the best-trial star ----------------------------------
def running_trial(screen):
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    table = screen.query_one(TrialTable)
    return table, next((t for t in table.trials.values() if t.state == "running"), None)


async def test_running_trials_show_progress_and_never_take_the_star(tmp_path):
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="trials")
        _, run = running_trial(app.screen)
        cells = [str(getattr(c, "plain", c)) for c in table.get_row(run.run_id)]
        budget = app.session.cfg.sweep.total_timesteps
        assert cells[3] == f"run {min(1.0, run.agent_steps / budget):.0%}"
        assert cells[8] != "-"  # its ETA
        # a running trial with the best interim score of its pair still has no star
        better = max(t.score for t in table.trials.values() if t.sweep == run.sweep) + 100
        world.source.trials[run.run_id] = replace(run, score=better)
        app.screen.poll_now()
        await wait_for(pilot, lambda: table.trials[run.run_id].score == better, what="poll")
        assert table.best_by_sweep[run.sweep] != run.run_id
        assert table.trials[table.best_by_sweep[run.sweep]].state == "finished"
        # once finished, it takes the star
        world.source.trials[run.run_id] = replace(run, score=better, state="finished")
        app.screen.poll_now()
        await wait_for(pilot, lambda: table.best_by_sweep.get(run.sweep) == run.run_id, what="star")
        table.select_run(run.run_id)
        await pilot.pause()


async def test_a_trials_log_opens_in_the_pager_and_stop_asks_then_stops_it(tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys

    from hwscale_tui.store import Store

    seen = tmp_path / "pager-saw.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f'#!/bin/sh\ncp "$1" {seen}\n')
    pager.chmod(0o700)
    monkeypatch.setenv("PAGER", str(pager))
    app, _ = make_app(tmp_path, start="trials")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: running_trial(app.screen)[1], what="trials")
            table, run = running_trial(app.screen)
            log = tmp_path / "trial.log"
            log.write_text("trial log line 1\n")
            from hwscale_tui.processes import process_start_time

            with Store.open_default() as store:  # the sweep's record of this trial's process
                store.insert_trial(
                    run.run_id, run.sweep, gpus=run.gpus, nodes=run.nodes, state="running",
                    pid=proc.pid, pgid=proc.pid, proc_start=process_start_time(proc.pid),
                    log_path=str(log),
                )  # fmt: skip
            table.select_run(run.run_id)
            import contextlib

            @contextlib.contextmanager
            def fake_suspend():  # the headless driver cannot hand over the terminal (tmux can)
                yield

            monkeypatch.setattr(app, "suspend", fake_suspend)
            await pilot.press("o")
            await wait_for(pilot, lambda: seen.exists(), what="pager")
            assert seen.read_text() == "trial log line 1\n"
            await pilot.press("k")
            assert isinstance(app.screen, ConfirmScreen) and "Stop trial" in app.screen.question
            await pilot.press("n")
            assert proc.poll() is None  # no: nothing stopped
            await pilot.press("k", "y")
            await wait_for(pilot, lambda: proc.poll() is not None, what="trial stopped")
            assert proc.returncode == -signal.SIGTERM
            await wait_for(
                pilot,
                lambda: any("Stopped trial" in n.message for n in app._notifications),
                what="notice",
            )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def test_the_trials_table_exports_as_csv(tmp_path):
    import csv

    from hwscale_tui.paths import app_paths
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="trials")
        table.set_filter("g2n1")
        await pilot.press("x")
        path = app_paths().state / "reports" / app.session.name / "trials.csv"
        await wait_for(pilot, lambda: path.exists(), what="csv")
        rows = list(csv.DictReader(path.open()))
        assert len(rows) == table.row_count == 4
        assert {r["gpus"] + "x" + r["nodes"] for r in rows} == {"2x1"}
        assert any(k.startswith("params.") for k in rows[0])


# -- notices: pairs that end, the experiment done ---------------------------------------------
def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_pair_ends_and_cancels_from_elsewhere_become_notices_on_any_screen(tmp_path):
    app, world = make_app(tmp_path, start="grid", launched=True)
    rang = []
    app.bell = lambda: rang.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.pair_watch.seen, what="first look")
        pairs = world.supervisor.pairs
        p1, p2 = pairs["hardware_scaling.g1n1"], pairs["hardware_scaling.g1n2"]
        p1.status, p1.exit_code = "exited", 0
        p2.status, p2.cancelled_by = "cancelled", "alice@box (cli)"
        await wait_for(pilot, lambda: any("g1n1 finished" in m for m in messages(app)), what="g1n1")
        assert any("g1n2 was cancelled by alice@box (cli)" in m for m in messages(app))
        assert rang == []  # the bell is off by default
        app.bell_on = True
        p3 = pairs["hardware_scaling.g2n1"]
        p3.status, p3.exit_code = "exited", 1
        await wait_for(pilot, lambda: any("g2n1 failed" in m for m in messages(app)), what="fail")
        assert rang


async def test_experiment_done_banner_names_the_best_pair_per_priority(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        await end_every_pair(pilot, app, world)
        await wait_for(
            pilot, lambda: app.done_banner and "Best pair" in app.done_banner, what="banner"
        )
        assert "hardware_scaling is done: every pair has ended" in app.done_banner
        for scenario in ("research", "development", "budget", "balanced"):
            assert f"{scenario}: g" in app.done_banner
        summary = app.screen.query_one("#launch-summary", Label)
        await wait_for(pilot, lambda: "Best pair per priority" in text_of(summary), what="shown")
        # the cancel this app made itself is not announced twice
        assert not any("cancelled by" in m for m in messages(app))


async def test_the_experiment_done_notice_is_one_toast_with_the_best_pairs(tmp_path):
    """Two 30 s "Experiment done" toasts (done, then the best pairs) stacked over half of an
    80x24 screen: the first now becomes the whole banner."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await end_every_pair(pilot, app, world)

        def done_toasts() -> list[str]:
            return [n.message for n in app._notifications if n.title == "Experiment done"]

        await wait_for(
            pilot, lambda: any("Best pair" in m for m in done_toasts()), what="best pairs"
        )
        await pilot.pause()
        assert done_toasts() == [app.done_banner], done_toasts()
        assert "is done: every pair has ended" in app.done_banner


async def test_the_done_notices_go_when_the_pairs_run_again(tmp_path):
    """A launch right after the experiment ended left its "every pair has ended" toasts on
    screen for their 30 s, over the new launch's running pairs."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.pair_watch.seen, what="first look")
        pairs = list(world.supervisor.pairs.values())
        for p in pairs:
            p.status, p.exit_code = "exited", 0
        world.supervisor.state = "finished"
        await wait_for(  # the toast, not the banner: it is shown after (notify posts a message)
            pilot,
            lambda: any(
                "Best pair" in n.message for n in app._notifications if n.title == "Experiment done"
            ),
        )
        await pilot.pause()
        assert sum(n.title == "Experiment done" for n in app._notifications) == 1
        pairs[0].status, pairs[0].exit_code = "running", None  # launched again
        world.supervisor.state = "running"
        await wait_for(pilot, lambda: app.done_banner is None, what="the new launch seen")
        assert not [n for n in app._notifications if n.title == "Experiment done"]


async def test_the_done_banner_analyzes_only_the_generation_that_ended(tmp_path):
    """As the analysis screen: an earlier generation's trials never join the banner's analysis,
    and a generation without a trial (every pair failed) names no best pair."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    source = world.source
    older = [replace(t, run_id=f"old_{t.run_id}", generation=1) for t in source.trials.values()]
    newer = [replace(t, generation=2) for t in source.trials.values()]
    source.trials = {t.run_id: t for t in older + newer}
    analyzed: list[list] = []
    analyze = world.analysis.analyze
    world.analysis.analyze = lambda trials, *a: analyzed.append(list(trials)) or analyze(trials, *a)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        app.session.follow_generation(2)
        await end_every_pair(pilot, app, world)
        await wait_for(pilot, lambda: app.done_banner and "Best pair" in app.done_banner)
        assert analyzed and {t.generation for t in analyzed[-1]} == {2}
        assert len(analyzed[-1]) == len(newer)

    app, world = make_app(tmp_path / "failed", start="launch", launched=True)
    analyzed.clear()
    world.analysis.analyze = lambda trials, *a: analyzed.append(list(trials)) or analyze(trials, *a)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        app.session.follow_generation(2)  # launched afresh; every pair failed before a trial
        await end_every_pair(pilot, app, world, 1)
        await wait_for(pilot, lambda: app.done_banner, what="done")
        await wait_for(
            pilot,
            lambda: not any(w.group == "app-best" and not w.is_finished for w in app.workers),
            what="the banner's analysis",
        )
        assert "Best pair" not in app.done_banner and not analyzed


async def test_reopening_on_an_ended_experiment_shows_the_done_line(tmp_path):
    """Reopened on an experiment whose pairs had all ended, the launch screen showed no
    "is done" / best pair per priority line; a live end shows it. Reopening is no news: the
    line, without the toasts and the bell."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    for p in world.supervisor.pairs.values():
        p.status, p.exit_code = "exited", 0
    world.supervisor.pairs["hardware_scaling.g1n2"].exit_code = 1
    world.supervisor.state = "finished"
    rang = []
    app.bell_on = True
    app.bell = lambda: rang.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        summary = app.screen.query_one("#launch-summary", Label)
        await wait_for(
            pilot, lambda: "Best pair per priority" in text_of(summary), what="the done line"
        )
        assert "hardware_scaling is done: every pair has ended (1 failed)." in text_of(summary)
        assert app.done_banner and "research: g" in app.done_banner
        assert not [n for n in app._notifications if n.title == "Experiment done"] and not rang


async def test_a_never_launched_experiment_shows_no_done_line(tmp_path):
    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.pair_watch.experiment, what="first look")
        screen = app.screen
        await wait_for(pilot, lambda: screen.status is not None, what="first poll")
        await pilot.pause()
        assert app.done_banner is None
        assert "is done" not in text_of(screen.query_one("#launch-summary", Label))


async def test_the_bell_setting_is_off_by_default_and_remembered(tmp_path):
    from hwscale_tui.tui.app import create_app

    app, _ = make_app(tmp_path)
    assert app.bell_on is False
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Bell on notices: turn on" in titles
        app.toggle_bell()
        await pilot.pause()
    assert app.bell_on is True
    assert create_app(app.services, session=app.session).bell_on is True  # from state/tui.json


def footer_keys(app) -> list[tuple[str, str]]:
    from hwscale_tui.tui.screens.base import HwFooter

    return app.screen.query_one(HwFooter).shown_keys()


async def test_at_80x24_the_form_keeps_help_in_the_footer_and_the_whole_matrix(tmp_path):
    from hwscale_tui.config import apply_overrides, default_config

    # the 8-pair grid (4 GPU counts x 2 node counts), the largest the form shares the width with
    cfg = apply_overrides(
        default_config(env={}),
        {"grid.gpu_counts": [1, 2, 4, 8], "grid.node_counts": [1, 2], "grid.exclude": []},
    )
    app, _ = make_app(tmp_path, cfg=cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form")
        assert ("?", "Help") in footer_keys(app)
        await pilot.press("e")  # into the form: ? is typed into the field from here on
        name = grid.query_one("#field-experiment--name", Input)
        await wait_for(pilot, lambda: name.has_focus, what="form focus")
        await pilot.pause()
        keys = footer_keys(app)
        assert ("f1", "Help") in keys and ("?", "Help") not in keys
        matrix = grid.query_one("#pair-matrix")
        assert matrix.size.height == 1 + 4  # the column header and every GPU row, none cut
        await pilot.press("question_mark")
        assert name.value.endswith("?") and not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")


async def test_removing_the_grids_last_row_says_why_not_without_a_path(tmp_path):
    """The refusal began with the experiment file's path; the notice of a removal read
    "removed 1 CPU ranks per node"."""
    from hwscale_tui.config import apply_overrides, default_config

    cfg = apply_overrides(
        default_config(env={}), {"grid.gpu_counts": [1, 2], "grid.node_counts": [1]}
    )
    app, _ = make_app(tmp_path, cfg=cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("G")
        await wait_for(pilot, lambda: app.session.cfg.grid.gpu_counts == [2], what="removed")
        # read now: a toast expires after its timeout, and under load the second press's
        # answer can come after the first toast is gone
        await wait_for(pilot, lambda: any("Removed" in m for m in messages(app)), what="notice")
        assert [m for m in messages(app) if "row of" in m] == [
            "Removed the row of 1 CPU rank per node."
        ]
        await pilot.press("G")
        await wait_for(pilot, lambda: any("not removed" in m for m in messages(app)), what="no")
        refused = [m for m in messages(app) if "not removed" in m]
        assert refused[-1].startswith("The row of 2 CPU ranks per node is not removed: ")
        assert str(tmp_path) not in refused[-1] and "accepted:" in refused[-1]
        assert app.session.cfg.grid.gpu_counts == [2]


async def test_keys_typed_after_a_tab_go_to_the_next_field(tmp_path):
    """Keys that arrive together (a fast typist, a paste, tmux send-keys): "3<tab>1" in max
    trials typed "31" there, since the tab waited behind the keys the field had not read yet."""
    from textual import events

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(100, 34)) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-sweep--batch_size"), what="form")
        trials = grid.query_one("#field-sweep--max_trials", Input)
        batch = grid.query_one("#field-sweep--batch_size", Input)
        trials.focus()
        trials.value = ""
        await pilot.pause()
        for key, char in (("3", "3"), ("tab", "\t"), ("1", "1")):  # read at once, as a burst is
            app.post_message(events.Key(key, char))
        await wait_for(pilot, lambda: batch.has_focus and batch.value == "1", what="the 1")
        assert trials.value == "3"


async def test_a_choice_field_shows_its_key_in_the_footer_and_the_help(tmp_path):
    """Nothing said how to change a ``< value >`` field: its keys were hidden from the footer
    and missing from the help."""
    from hwscale_tui.tui.screens.base import HwFooter
    from hwscale_tui.tui.widgets.choice import ChoiceField

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query(ChoiceField), what="form")
        runner = grid.query(ChoiceField).first()
        runner.focus()
        await pilot.pause()
        keys = footer_keys(app)
        assert keys[0] == ("→", "Choice") and keys[-1] == ("?", "Help")
        assert grid.query_one(HwFooter).items[-1].end <= 80  # ? Help not cut
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        rows = {ident: keys for keys, _, ident in app.screen.binding_rows()}
        assert rows["choice.next"] == "→ / space / ⏎" and rows["choice.previous"] == "←"


async def test_the_first_frame_has_the_footer_keys_and_the_matrix_rows(tmp_path):
    """Textual's footer composes empty and adds its keys a refresh later; ours has them at once."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)):
        screen = app.screen
        assert ("?", "Help") in footer_keys(app)
        assert screen.query_one("#pair-matrix").row_count > 0


async def test_a_click_on_a_footer_key_presses_it_and_the_key_under_the_mouse_is_lit(tmp_path):
    """The footer is one widget that draws every key: a key is still a thing to point at."""
    from hwscale_tui.tui.screens.base import HwFooter

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        footer = app.screen.query_one(HwFooter)
        save, help_key = (
            next(i for i in footer.items if i.description == d) for d in ("Save", "Help")
        )
        assert footer.render().plain[help_key.start : help_key.end] == "? Help"

        def lit(item) -> object:
            return footer.render().get_style_at_offset(app.console, item.start).bgcolor

        unlit = lit(help_key)
        await pilot.hover(HwFooter, offset=(help_key.start + 3, 0))
        assert lit(help_key) != unlit and lit(save) == unlit
        await pilot.click(HwFooter, offset=(help_key.start - 1, 0))  # the margin: nothing
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.click(HwFooter, offset=(help_key.start + 3, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")


async def test_the_collector_paused_for_the_start_is_back_on_after_the_first_frame(tmp_path):
    import gc

    app, _ = make_app(tmp_path)
    gc.disable()  # as `hwscale-tui` does before it imports the app
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, gc.isenabled, what="collector on")
            assert app.screen.query_one("#pair-matrix").row_count > 0
    finally:
        gc.enable()


async def test_the_done_banner_says_when_no_trial_finished(tmp_path):
    """Every trial failed, every sweep exited 0: "is done: every pair has ended." with full bars
    read as a run that went well."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    source = world.source
    source.trials = {rid: replace(t, state="failed") for rid, t in source.trials.items()}
    async with app.run_test(size=(80, 24)) as pilot:
        await end_every_pair(pilot, app, world)
        # the toast comes after the banner: Textual's notify posts a message (set in the same
        # call, the banner can be read before the toast is shown; that gap failed this test)
        await wait_for(
            pilot,
            lambda: any(
                "No trial" in m.message for m in app._notifications if m.title == "Experiment done"
            ),
            what="the toast",
        )
        await pilot.pause()
        n = len(source.trials)
        assert app.done_banner.endswith(
            f"every pair has ended. No trial finished ({n} failed): o on the launch screen "
            "shows a pair's log."
        )
        toasts = [m.message for m in app._notifications if m.title == "Experiment done"]
        assert toasts == [app.done_banner]
