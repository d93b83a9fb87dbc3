"""Every key binding and flow of the app, driven by Pilot on fake services (a frozen clock)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace

import pytest
from textual.widgets import DataTable, Input, Label, Select, Static

from hwscale_tui import config as cfgmod
from hwscale_tui.config import default_config
from hwscale_tui.hardware import pair_tag_of
from hwscale_tui.paths import app_paths
from hwscale_tui.tui.app import SCREENS, HwscaleApp, screen_class
from hwscale_tui.tui.formatting import fmt_duration, fmt_number, plural
from hwscale_tui.tui.screens.base import HwFooter
from hwscale_tui.tui.screens.modals import ConfirmScreen, HelpScreen, PromptScreen
from hwscale_tui.tui.widgets.trial_table import TrialTable
from tests.tui.tui_helpers import make_app, shown_error, wait_for

SIZE = (100, 34)


def text_of(widget, width: int = 100) -> str:
    """What a Static/Label shows, as plain text."""
    from rich.console import Console

    content = widget.content
    if isinstance(content, str):
        return content
    if hasattr(content, "plain"):
        return content.plain
    console = Console(width=width, record=True, file=open(os.devnull, "w"))
    console.print(content)
    return console.export_text()


# -- everywhere -------------------------------------------------------------------------------
def test_every_binding_has_a_unique_id():
    from hwscale_tui.tui.screens import modals
    from hwscale_tui.tui.widgets.choice import ChoiceField

    classes = [
        HwscaleApp,
        *map(screen_class, SCREENS),
        modals.HelpScreen,
        modals.ConfirmScreen,
        modals.PromptScreen,
        ChoiceField,
    ]
    ids = []
    for cls in classes:
        for b in cls.BINDINGS:
            assert b.id, f"{cls.__name__}: binding {b.key} has no id"
            ids.append(b.id)
    assert len(ids) == len(set(ids))


async def test_number_keys_switch_screens_and_esc_goes_back(tmp_path):
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert app.current_mode == "grid"
        for key, mode in (("2", "launch"), ("3", "trials"), ("4", "analysis"), ("1", "grid")):
            await pilot.press(key)
            assert app.current_mode == mode
        await pilot.press("escape")
        assert app.current_mode == "analysis"
        await pilot.press("escape")
        assert app.current_mode == "trials"


async def test_help_lists_the_current_screens_bindings(tmp_path):
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = text_of(app.screen.query_one("#help-keys", Static))
        for ident in (
            "launch.all",
            "launch.cancel_selected",
            "launch.open_log",
            "app.help",
            "app.quit",
        ):
            assert ident in shown
        # every screen's keys are listed, grouped; this screen's group is marked
        assert shown.index("2 Launch (this screen)") < shown.index("launch.all")
        assert shown.index("launch.all") < shown.index("3 Trials")
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen) and app.current_mode == "launch"


async def test_command_palette_offers_screens_and_actions(tmp_path):
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Go to Grid", "Go to Launch", "Go to Trials", "Go to Analysis"} <= set(titles)
        assert "Filter" in titles and "Sort" in titles
        # one help: Textual's "Keys" panel (this screen's keys only, not closed by esc) is not
        # offered beside the app's Help
        assert "Help" in titles and "Keys" not in titles
        await pilot.press("ctrl+p")
        await wait_for(
            pilot, lambda: app.screen.__class__.__name__ == "CommandPalette", what="palette"
        )
        await pilot.press(*"Go to Analysis")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: app.current_mode == "analysis", what="palette switches screen"
        )


async def test_quit_says_sweeps_keep_running(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: any(r.active for r in app.screen.rows.values()), what="active rows"
        )
        await pilot.press("ctrl+q")
    said = " ".join((app.return_value or "").split())  # folded to the terminal's width
    assert "running in the background (g1n1" in said
    scheduled = [n for n, r in world.supervisor.pairs.items() if r.status == "scheduled"]
    assert scheduled  # the fake launch starts the first pair and schedules the rest
    # pairs not started yet are told apart: the supervisor starts them later, with when
    assert f"{plural(len(scheduled), 'pair')} of hardware_scaling start" in said
    assert " on schedule (" in said
    assert f"{scheduled[0].split('.')[-1]} in " in said
    assert (
        world.supervisor.pairs["hardware_scaling.g1n1"].status == "running"
    )  # quitting cancels nothing


@pytest.mark.parametrize("start", ["trials", "grid", "analysis"])
async def test_quit_from_another_screen_says_sweeps_keep_running_too(tmp_path, start):
    """The note came from the launch screen's rows: quitting an app that never showed that
    screen (opened on trials, grid or analysis) printed nothing while the sweeps ran on."""
    app, world = make_app(tmp_path, start=start, launched=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("ctrl+q")
    assert app._launch_screen() is None  # it was never shown
    said = " ".join((app.return_value or "").split())  # folded to the terminal's width
    assert "running in the background (g1n1" in said
    assert "start on schedule (" in said
    assert world.supervisor.pairs["hardware_scaling.g1n1"].status == "running"


async def test_launch_summary_and_quit_follow_the_supervisor_state(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        summary = screen.query_one("#launch-summary", Label)
        await wait_for(
            pilot, lambda: "supervisor running" in text_of(summary), what="running supervisor"
        )
        for p in world.supervisor.pairs.values():  # every pair ended, then the supervisor did
            p.status, p.exit_code, p.ended_at = "exited", 0, world.clock()
        world.supervisor.state = "finished"
        await wait_for(
            pilot, lambda: "supervisor finished" in text_of(summary), what="finished supervisor"
        )
        assert "gone" not in text_of(summary) and "0 active" in text_of(summary)
        never = world.supervisor.pairs[
            "hardware_scaling.g8n2"
        ]  # the supervisor died before starting it
        never.status, never.exit_code, never.ended_at, never.never_started = (
            "scheduled",
            None,
            None,
            True,
        )
        world.supervisor.state = "gone"
        await wait_for(
            pilot,
            lambda: "supervisor gone (running sweeps continue" in text_of(summary),
            what="gone supervisor",
        )
        await wait_for(
            pilot,
            lambda: screen.rows["hardware_scaling.g8n2"].status_text == "never started",
            what="row",
        )
        assert screen.rows["hardware_scaling.g8n2"].countdown == "-"
        # the one active pair never starts by itself: nothing keeps running when you quit
        assert "1 active" in text_of(summary) and "keep running" not in text_of(summary)
        await pilot.press("ctrl+q")
    assert (
        "keep running" not in app.return_value
    )  # nothing runs: the one pending pair will never start by itself
    assert (
        "never started" in app.return_value
        and "g8n2" in app.return_value
        and "launch --experiment-name hardware_scaling --resume" in app.return_value
    )


# -- grid editor ------------------------------------------------------------------------------
async def test_grid_toggle_add_remove_and_save(tmp_path):
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("down")  # g2n1
        await pilot.press("space")
        assert app.session.cfg.grid.exclude == ["g2n1"]
        await pilot.press("n")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("4", "enter")
        assert app.session.cfg.grid.node_counts == [1, 2, 4]
        matrix = screen.query_one("#pair-matrix", DataTable)
        assert len(matrix.columns) == 3
        await pilot.press("G")  # remove the cursor row's GPU count (2)
        assert app.session.cfg.grid.gpu_counts == [1, 4, 8] and app.session.cfg.grid.exclude == []
        assert matrix.row_count == 3
        await pilot.press("g")
        await pilot.press("1", "6", "enter")  # more than max_gpus_per_node: refused inline
        assert isinstance(app.screen, PromptScreen)
        assert app.session.cfg.grid.gpu_counts == [1, 4, 8]
        await pilot.press("escape")
        await pilot.press("ctrl+s")
        saved = cfgmod.load(tmp_path / "experiment.toml")
        assert saved.grid.gpu_counts == [1, 4, 8] and saved.grid.node_counts == [1, 2, 4]
        assert stat.S_IMODE(os.stat(tmp_path / "experiment.toml").st_mode) == 0o600


async def test_grid_details_show_pair_batch_space_and_command_and_copy(tmp_path):
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "down", "right")  # g4n2
        shown = text_of(app.screen.query_one("#pair-details", Static), width=250)
        assert "g4n2" in shown and "total ranks 8" in shown  # local: CPU ranks
        assert "OVERSUBSCRIBED" not in shown  # 8 ranks on the 16 cores tests/conftest.py sets
        assert "HYPOTHETICAL" in shown  # the price says it is not what the local run cost
        assert "learning_rate" in shown and "batch_size" in shown
        assert "--gpus 4 --nodes 2" in shown
        await pilot.press("y")
        assert app.clipboard.endswith("--gpus 4 --nodes 2")
        assert "WANDB_MODE=disabled" in app.clipboard
        # never launched: the command reads a launch snapshot that does not exist yet, and the
        # copy says so (session 43: pasted, it said 'the file does not exist')
        await wait_for(pilot, lambda: app._notifications, what="the copy's toast")
        said = [n.message for n in app._notifications][-1]
        assert said.startswith("Command copied to the clipboard (OSC 52). Note: these read ")
        assert "which does not exist yet" in said


async def test_grid_details_say_when_a_pair_oversubscribes_the_cores(tmp_path, monkeypatch):
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    cfg = cfgmod.from_dict({"grid": {"gpu_counts": [1, 4], "node_counts": [1]}}, env={})
    app, _ = make_app(tmp_path, cfg=cfg)
    async with app.run_test(size=SIZE) as pilot:
        details = app.screen.query_one("#pair-details", Static)
        await wait_for(pilot, lambda: "g1n1" in text_of(details, width=400))
        assert "OVERSUBSCRIBED" not in text_of(details, width=400)
        await pilot.press("down")  # g4n1: 4 ranks on 2 cores
        await wait_for(pilot, lambda: "g4n1" in text_of(details, width=400))
        state = next(
            line for line in text_of(details, width=400).splitlines() if line.startswith("state")
        )
        assert "will run, OVERSUBSCRIBED: 4 ranks on 2 usable cores" in state


async def test_grid_details_show_each_slurm_trials_sbatch_line(tmp_path):
    cfg = cfgmod.from_dict(
        {
            "experiment": {"dispatcher": "slurm"},
            "grid": {"gpu_counts": [1, 4], "node_counts": [1]},
            "slurm": {"partition": "gpu"},
        },
        env={},
    )
    app, _ = make_app(tmp_path, cfg=cfg)
    async with app.run_test(size=SIZE) as pilot:
        details = app.screen.query_one("#pair-details", Static)
        await wait_for(pilot, lambda: "each trial on Slurm" in text_of(details, width=400))
        shown = text_of(details, width=400)
        assert "g1n1" in shown
        assert "--nodes=1" in shown and "--gres=gpu:1" in shown and "--partition=gpu" in shown


async def test_grid_form_validates_inline_and_blocks_save(tmp_path):
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#field-sweep--max_trials"), what="form mounted")
        field = screen.query_one("#field-sweep--max_trials", Input)
        field.focus()
        field.value = ""
        await pilot.press("0")
        await wait_for(pilot, lambda: shown_error(screen, "sweep.max_trials"), what="inline error")
        error = shown_error(screen, "sweep.max_trials")
        assert text_of(error).startswith("got 0; accepted: an integer")  # short form: no path
        assert app.session.cfg.sweep.max_trials == 8
        await pilot.press("ctrl+s")
        assert not (tmp_path / "experiment.toml").exists()
        await pilot.press("backspace", "1", "2")
        await wait_for(
            pilot, lambda: not shown_error(screen, "sweep.max_trials"), what="error cleared"
        )
        assert app.session.cfg.sweep.max_trials == 12
        screen.query_one("#field-experiment--runner").focus()
        await pilot.press("right")  # builtin -> metta
        await wait_for(
            pilot, lambda: app.session.cfg.experiment.runner == "metta", what="runner change"
        )
        field.blur()
        await pilot.pause()
        assert app.session.cfg.sweep.max_trials == 12  # explicit values survive a runner change
        assert app.session.cfg.sweep.total_timesteps == 300_000_000  # runner defaults follow
        await wait_for(
            pilot,
            lambda: screen.query_one("#field-sweep--total_timesteps", Input).value == "300000000",
            what="form shows the new defaults",
        )
        await pilot.press("ctrl+s")
        assert cfgmod.load(tmp_path / "experiment.toml").experiment.runner == "metta"


async def test_a_burst_of_keys_edits_a_field_in_the_order_typed(tmp_path):
    """Keys arriving together (fast typing, typeahead over SSH): Textual ran backspace after
    the characters typed behind it, so "8", backspace, "1", "0" became 81 (Textualize/textual
    #6605); the form's, the filter's and the prompt's inputs run their editing keys in order."""
    from textual import events

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#field-sweep--max_trials"), what="form mounted")
        field = screen.query_one("#field-sweep--max_trials", Input)
        field.focus()
        field.cursor_position = len(field.value)
        await pilot.pause()
        assert field.value == "8"
        for key, character in (("backspace", None), ("1", "1"), ("0", "0")):
            app.post_message(events.Key(key, character))  # no wait between them
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials != 8, what="the edit")
        assert field.value == "10" and app.session.cfg.sweep.max_trials == 10
        for key, character in (("home", None), ("2", "2"), ("end", None), ("5", "5")):
            app.post_message(events.Key(key, character))
        await wait_for(pilot, lambda: field.value == "2105", what="home and end in order")


