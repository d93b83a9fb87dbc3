"""Defects found by hand in the app (QA pass 41), each driven by Pilot on fake services."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from hwscale_tui.tui.widgets.choice import ChoiceField
from tests.tui.test_tui_glance import header_text
from tests.tui.test_tui_pilot import SIZE
from tests.tui.tui_helpers import end_every_pair, make_app, wait_for


# -- 1. the unsaved-edits mark follows the form back to the saved file ------------------------
async def test_an_undone_edit_leaves_no_unsaved_mark(tmp_path):
    """runner builtin -> metta -> builtin, or max trials 8 -> 12 -> 8: the form is the saved
    file again, so the header's ``*`` goes and quitting does not ask (both stayed)."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form mounted")
        assert not app.session.dirty and "hardware_scaling*" not in header_text(app)
        runner = grid.query_one("#field-experiment--runner", ChoiceField)
        runner.focus()
        await pilot.press("right")
        await wait_for(pilot, lambda: app.session.cfg.experiment.runner == "metta", what="metta")
        assert app.session.dirty and "hardware_scaling*" in header_text(app)
        await pilot.press("left")
        await wait_for(pilot, lambda: app.session.cfg.experiment.runner == "builtin", what="back")
        assert not app.session.dirty
        await wait_for(pilot, lambda: "hardware_scaling*" not in header_text(app), what="no *")

        field = grid.query_one("#field-sweep--max_trials", Input)
        field.focus()
        await pilot.press("end", "backspace", *"12")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 12, what="12")
        assert app.session.dirty and "hardware_scaling*" in header_text(app)
        await pilot.press("backspace", "backspace", "8")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 8, what="8 again")
        assert not app.session.dirty
        await wait_for(pilot, lambda: "hardware_scaling*" not in header_text(app), what="no *")
        await pilot.press("ctrl+q")  # nothing to discard: no question
    assert app.return_value is None or "discarded" not in app.return_value


async def test_an_edit_after_a_save_is_measured_against_the_saved_file(tmp_path):
    """Saved with max trials 12, then 12 -> 8 -> 12: unsaved, then saved again (no ``*``)."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form mounted")
        field = grid.query_one("#field-sweep--max_trials", Input)
        field.focus()
        await pilot.press("end", "backspace", *"12")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 12, what="12")
        await pilot.press("ctrl+s")
        assert not app.session.dirty
        await pilot.press("backspace", "backspace", "8")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 8, what="8")
        assert app.session.dirty  # 8 is the default, but the file says 12
        await pilot.press("backspace", *"12")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 12, what="12 again")
        assert not app.session.dirty


# -- 2. the trials filter is each experiment's own ---------------------------------------------
async def test_the_trials_filter_is_remembered_per_experiment(tmp_path):
    """A filter set on one experiment is not applied to the next one the switcher opens (the
    app reopened on ``other`` showed 4 of its 32 trials under ``filter: g2n1``); back on the
    first experiment, its filter is there again."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.config import default_config
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, _ = make_app(tmp_path / "one", start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        await pilot.press("slash", *"g2n1", "enter")
        assert table.row_count == 4
    other = cfgmod.apply_overrides(default_config(), {"experiment.name": "other"})
    app2, _ = make_app(tmp_path / "two", start="trials", cfg=other)
    async with app2.run_test(size=SIZE) as pilot:
        table = app2.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: len(table.trials) == 32, what="poll")
        assert table.filter_terms == [] and table.row_count == 32
        assert "filter:" not in str(app2.screen.query_one("#poll-status").render())
        await pilot.press("slash", *"g1n1", "enter")
        assert table.row_count == 4
    app3, _ = make_app(tmp_path / "three", start="trials")
    async with app3.run_test(size=SIZE) as pilot:
        table = app3.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: len(table.trials) == 32, what="poll")
        assert table.filter_terms == ["g2n1"] and table.row_count == 4


# -- 3. a trial the user stopped reads as stopped, not as an exit code ------------------------
def _details(app) -> str:
    from tests.tui.test_tui_pilot import text_of

    return " ".join(text_of(app.screen.query_one("#trial-details")).split())


