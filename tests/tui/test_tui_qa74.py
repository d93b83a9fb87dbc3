"""Defects a user reported in the app (QA pass 74), each driven by Pilot."""

from __future__ import annotations

from textual.widgets import Static

from hwscale_tui import config as cfgmod
from hwscale_tui.launch import supervisor
from hwscale_tui.store import Store
from hwscale_tui.tui.app import create_app
from hwscale_tui.tui.screens.modals import ConfirmScreen
from tests.tui.test_tui_pilot import text_of
from tests.tui.tui_helpers import stop_everything, wait_for


# -- 1. L once every pair ran its max trials offers a new generation, as the CLI's --new-generation
async def test_launch_all_offers_a_new_generation_once_every_pair_ran_its_trials(tmp_path):
    """Real supervisor, real built-in sweeps (1 trial each). Every pair ran its max trials: `L`
    said only 'No pair to launch: every pair already ran 1 trial (raise max trials ...)', so
    the app could not run the experiment again where `hwscale-tui launch --new-generation`
    can. It asks, and yes starts generation 2 with every pair."""
    exp = tmp_path / "again.toml"
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(env={}),
        {
            "experiment.name": "again",
            "grid.gpu_counts": [1, 2],
            "grid.node_counts": [1],
            "launch.delay_s": 0.0,
            "sweep.max_trials": 1,
            "sweep.total_timesteps": 2048,
        },
    )
    cfgmod.save(cfg, exp)
    supervisor.launch(cfgmod.load(exp), foreground=True)

    def generation() -> int:
        with Store.open_default() as store:
            return store.latest_generation("again")

    app = create_app(experiment_file=exp)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            # the grid's state line says what L does now (it said "L leaves it out")
            await pilot.press("1")
            await wait_for(pilot, lambda: bool(app.screen.query("#pair-details")), what="grid")
            details = app.screen.query_one("#pair-details", Static)

            def state() -> str:
                shown = text_of(details, width=400).splitlines()
                return next((x for x in shown if x.startswith("state")), "")

            await wait_for(pilot, lambda: "ran its 1 trial" in state(), what="g1n1's state")
            assert (
                "ran its 1 trial, as every pair did: L asks to start generation 2 (or raise "
                "max trials to run more)"
            ) in state(), state()
            await pilot.press("2")
            launch = app.screen
            await wait_for(pilot, lambda: len(launch.rows) == 2, what="the two pairs")
            await pilot.press("L")
            await wait_for(
                pilot, lambda: isinstance(app.screen, ConfirmScreen), 60, what="question"
            )
            question = app.screen.question
            assert question.startswith(
                "Every pair of again already ran 1 trial (max trials) in generation 1. Start "
                "generation 2, running every pair afresh?"
            ), question
            assert "2 pairs, 2 trials in all" in question  # every pair's trials, afresh
            await pilot.press("n")  # no: nothing launched, nothing recorded
            await wait_for(pilot, lambda: app.screen is launch, what="the question closed")
            await pilot.pause(0.3)
            assert generation() == 1
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 60, what="again")
            await pilot.press("y")
            await wait_for(pilot, lambda: generation() == 2, timeout=60, what="generation 2")
            await wait_for(
                pilot,
                lambda: any(
                    "Launched all pairs as generation 2" in n.message for n in app._notifications
                ),
                timeout=60,
                what="the launch notice",
            )
            await wait_for(
                pilot,
                lambda: {"again.g1n1.gen2", "again.g2n1.gen2"} <= set(launch.rows),
                timeout=60,
                what="generation 2's pairs on the launch screen",
            )
    finally:
        stop_everything("again")


# -- 2. a source that never answered: the side pane gives its reason in full ---------------------
async def test_trials_side_pane_gives_the_reason_no_trial_was_read(tmp_path):
    """--source wandb without WANDB_API_KEY at 80x24: the status line read 'NO DATA (retry in
    4s): WANDB_API_KEY is not set; the' (cut at the edge) and the side pane was blank, so the
    reason could not be read whole anywhere. The pane says it."""
    from textual.widgets import Label

    from tests.tui.tui_helpers import make_app

    app, world = make_app(tmp_path, start="trials")
    reason = (
        "WANDB_API_KEY is not set; the W&B source reads the key only from the environment "
        "(export WANDB_API_KEY=...)"
    )
    world.source.fail_next = reason
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.screen.query_one("#poll-status", Label)
        await wait_for(pilot, lambda: "NO DATA" in text_of(status, width=80), what="no data")
        pane = app.screen.query_one("#trial-details", Static)
        shown = " ".join(text_of(pane, width=40).split())
        assert f"the trial source (local) failed: {reason}." in shown, shown
        assert "R polls now" in shown
        await pilot.press("R")  # the next poll answers: the trials, and the first one's details
        await wait_for(pilot, lambda: "run" in text_of(pane).split(), what="a trial")
        assert "No trials read" not in text_of(pane, width=200)