async def test_esc_then_a_digit_read_as_one_key_leaves_the_form_and_switches_screens(tmp_path):
    """Textual reads esc followed within 100 ms by 2 (fast typing, keys an SSH link delivers
    together) as macOS Option+2, "™": it was typed into the field and the form stayed."""
    from textual import events

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#field-sweep--max_trials"), what="form mounted")
        field = screen.query_one("#field-sweep--max_trials", Input)
        field.focus()
        await pilot.pause()
        app.post_message(events.Key("trade_mark_sign", "™"))  # Textual's key for "\x1b2"
        await wait_for(pilot, lambda: app.current_mode == "launch", what="the launch screen")
        assert field.value == "8" and app.session.cfg.sweep.max_trials == 8
        app.post_message(events.Key("pound_sign", "£"))  # esc (back to the grid), then 3
        await wait_for(pilot, lambda: app.current_mode == "trials", what="the trials screen")


async def test_grid_form_cross_field_error_follows_both_fields(tmp_path):
    """max trials 1 with batch size 2: the error is under batch size (the key the CLI names),
    and fixing batch size clears it and puts both values in force -- no re-typing max trials."""
    cfg = cfgmod.apply_overrides(default_config(), {"sweep.batch_size": 2})  # set, not derived
    app, _ = make_app(tmp_path, cfg=cfg)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#field-sweep--batch_size"), what="form mounted")
        batch = screen.query_one("#field-sweep--batch_size", Input)
        trials = screen.query_one("#field-sweep--max_trials", Input)
        trials.focus()
        trials.value = "1"
        await wait_for(pilot, lambda: shown_error(screen, "sweep.batch_size"), what="the error")
        error = text_of(shown_error(screen, "sweep.batch_size"))
        assert error == "2 is more than max_trials = 1; accepted: an integer from 1 to 1."
        assert not shown_error(screen, "sweep.max_trials")
        assert app.session.cfg.sweep.max_trials == 8  # the last valid config stays in force
        await pilot.press("ctrl+s")
        assert not (tmp_path / "experiment.toml").exists()
        assert any("Not saved: batch size: 2 is more" in n.message for n in app._notifications)
        batch.focus()
        batch.value = "1"
        await wait_for(
            pilot, lambda: not shown_error(screen, "sweep.batch_size"), what="error cleared"
        )
        assert not [e for e in screen.query(".form-error") if e.display]
        cfg = app.session.cfg
        assert (cfg.sweep.max_trials, cfg.sweep.batch_size) == (1, 1)
        assert trials.value == "1"
        await pilot.press("ctrl+s")
        saved = cfgmod.load(tmp_path / "experiment.toml")
        assert (saved.sweep.max_trials, saved.sweep.batch_size) == (1, 1)


async def test_grid_prompt_names_the_rows_as_the_matrix_does(tmp_path):
    app, _ = make_app(tmp_path)
    assert app.session.cfg.local_ranks  # the built-in local default: rows are CPU ranks
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        title = text_of(screen.query_one("#grid-left .section-title", Label))
        assert title.startswith("CPU ranks per node (rows)")
        await pilot.press("g")
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.question == "Add a count of CPU ranks per node:"


async def test_grid_help_shows_enter_beside_space_for_toggle(tmp_path):
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {ident: keys for keys, _, ident in app.screen.binding_rows()}
        assert rows["grid.toggle"] == "space / enter"


async def test_read_only_refuses_edits_and_launches(tmp_path):
    app, world = make_app(tmp_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "ctrl+s")
        assert app.session.cfg.grid.exclude == [] and not (tmp_path / "experiment.toml").exists()
        await pilot.press("2", "L")
        await pilot.pause(0.2)
        assert world.supervisor.calls == []
        assert any("Read-only mode: launching" in n.message for n in app._notifications)


async def test_read_only_footers_leave_out_the_keys_it_refuses(tmp_path):
    """--read-only footers offered Toggle, Save, Launch all, Cancel, Stop...: each pressed said
    "Read-only mode". They list what works; the refused keys still say why."""
    shown: dict[str, dict[str, list[str]]] = {}
    for read_only in (False, True):
        app, _ = make_app(tmp_path, read_only=read_only)
        async with app.run_test(size=(160, 30)) as pilot:
            for key, screen in (("1", "grid"), ("2", "launch"), ("3", "trials")):
                await pilot.press(key)
                await wait_for(pilot, lambda a=app, s=screen: a.current_mode == s, what=screen)
                await pilot.pause(0.1)
                footer = app.screen.query_one(HwFooter)
                shown.setdefault(screen, {})[str(read_only)] = [d for _, d in footer.shown_keys()]
    for screen, keys in shown.items():
        gone = [k for k in keys["False"] if k not in keys["True"]]
        refused = {"grid": ["Toggle", "+ranks", "-ranks", "+nodes", "-nodes", "Save"],  # local
                   "launch": ["Launch all", "Launch", "Cancel", "Cancel all", "Relaunch"],
                   "trials": ["Stop"]}[screen]  # fmt: skip
        assert gone == refused, (screen, keys)
        assert "Help" in keys["True"] and keys["True"], keys