async def test_a_trial_stopped_with_k_reads_stopped_by_you(tmp_path):
    """Its sweep records the SIGTERM exit as ``exit code 143`` (as `hwscale-tui trials` prints
    it); the side pane said ``reason exit code 143``. A trial another process stopped (a
    SIGTERM from elsewhere, exit 130 after SIGINT) reads ``stopped by SIGTERM``."""
    from dataclasses import replace

    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, world = make_app(tmp_path, start="trials")
    stopped: list[str] = []

    class Control:  # what the sweep does with a trial stopped by its SIGTERM: records it killed
        def stop_trial(self, run_id: str) -> str:
            stopped.append(run_id)
            world.source.trials[run_id] = replace(
                # as outcome.decide_outcome records a SIGTERM exit (stores before: "exit code 143")
                world.source.trials[run_id],
                state="killed",
                error="stopped by SIGTERM (exit code 143)",
            )
            return f"stopped trial {run_id} (1 process)"

        def trial_log_path(self, run_id: str) -> str | None:
            return None

    world.services.trial_control = Control()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        running = [t for t in table.trials.values() if t.state == "running"]
        mine, other = running[0], running[1]
        table.select_run(mine.run_id)
        await pilot.press("k", "y")
        await wait_for(pilot, lambda: stopped == [mine.run_id], what="stop")
        await wait_for(
            pilot, lambda: table.trials[mine.run_id].state == "killed", what="killed polled"
        )
        await wait_for(pilot, lambda: "reason" in _details(app), what="reason shown")
        shown = _details(app)
        assert "reason stopped by you (SIGTERM, exit code 143)" in shown, shown
        for error, said in (
            ("exit code 143", "stopped by SIGTERM (exit code 143)"),
            ("stopped by SIGTERM (exit code 143)", "stopped by SIGTERM (exit code 143)"),
            ("exit code 130", "stopped by SIGINT (exit code 130)"),
            ("killed by SIGTERM", "stopped by SIGTERM"),
            ("exit code 1: Traceback", "exit code 1: Traceback"),  # not a stop: as recorded
        ):
            world.source.trials[other.run_id] = replace(other, state="killed", error=error)
            await pilot.press("R")
            await wait_for(pilot, lambda e=error: table.trials[other.run_id].error == e, what=error)
            table.select_run(other.run_id)
            await wait_for(pilot, lambda s=said: f"reason {s}" in _details(app), what=said)


# -- 4. the launch rows say a pair's status in the words of `hwscale-tui status` ---------------
@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_launch_rows_use_the_words_of_status_and_show_them_whole(tmp_path, size):
    """The rows said ``exited`` where `status` says ``exited (code unknown)``, ``not started``
    for ``never started``, ``start failed`` for ``failed to start``, and ``exited -15`` for
    ``exited -15 (SIGTERM)``; at 80 and 120 columns each label is shown whole (not cut)."""
    from hwscale_tui.launch.status_view import status_text

    app, world = make_app(tmp_path, start="launch", launched=True)
    pairs = world.supervisor.pairs
    ended = world.clock()
    for name, (status, code, never) in {
        "hardware_scaling.g1n1": ("exited", None, False),
        "hardware_scaling.g1n2": ("scheduled", None, True),
        "hardware_scaling.g2n1": ("failed_to_start", None, False),
        "hardware_scaling.g2n2": ("exited", -15, False),
    }.items():
        p = pairs[name]
        p.status, p.exit_code, p.never_started, p.pid = status, code, never, None
        p.ended_at = ended if status != "scheduled" else None
    for p in pairs.values():  # its supervisor gone, no scheduled pair starts by itself
        p.never_started = p.status == "scheduled"
    world.supervisor.state = "gone"
    expected = {
        "hardware_scaling.g1n1": "exited (code unknown)",
        "hardware_scaling.g1n2": "never started",
        "hardware_scaling.g2n1": "failed to start",
        "hardware_scaling.g2n2": "exited -15 (SIGTERM)",
    }
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await wait_for(
            pilot,
            lambda: all(
                n in screen.rows and screen.rows[n].status_text == w for n, w in expected.items()
            ),
            what="the words of status",
        )
        for name in expected:  # the same function's words, not a copy of them
            assert screen.rows[name].status_text == status_text(pairs[name])
        await pilot.pause()
        table = screen.query_one("#launch-table")
        lines = [table.render_line(y).text for y in range(table.size.height)]
        for name, words in expected.items():
            tag = name.rsplit(".", 1)[1]
            line = next(line for line in lines if line.strip().startswith(tag))
            assert words in line, (words, line)
        assert all(len(line.rstrip()) <= size[0] for line in lines)


