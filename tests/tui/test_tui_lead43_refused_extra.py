"""An experiment whose [launch] extra_args the runner refuses opens in the app (session 43).

Helper 82 found: a Metta experiment with ``extra_args = ["trainer.seed=1"]`` (which `hwscale-tui
plan` refuses, exit 2: trainer.seed is not a trainer key of Metta fom-v1) made `hwscale-tui tui`
end with a traceback: the grid's details and the launch screen ask the session for the plan,
and the plan raised. The grid now says why no pair can be planned, and L refuses with the
CLI's sentence before asking anything; nothing is launched.
"""

from __future__ import annotations

from hwscale_tui import config as cfgmod
from hwscale_tui.config import default_config
from tests.tui.test_tui_pilot import text_of
from tests.tui.tui_helpers import make_app, wait_for

SIZE = (120, 36)
REFUSED = "trainer.seed is not a trainer key of Metta fom-v1"


def _cfg():
    return cfgmod.apply_overrides(
        default_config("metta", env={}),
        {"wandb.entity": "t", "launch.extra_args": ["trainer.seed=1"], "metta.profile": "fom-v1"},
        "test",
    )


async def test_the_grid_says_why_no_pair_is_planned(tmp_path):
    app, _world = make_app(tmp_path, start="grid", cfg=_cfg())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query("#pair-details")), what="grid")
        details = app.screen.query_one("#pair-details")

        def shown() -> str:
            return " ".join(text_of(details, width=400).split())

        await wait_for(pilot, lambda: REFUSED in shown(), what="the refusal")
        assert "launch refuses this: extra argument 'trainer.seed=1'" in shown()


async def test_launch_all_refuses_with_the_clis_sentence_and_launches_nothing(tmp_path):
    app, world = make_app(tmp_path, start="launch", cfg=_cfg())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("L")
        await wait_for(
            pilot,
            lambda: any(REFUSED in n.message for n in app._notifications),
            what="the refusal",
        )
        assert not any(c[0] == "launch" for c in world.supervisor.calls)
        assert app.is_running  # no traceback, still open


async def test_a_launch_warning_the_question_did_not_show_is_shown_after_it(tmp_path):
    """Session 43: `hwscale-tui launch` beside another experiment's local pairs warns that they
    share this machine's cores; the app's L launched and said nothing of it (the launch's
    warnings were never shown). The plan's own warnings, the spent pairs and a new
    generation's note are said elsewhere and not repeated."""
    from dataclasses import dataclass, field

    from hwscale_tui.tui.screens.modals import ConfirmScreen

    beside = "other experiments' pairs run on this machine now (experiment second: g1n1): ..."

    @dataclass
    class Info:
        launch_id: int = 1
        supervisor_pid: int = 999
        warnings: list = field(default_factory=list)

    app, world = make_app(tmp_path, start="launch")
    real = world.supervisor.launch

    def launch(cfg, **kw):
        real(cfg, **{k: v for k, v in kw.items() if k in ("extra_args", "only")})
        plan_warning = app.session.plan().warnings[0] if app.session.plan().warnings else ""
        spent = "g1n1 already ran 8 trials in generation 1: not started again"
        return Info(warnings=[w for w in (plan_warning, spent, beside) if w])

    world.supervisor.launch = launch
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any(beside in n.message for n in app._notifications),
            what="the warning",
        )
        messages = [n.message for n in app._notifications]
        assert sum(m.startswith("warning: ") for m in messages) == 1, messages
