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


# -- r / L on pairs whose every trial failed ---------------------------------------------------------


async def test_relaunching_pairs_whose_every_trial_failed_says_how_to_run_them_again(tmp_path):
    """A trial command that cannot run: every pair ran its max trials, all failed. r said only
    "Raise max trials on the grid (1) to run more", which runs more trials that fail the same
    way; fixing the cause and starting a new generation is what runs them again."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    max_trials = app.session.cfg.sweep.max_trials
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.pair_watch.seen, what="first look")
        for p in world.supervisor.pairs.values():
            p.status, p.exit_code, p.trials_done, p.best_score = "exited", 1, max_trials, None
        world.supervisor.state = "finished"
        screen = app.screen
        await wait_for(
            pilot,
            lambda: screen.rows and all(r.failed for r in screen.rows.values()),
            what="failed rows",
        )
        said = await _notice_after(pilot, app, "r", "not relaunched")
        assert "finished: fix the cause (o shows the log)" in said, said
        assert "hwscale-tui launch --new-generation --experiment-name hardware_scaling" in said
        said = await _notice_after(pilot, app, "L", "No pair to launch")
        assert "--new-generation" in said, said


async def test_a_spent_pair_with_a_finished_trial_gets_no_new_generation_hint(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    max_trials = app.session.cfg.sweep.max_trials
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.pair_watch.seen, what="first look")
        for p in world.supervisor.pairs.values():
            p.status, p.exit_code, p.trials_done, p.best_score = "exited", 1, max_trials, 0.5
        world.supervisor.state = "finished"
        screen = app.screen
        await wait_for(
            pilot,
            lambda: screen.rows and all(r.best != "-" for r in screen.rows.values()),
            what="rows with a best score",
        )
        said = await _notice_after(pilot, app, "r", "not relaunched")
        assert said.endswith("Raise max trials on the grid (1) to run more."), said


async def _notice_after(pilot, app, key: str, marker: str) -> str:
    """Press ``key``; the first notice that says ``marker``."""
    await pilot.press(key)
    await wait_for(
        pilot,
        lambda: any(marker in n.message for n in app._notifications),
        what=f"a notice saying {marker!r}",
    )
    return next(n.message for n in app._notifications if marker in n.message)


# -- the grid's notices ------------------------------------------------------------------------------


async def test_removing_the_only_row_says_it_is_the_only_one(tmp_path):
    """ "The column of 1 node is not removed: the grid is empty" read as if the grid were empty
    now; it is the grid's only column."""
    from hwscale_tui.config import apply_overrides, default_config

    cfg = apply_overrides(default_config(env={}), {"grid.gpu_counts": [2], "grid.node_counts": [1]})
    app, _ = make_app(tmp_path, cfg=cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        for key, what in (("G", "row of 2 CPU ranks per node"), ("N", "column of 1 node")):
            await pilot.press(key)
            await wait_for(
                pilot,
                lambda what=what: any(what in n.message for n in app._notifications),
                what=what,
            )
            said = [n.message for n in app._notifications if what in n.message][-1]
            kind = what.split()[0]
            assert said.startswith(f"The {what} is not removed: it is the grid's only {kind}")
            assert "the grid is empty" not in said and "accepted:" in said
        assert app.session.cfg.grid.gpu_counts == [2] and app.session.cfg.grid.node_counts == [1]


async def test_the_saved_notice_writes_the_state_dir_as_hwscale_home(tmp_path):
    """The toast held the full path, which broke inside its file name at 80 columns."""
    import os
    from pathlib import Path

    from hwscale_tui.config import default_config
    from hwscale_tui.tui.app import create_app
    from hwscale_tui.tui.session import ExperimentSession
    from tests.tui.tui_fakes import fake_world

    cfg = default_config()
    path = Path(os.environ["HWSCALE_HOME"]) / "config" / "experiment.toml"
    world = fake_world(cfg, tmp_path)
    app = create_app(world.services, session=ExperimentSession(cfg, path), start="grid")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: any("Saved" in n.message for n in app._notifications), what="saved"
        )
    said = [n.message for n in app._notifications if "Saved" in n.message]
    assert said == ["Saved $HWSCALE_HOME/config/experiment.toml"]
    assert path.is_file()