# -- 5. the grid's keys name CPU ranks in local mode -------------------------------------------
@pytest.mark.parametrize(
    ("size", "add", "remove"), [((80, 24), "+rank", "-rank"), ((120, 36), "+ranks", "-ranks")]
)
async def test_the_grid_footer_says_ranks_in_local_mode(tmp_path, size, add, remove):
    """Local mode's rows are CPU ranks per node, but g / G read ``+GPUs`` / ``-GPUs``; at 80
    columns ``+ranks`` / ``-ranks`` would push ``? Help`` off the line, so it is ``+rank``.
    A runner change to metta (GPUs) brings ``+GPUs`` back; the palette says the same."""
    from hwscale_tui.tui.screens.base import HwFooter

    app, _ = make_app(tmp_path)
    assert app.session.cfg.local_ranks
    async with app.run_test(size=size) as pilot:
        grid = app.screen
        footer = grid.query_one(HwFooter)
        await pilot.pause()
        keys = dict(footer.shown_keys())
        assert (keys["g"], keys["G"]) == (add, remove)
        line = footer.render().plain.split("▏")[0].rstrip()  # the keys, without ^p Palette
        assert line.endswith("? Help") and len(line) <= size[0]
        commands = [c.title for c in app.get_system_commands(grid)]
        assert "+ranks" in commands and "+GPUs" not in commands
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form mounted")
        grid.query_one("#field-experiment--runner", ChoiceField).focus()
        await pilot.pause()
        keys = dict(footer.shown_keys())  # "-> Choice" is shorter than "space Toggle": the
        assert "→" in keys and (keys["g"], keys["G"]) == (add, remove)  # words stay as they were
        await pilot.press("right")  # metta: pairs are GPUs
        await wait_for(pilot, lambda: not app.session.cfg.local_ranks, what="metta")
        await pilot.press("escape")
        await wait_for(pilot, lambda: dict(footer.shown_keys()).get("g") == "+GPUs", what="GPUs")
        assert footer.render().plain.split("▏")[0].rstrip().endswith("? Help")


async def test_the_help_names_the_grid_keys_as_the_footer_does(tmp_path):
    from textual.widgets import Static

    from hwscale_tui.tui.screens.modals import HelpScreen
    from tests.tui.test_tui_pilot import text_of

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = text_of(app.screen.query_one("#help-keys", Static))
        assert "+ranks  grid.add_gpus" in shown and "-ranks  grid.remove_gpus" in shown


# -- QA: what the launch screen's summary holds is all shown -----------------------------------
async def test_the_done_line_and_the_pair_line_are_whole_at_80_columns(tmp_path):
    """At 80x24 the summary kept 4 lines: with the done line (2 lines, 3 for a long name) the
    end of the best pairs (``balanced: ...``) and the highlighted pair's line were cut off."""
    from textual.widgets import Label

    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await end_every_pair(pilot, app, world)
        await wait_for(
            pilot, lambda: app.done_banner and "Best pair" in app.done_banner, what="banner"
        )
        summary = app.screen.query_one("#launch-summary", Label)
        row = app.screen.selected_row()

        def drawn() -> str:
            return " ".join(summary.render_line(y).text for y in range(summary.size.height))

        await wait_for(pilot, lambda: "Best pair" in drawn(), what="the done line")
        await pilot.pause()
        shown = " ".join(drawn().split())
        assert app.done_banner.split("balanced: ")[1] in shown, shown  # its end
        assert f"{row.tag}: {row.detail}" in shown, shown