async def test_read_only_form_scrolls_by_keyboard_at_80x24(tmp_path):
    """Its fields are disabled: e focused nothing, so the fields below the screen's edge (W&B,
    Metta, cost) could only be seen with the mouse."""
    app, _ = make_app(tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#field-sweep--max_trials"), what="form mounted")
        form = screen.query_one("#grid-form")
        await wait_for(pilot, lambda: form.max_scroll_y > 0, what="a form taller than the screen")
        await pilot.press("e")
        assert app.focused is form
        assert any("Read-only mode: the form scrolls" in n.message for n in app._notifications)
        await pilot.press("end")
        await wait_for(pilot, lambda: form.scroll_y == form.max_scroll_y, what="scrolled down")
        await pilot.press("escape")  # back to the matrix, not to another screen
        assert app.focused is screen.query_one("#pair-matrix") and app.current_mode == "grid"


# -- launch screen ----------------------------------------------------------------------------
async def test_launch_all_then_rows_show_status_countdown_pid_and_log(tmp_path):
    app, world = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        table = screen.query_one("#launch-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 8, what="planned rows")
        assert all(r.status == "not launched" for r in screen.rows.values())
        await pilot.press("L")  # asks first, with the plan's summary
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        question = app.screen.question
        assert "8 pairs, 64 trials in all" in question and "estimated cost" in question
        assert "settings" in question  # nothing measured yet: an upper bound, said so
        assert world.supervisor.calls == []
        await pilot.press("y")
        await wait_for(
            pilot, lambda: screen.rows["hardware_scaling.g1n1"].status == "running", what="launched"
        )
        assert world.supervisor.calls == [("launch", None)]
        first, second = screen.rows["hardware_scaling.g1n1"], screen.rows["hardware_scaling.g1n2"]
        assert first.pid == "4000"
        # the demo source holds 3 finished trials and 1 running one for g1n1
        await wait_for(
            pilot,
            lambda: screen.rows["hardware_scaling.g1n1"].trials.endswith("3/8"),
            what="progress",
        )
        first = screen.rows["hardware_scaling.g1n1"]
        assert first.eta.startswith("~") and first.cost.startswith("$")
        assert (
            first.detail.startswith("3/8 done, 1 running; ETA ~") and "(measured)" in first.detail
        )
        summary = text_of(screen.query_one("#launch-summary", Label))
        assert "experiment: " in summary and "so far" in summary and "g1n1: 3/8 done" in summary
        assert second.status == "scheduled" and second.countdown == "in 1m00s"
        await wait_for(
            pilot,
            lambda: "line 30" in text_of(screen.query_one("#log-tail", Static)),
            what="log tail",
        )


async def test_launch_detail_uses_the_launched_max_trials_not_the_unsaved_edit(tmp_path):
    """The selected pair's detail line counts trials out of what its sweep runs to (the row's
    2/8), not the max trials typed on the grid and not saved (it said 3/12 beside 3/8)."""
    from hwscale_tui.paths import snapshot_path

    cfg = default_config()
    app, world = make_app(tmp_path, start="launch", launched=True, cfg=cfg)
    cfgmod.save(cfg, snapshot_path(cfg.name))  # the launch froze it: the sweeps read this file
    # a scheduled pair's sweep has not started, so has recorded no max_trials yet
    world.supervisor.pairs["hardware_scaling.g1n2"].max_trials = None
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        g1n1 = "hardware_scaling.g1n1"
        await wait_for(
            pilot, lambda: screen.rows[g1n1].detail.startswith("3/8 done"), what="progress"
        )
        await pilot.press("1")
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-sweep--max_trials"), what="form mounted")
        field = grid.query_one("#field-sweep--max_trials", Input)
        field.focus()
        field.value = ""
        await pilot.press("1", "2")
        await wait_for(pilot, lambda: app.session.cfg.sweep.max_trials == 12, what="edit")
        assert app.session.dirty
        await pilot.press("escape", "2")  # esc: out of the form (not saved), 2: launch screen
        assert app.current_mode == "launch" and app.session.cfg.sweep.max_trials == 12
        polls = world.source.polls
        await wait_for(pilot, lambda: world.source.polls > polls + 1, what="a poll after the edit")
        row = screen.rows[g1n1]
        assert row.trials.endswith("3/8")
        assert row.detail.startswith("3/8 done, 1 running; ETA ~"), row.detail
        summary = text_of(screen.query_one("#launch-summary", Label))
        assert "g1n1: 3/8 done" in summary
        scheduled = screen.rows["hardware_scaling.g1n2"]  # from the launch's snapshot
        assert scheduled.trials.endswith("/8") and "/8 done" in scheduled.detail, scheduled


async def test_launch_selected_pair_only(tmp_path):
    app, world = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.rows) == 8, what="rows")
        await pilot.press("down", "l")
        await wait_for(pilot, lambda: world.supervisor.calls, what="launch call")
        assert world.supervisor.calls == [("launch", ["hardware_scaling.g1n2"])]
        await wait_for(
            pilot, lambda: screen.rows["hardware_scaling.g1n2"].status == "running", what="running"
        )
        assert screen.rows["hardware_scaling.g1n1"].status == "not launched"


async def _g1n1_never_started(pilot, screen, world):
    """g1n1 scheduled by a supervisor that is now gone (it never starts by itself), shown as
    'never started' (as `hwscale-tui status` says); returns a getter of its row."""
    await wait_for(pilot, lambda: len(screen.rows) == 8, what="rows")
    never = world.supervisor.pairs["hardware_scaling.g1n1"]
    never.status, never.exit_code, never.ended_at, never.pid = "scheduled", None, None, None
    never.never_started = True
    world.supervisor.state = "gone"

    def row():
        return screen.rows["hardware_scaling.g1n1"]

    await wait_for(pilot, lambda: row().status_text == "never started", what="never started")
    assert row().eta == "-"  # no countdown to a start that never comes (as status shows it)
    return row


async def test_launch_selected_starts_a_pair_its_gone_supervisor_never_started(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        row = await _g1n1_never_started(pilot, screen, world)
        world.supervisor.calls.clear()  # the launch that made the rows
        await pilot.press("home", "l")  # it said "g1n1 is already not started." and did nothing
        await wait_for(pilot, lambda: world.supervisor.calls, what="relaunch call")
        assert world.supervisor.calls == [("relaunch", ["hardware_scaling.g1n1"])]
        await wait_for(pilot, lambda: row().status == "running", what="running")


async def test_cancelling_a_pair_its_gone_supervisor_never_started_says_what_it_does(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await _g1n1_never_started(pilot, screen, world)
        await pilot.press("home", "c")  # it said "its supervisor skips it": there is none
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == (
            "Cancel hardware_scaling.g1n1 (never started)? Its supervisor is gone: it is recorded "
            "cancelled, and launch --resume leaves it out."
        )


async def test_cancelling_an_ended_pair_says_in_a_sentence_that_it_does_not_run(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.rows) == 8, what="rows")
        pair = world.supervisor.pairs["hardware_scaling.g1n1"]
        pair.status, pair.exit_code, pair.pid = "failed_to_start", None, None
        await wait_for(
            pilot,
            lambda: screen.rows["hardware_scaling.g1n1"].status_text == "failed to start",
            what="failed to start",
        )
        await pilot.press("home", "c")  # it said "g1n1 is start failed; nothing to cancel."
        notices = [n.message for n in app._notifications]
        assert "g1n1 is not scheduled or running (failed to start); nothing to cancel." in notices
        assert not isinstance(app.screen, ConfirmScreen)


async def test_cancel_selected_asks_first_and_cancel_all(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(
            pilot,
            lambda: (
                screen.rows.get("hardware_scaling.g1n1")
                and screen.rows["hardware_scaling.g1n1"].active
            ),
            what="rows",
        )
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert world.supervisor.calls == [("launch", None)]
        await pilot.press("c")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: screen.rows["hardware_scaling.g1n1"].status == "cancelled",
            what="cancelled",
        )
        assert ("cancel", ["hardware_scaling.g1n1"]) in world.supervisor.calls
        assert screen.rows["hardware_scaling.g1n2"].status == "scheduled"
        await pilot.press("C")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(
            pilot, lambda: not any(r.active for r in screen.rows.values()), what="all cancelled"
        )
        assert ("cancel", None) in world.supervisor.calls


async def test_relaunch_failed_leaves_out_a_pair_whose_sweep_ran_its_trials(tmp_path):
    """r relaunches the failed pairs with trials left; one that already ran max_trials would
    end at once, so it is named and left out."""
    cfg = cfgmod.apply_overrides(
        default_config(), {"grid.gpu_counts": [1, 2, 4], "grid.node_counts": [1]}
    )
    app, world = make_app(tmp_path, start="launch", launched=True, cfg=cfg)
    ended = {"status": "exited", "exit_code": 3, "ended_at": world.clock()}
    for name, done in (("g2n1", cfg.sweep.max_trials), ("g4n1", 1)):
        sweep = f"hardware_scaling.{name}"
        world.supervisor.pairs[sweep] = replace(
            world.supervisor.pairs[sweep], trials_done=done, **ended
        )
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(
            pilot,
            lambda: sum(r.failed for r in screen.rows.values()) == 2,
            what="two failed rows",
        )
        await pilot.press("r")  # the selected row (g1n1) runs: every failed pair is meant
        await wait_for(
            pilot,
            lambda: ("relaunch", ["hardware_scaling.g4n1"]) in world.supervisor.calls,
            what="relaunch of g4n1",
        )
        notices = [n.message for n in app._notifications]
        assert any(
            m.startswith(f"g2n1 already ran {cfg.sweep.max_trials} trials (max trials)")
            for m in notices
        )
        assert not any(
            c[0] == "relaunch" and "hardware_scaling.g2n1" in c[1] for c in world.supervisor.calls
        )


async def test_relaunch_failed_pairs(tmp_path):
    app, world = make_app(tmp_path, start="launch", launched=True)
    failed = world.supervisor.pairs["hardware_scaling.g2n1"]
    world.supervisor.pairs["hardware_scaling.g2n1"] = replace(
        failed, status="exited", exit_code=3, started_at=world.clock() - 5, ended_at=world.clock()
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(
            pilot,
            lambda: (
                screen.rows.get("hardware_scaling.g2n1")
                and screen.rows["hardware_scaling.g2n1"].failed
            ),
            what="failed row",
        )
        assert screen.rows["hardware_scaling.g2n1"].status_text == "exited 3"
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: ("relaunch", ["hardware_scaling.g2n1"]) in world.supervisor.calls,
            what="relaunch",
        )
        await wait_for(
            pilot,
            lambda: screen.rows["hardware_scaling.g2n1"].status == "running",
            what="running again",
        )


async def test_full_log_opens_in_pager(tmp_path, monkeypatch):
    seen = tmp_path / "pager-saw.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f'#!/bin/sh\ncp "$1" {seen}\n')
    pager.chmod(0o700)
    monkeypatch.setenv("PAGER", str(pager))
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(
            pilot, lambda: screen.selected_row() and screen.selected_row().log_path, what="log path"
        )
        suspended = []
        import contextlib

        @contextlib.contextmanager
        def fake_suspend():  # the headless driver cannot hand the terminal over; the tmux test does it for real
            suspended.append(True)
            yield

        monkeypatch.setattr(app, "suspend", fake_suspend)
        await pilot.press("o")
        assert suspended == [True]
        assert seen.read_text().splitlines()[-1] == "hardware_scaling.g1n1: line 30"


async def test_a_pager_that_cannot_run_leaves_the_app_working(tmp_path, monkeypatch):
    """Textual resumes a suspended app only when the suspend block ends normally: a $PAGER
    that was not found raised out of it and left the app suspended for good (blank terminal,
    no key read). A missing pager is said without suspending; one that fails to start is said
    after the app resumed."""
    import contextlib

    events: list[str] = []

    @contextlib.contextmanager
    def textual_suspend():  # Textual 8.2's shape: resume after the yield, no finally
        events.append("suspended")
        yield
        events.append("resumed")

    broken = tmp_path / "broken-pager"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o700)
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(
            pilot, lambda: screen.selected_row() and screen.selected_row().log_path, what="log path"
        )
        monkeypatch.setattr(app, "suspend", textual_suspend)
        for pager, said, suspends in (
            ("nosuchpager -R", "Pager 'nosuchpager' not found; set $PAGER. The log is ", []),
            (str(broken), f"Pager {str(broken)!r} could not run", ["suspended", "resumed"]),
        ):
            events.clear()
            monkeypatch.setenv("PAGER", pager)
            await pilot.press("o")
            await wait_for(
                pilot,
                lambda said=said: any(said in n.message for n in app._notifications),
                what=said,
            )
            assert events == suspends, pager