async def test_the_trials_table_follows_the_ascii_key(tmp_path):
    """After ``a`` on the analysis screen, the trials table kept ``★`` (its rows were drawn with
    the setting the table was made with), while the grid's marks and the bars changed."""
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.best_by_sweep, what="first poll")

        def marks() -> set[str]:
            return {table.get_row(rid)[0].plain for rid in set(table.best_by_sweep.values())}

        assert marks() == {"★"}
        await pilot.press("4")
        await wait_for(pilot, lambda: app.screen.view is not None, what="analysis result")
        await pilot.press("a")
        await wait_for(pilot, lambda: app.ascii_only, what="ascii")
        await pilot.press("3")
        await wait_for(pilot, lambda: marks() == {"*"}, what="ascii marks")


# -- -e FILE for a file not made yet -------------------------------------------------------------------


def test_a_new_experiment_file_names_its_experiment_after_the_file(tmp_path):
    """``hwscale-tui -e brandnew.toml`` opened the default named ``hardware_scaling``: the app
    showed (and would have launched into) the trials of the experiment already of that name."""
    from hwscale_tui.tui.session import ExperimentSession

    session = ExperimentSession.open(tmp_path / "brandnew.toml")
    assert session.name == "brandnew"
    assert session.path == tmp_path / "brandnew.toml" and not session.path.exists()
    # a file name that is no experiment name keeps the default's (renamed on the grid)
    assert ExperimentSession.open(tmp_path / "my exp.toml").name == "hardware_scaling"


# -- the "done" line over pairs launched again -------------------------------------------------------


async def test_relaunching_a_pair_drops_the_done_line_at_once(tmp_path):
    """l on an ended pair: the launch screen kept "... is done: every pair has ended. Best pair
    per priority: ..." over the running pair until the watch's next look, and an analysis
    finishing in between put it back."""
    from tests.tui.tui_helpers import end_every_pair

    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await end_every_pair(pilot, app, world)
        await wait_for(pilot, lambda: app.done_banner, what="done")
        done = app.done_banner
        await pilot.press("l")
        await wait_for(
            pilot,
            lambda: any("aunched" in n.message for n in app._notifications),
            what="the relaunch",
        )
        assert app.done_banner is None
        assert not [n for n in app._notifications if n.title == "Experiment done"]
        # the best pairs of the analysis that was running come after: not shown
        app._done_toast(f"{done} Best pair per priority: research: g1n1.", True, done)
        assert app.done_banner is None
        assert not [n for n in app._notifications if n.title == "Experiment done"]


# -- k on a trial that ends while the question is open -------------------------------------------------


async def test_stopping_a_trial_that_ended_meanwhile_says_so_plainly(tmp_path):
    """The trial finished while "Stop trial #0001?" was open (the poll pauses under a dialog):
    yes showed the CLI's "trial <run id> is finished; accepted: a running trial." as an error."""
    from types import SimpleNamespace

    from hwscale_tui.errors import UsageError
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count, what="trials")
        running = next(t for t in table.trials.values() if t.state == "running")
        table.select_run(running.run_id)

        def stop_trial(run_id: str) -> str:
            raise UsageError(f"trial {run_id} is finished; accepted: a running trial.")

        app.services.trial_control = SimpleNamespace(
            stop_trial=stop_trial, trial_log_path=lambda run_id: None
        )
        await pilot.press("k", "y")
        await wait_for(
            pilot,
            lambda: any("before it was stopped" in n.message for n in app._notifications),
            what="notice",
        )
        said = [n.message for n in app._notifications]
        assert any(
            m.endswith("ended (finished) before it was stopped; nothing to stop.") for m in said
        )
        assert not any("accepted:" in m for m in said), said