async def test_a_long_run_id_is_shown_whole_in_the_trial_details_at_80_columns(tmp_path):
    """A long experiment name makes run ids longer than the 80-column pane: the id (what
    `hwscale-tui trials` and the logs name the trial by) lost its tail to an ellipsis."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.config import default_config
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    name = "scaling_study_with_a_rather_long_descriptive_name_v2"
    cfg = cfgmod.apply_overrides(default_config(), {"experiment.name": name})
    app, _ = make_app(tmp_path, start="trials", cfg=cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        t = table.selected_trial()
        await pilot.pause()
        box = app.screen.query_one("#trial-details")
        assert len("run ") + len(t.run_id) > box.size.width  # it does not fit on one line
        drawn = "".join(box.render_line(y).text.strip() for y in range(box.size.height)).replace(
            " ", ""
        )
        assert t.run_id in drawn, drawn[:200]


async def test_the_footer_leaves_out_slash_filter_while_the_filter_is_typed(tmp_path):
    """With the trials filter open the footer said ``/ Filter``, but ``/`` is typed into it
    (Textual knows ``?`` is typed, so ``f1 Help`` shows, but not ``/``, ``+``, ``-``)."""
    from hwscale_tui.tui.screens.base import HwFooter
    from hwscale_tui.tui.widgets.trial_table import TrialTable

    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        footer = app.screen.query_one(HwFooter)
        assert "/" in dict(footer.shown_keys())
        await pilot.press("slash", "g", "/")
        box = app.screen.query_one("#filter-input", Input)
        assert box.has_focus and box.value == "g/"  # typed, not the filter key again
        await pilot.pause()
        keys = dict(footer.shown_keys())
        assert "/" not in keys and keys.get("f1") == "Help", keys


async def test_the_experiment_switcher_shows_an_experiment_on_one_line_at_80_columns(tmp_path):
    """Its box was the yes/no box's 56 columns: at 80 columns every entry (``alpha  launched,
    1 generation, 2 pairs, 6 trials``) wrapped onto a second line."""
    from textual.widgets import OptionList

    from hwscale_tui import config as cfgmod
    from hwscale_tui.launch import experiments as ex
    from hwscale_tui.tui.app import create_app
    from hwscale_tui.tui.experiment_switcher import ExperimentSwitcher, _label

    for name in ("alpha", "beta"):
        cfg = cfgmod.apply_overrides(cfgmod.default_config(env={}), {"experiment.name": name})
        cfgmod.save(cfg, tmp_path / f"{name}.toml")
        ex.remember(name, tmp_path / f"{name}.toml")
    app = create_app(remember_state=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        await pilot.pause()
        box = app.screen.query_one(OptionList)
        lines = [box.render_line(y).text for y in range(box.size.height)]
        for s in app.screen.rows:
            assert any(_label(s).strip() in line for line in lines), (_label(s), lines)
        region = app.screen.query_one("#confirm-box").region
        assert region.right <= 80 and abs(region.x - (80 - region.right)) <= 1  # centred


async def test_the_log_title_keeps_its_key_hint_with_a_long_experiment_name(tmp_path):
    """``log of g1n1: <a long experiment>.g1n1.log  (o: full log)`` was cut at 80 columns after
    ``(o:``; the file name is shortened in the middle instead."""
    from textual.widgets import Label

    from hwscale_tui import config as cfgmod
    from hwscale_tui.config import default_config

    name = "scaling_study_with_a_rather_long_descriptive_name_v2"
    cfg = cfgmod.apply_overrides(default_config(), {"experiment.name": name})
    app, _ = make_app(tmp_path, start="launch", launched=True, cfg=cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        title = app.screen.query_one("#log-title", Label)
        await wait_for(pilot, lambda: "log of g1n1" in title.render_line(0).text, what="title")
        await pilot.pause()
        line = title.render_line(0).text.rstrip()
        assert line.startswith("log of g1n1: scaling_study") and line.endswith(
            "_v2.g1n1.log  (o: full log)"
        ), line
        assert "…" in line and len(line) <= 80


async def test_a_form_value_wider_than_its_field_shows_its_start_once_left(tmp_path):
    """At 80 columns ``evaluate_in_sweep`` is wider than its field: focusing it scrolls to its
    end, and leaving it kept ``valuate_in_sweep`` on screen, as if the value had lost a letter."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-analysis--target"), what="form mounted")
        field = grid.query_one("#field-metta--eval_entrypoint", Input)
        assert field.value == "evaluate_in_sweep"
        field.focus()
        await pilot.pause()
        # it does not fit with the cursor after its last character
        assert field.content_size.width <= len(field.value)
        assert field.scroll_offset.x > 0  # the end is in view while it has the cursor
        await pilot.press("tab")
        await pilot.pause()
        assert not field.has_focus
        assert field.scroll_offset.x == 0
        assert field.render_line(0).text.startswith("evaluate")


