"""`L` on an experiment whose comparability settings changed asks before starting a new
generation (real supervisor, real store; each pair's command exits at once)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from textual.widgets import Label

from hwscale_tui import config as cfgmod
from hwscale_tui.launch import supervisor
from hwscale_tui.store import Store
from hwscale_tui.tui.app import create_app
from hwscale_tui.tui.screens.modals import ConfirmScreen
from hwscale_tui.tui.widgets.trial_table import TrialTable
from tests.tui.tui_helpers import stop_everything, wait_for

SIZE = (120, 36)


def _save(path, name: str, gpus: tuple[int, ...] = (1,), **settings) -> None:
    """An experiment of ``gpus`` x 1 node; ``settings``: dotted keys with ``__`` for the dot
    (``sweep__max_trials=3``)."""
    overrides = {k.replace("__", "."): v for k, v in settings.items()}
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(env={}),
        {
            "experiment.name": name,
            "grid.gpu_counts": list(gpus),
            "grid.node_counts": [1],
            **overrides,
        },
    )
    cfgmod.save(cfg, path)


def _write(path, total_timesteps: int, command: list[str] | None = None) -> None:
    """One pair (g1n1); its sweep command ``command`` (default: one that exits at once)."""
    _save(
        path,
        "tuigen",
        launch__delay_s=0.0,
        sweep__total_timesteps=total_timesteps,
        launch__command=command or [sys.executable, "-c", "pass"],
    )


def _generation() -> int:
    with Store.open_default() as store:
        return store.latest_generation("tuigen")


async def test_launch_with_changed_budget_asks_and_no_launches_nothing(tmp_path):
    exp = tmp_path / "tuigen.toml"
    _write(exp, 1000)
    supervisor.launch(cfgmod.load(exp), foreground=True)
    _write(exp, 5000)
    app = create_app(experiment_file=exp)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            launch = app.screen
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
            text = app.screen.question
            assert "sweep.total_timesteps 1000 -> 5000" in text and "generation 2" in text
            await pilot.press("n")
            await pilot.pause(0.3)
            assert _generation() == 1  # no: nothing launched, nothing recorded
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="again")
            await pilot.press("y")
            await wait_for(pilot, lambda: _generation() == 2, timeout=60, what="generation 2")
            await wait_for(
                pilot, lambda: app.session.cfg.generation == 2, what="the session's generation"
            )
            await wait_for(
                pilot,
                lambda: "tuigen.g1n1.gen2" in launch.rows,
                timeout=60,
                what="the generation-2 pair on the launch screen",
            )
    finally:
        stop_everything("tuigen")


def test_the_analysis_screen_uses_the_newest_generation_and_fitting_pairs(monkeypatch):
    from hwscale_tui.records import Trial
    from hwscale_tui.tui.screens.analysis import select_trials

    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    cfg = cfgmod.default_config(env={})
    trials = [
        Trial(sweep=s, run_id=f"{s}_trial_0001", gpus=g, nodes=1, state="finished", generation=gen)
        for s, g, gen in (
            ("hardware_scaling.g1n1", 1, 1),
            ("hardware_scaling.g1n1.gen2", 1, 2),
            ("hardware_scaling.g2n1.gen2", 2, 2),
            ("hardware_scaling.g4n1.gen2", 4, 2),
        )
    ]
    chosen, notes = select_trials(cfg, trials)
    assert [t.sweep for t in chosen] == ["hardware_scaling.g1n1.gen2", "hardware_scaling.g2n1.gen2"]
    text = " ".join(notes)
    assert "generation 2 of experiment hardware_scaling" in text
    assert "g4n1 left out" in text and "too few for a scaling law" in text
    # the app's way to another generation, not the command line's
    assert "1 trial of other generations left out" in text and "g picks another" in text
    assert "--generation" not in text
    older, notes = select_trials(cfg, trials, 1)  # the screen's g picks another generation
    assert [t.sweep for t in older] == ["hardware_scaling.g1n1"]
    assert "generation 1 of experiment hardware_scaling" in " ".join(notes)


async def test_launch_all_leaves_out_pairs_whose_sweep_ran_its_trials(tmp_path):
    """Real supervisor, real built-in sweeps: a pair added after the others ran starts alone."""
    exp = tmp_path / "spent.toml"

    def write(gpus: tuple[int, ...]) -> None:
        _save(
            exp,
            "spent",
            gpus,
            launch__delay_s=30.0,
            sweep__max_trials=1,
            sweep__total_timesteps=2048,
        )

    write((1,))
    supervisor.launch(cfgmod.load(exp), foreground=True)
    write((1, 2))
    async with _launch_question(exp, "spent") as (app, pilot, question):
        assert "g1n1 already ran 1 trial: left out" in question
        assert "1 pair" in question  # the estimate counts g2n1 only
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any("Launched g2n1" in n.message for n in app._notifications),
            timeout=60,
            what="the launch notice",
        )
        notice = next(n.message for n in app._notifications if "Launched" in n.message)
        assert "g1n1 already ran 1 trial, not started again" in notice
        status = supervisor.pair_status("spent")
        assert status.pair("spent.g2n1").launch_id != status.pair("spent.g1n1").launch_id

        def g2n1_done() -> bool:
            status = supervisor.pair_status("spent")
            pair = status.pair("spent.g2n1")
            # and its supervisor gone: L refuses while it runs ("already running")
            return pair.trials_done == 1 and not pair.alive and not status.supervisor_alive

        await wait_for(pilot, g2n1_done, timeout=60, what="g2n1's sweep to end")
        await pilot.press("L")  # nothing left in generation 1: it offers generation 2
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 60, what="question")
        assert "already ran 1 trial (max trials) in generation 1" in app.screen.question
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="closed")
        before = supervisor.pair_status("spent").pair("spent.g1n1").launch_id
        await pilot.press("l")  # the selected pair (g1n1) alone: not relaunched either
        await wait_for(
            pilot,
            lambda: any("not relaunched" in n.message for n in app._notifications),
            what="the relaunch refusal",
        )
        notice = next(n.message for n in app._notifications if "not relaunched" in n.message)
        assert notice.startswith("g1n1 already ran 1 trial (max trials)")
        assert supervisor.pair_status("spent").pair("spent.g1n1").launch_id == before


async def test_the_grid_says_which_pairs_a_launch_leaves_out_as_having_run_their_trials(tmp_path):
    """Real supervisor, real built-in sweep: g1n1 ran its 1 trial, g2n1 was added since. The
    grid's details said "will run" for both, where `L` leaves g1n1 out."""
    from textual.widgets import Static

    from tests.tui.test_tui_pilot import text_of

    exp = tmp_path / "spent.toml"
    settings = {"launch__delay_s": 30.0, "sweep__total_timesteps": 2048}
    _save(exp, "spent", (1,), sweep__max_trials=1, **settings)
    supervisor.launch(cfgmod.load(exp), foreground=True)
    _save(exp, "spent", (1, 2), sweep__max_trials=1, **settings)
    app = create_app(experiment_file=exp)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("1")  # a launched experiment opens on its launch screen
            await wait_for(pilot, lambda: bool(app.screen.query("#pair-details")), what="grid")
            details = app.screen.query_one("#pair-details", Static)

            def state() -> str:
                shown = text_of(details, width=400).splitlines()
                return next((x for x in shown if x.startswith("state")), "")

            await wait_for(pilot, lambda: "L leaves it out" in state(), what="g1n1's state")
            assert "ran its 1 trial: L leaves it out (raise max trials to run more)" in state()
            await pilot.press("down")  # g2n1: never ran
            await wait_for(pilot, lambda: "g2n1" in text_of(details, width=400), what="g2n1")
            assert state().split(maxsplit=1)[1].startswith("will run"), state()
            await pilot.press("up")
            app.session.set_field("sweep.max_trials", "2")  # g1n1 has a trial left to run
            await pilot.press("down", "up")
            await wait_for(pilot, lambda: "g1n1" in text_of(details, width=400), what="g1n1")
            assert state().split(maxsplit=1)[1].startswith("will run"), state()
    finally:
        stop_everything("spent")


