"""Defects in the app (QA pass 76), each driven by Pilot: text in square brackets shown
literally, and a launch whose ``[launch] command`` this machine cannot run refused."""

from __future__ import annotations

from textual.geometry import Region

from hwscale_tui import config as cfgmod
from hwscale_tui.config import default_config
from hwscale_tui.tui.screens.modals import ConfirmScreen
from tests.tui.tui_helpers import make_app, wait_for

SIZE = (120, 36)


def drawn(widget) -> str:
    """What ``widget`` draws (markup parsed as the screen parses it), as plain text."""
    width, height = widget.size
    return "\n".join(s.text for s in widget.render_lines(Region(0, 0, width, height)))


def toasts(app) -> list[str]:
    """What the notices on screen draw: the toasts' rendered text, not the messages given
    (``run_test(notifications=True)``: without it no toast is drawn)."""
    from textual.widgets._toast import Toast

    return [str(t.render().plain) for t in app.screen.query(Toast)]


# -- 2. L with a [launch] command whose program this machine cannot run ---------------------
async def test_launch_refuses_a_launch_command_this_machine_cannot_run(tmp_path):
    """`hwscale-tui launch` refuses a `[launch] command` whose program is not on this machine
    (every pair would fail to start, one stagger after another); the app's L launched it. It
    refuses with the CLI's sentence and starts nothing."""
    cfg = cfgmod.apply_overrides(
        default_config(),
        {"launch.command": ["no-such-program-xyz", "--gpus={gpus}", "--name={sweep_name}"]},
        "test",
    )
    app, world = make_app(tmp_path, start="launch", cfg=cfg)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.status is not None, what="status")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("y")
        sentence = (
            "launch.command[0] 'no-such-program-xyz' is not a program this machine can run (not "
            "on PATH, no such file, or not executable), so every pair would fail to start; "
            'accepted: a program on PATH or the path of an executable file (e.g. "python", '
            '"./sweep.sh" with chmod +x).'
        )
        await wait_for(
            pilot,
            lambda: any(n.message == sentence for n in app._notifications),
            what="the CLI's sentence",
        )
        await pilot.pause(0.2)
        assert world.supervisor.calls == []  # nothing launched
        assert all(r.status == "not launched" for r in screen.rows.values())
        assert app.is_running


# -- 1. text in square brackets is shown as written, in notices and in widgets ---------------
async def test_a_core_sentence_with_slurm_in_brackets_reaches_the_notice_whole(tmp_path):
    """Slurm's preflight refuses an extra sbatch option with '...; accepted: other sbatch
    options ...; partition, account, qos and constraint have their own [slurm] keys.': the
    notice showed '... have their own  keys.', Textual reading '[slurm]' as a style tag."""
    cfg = cfgmod.apply_overrides(
        default_config(),
        {
            "experiment.dispatcher": "slurm",
            "grid.gpu_counts": [1],
            "grid.node_counts": [1],
            "slurm.extra_sbatch_args": ["--wait"],
        },
        "test",
    )
    app, world = make_app(tmp_path, start="launch", cfg=cfg)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.status is not None, what="status")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any("--wait" in n.message for n in app._notifications),
            what="Slurm's refusal",
        )
        await wait_for(pilot, lambda: toasts(app), what="the toast drawn")
        shown = " ".join(" ".join(toasts(app)).split())
        assert "have their own [slurm] keys." in shown, shown
        assert "slurm.extra_sbatch_args[0] '--wait'" in shown, shown
        assert world.supervisor.calls == []


async def test_a_trial_error_in_brackets_is_shown_whole_in_the_details(tmp_path):
    """A trial whose error is '[x] boom: ...' (a trainer's log prefix): the trials screen's
    side pane showed 'reason  failed:  boom: ...'."""
    from dataclasses import replace

    app, world = make_app(tmp_path, start="trials")
    world.source.trials = {
        rid: replace(t, state="failed", error="[x] boom: [bold]not bold[/bold]", flags=["[f] odd"])
        for rid, t in world.source.trials.items()
    }
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        pane = app.screen.query_one("#trial-details")
        await wait_for(pilot, lambda: "reason" in drawn(pane), what="a failed trial's reason")
        shown = " ".join(drawn(pane).split())  # the pane wraps the reason
        assert "[x] boom: [bold]not bold[/bold]" in shown, shown
        assert "[f] odd" in shown, shown


async def test_a_typed_value_in_brackets_is_echoed_whole_by_the_form_and_the_save_notice(
    tmp_path,
):
    """'[x]' typed into max trials: the error under the field read "got ''; accepted: ..."
    and ctrl+s's notice "Not saved: max trials: got ''; ...", the value gone."""
    from textual.widgets import Input

    from tests.tui.tui_helpers import shown_error

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#field-sweep--max_trials"), what="form")
        field = screen.query_one("#field-sweep--max_trials", Input)
        field.focus()
        field.value = ""
        await pilot.press("left_square_bracket", "x", "right_square_bracket")
        await wait_for(pilot, lambda: field.value == "[x]", what="typed")
        await wait_for(pilot, lambda: shown_error(screen, "sweep.max_trials"), what="error")
        await pilot.pause()
        label = shown_error(screen, "sweep.max_trials")
        assert drawn(label).strip().startswith("got '[x]'; accepted:"), drawn(label)
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: any("Not saved" in t for t in toasts(app)), what="the save notice"
        )
        shown = " ".join(" ".join(toasts(app)).split())
        assert "Not saved: max trials: got '[x]'; accepted:" in shown, shown


def test_every_notice_in_the_app_is_shown_literally():
    """Every ``notify`` in hwscale_tui/tui passes ``markup=False``: the notices carry core
    sentences, file paths, names and values, which Textual's markup would cut ('[slurm]')."""
    import ast
    from pathlib import Path

    import hwscale_tui.tui

    root = Path(hwscale_tui.tui.__file__).parent
    missing = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            notify = node.func.attr == "notify" or (
                node.func.attr == "call_from_thread"
                and bool(node.args)
                and isinstance(node.args[0], ast.Attribute)
                and node.args[0].attr == "notify"
            )
            literal = any(
                k.arg == "markup" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in node.keywords
            )
            if notify and not literal:
                missing.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not missing, missing
