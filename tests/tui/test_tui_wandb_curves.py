"""The analysis screen on the real services, reading W&B through the real client from the
loopback server, when some or all of the trials' learning curves cannot be read."""

from __future__ import annotations

from textual.widgets import Label, Static

from hwscale_tui.tui.app import create_app
from tests.support.wandb_loopback import metta_wandb_experiment
from tests.tui.test_tui_pilot import text_of
from tests.tui.tui_helpers import wait_for

SIZE = (140, 40)


async def test_the_analysis_screen_says_which_wandb_curves_it_could_not_read(tmp_path, monkeypatch):
    """Some curves read, some not: the screen analyzed the rest without a word; every one
    failing read as 'no learning curves yet'."""
    with metta_wandb_experiment(tmp_path, monkeypatch) as (server, experiment_file, order):
        server.fail("500", times=1000, operation="RunSampledHistory")  # every curve fails
        app = create_app(experiment_file=experiment_file, start="analysis")
        async with app.run_test(size=SIZE) as pilot:
            status = app.screen.query_one("#analysis-status", Label)
            tables = app.screen.query_one("#analysis-tables", Static)
            await wait_for(
                pilot, lambda: "no learning curves read" in text_of(status), 120, "no curves"
            )
            said = text_of(app.screen.query_one("#plot-note", Label), width=200)
            assert said.startswith(f"The trial source gave no learning curve (W&B at {server.url}")
            assert "HTTP 500" in said and said.rstrip().endswith("R analyzes again.")

            # one run's curve fails: the other 11 are analyzed (the 3 after it were not before)
            server.clear_faults()
            server.fail("500", times=1000, operation="RunSampledHistory", run=order[9])
            await pilot.press("R")
            await wait_for(pilot, lambda: "12 trials" in text_of(status), 120, "the analysis")
            assert "1 curve unread (see the notes)" in text_of(status)
            notes = text_of(tables, width=200)
            assert (
                "Learning curves of 1 of 12 trials could not be read from W&B "
                f"(W&B at {server.url} answered HTTP 500): " in notes
            )
            assert notes.count("could not be read") == 1 and "R analyzes again." in " ".join(
                notes.split()
            )