# -- trials screen ----------------------------------------------------------------------------
async def test_trials_arrive_update_in_place_and_best_is_marked(tmp_path):
    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        table = screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        table.focus()
        await pilot.press("down", "down", "down")
        cursor_key = table.cursor_run_id()
        order = table.visible_run_ids()
        best = {t.sweep: t for t in sorted(table.trials.values(), key=lambda t: t.score)}
        assert table.best_by_sweep == {s: t.run_id for s, t in best.items()}
        # one trial finishes with a new best score; another new trial appears
        running = next(
            t
            for t in world.source.trials.values()
            if t.state == "running" and t.sweep.endswith("g1n1")
        )
        world.source.trials[running.run_id] = replace(running, state="finished", score=999.0)
        new = replace(
            running, run_id=running.sweep + "_trial_0099_abcdef", state="queued", score=None
        )
        world.source.trials[new.run_id] = new
        cleared = []
        table.clear = lambda *a, **k: cleared.append(True)  # a poll must never clear-and-refill
        await pilot.press("R")
        await wait_for(pilot, lambda: new.run_id in table.rows, what="new row")
        assert table.best_by_sweep[running.sweep] == running.run_id
        assert table.get_cell(running.run_id, "best").plain == "★"
        assert table.get_cell(running.run_id, "state").plain == "finished"
        assert table.visible_run_ids()[: len(order)] == order  # rows kept their places
        assert table.cursor_run_id() == cursor_key and not cleared


async def test_trials_filter_is_remembered_across_screens_and_sessions(tmp_path):
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        await pilot.press("slash")
        box = app.screen.query_one("#filter-input", Input)
        assert box.has_focus
        await pilot.press(*"g2n1", "enter")
        assert table.row_count == 4 and all(
            r.startswith("hardware_scaling.g2n1") for r in table.visible_run_ids()
        )
        await pilot.press("1", "3")
        assert table.row_count == 4
        await pilot.press("slash", "escape")
        assert not box.has_class("shown") and table.row_count == 4
    assert json.loads((app_paths().state / "tui.json").read_text())["trials_filters"] == {
        "hardware_scaling": "g2n1"
    }
    app2, _ = make_app(tmp_path, start="trials")
    async with app2.run_test(size=SIZE) as pilot:
        table = app2.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: len(table.trials) == 32, what="poll")
        assert table.row_count == 4


async def test_clearing_the_trials_filter_puts_the_rows_back_in_their_order(tmp_path):
    """Without a sort the rows are in the source's order; a filter and its removal rebuilt
    them in an arbitrary one (a set's)."""
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        order = table.visible_run_ids()
        await pilot.press("slash", *"g2n1", "enter")
        assert table.row_count == 4
        assert table.visible_run_ids() == [r for r in order if ".g2n1_" in r]
        await pilot.press("slash", "ctrl+u", "enter")
        assert table.visible_run_ids() == order


async def test_the_star_of_a_tie_stays_on_the_earlier_trial(tmp_path):
    """Trials of a pair that share the best score (CartPole's 500): the star went to whichever
    the table read first, so it moved between them from one session to the next."""
    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        sweep = "hardware_scaling.g1n1"
        done = sorted(
            (t for t in world.source.trials.values() if t.sweep == sweep and t.state == "finished"),
            key=lambda t: t.run_id,
        )
        first, later = done[0], done[-1]
        top = max(t.score for t in done) + 1
        world.source.trials[later.run_id] = replace(later, score=top)  # the later one first
        await pilot.press("R")
        await wait_for(pilot, lambda: table.best_by_sweep[sweep] == later.run_id, what="later")
        world.source.trials[first.run_id] = replace(first, score=top)  # then the earlier ties
        await pilot.press("R")
        await wait_for(pilot, lambda: table.trials[first.run_id].score == top, what="the tie")
        assert table.best_by_sweep[sweep] == first.run_id


async def test_home_and_end_go_to_the_first_and_last_trial(tmp_path):
    """The help says home and end move in tables; in the trials table they did nothing."""
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        await pilot.press("end")
        assert table.cursor_coordinate.row == 31 and table.scroll_y == table.max_scroll_y > 0
        await pilot.press("home")
        assert table.cursor_coordinate.row == 0 and table.scroll_y == 0