async def test_quitting_after_launching_unsaved_edits_says_they_were_launched(tmp_path):
    """Real supervisor: grid edits launched from the app and not saved. Quitting asked to
    "discard" them as if nothing had used them; it says the launch has them, and that the file
    does not."""
    exp = tmp_path / "quit.toml"
    _write(exp, 2048)
    app = create_app(experiment_file=exp)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.session.set_field("launch.delay_s", "1")  # an edit that needs no new generation
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
            assert app.screen.question.startswith("tuigen has unsaved grid edits. Quit and")
            await pilot.press("n", "2", "L")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="launch")
            await pilot.press("y")
            from hwscale_tui.paths import snapshot_path

            await wait_for(pilot, snapshot_path("tuigen").exists, timeout=60, what="the launch")
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
            question = app.screen.question
            assert question.startswith(
                f"tuigen's grid edits were launched but are not saved to {exp}. Quit without "
                "saving them? (the launch keeps its own copy;"
            ), question
            await pilot.press("n")
            app.session.set_field("launch.delay_s", "2")  # an edit after the launch: unsaved
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
            assert app.screen.question.startswith("tuigen has unsaved grid edits."), question
            await pilot.press("n")
    finally:
        stop_everything("tuigen")


async def test_an_analysis_made_while_pairs_ran_is_made_again_when_they_end(tmp_path):
    """Real supervisor: the analysis screen opened while g2n1 ran kept that analysis after the
    run ended (R redid it); now it analyzes again once no pair runs, and only then."""
    import dataclasses

    class Counting:
        def __init__(self, real):
            self.real, self.calls = real, 0

        def analyze(self, *args, **kwargs):
            # the analysis screen's (the done banner's best pair is another analysis)
            self.calls += sys._getframe(1).f_code.co_name == "_compute_worker"
            return self.real.analyze(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.real, name)

    exp = tmp_path / "mid.toml"
    _write_tiny(exp, 2048)
    _save(  # g1n1 and g2n1; g2n1's tiny sweep lingers after its trials until cancelled
        exp,
        "tuigen",
        (1, 2),
        launch__delay_s=0.0,
        sweep__total_timesteps=2048,
        launch__command=cfgmod.load(exp).launch.command,
    )
    supervisor.launch(cfgmod.load(exp))
    app = create_app(experiment_file=exp)
    counting = Counting(app.services.analysis)
    app.services = dataclasses.replace(app.services, analysis=counting)
    try:
        async with app.run_test(size=SIZE) as pilot:

            def running() -> bool:
                seen = app.pair_status_seen
                return seen is not None and any(p.alive for p in seen.pairs)

            def with_trials() -> bool:
                with Store.open_default() as store:
                    n = store.conn.execute("SELECT COUNT(*) FROM trials WHERE state='finished'")
                    return n.fetchone()[0] == 4

            await wait_for(pilot, lambda: running() and with_trials(), timeout=60, what="trials")
            await pilot.press("4")
            await wait_for(pilot, lambda: counting.calls == 1, timeout=60, what="the analysis")
            await pilot.pause(5)  # the watch looks every 2 s: pairs still run, nothing redone
            assert counting.calls == 1
            stop_everything("tuigen")  # g2n1 ends
            await wait_for(pilot, lambda: counting.calls == 2, timeout=60, what="the redo")
            await pilot.pause(5)
            assert counting.calls == 2  # once: nothing runs, nothing changes
    finally:
        stop_everything("tuigen")


