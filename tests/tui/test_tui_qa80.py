"""Defects in the app (QA pass 80), driven by Pilot: a relaunch whose ``[launch] command``
this machine cannot run any more is refused, as L and ``hwscale-tui launch --only`` refuse it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.config import default_config
from hwscale_tui.paths import snapshot_path
from tests.tui.tui_helpers import make_app, wait_for

SIZE = (120, 36)

GONE = "no-such-program-xyz"
SENTENCE = (
    f"launch.command[0] {GONE!r} is not a program this machine can run (not on PATH, no such "
    "file, or not executable), so every pair would fail to start; accepted: a program on PATH "
    'or the path of an executable file (e.g. "python", "./sweep.sh" with chmod +x).'
)


@pytest.mark.parametrize("key", ["r", "l"])
async def test_relaunch_refuses_a_launch_command_this_machine_cannot_run(tmp_path, key):
    """r (the failed pairs) and l (the selected pair) with the settings unchanged relaunch the
    pairs' recorded commands (supervisor.relaunch); they skipped the check L makes, so a
    program gone since made each pair fail to start, one stagger after another. They refuse
    with the CLI's sentence and relaunch nothing."""
    cfg = cfgmod.apply_overrides(
        default_config(),
        {"launch.command": [GONE, "--gpus={gpus}", "--name={sweep_name}"]},
        "test",
    )
    app, world = make_app(tmp_path, start="launch", cfg=cfg, launched=True)
    cfgmod.save(cfg.copy(), snapshot_path(cfg.name))  # what the launch froze: unchanged since
    failed = "hardware_scaling.g2n1"
    pair = world.supervisor.pairs[failed]
    world.supervisor.pairs[failed] = replace(
        pair, status="exited", exit_code=127, started_at=world.clock() - 5, ended_at=world.clock()
    )
    real_status = world.supervisor.pair_status

    def pair_status(experiment, store=None):  # each pair's recorded command, as the store has it
        status = real_status(experiment, store)
        for p in status.pairs:
            p.argv = [GONE, f"--gpus={p.gpus}", f"--name={p.sweep_name}"]
        return status

    world.supervisor.pair_status = pair_status
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(
            pilot, lambda: screen.rows.get(failed) and screen.rows[failed].failed, what="failed"
        )
        assert not screen._edited_since_launch()  # r and l relaunch, not launch
        world.supervisor.calls.clear()  # the launch that made the rows
        screen.query_one("DataTable").move_cursor(row=list(screen.rows).index(failed))
        await pilot.press(key)
        await wait_for(
            pilot,
            lambda: any(n.message == SENTENCE for n in app._notifications),
            what="the CLI's sentence",
        )
        await pilot.pause(0.2)
        assert world.supervisor.calls == []  # nothing relaunched
        assert screen.rows[failed].status_text == "exited 127"
        assert app.is_running
