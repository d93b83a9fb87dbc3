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
    """What the notices on screen draw: the toasts' rendered text, not the messages given."""
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