async def test_launch_question_after_raising_max_trials_counts_the_trials_left(tmp_path):
    """Real supervisor, real built-in sweep: g1n1 ran 1 trial; max trials raised to 3, the
    launch continues the generation with 2 more, and the question's estimate says 2 (it said
    3, max_trials for every pair, whatever they had run)."""
    exp = tmp_path / "more.toml"

    def write(max_trials: int) -> None:
        _save(exp, "more", sweep__max_trials=max_trials, sweep__total_timesteps=2048)

    write(1)
    supervisor.launch(cfgmod.load(exp), foreground=True)
    write(3)
    async with _launch_question(exp, "more") as (_app, pilot, question):
        assert "1 pair, 2 trials in all, 1 rank across pairs" in question
        assert "left out" not in question
        await pilot.press("n")


@asynccontextmanager
async def _launch_question(exp: Path, name: str) -> AsyncIterator[tuple]:
    """The app open on ``exp``, its launch screen, ``L`` pressed: (app, pilot, the question);
    every sweep of experiment ``name`` stopped afterwards."""
    app = create_app(experiment_file=exp)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
            yield app, pilot, app.screen.question
    finally:
        stop_everything(name)


TINY_SWEEP = Path(__file__).with_name("tui_tiny_sweep.py")


def _write_tiny(path, total_timesteps: int) -> None:
    """One pair (g1n1) whose sweep writes 2 finished trials with curves, then exits."""
    command = [sys.executable, str(TINY_SWEEP), "{sweep_name}", "{gpus}", "{nodes}", "{experiment}"]
    _write(path, total_timesteps, [*command, "2"])