async def test_home_and_end_go_to_the_first_and_last_pair_of_the_launch_table(tmp_path):
    """The help says home and end move in tables; in the launch table they did nothing."""
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("#launch-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 8, what="rows")
        last = list(screen.rows)[-1]
        await pilot.press("end")
        assert table.cursor_coordinate.row == 7 and screen.selected_row().sweep_name == last
        await wait_for(pilot, lambda: f"log of {pair_tag_of(last)}" in log_title(screen))
        await pilot.press("home")
        assert table.cursor_coordinate.row == 0 and table.scroll_y == 0
        await pilot.press("question_mark")
        assert "home end" in text_of(app.screen.query_one("#help-keys", Static))


def log_title(screen) -> str:
    return text_of(screen.query_one("#log-title", Label))


async def test_the_filter_box_says_how_to_leave_it_at_80_columns(tmp_path):
    """Its hint ended in "enter applies," at 80 columns: "esc cancels" was cut off."""
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash")
        box = app.screen.query_one("#filter-input", Input)
        assert box.has_focus
        shown = box.render_line(0).text.split("\n")[0]  # the one row the box has
        assert "esc cancels" in shown and "gen2" in shown, shown


async def test_trials_filter_matching_nothing_says_so(tmp_path):
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        await pilot.press("slash", *"gen2", "enter")
        assert table.row_count == 0
        details = text_of(app.screen.query_one("#trial-details", Static))
        assert details == "No trial matches the filter 'gen2' (32 trials in all; / changes it)."


async def test_trials_of_a_later_generation_are_told_apart_in_the_pair_column(tmp_path):
    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        old = next(t for t in world.source.trials.values() if t.sweep.endswith("g1n1"))
        sweep = old.sweep + ".gen2"  # what a relaunch as generation 2 names the pair's sweep
        new = replace(old, sweep=sweep, run_id=sweep + "_trial_0001_abcdef", generation=2)
        world.source.trials[new.run_id] = new
        await pilot.press("R")
        await wait_for(pilot, lambda: new.run_id in table.rows, what="generation 2's trial")
        assert table.get_cell(new.run_id, "pair") == "g1n1.2"
        assert table.get_cell(old.run_id, "pair") == "g1n1"  # generation 1 reads as before
        assert table.get_cell(new.run_id, "trial") == table.get_cell(old.run_id, "trial")
        await pilot.press("s", "s")  # by pair: a pair's generations side by side, in order
        assert table.sort_column == "pair"
        ids = table.visible_run_ids()
        g1n1 = [r for r in ids if table.trials[r].sweep.startswith(old.sweep)]
        assert (
            g1n1[-1] == new.run_id and ids.index(new.run_id) - ids.index(g1n1[0]) == len(g1n1) - 1
        )


async def test_trials_sort_keys_and_header_click(tmp_path):
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        await pilot.press("s")
        assert table.sort_column == "trial"
        await pilot.press("s", "s", "s")
        assert table.sort_column == "score" and table.sort_reverse
        scores = [table.trials[r].score for r in table.visible_run_ids()]
        assert scores == sorted(scores, reverse=True)
        await pilot.press("S")
        scores = [table.trials[r].score for r in table.visible_run_ids()]
        assert scores == sorted(scores)
        await pilot.click("#trial-table", offset=(60, 0))  # the "cost" header
        await pilot.pause(0.1)
        assert table.sort_column in ("sps", "left", "cost", "time")


async def test_trials_status_line_keeps_the_sort_in_80_columns_with_a_filter(tmp_path):
    app, _ = make_app(tmp_path, start="trials")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        await pilot.press("slash", *"g1n1", "enter", "s", "s", "s", "s")
        status = app.screen.query_one("#poll-status", Label)
        assert table.sort_column == "score" and 0 < table.row_count < 32
        visible = text_of(status)[: status.size.width]  # the line is cut with an ellipsis
        assert visible.startswith("filter: g1n1") and "sort: score desc" in visible


async def test_trials_details_show_params_and_learning_curve(tmp_path):
    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        details = app.screen.query_one("#trial-details", Static)
        await wait_for(pilot, lambda: "learning curve (24 points" in text_of(details), what="curve")
        shown = text_of(details)
        trial = table.selected_trial()
        assert trial.run_id in shown and "learning_rate" in shown
        curve = world.source.histories_by_run[trial.run_id]
        assert f"last {fmt_number(curve[-1].score)}" in shown


async def test_trials_details_say_why_a_trial_failed_as_the_trials_command_does(tmp_path):
    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        old = table.selected_trial()
        reason = "killed by SIGKILL:\nstep 217,088/3,000,000 score 500.00"
        world.source.trials[old.run_id] = replace(
            old, state="failed", error=reason, flags=["no score logged"]
        )
        await pilot.press("R")
        await wait_for(pilot, lambda: table.selected_trial().state == "failed", what="the failure")
        shown = text_of(app.screen.query_one("#trial-details", Static), width=80)
        lines = shown.splitlines()  # right under the state, in the 6 rows shown at 80x24
        assert lines[1].split() == ["state", "failed"]
        assert lines[2].startswith("reason killed by SIGKILL: step 217,088/3,000,000")
        assert "flags  no score logged" in shown


async def test_trials_interval_keys_and_stale_state(tmp_path):
    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        table = screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        status = screen.query_one("#poll-status", Label)
        assert "updated 0s ago" in text_of(status) and "every 2s" in text_of(status)
        await pilot.press("plus")
        assert screen.poll_interval_s == 5.0 and "every 5s" in text_of(status)
        await pilot.press("minus", "minus", "minus")
        assert screen.poll_interval_s == 1.0
        world.source.fail_next = "HTTP 429 rate limited"
        await pilot.press("R")
        await wait_for(pilot, lambda: "STALE since" in text_of(status), what="stale")
        assert (
            "HTTP 429 rate limited" in text_of(status) and table.row_count == 32
        )  # last good data kept
        # the retry comes before the (long) reason, so 80 columns keep it
        assert "(retry in " in text_of(status, width=80)
        await pilot.press("R")
        await wait_for(pilot, lambda: "STALE" not in text_of(status), what="recovered")


async def test_the_stale_line_counts_down_to_the_next_poll(tmp_path):
    """It said "retry in 30s" for the whole 30 s; it counts down on the app's clock, redrawn by
    the status line's 1 s timer, and nothing polls meanwhile."""
    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        status = screen.query_one("#poll-status", Label)
        world.source.retry_after_s = 30.0
        world.source.fail_next = "rate limited by W&B (HTTP 429, reset in 30 s)"
        await pilot.press("R")
        await wait_for(pilot, lambda: "(retry in 30s)" in text_of(status, width=80), what="stale")
        polls = world.source.polls
        world.clock.now += 1.0
        await wait_for(pilot, lambda: "(retry in 29s)" in text_of(status, width=80), what="29s")
        world.clock.now += 17.5  # 11.5 s left: the seconds still to wait, rounded up
        await wait_for(pilot, lambda: "(retry in 12s)" in text_of(status, width=80), what="12s")
        assert world.source.polls == polls and "STALE since" in text_of(status)
        world.clock.now += 12.0
        await wait_for(pilot, lambda: "(retrying now)" in text_of(status, width=80), what="now")


async def test_a_source_that_never_answered_has_no_data_not_stale_data(tmp_path):
    """A missing or refused key: no poll ever succeeded, yet the line said "STALE since"."""
    app, world = make_app(tmp_path, start="trials")
    world.source.fail_next = "W&B refused the API key (HTTP 401) " + "and more words " * 8
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.screen.query_one("#poll-status", Label)
        await wait_for(pilot, lambda: "NO DATA" in text_of(status, width=80), what="no data")
        shown = text_of(status, width=80)
        assert "STALE" not in shown and "(retry in " in shown


async def test_polling_pauses_while_the_screen_is_hidden(tmp_path):
    app, world = make_app(tmp_path, start="trials")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        await pilot.press("minus")  # 1 s interval
        await pilot.press("1")
        hidden_at = world.source.polls
        await pilot.pause(2.5)
        assert world.source.polls == hidden_at
        await pilot.press("3")
        await wait_for(pilot, lambda: world.source.polls > hidden_at, what="polling resumes")


# -- analysis ---------------------------------------------------------------------------------
async def test_analysis_plots_target_export_and_ascii(tmp_path):
    app, world = make_app(tmp_path, start="analysis")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.view is not None, what="analysis result")
        assert set(screen.view.plots) == {"samples", "time", "cost", "throughput", "pareto"}
        shown = text_of(screen.query_one("#analysis-tables", Static), width=80)
        for word in ("research", "development", "budget", "balanced", "bootstrap agrees 80%"):
            assert word in shown
        from hwscale_tui.tui.widgets.plots import FitPlot

        plot_a = screen.query_one("#plot-a", FitPlot)
        assert plot_a.spec.key == "samples"
        await pilot.press("right_square_bracket")
        assert plot_a.spec.key == "time"
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert plot_a.spec.key == "pareto"
        await pilot.press("a")
        assert app.ascii_only and plot_a.ascii_only
        await pilot.press("t")
        select = screen.query_one("#target-select", Select)
        assert select.has_focus
        select.value = ("fraction", 0.5)
        await wait_for(
            pilot, lambda: world.analysis.targets[-1] == ("fraction", 0.5), what="recompute at 50%"
        )
        await wait_for(
            pilot,
            lambda: "target 250" in text_of(screen.query_one("#analysis-status", Label)),
            what="status",
        )
        screen.query_one("#plot-a").focus()
        await pilot.press("x")
        await wait_for(pilot, lambda: world.analysis.reports, what="report")
        assert (
            world.analysis.reports[0]
            == app_paths().state / "reports" / "hardware_scaling" / "report.md"
        )
        n = len(world.analysis.targets)
        await pilot.press("R")
        await wait_for(pilot, lambda: len(world.analysis.targets) > n, what="recompute")
    assert (
        len(world.analysis.targets) >= 3 and len(world.sources.made) == 1
    )  # one source for every compute


async def test_analysis_notes_of_both_plots_show_when_the_first_is_long(tmp_path):
    """At 160 columns both plots' notes were one line, cut at the end: a long first note (a law
    with too few points) hid the second plot's note. Each now gets its own line(s); at 80x24
    the one plot shown has its note wrapped onto two lines."""
    from types import SimpleNamespace

    from textual.geometry import Region

    reason = (
        "a power law needs at least 3 points at 2 or more distinct x values; "
        "got 2 points at 2 distinct values"
    )

    def shown(label) -> list[str]:
        lines = label.render_lines(Region(0, 0, label.size.width, label.size.height))
        return [strip.text.rstrip() for strip in lines]

    async def caption_at(size: tuple[int, int]) -> tuple[list[str], int]:
        """The note lines the analysis screen shows at ``size``, and the plot area's width."""
        app, world = make_app(tmp_path, start="analysis")
        analyze = world.analysis.analyze

        def few_points(trials, histories, settings):
            result = analyze(trials, histories, settings)
            for law in ("samples_to_target", "time_to_target"):
                result.laws[law] = SimpleNamespace(reason=reason)
            return result

        world.analysis.analyze = few_points
        async with app.run_test(size=size) as pilot:
            screen = app.screen
            await wait_for(pilot, lambda: screen.view is not None, what="analysis result")
            await pilot.pause()
            return shown(screen.query_one("#plot-note", Label)), screen.query_one(
                "#plot-area"
            ).size.width

    lines, width = await caption_at((160, 48))  # two plots side by side
    assert all(len(line) <= width for line in lines), lines  # nothing past the plot area
    text = " ".join(lines)
    assert f"samples to target: {reason}" in text and f"time to target: {reason}" in text, lines
    assert lines[0].startswith("samples to target: "), lines
    assert any(line.startswith("time to target: ") for line in lines[1:]), lines
    lines, width = await caption_at((80, 24))  # one plot: its note only, wrapped
    assert all(len(line) <= width for line in lines), lines
    assert len(lines) == 2 and " ".join(lines) == f"samples to target: {reason}", lines