def test_a_pair_killed_by_a_signal_is_told_with_the_signal_as_status_says_it():
    """``status`` says ``exited -15 (SIGTERM)``; the notice said ``its sweep exited -15``."""
    from types import SimpleNamespace

    from hwscale_tui.tui.watch import PairWatch

    def status(state: str, code: int | None) -> SimpleNamespace:
        pair = SimpleNamespace(
            sweep_name="exp.g1n1", gpus=1, nodes=1, status=state, exit_code=code, alive=False
        )
        return SimpleNamespace(launch_id=1, supervisor_alive=True, pairs=[pair])

    for code, said in ((-15, "exited -15 (SIGTERM)"), (3, "exited 3")):
        watch = PairWatch()
        watch.look("exp", status("running", None))
        notices = watch.look("exp", status("exited", code))
        assert [n.message for n in notices] == [f"g1n1 failed: its sweep {said}."]


def test_a_failed_pairs_notice_says_why_from_its_logs_last_line(tmp_path):
    """'g1n1 failed: its sweep exited 1.' said nothing of why; its log's last line does."""
    from types import SimpleNamespace

    from hwscale_tui.tui.watch import PairWatch

    log = tmp_path / "exp.g1n1.log"
    log.write_text(
        "08:43:17 failed     exp.g1n1_trial_0002_2b53bb exit code 1: boom\n"
        "08:43:18 failed     exp.g1n1 every trial failed: 2 failed\n\n"
    )

    def status(state: str, code: int | None) -> SimpleNamespace:
        pair = SimpleNamespace(
            sweep_name="exp.g1n1",
            gpus=1,
            nodes=1,
            status=state,
            exit_code=code,
            alive=False,
            log_path=str(log),
        )
        return SimpleNamespace(launch_id=1, supervisor_alive=True, pairs=[pair])

    watch = PairWatch()
    watch.look("exp", status("running", None))
    (notice,) = watch.look("exp", status("exited", 1))
    assert notice.message == (
        "g1n1 failed: its sweep exited 1. Its log ends: "
        "08:43:18 failed exp.g1n1 every trial failed: 2 failed"
    )


async def test_the_pair_details_count_ranks_per_node_in_the_plural(tmp_path):
    """``g2n1  (2 rank/node x 1 node)``: the count per node was always singular."""
    from textual.widgets import DataTable, Static

    from tests.tui.test_tui_pilot import text_of

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen
        details = grid.query_one("#pair-details", Static)
        await wait_for(
            pilot, lambda: "g1n1  (1 rank/node x 1 node)" in text_of(details), what="g1n1"
        )
        grid.query_one("#pair-matrix", DataTable).move_cursor(row=1, column=1)
        await wait_for(pilot, lambda: "g2n2  (" in text_of(details), what="g2n2")
        assert "g2n2  (2 ranks/node x 2 nodes)" in text_of(details)