async def _launch_generation_2(pilot, app):
    """On the launch screen: an unsaved comparability edit (as on the form), `L`, yes."""
    app.session.set_field("sweep.total_timesteps", "5000")
    await pilot.press("2")
    await pilot.press("L")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
    assert "generation 2" in app.screen.question
    await pilot.press("y")
    await wait_for(pilot, lambda: _generation() == 2, timeout=60, what="generation 2")
    await wait_for(pilot, lambda: app.session.cfg.generation == 2, what="the session's generation")


@asynccontextmanager
async def _app_after_generation_1(exp: Path) -> AsyncIterator[tuple]:
    """Generation 1 of ``exp`` launched (to its end), then the app open on it: (app, pilot);
    every sweep of it stopped afterwards."""
    supervisor.launch(cfgmod.load(exp), foreground=True)
    app = create_app(experiment_file=exp)
    try:
        async with app.run_test(size=SIZE) as pilot:
            yield app, pilot
    finally:
        stop_everything("tuigen")


async def test_a_new_generation_launched_from_the_app_replaces_the_launch_rows(tmp_path):
    """After `L` + yes starts generation 2, the plan and the launch rows are the new
    generation's pairs only (not the old ones beside them, "not launched")."""
    exp = tmp_path / "tuigen.toml"
    _write_tiny(exp, 1000)
    async with _app_after_generation_1(exp) as (app, pilot):
        await pilot.press("2")
        launch = app.screen
        await wait_for(pilot, lambda: list(launch.rows) == ["tuigen.g1n1"], what="gen 1 row")
        summary = launch.query_one("#launch-summary", Label)
        assert str(summary.render()).startswith("1 pair,")  # one generation: nothing to tell
        await _launch_generation_2(pilot, app)
        assert [pp.sweep_name for pp in app.session.plan().pairs] == ["tuigen.g1n1.gen2"]
        await wait_for(
            pilot,
            lambda: (
                list(launch.rows) == ["tuigen.g1n1.gen2"]
                and launch.rows["tuigen.g1n1.gen2"].status != "not launched"
            ),
            timeout=60,
            what="the launch rows of generation 2 only",
        )
        # whose rows these are, as `status` says it ("generation 2 of 2")
        await wait_for(
            pilot,
            lambda: str(summary.render()).startswith("generation 2 of 2  |  1 pair,"),
            what="the summary naming the generation",
        )


async def test_a_new_generation_launched_from_the_app_reaches_trials_and_analysis(tmp_path):
    """The trials and analysis screens made their sources on generation 1; after the app starts
    generation 2 they list its trials and `g` knows there are two generations."""
    exp = tmp_path / "tuigen.toml"
    _write_tiny(exp, 1000)
    async with _app_after_generation_1(exp) as (app, pilot):
        await pilot.press("3")  # the trials screen makes its source on generation 1
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: len(table.trials) == 2, timeout=60, what="gen 1 trials")
        await pilot.press("4")  # and the analysis screen its own
        analysis = app.screen
        await wait_for(pilot, lambda: not analysis._computing, timeout=60, what="analysis")
        await _launch_generation_2(pilot, app)
        launch = app.screen

        def launch_progress_done() -> int | None:  # ETA, cost, trials of the launch screen
            pairs = getattr(launch.progress, "pairs", None) or []
            return next((pp.done for pp in pairs if pp.sweep == "tuigen.g1n1.gen2"), None)

        await wait_for(
            pilot,
            lambda: launch_progress_done() == 2,
            timeout=60,
            what="the launch screen's progress counting generation 2's trials",
        )
        await pilot.press("3")
        await wait_for(
            pilot,
            lambda: sum(t.generation == 2 for t in table.trials.values()) == 2,
            timeout=60,
            what="generation 2's trials on the trials screen",
        )
        assert len(table.trials) == 4  # both generations, told apart by their gen
        await pilot.press("4")
        await wait_for(pilot, lambda: not analysis._computing, timeout=60, what="analysis")
        notes = " ".join(analysis.result.notes)
        assert "generation 2 of experiment tuigen" in notes, notes
        await pilot.press("g")
        await wait_for(
            pilot,
            lambda: any("Analyzing generation 1 of 2" in n.message for n in app._notifications),
            what="g stepping back to generation 1 of 2",
        )