# -- 3. the launch screen with a trial source that fails ------------------------------------------
async def test_launch_screen_rows_stay_when_the_trial_source_fails(tmp_path):
    """--source wandb without WANDB_API_KEY (or W&B down): every pair of a launched experiment
    read 'not launched' and a notice 'launch-poll: SourceUnavailable: ...' came every second,
    since the failing read of the trials behind the ETAs threw away the supervisor's status
    too. The rows keep their status; the summary says why the estimates are old."""
    from textual.widgets import Label

    from hwscale_tui.sources.base import SourceUnavailable
    from tests.tui.tui_helpers import make_app

    app, world = make_app(tmp_path, start="launch", launched=True)

    def refuse():
        raise SourceUnavailable("W&B is unreachable (HTTP 503)")

    world.source.poll = refuse
    for p in world.supervisor.pairs.values():
        p.trials_done = 2
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await wait_for(
            pilot,
            lambda: screen.rows and all(r.status != "not launched" for r in screen.rows.values()),
            what="the launched pairs' rows",
        )
        summary = screen.query_one("#launch-summary", Label)
        await wait_for(pilot, lambda: "failed" in text_of(summary, width=400), what="the note")
        assert (
            "trial source (local) failed: W&B is unreachable (HTTP 503); no ETA or cost until "
            "it answers."
        ) in " ".join(text_of(summary, width=400).split())
        # the trials done are the supervisor's count, as `hwscale-tui status` gives it
        assert all(r.trials.endswith(" 2/8") for r in screen.rows.values()), screen.rows
        assert not any("SourceUnavailable" in n.message for n in app._notifications)


# -- 4. a question taller than its box scrolls from the keyboard -----------------------------------
async def test_a_long_question_scrolls_with_the_arrow_and_page_keys(tmp_path):
    """L's question at 80x24 in local mode ends with its warnings (pairs run at once on 2
    cores), below the box's fold. With the cursor on a button, as it opens, down and page down
    did nothing: only tab into the text, which nothing names, scrolled it."""
    from textual.containers import VerticalScroll
    from textual.widgets import Button

    from hwscale_tui.tui.screens.modals import ConfirmScreen
    from tests.tui.tui_helpers import make_app

    app, _ = make_app(tmp_path)
    question = "\n".join(f"line {i}: " + "words of the plan " * 4 for i in range(1, 16))
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ConfirmScreen(question + "\nwarning: the last line"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.pause()
        scroll = app.screen.query_one("#confirm-scroll", VerticalScroll)
        assert isinstance(app.focused, Button) and scroll.max_scroll_y > 0
        await pilot.press("down")
        await wait_for(pilot, lambda: scroll.scroll_y > 0, what="scrolled down")
        await pilot.press("end", "pagedown")
        await wait_for(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y, what="the end")
        await pilot.press("home")
        await wait_for(pilot, lambda: scroll.scroll_y < scroll.max_scroll_y, what="back up")
        assert isinstance(app.focused, Button)  # enter still answers the button: No
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="closed")


# -- 5. the exported report names commands, not the analysis screen's keys ------------------------
async def test_the_exported_report_notes_name_the_command_not_the_app_keys(tmp_path):
    """x on the analysis screen of generation 2 of 5 wrote a Markdown report whose notes said '10
    trials of other generations left out (they ran under other comparability settings; g picks
    another)': a key of a screen the report's reader does not have open. The report says the
    command; the screen keeps its keys."""
    from tests.tui.tui_helpers import make_app

    app, world = make_app(tmp_path, start="analysis")
    written: list[list[str]] = []
    write = world.analysis.write_report

    def record(result, md_path, png_dir=None):
        written.append(list(result.notes))
        return write(result, md_path, png_dir)

    world.analysis.write_report = record
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.result is not None, what="the analysis")
        on_screen = [
            "Trials analyzed: generation 2 of experiment e (4 trials); 10 trials of other "
            "generations left out (they ran under other comparability settings; g picks another).",
            "1 of 4 learning curves could not be read (HTTP 500). R analyzes again.",
        ]
        screen.result.notes[:] = on_screen
        await pilot.press("x")
        await wait_for(pilot, lambda: written, what="the report")
        assert written[0] == [
            "Trials analyzed: generation 2 of experiment e (4 trials); 10 trials of other "
            "generations left out (they ran under other comparability settings; hwscale-tui "
            "analyze --generation N analyzes another).",
            "1 of 4 learning curves could not be read (HTTP 500). hwscale-tui analyze reads "
            "them again.",
        ]
        assert screen.result.notes == on_screen  # the screen keeps its keys


# -- 6. pairs launched here that end before the next look still get their notices --------------
async def test_pairs_that_fail_at_once_after_a_launch_here_get_their_notices(tmp_path):
    """A launch command that cannot run (`false`): every pair exited 1 within the 2 s between
    the app's looks at the pairs. The watch had never seen them active, so no 'g1n1 failed'
    notice came and no 'Experiment done' (the launch screen's line neither); they came only
    for pairs caught running at a look."""
    from types import SimpleNamespace

    from hwscale_tui.tui.app import DONE_TITLE
    from hwscale_tui.tui.screens.modals import ConfirmScreen
    from tests.tui.tui_helpers import make_app

    app, world = make_app(tmp_path, start="launch")
    launch = world.supervisor.launch

    def launch_and_fail(cfg, **kwargs):
        launch(cfg, **kwargs)
        for p in world.supervisor.pairs.values():
            p.status, p.exit_code = "exited", 1
        world.supervisor.state = "finished"
        return SimpleNamespace(
            launch_id=1, supervisor_pid=999, sweeps=list(world.supervisor.pairs), generation=1
        )

    world.supervisor.launch = launch_and_fail
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.pair_watch.seen is not None, what="first look")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 60, "question")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any(n.title == DONE_TITLE for n in app._notifications),
            what="the done notice",
        )
        said = [n.message for n in app._notifications]
        tags = sorted(name.rsplit(".", 1)[-1] for name in world.supervisor.pairs)
        for tag in tags:
            assert any(m.startswith(f"{tag} failed: its sweep exited 1.") for m in said), said
        assert any(f"every pair has ended ({len(tags)} failed)" in m for m in said), said
        assert app.done_banner and "every pair has ended" in app.done_banner