async def test_a_cut_analysis_note_ends_after_a_whole_word_at_80x24(tmp_path):
    """A note too long for its two lines ended mid-word ("...value(s) lef\u2026")."""
    from types import SimpleNamespace

    from textual.geometry import Region

    reason = (
        "a power law needs at least 3 points at 2 or more distinct x values; got 2 points at "
        "2 distinct values, and 5 value(s) left out as not finite or not positive, so the fit "
        "and its band are not drawn for this plot"
    )
    app, world = make_app(tmp_path, start="analysis")
    analyze = world.analysis.analyze

    def few_points(trials, histories, settings):
        result = analyze(trials, histories, settings)
        result.laws["samples_to_target"] = SimpleNamespace(reason=reason)
        return result

    world.analysis.analyze = few_points
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.view is not None, what="analysis result")
        await pilot.pause()
        label = screen.query_one("#plot-note", Label)
        drawn = label.render_lines(Region(0, 0, label.size.width, label.size.height))
        lines = [strip.text.rstrip() for strip in drawn]
    full = f"samples to target: {reason}"
    assert len(lines) == 2 and lines[-1].endswith("\u2026"), lines
    shown = " ".join(lines)[:-1]
    assert full.startswith(shown) and full[len(shown)] == " ", lines  # cut between words


async def test_analysis_with_no_trials_says_so(tmp_path):
    """An empty store is a state, not an error: the real analysis refuses no trials (a notice
    with its sentence each time the screen opened, and "computing..." stayed on)."""
    app, world = make_app(tmp_path, start="analysis", trials=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        status = screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: not screen._computing, what="the analysis")
        assert "no trials yet" in text_of(status)
        note = text_of(screen.query_one("#plot-note", Label))
        assert "launch the pairs on the launch screen (2)" in note
        assert world.analysis.targets == [] and not app._notifications  # nothing analyzed


async def test_analysis_that_fails_keeps_its_reason_on_the_screen(tmp_path):
    from hwscale_tui.errors import UsageError

    app, world = make_app(tmp_path, start="analysis")

    def refuse(*a, **k):
        raise UsageError("no trial has a learning curve to analyze; accepted: trials with history.")

    world.analysis.analyze = refuse  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: not screen._computing, what="the analysis")
        assert "no analysis" in text_of(screen.query_one("#analysis-status", Label))
        assert "has a learning curve" in text_of(screen.query_one("#plot-note", Label))
        await wait_for(  # and the notice, once
            pilot,
            lambda: any("has a learning curve" in n.message for n in app._notifications),
            what="the notice",
        )


async def test_an_unavailable_trial_source_is_a_state_in_its_own_words(tmp_path):
    """W&B down or refusing the key: the screen showed "SourceUnavailable: W&B project ..." and
    an error notice, the exception's class name included."""
    from hwscale_tui.sources.base import SourceUnavailable

    app, world = make_app(tmp_path, start="analysis")

    def down():
        raise SourceUnavailable("W&B project team/hw was not found")

    world.source.poll = down  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: not screen._computing, what="the analysis")
        assert "trial source unavailable" in text_of(screen.query_one("#analysis-status", Label))
        note = text_of(screen.query_one("#plot-note", Label))
        assert "The trial source is unavailable: W&B project team/hw was not found." in note
        assert "SourceUnavailable" not in note and not app._notifications


async def test_every_trial_failed_is_a_state_in_the_apps_words_not_an_error(tmp_path):
    """Every trial failed: the screen showed the CLI's refusal ("...; accepted: trials with
    history (agent_step, wall_s, score).") under the plots and as an error notice."""
    app, world = make_app(tmp_path, start="analysis")
    source = world.source
    source.trials = {rid: replace(t, state="failed") for rid, t in source.trials.items()}
    source.histories_by_run = {}
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        status = screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: "no learning curves yet" in text_of(status), what="state")
        n = len(source.trials)
        note = text_of(screen.query_one("#plot-note", Label))
        assert note == (
            f"No trial has a learning curve to analyze yet ({n} trials: {n} failed). A failed "
            "trial's reason is in its log (o on the trials screen, 3)."
        )
        assert world.analysis.targets == [] and not app._notifications  # no error, no notice


async def test_a_generation_without_trials_says_so_in_the_apps_words(tmp_path):
    """g onto a generation whose pairs never ran a trial answered with the CLI's sentence
    ("accepted: --generation with one of 1, 3")."""
    app, world = make_app(tmp_path, start="analysis")
    source = world.source
    source.trials = {
        rid: replace(t, generation=1 if i % 2 else 3)
        for i, (rid, t) in enumerate(source.trials.items())
    }
    async with app.run_test(size=(80, 24)) as pilot:
        app.session.follow_generation(3)
        screen = app.screen
        await wait_for(pilot, lambda: screen.view is not None, what="generation 3's analysis")
        await pilot.press("g")  # generation 2: every pair failed before a trial
        status = screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: "no trials" in text_of(status), what="generation 2")
        assert "generation 2: no trials" in text_of(status)
        note = text_of(screen.query_one("#plot-note", Label))
        assert "generations with trials: 1, 3" in note and "--generation" not in note


async def test_the_analysis_bar_names_the_generation_shown(tmp_path):
    """After g the bar read "target 22.5, 10 trials, 1 configs": which generation it was said
    only a 3 s toast (and a note scrolled out of view at 80x24); and "1 configs"."""
    app, world = make_app(tmp_path, start="analysis")
    source = world.source
    source.trials = {
        rid: replace(t, generation=2 if t.gpus == 1 and t.nodes == 1 else 1)
        for rid, t in source.trials.items()
    }
    async with app.run_test(size=(80, 24)) as pilot:
        app.follow_generation(2)  # the watch saw generation 2: the screen analyzes it again
        screen = app.screen
        status = screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: "gen 2 of 2: target" in text_of(status), what="gen 2")
        assert text_of(status).rstrip().endswith(" 1 config")  # one pair ran in generation 2
        await pilot.press("g")
        await wait_for(pilot, lambda: "gen 1 of 2: target" in text_of(status), what="gen 1")
        assert text_of(status).rstrip().endswith(" configs")


async def test_a_generation_asked_for_while_computing_is_analyzed_once_that_ends(tmp_path):
    """g while an analysis is computing was dropped (the screen kept the older generation's
    result, and said nothing): it now runs once the one in progress ends."""
    import threading

    app, world = make_app(tmp_path, start="analysis")
    source = world.source
    source.trials = {
        rid: replace(t, generation=1 if i % 2 else 3)
        for i, (rid, t) in enumerate(source.trials.items())
    }
    release, real = threading.Event(), world.analysis.analyze

    def held(*args, **kwargs):
        assert release.wait(60), "never released"
        return real(*args, **kwargs)

    world.analysis.analyze = held
    async with app.run_test(size=(80, 24)) as pilot:
        app.session.follow_generation(3)
        screen = app.screen
        status = screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: "computing" in text_of(status), what="generation 3 computing")
        await pilot.press("g")  # generation 2, asked for while generation 3 computes
        assert screen.generation == 2
        release.set()
        await wait_for(pilot, lambda: "no trials" in text_of(status), what="generation 2")
        assert "generation 2: no trials" in text_of(status)


async def test_worker_errors_become_one_notification(tmp_path):
    app, world = make_app(tmp_path, start="launch")

    def refuse(*a, **k):
        from hwscale_tui.errors import UsageError

        raise UsageError(
            "experiment hardware_scaling is already running; accepted: cancel it first."
        )

    world.supervisor.launch = refuse
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any("already running" in n.message for n in app._notifications),
            what="notice",
        )
        assert app.is_running


async def test_cancelling_a_scheduled_pair_asks_without_a_sigterm(tmp_path):
    """A scheduled pair has no process: the question said its sweep and trials get SIGTERM."""
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.status is not None, what="status")
        table = screen.query_one("#launch-table", DataTable)
        scheduled = next(r for r in screen.rows.values() if r.status == "scheduled")
        table.move_cursor(row=table.get_row_index(scheduled.sweep_name))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        assert "(scheduled)? It never starts" in app.screen.question
        assert "SIGTERM" not in app.screen.question


async def test_opening_the_app_on_a_launched_experiment_shows_the_log_with_the_first_status(
    tmp_path,
):
    """Re-attaching: the first poll knows the pair's log from the status it reads; the pane said
    "(no log yet)" until the next poll, beside a title naming the log."""
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.status is not None, what="the first status")
        tail = text_of(screen.query_one("#log-tail", Static))
        assert "(no log yet)" not in tail and "line 30" in tail


async def test_launch_all_question_flags_an_oversubscribed_pair_as_launch_does(
    tmp_path, monkeypatch
):
    """`hwscale-tui launch` warns that a pair with more CPU ranks than cores measures
    contention; the app's L question said nothing of it."""
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "4")
    cfg = cfgmod.apply_overrides(default_config(), {"grid.gpu_counts": [1, 8]}, "test")
    app, _ = make_app(tmp_path, start="launch", cfg=cfg)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.status is not None, what="status")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        question = app.screen.question
        assert "warning: g8n1: OVERSUBSCRIBED: 8 CPU ranks on 4 usable cores" in question
        assert "g8n2: OVERSUBSCRIBED: 16 CPU ranks" in question
        assert "g1n1: OVERSUBSCRIBED" not in question and "g1n2: OVERSUBSCRIBED" not in question