async def test_a_generation_launched_from_the_cli_is_followed_by_the_open_app(tmp_path):
    exp = tmp_path / "tuigen.toml"
    _write(exp, 1000)
    async with _app_after_generation_1(exp) as (app, pilot):
        await pilot.press("2")
        launch = app.screen
        await wait_for(pilot, lambda: list(launch.rows) == ["tuigen.g1n1"], what="gen 1 row")
        _write(exp, 5000)  # elsewhere: hwscale-tui launch --new-generation
        supervisor.launch(cfgmod.load(exp), new_generation=True, foreground=True)
        await wait_for(
            pilot,
            lambda: list(launch.rows) == ["tuigen.g1n1.gen2"],
            timeout=60,
            what="the launch screen following generation 2",
        )
        assert app.session.cfg.generation == 2
        assert not app.session.dirty


async def test_a_generation_change_is_asked_even_when_every_pair_ran_its_trials(tmp_path):
    """Every pair's built-in sweep ran max trials in generation 1; a comparability change makes
    `L` ask for generation 2 (which runs every pair afresh), not refuse 'No pair to launch'."""
    exp = tmp_path / "spentgen.toml"

    def write(total_timesteps: int) -> None:
        _save(
            exp,
            "spentgen",
            launch__delay_s=0.0,
            sweep__max_trials=1,
            sweep__total_timesteps=total_timesteps,
        )

    write(2048)
    supervisor.launch(cfgmod.load(exp), foreground=True)
    app = create_app(experiment_file=exp)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.session.set_field("sweep.total_timesteps", "4096")
            await pilot.press("2")
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
            question = app.screen.question
            assert "generation 2" in question and "1 pair" in question
            assert "left out" not in question
            assert not any("No pair to launch" in n.message for n in app._notifications)
            await pilot.press("n")
    finally:
        stop_everything("spentgen")


async def test_launch_all_continuing_a_generation_says_the_figures_are_of_the_trials_left(tmp_path):
    """After 2 of a pair's 8 trials ran, L asked "Launch all pairs of tuigen? 1 pair, 6 trials in
    all": as if 6 were all it would run, the 2 already run not mentioned."""
    exp = tmp_path / "tuigen.toml"
    _write_tiny(exp, 1000)
    supervisor.launch(cfgmod.load(exp), foreground=True)  # 2 finished trials, generation 1
    async with _launch_question(exp, "tuigen") as (_app, pilot, question):
        assert "Launch all pairs of tuigen?" in question
        assert (
            "Generation 1 continues: the trials its pairs ran count toward max trials " in question
        )
        assert "(8 per pair)" in question and "1 pair, 6 trials in all" in question
        await pilot.press("n")


async def test_l_after_raising_max_trials_launches_with_the_new_max(tmp_path):
    """l on a pair that ran relaunched it with the settings its launch froze: after max trials
    went up on the grid the sweep resumed, found the old max done and ended at once."""
    from hwscale_tui.paths import snapshot_path

    exp = tmp_path / "tuigen.toml"
    _write_tiny(exp, 1000)  # max trials 8; the sweep writes 2 finished trials
    supervisor.launch(cfgmod.load(exp), foreground=True)
    assert cfgmod.load(snapshot_path("tuigen")).sweep.max_trials == 8
    app = create_app(experiment_file=exp)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.session.set_field("sweep.max_trials", "9")  # as on the form, unsaved
            await pilot.press("2")
            await wait_for(pilot, lambda: app.screen.selected_row() is not None, what="rows")
            await pilot.press("l")
            await wait_for(
                pilot,
                lambda: any("Launched g1n1" in n.message for n in app._notifications),
                timeout=60,
                what="the launch",
            )
            assert cfgmod.load(snapshot_path("tuigen")).sweep.max_trials == 9
    finally:
        stop_everything("tuigen")
