"""The whole flow on the real core: edit the grid, save, launch through the real supervisor with a
tiny real sweep command, watch trials arrive, cancel a pair, analyse, quit, reopen and re-attach."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, Label

from hwscale_tui import config as cfgmod
from hwscale_tui.tui.app import create_app
from hwscale_tui.tui.screens.modals import ConfirmScreen
from hwscale_tui.tui.widgets.trial_table import TrialTable
from tests.tui.tui_helpers import stop_everything, wait_for

TINY_SWEEP = Path(__file__).with_name("tui_tiny_sweep.py")
SIZE = (120, 36)


def write_experiment(path: Path) -> None:
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(env={}),
        {
            "experiment.name": "tuiflow",
            "grid.gpu_counts": [1, 2, 4],
            "grid.node_counts": [1, 2],
            "launch.delay_s": 0.3,
            # g1n1: 3 quick trials then exit; bigger pairs: the same, then linger (the test cancels g2n1)
            "launch.command": [
                sys.executable,
                str(TINY_SWEEP),
                "{sweep_name}",
                "{gpus}",
                "{nodes}",
                "{experiment}",
                "3",
            ],
        },
    )
    cfgmod.save(cfg, path)


@pytest.mark.slow
async def test_edit_launch_watch_cancel_analyse_quit_reopen(tmp_path):
    exp = tmp_path / "tuiflow.toml"
    write_experiment(exp)
    app = create_app(experiment_file=exp)
    try:
        async with app.run_test(size=SIZE) as pilot:
            # -- grid: drop GPU count 4 and node count 2 -> pairs g1n1, g2n1; save
            assert app.current_mode == "grid"
            await pilot.press("down", "down", "G")  # cursor on the 4-GPU row
            await pilot.press("right", "N")  # cursor on the 2-node column
            assert app.session.cfg.grid.gpu_counts == [
                1,
                2,
            ] and app.session.cfg.grid.node_counts == [1]
            await pilot.press("ctrl+s")
            assert cfgmod.load(exp).grid.node_counts == [1]
            # -- launch all through the real supervisor
            await pilot.press("2")
            launch = app.screen
            table = launch.query_one("#launch-table", DataTable)
            await wait_for(pilot, lambda: table.row_count == 2, what="two planned pairs")
            await pilot.press("L")
            await wait_for(
                pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation"
            )
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: launch.rows["tuiflow.g2n1"].status == "running",
                timeout=90,
                what="g2n1 running",
            )
            # -- trials arrive on the trials screen
            await pilot.press("3")
            trials = app.screen.query_one(TrialTable)
            await wait_for(
                pilot,
                lambda: sum(t.state == "finished" for t in trials.trials.values()) == 6,
                timeout=90,
                what="six finished trials",
            )
            assert set(trials.best_by_sweep) == {"tuiflow.g1n1", "tuiflow.g2n1"}
            # -- cancel the lingering pair (with confirmation)
            await pilot.press("2")
            await wait_for(
                pilot,
                lambda: launch.rows["tuiflow.g1n1"].status == "exited",
                timeout=90,
                what="g1n1 exited",
            )
            assert launch.rows["tuiflow.g1n1"].trials.endswith("3/3")
            launch.query_one("#launch-table", DataTable).move_cursor(row=1)
            await pilot.press("c", "y")
            await wait_for(
                pilot,
                lambda: launch.rows["tuiflow.g2n1"].status == "cancelled",
                timeout=90,
                what="cancelled",
            )
            assert "tiny sweep tuiflow.g2n1" in str(launch.query_one("#log-tail").content)
            # -- analysis on the real analysis package
            await pilot.press("4")
            analysis = app.screen
            # settled: an analysis made while the watch still saw the cancelled pair running is
            # made again once it sees none (e6edba0), and reads "computing..." meanwhile
            await wait_for(
                pilot,
                lambda: (
                    analysis.view is not None
                    and not analysis._computing
                    and not analysis._ran_mid_run
                    and "trials" in str(analysis.query_one("#analysis-status", Label).content)
                ),
                timeout=120,
                what="analysis",
            )
            status = str(analysis.query_one("#analysis-status", Label).content)
            assert "6 trials, 2 configs" in status
            assert [row[0] for row in analysis.view.fom_rows] == ["g1n1", "g2n1"]
            assert analysis.view.recommendations and "g" in analysis.view.recommendations[0]
            await pilot.press("ctrl+q")
        assert (
            app.return_value is None or "keep running" not in app.return_value
        )  # nothing left running
        # -- reopen: starts on the launch screen and re-attaches from the store
        again = create_app(experiment_file=exp)
        async with again.run_test(size=SIZE) as pilot:
            assert again.current_mode == "launch"
            rows = again.screen.rows
            await wait_for(
                pilot,
                lambda: rows.get("tuiflow.g2n1") and rows["tuiflow.g2n1"].status == "cancelled",
                what="re-attached",
            )
            assert rows["tuiflow.g1n1"].status == "exited"
    finally:
        stop_everything("tuiflow")