async def test_launch_all_while_the_supervisor_runs_says_so_without_asking(tmp_path):
    """The supervisor refuses a second launch of a running experiment: L said so only after a
    question with the plan's estimate and a yes."""
    app, world = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.status is not None, what="status")
        await pilot.press("L")
        await wait_for(
            pilot,
            lambda: any("already running" in n.message for n in app._notifications),
            what="notice",
        )
        assert not isinstance(app.screen, ConfirmScreen)
        assert world.supervisor.calls == [("launch", None)]  # the launch make_app made, only
        notice = next(n.message for n in app._notifications if "already running" in n.message)
        assert "C cancels them all" in notice


async def test_keymap_file_remaps_a_binding_by_id(tmp_path):
    config = app_paths().ensure().config
    (config / "keymap.toml").write_text('"launch.all" = "A"\n')
    app, world = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen.rows) == 8, what="rows")
        await pilot.press("L")
        await pilot.pause(0.2)
        assert world.supervisor.calls == []
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        await pilot.press("y")
        await wait_for(
            pilot, lambda: world.supervisor.calls == [("launch", None)], what="remapped launch"
        )


async def test_keymap_file_with_an_unknown_id_or_a_non_string_key_says_so(tmp_path):
    """A typo'd id ('launch.al') or a key that is not a string remapped nothing, without a
    word; each gets a notice naming it (the id with its close match), and the good line of
    the same file still remaps."""
    config = app_paths().ensure().config
    (config / "keymap.toml").write_text(
        '"launch.al" = "A"\n"trials.filter" = 5\n"trials.sort" = "z"\n'
    )
    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:

        def notices() -> list[str]:
            return [n.message for n in app._notifications]

        await wait_for(pilot, lambda: any("'launch.al'" in m for m in notices()), what="notice")
        unknown = next(m for m in notices() if "'launch.al'" in m)
        assert "no key binding has the id 'launch.al' (did you mean launch.all?)" in unknown
        assert "trials.sort" not in unknown  # a known id is not named
        assert any("trials.filter = 5 ignored; accepted: keys as a string" in m for m in notices())
        assert app._keymap == {"launch.al": "A", "trials.sort": "z"}


async def test_grid_form_focus_keys_choice_cycling_and_prompt_cancel(tmp_path):
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#field-analysis--target"), what="form")
        await pilot.press("e")
        assert app.focused.id == "field-experiment--name"
        await pilot.press("escape")  # leaves the form, stays on the grid
        assert app.focused.id == "pair-matrix" and app.current_mode == "grid"
        screen.query_one("#field-sweep--goal").focus()
        await pilot.press("left")
        await wait_for(pilot, lambda: app.session.cfg.sweep.goal == "minimize", what="goal cycled")
        await pilot.press("m")  # "m" is not text here: the choice field does not take letters
        assert app.focused.id == "pair-matrix"
        await pilot.press("g")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, PromptScreen) and app.session.cfg.grid.gpu_counts == [
            1,
            2,
            4,
            8,
        ]


async def test_launch_refuses_what_every_trial_would_reject_and_launches_nothing(tmp_path):
    cfg = default_config()
    cfg.launch.extra_args = ["trainer.no_such_key=1"]
    app, world = make_app(tmp_path, start="launch", cfg=cfg)
    shown: list[str] = []
    app.notify = lambda message, **kw: shown.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.rows) == 8, what="rows")
        await pilot.press("down", "l")
        await wait_for(pilot, lambda: shown, what="the refusal")
        assert "every trial would reject the extra arguments" in shown[-1]
        assert world.supervisor.calls == []
        assert all(r.status == "not launched" for r in screen.rows.values())


def test_the_trials_filter_selects_a_generation():
    from hwscale_tui.records import Trial
    from hwscale_tui.tui.widgets.trial_table import matches

    first = Trial(
        run_id="e.g1n1_trial_0001_aaaaaa", sweep="e.g1n1", gpus=1, nodes=1, state="finished"
    )
    second = replace(
        first, run_id="e.g1n1.gen2_trial_0001_bbbbbb", sweep="e.g1n1.gen2", generation=2
    )
    assert [matches(t, ["gen2"]) for t in (first, second)] == [False, True]
    assert [matches(t, ["gen1", "g1n1"]) for t in (first, second)] == [True, False]


async def test_grid_form_turns_transfer_between_pairs_on(tmp_path):
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#field-sweep--transfer"), what="form")
        assert app.session.cfg.sweep.transfer is False  # off by default
        screen.query_one("#field-sweep--transfer").focus()
        await pilot.press("right")
        await wait_for(pilot, lambda: app.session.cfg.sweep.transfer is True, what="transfer on")


async def test_grid_form_edits_the_optimizer_settings_and_saves_them(tmp_path):
    """The sweep settings the plan shows (seed, acquisition, cost cap, the transfer's rule) are
    editable in the form, validated like the CLI, and saved."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#field-sweep--lr_batch_exponent"), what="form")
        rule = screen.query_one("#field-sweep--lr_batch_exponent", Input)
        assert rule.value == "1"  # the linear rule by default
        rule.focus()
        rule.value = ""
        await pilot.press("3")
        await wait_for(pilot, lambda: shown_error(screen, "sweep.lr_batch_exponent"), what="error")
        error = text_of(shown_error(screen, "sweep.lr_batch_exponent"))
        assert error == "got 3; accepted: a number from 0 to 2."
        assert app.session.cfg.sweep.lr_batch_exponent == 1.0  # the last valid value stays
        await pilot.press("backspace", "0", ".", "5")
        await wait_for(
            pilot, lambda: app.session.cfg.sweep.lr_batch_exponent == 0.5, what="rule set"
        )
        screen.query_one("#field-sweep--acquisition_fn").focus()
        await pilot.press("right")
        await wait_for(pilot, lambda: app.session.cfg.sweep.acquisition_fn == "ucb", what="ucb")
        screen.query_one("#field-sweep--env").focus()
        await pilot.press("right")
        await wait_for(pilot, lambda: app.session.cfg.sweep.env == "Acrobot-v1", what="env")
        seed = screen.query_one("#field-sweep--seed", Input)
        seed.focus()
        seed.value = ""
        await pilot.press("7")
        await wait_for(pilot, lambda: app.session.cfg.sweep.seed == 7, what="seed")
        seed.blur()
        await pilot.press("ctrl+s")
        saved = cfgmod.load(tmp_path / "experiment.toml").sweep
        assert (saved.lr_batch_exponent, saved.acquisition_fn, saved.env, saved.seed) == (
            0.5,
            "ucb",
            "Acrobot-v1",
            7,
        )


async def test_trials_progress_follows_the_launched_budget_not_the_first_drawn_one(tmp_path):
    """The table was drawn with one ``sweep.total_timesteps``; a launch then froze another (a
    new generation with a bigger budget): running trials' share and time left use the launched
    budget from the next poll on, not the stale one (which read 'run 100%', '0s' left)."""
    from hwscale_tui.launch.progress import trial_progress
    from hwscale_tui.paths import snapshot_path

    cfg = default_config()
    app, _ = make_app(tmp_path, start="trials", cfg=cfg)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TrialTable)
        await wait_for(pilot, lambda: table.row_count == 32, what="first poll")
        running = next(t for t in table.trials.values() if t.state == "running")
        drawn = float(cfg.sweep.total_timesteps)
        assert table.get_cell(running.run_id, "state").plain == (
            f"run {trial_progress(running, drawn).percent_text}"
        )
        launched = cfgmod.apply_overrides(
            cfg, {"sweep.total_timesteps": 4 * cfg.sweep.total_timesteps}
        )
        snapshot = snapshot_path(cfg.name)
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        cfgmod.save(launched, snapshot)
        budget = 4.0 * drawn
        want = f"run {trial_progress(running, budget).percent_text}"
        assert want != table.get_cell(running.run_id, "state").plain
        await pilot.press("R")
        await wait_for(
            pilot,
            lambda: table.get_cell(running.run_id, "state").plain == want,
            what="the launched budget",
        )
        eta = trial_progress(running, budget).eta_s
        assert table.get_cell(running.run_id, "left") == fmt_duration(eta)


async def test_launch_log_keeps_the_newest_line_in_view_after_a_resize(tmp_path):
    """A log that fit a wide pane overflows once the terminal narrows (its lines re-wrap): the
    pane still shows its newest line, as it does when lines arrive (it showed the oldest)."""
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        tail = screen.query_one("#log-tail", Static)
        scroll = screen.query_one("#log-scroll")
        await wait_for(pilot, lambda: "line 30" in text_of(tail), what="log tail")
        await pilot.pause()
        assert scroll.max_scroll_y == 0  # 30 lines fit the wide pane
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: scroll.max_scroll_y > 0, what="the log overflows")
        await wait_for(
            pilot, lambda: scroll.scroll_y == scroll.max_scroll_y, what="newest line in view"
        )
        scroll.scroll_home(animate=False)  # the user scrolls up to read: the view stays put
        await pilot.pause()
        await pilot.resize_terminal(90, 24)
        await pilot.pause()
        assert scroll.scroll_y == 0 < scroll.max_scroll_y


async def test_analysis_notes_follow_a_resize_across_the_two_plot_breakpoint(tmp_path):
    """Drawn at 160 columns (two plots, two notes), then narrowed to 80 (one plot): the caption
    gives the one plot's note only; widened again, both notes are back."""
    from types import SimpleNamespace

    app, world = make_app(tmp_path, start="analysis")
    analyze = world.analysis.analyze

    def with_notes(trials, histories, settings):
        result = analyze(trials, histories, settings)
        result.laws["samples_to_target"] = SimpleNamespace(reason="too few samples points")
        result.laws["time_to_target"] = SimpleNamespace(reason="too few time points")
        return result

    world.analysis.analyze = with_notes

    def caption() -> str:
        from textual.geometry import Region

        label = app.screen.query_one("#plot-note", Label)
        lines = label.render_lines(Region(0, 0, label.size.width, label.size.height))
        return " ".join(strip.text.strip() for strip in lines)

    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.view is not None, what="analysis result")
        await wait_for(pilot, lambda: "too few time points" in caption(), what="both notes")
        assert "too few samples points" in caption()
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: screen.has_class("-narrow"), what="narrow layout")
        await wait_for(
            pilot, lambda: "too few time points" not in caption(), what="the hidden plot's note"
        )
        assert "too few samples points" in caption()
        await pilot.resize_terminal(160, 48)
        await wait_for(pilot, lambda: "too few time points" in caption(), what="both notes again")


async def test_grid_search_space_fits_80_columns_uncut(tmp_path):
    """At 80x24 the search space table lost its last column's values to an ellipsis
    (learning_rate's center 0.0025 read '0.00…'): every value is shown whole."""
    from textual.geometry import Region

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        details = app.screen.query_one("#pair-details", Static)
        await wait_for(pilot, lambda: "search space" in text_of(details), what="pair details")
        await pilot.pause()
        lines = [
            strip.text.rstrip()
            for strip in details.render_lines(Region(0, 0, details.size.width, details.size.height))
        ]
        rows = {line.split()[0]: line.split() for line in lines if line.strip()}
        assert rows["parameter"][-1] == "center", lines
        assert rows["learning_rate"][-1] == "0.0025", lines
        assert rows["ent_coef"][-1] == "0.001", lines
        assert not any("\u2026" in line for line in lines), lines


async def test_grid_after_a_runner_change_names_the_rows_and_fits_the_space_in_80_columns(tmp_path):
    """runner -> metta: the title still said "CPU ranks per node" over rows of GPUs, and the
    Metta search space was cut ('batch_si…', '0.000576818..0.002…')."""
    from textual.geometry import Region

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        details = app.screen.query_one("#pair-details", Static)
        await wait_for(pilot, lambda: "search space" in text_of(details), what="pair details")
        await wait_for(pilot, lambda: app.screen.query("#field-experiment--runner"), what="form")
        await pilot.press("e", "tab", "right")  # runner: builtin -> metta
        await wait_for(pilot, lambda: app.session.cfg.experiment.runner == "metta", what="metta")
        await wait_for(pilot, lambda: "524288" in text_of(details), what="Metta's space")
        await pilot.pause()
        title = text_of(app.screen.query_one("#grid-left .section-title", Label))
        assert title == "GPUs per node (rows) x nodes (columns)"
        lines = [
            strip.text.rstrip()
            for strip in details.render_lines(Region(0, 0, details.size.width, details.size.height))
        ]
        rows = {line.split()[0]: line.split() for line in lines if line.strip()}
        assert rows["batch_size"][-2:] == ["524288..4194304", "1048576"], lines
        assert rows["learning_rate"][-2:] == ["0.00058..0.0023", "0.00115"], lines
        assert not any("\u2026" in line for line in lines), lines


async def test_grid_command_placeholder_is_whole_at_80_columns(tmp_path):
    """The launch command's empty field read "default command": its hint was cut."""
    from textual.geometry import Region
    from textual.widgets import Input

    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen
        await wait_for(pilot, lambda: grid.query("#field-launch--command"), what="form")
        field = grid.query_one("#field-launch--command", Input)
        await pilot.pause()
        assert field.value == "" and field.placeholder
        drawn = field.render_lines(Region(0, 0, field.size.width, field.size.height))
        assert drawn[0].text.strip() == field.placeholder, drawn[0].text


async def test_help_scrolls_the_current_screens_title_to_the_top_at_80_columns(tmp_path):
    """At 80 columns the long rows above wrap: the current screen's title is still the second
    line shown (a blank line above it), not pushed under the end of the section before it."""
    from textual.geometry import Region

    async def lines_from_top(screen_id: str) -> list[str]:
        """The help's lines from the first one shown, opened on ``screen_id`` at 80x24."""
        app, _ = make_app(tmp_path, start=screen_id)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
            help_screen = app.screen
            await wait_for(pilot, lambda: help_screen.scrolled, what="scrolled")
            await pilot.pause()
            keys = help_screen.query_one("#help-keys", Static)
            top = round(help_screen.query_one("#help-scroll").scroll_y)
            lines = keys.render_lines(Region(0, 0, keys.size.width, keys.size.height))
            return [strip.text.strip() for strip in lines[top:]]

    for screen_id, title in (("trials", "3 Trials (this screen)"), ("grid", "1 Grid (this")):
        lines = await lines_from_top(screen_id)
        assert lines[0] == "" and lines[1].startswith(title), lines[:3]


async def test_launch_question_says_local_costs_are_cpu_ranks_at_their_price(tmp_path, monkeypatch):
    """In local mode the launch question's dollars were bare ('estimated cost at most $10.32')
    for CPU processes on this machine: it now names the price, HYPOTHETICAL unless
    cost.gpu_type = "vCPU", as `hwscale-tui status` does."""
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    cfg = default_config()
    assert cfg.local_ranks
    app, _ = make_app(tmp_path, start="launch", cfg=cfg)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#launch-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="planned rows")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        question = app.screen.question
        assert "estimated cost" in question
        assert f"local mode: pairs are CPU ranks; cost at {cfg.price_label}" in question
        assert "HYPOTHETICAL" in question
        await pilot.press("n")


async def test_grid_prompt_says_when_a_count_is_already_in_the_grid(tmp_path):
    """Adding a count the grid has closed the question as if it were added (nothing changed,
    nothing said): the question stays open and says so, as for any answer it cannot take."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        before = list(app.session.cfg.grid.gpu_counts)
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="prompt")
        await pilot.press(*str(before[0]), "enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        error = text_of(app.screen.query_one("#prompt-error", Label))
        listed = ", ".join(str(c) for c in before)
        assert error == f"{before[0]} is already in the grid ({listed}); accepted: another count."
        await pilot.press("escape")
        assert list(app.session.cfg.grid.gpu_counts) == before


async def test_launch_summary_says_sweeps_keep_running_only_while_some_are_active(tmp_path):
    """Before any launch (and after every pair ended) the summary said 'sweeps keep running
    when you quit' beside '0 active': it is said only while a pair is scheduled or running."""
    phrase = "sweeps keep running when you quit"
    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=SIZE) as pilot:
        summary = app.screen.query_one("#launch-summary", Label)
        await wait_for(pilot, lambda: "0 active" in text_of(summary), what="summary")
        assert phrase not in text_of(summary)
    app, _ = make_app(tmp_path, start="launch", launched=True)
    async with app.run_test(size=SIZE) as pilot:
        summary = app.screen.query_one("#launch-summary", Label)
        await wait_for(pilot, lambda: phrase in text_of(summary), what="active pairs")
        assert "0 active" not in text_of(summary)


async def test_the_figure_of_merit_headers_are_whole_from_130_columns(tmp_path):
    """At 130-155 columns the side pane (a third of the width) clipped them: "resear…",
    "devel…", "balanc…"."""
    from textual.geometry import Region

    app, _ = make_app(tmp_path, start="analysis")
    async with app.run_test(size=(130, 40)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.view is not None, what="the analysis")
        await pilot.pause()
        tables = screen.query_one("#analysis-tables", Static)
        lines = tables.render_lines(Region(0, 0, tables.size.width, tables.size.height))
        header = next(s.text for s in lines if "config" in s.text)
        assert header.split() == ["config", "research", "development", "budget", "balanced"]


async def test_the_palettes_screenshot_is_saved_with_the_reports(tmp_path):
    """Textual saves it to the downloads folder, missing on most servers: the palette's
    Screenshot said "Failed to save screenshot"."""
    from hwscale_tui.paths import app_paths

    app, _ = make_app(tmp_path, start="launch")
    folder = app_paths().state / "reports" / app.session.name
    async with app.run_test(size=SIZE) as pilot:
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Screenshot")
        command.callback()
        await wait_for(pilot, lambda: folder.is_dir() and any(folder.glob("*.svg")), what="svg")
        await wait_for(
            pilot,
            lambda: any(str(folder) in n.message for n in app._notifications),
            what="the notice naming where",
        )
    (svg,) = folder.glob("*.svg")
    assert "<svg" in svg.read_text()


async def test_a_question_taller_than_the_screen_scrolls_and_keeps_its_buttons(tmp_path):
    """L's new-generation question with three changed settings ran off the bottom of 80x24:
    the box's border, and with more changes the Yes/No buttons, were below the screen."""
    from textual.widgets import Button

    app, _ = make_app(tmp_path, start="launch")
    async with app.run_test(size=(80, 24)) as pilot:
        question = "\n".join(f"changed setting {i}" for i in range(40))
        app.push_screen(ConfirmScreen(question))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.pause()
        box = app.screen.query_one("#confirm-box").region
        assert box.y >= 0 and box.bottom <= 24
        for button in app.screen.query(Button):
            assert box.y < button.region.y and button.region.bottom <= box.bottom
        scroll = app.screen.query_one("#confirm-scroll")
        assert scroll.max_scroll_y > 0  # the rest of the question is a scroll away
