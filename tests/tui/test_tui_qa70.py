"""Defects a user reported in the app (QA pass 70), each driven by Pilot."""

from __future__ import annotations

from textual.widgets import Label, Static

from hwscale_tui.tui.app import create_app
from tests.analysis.test_qa65_analyze import _killed_part_way
from tests.tui.test_tui_pilot import text_of
from tests.tui.tui_helpers import wait_for


# -- 1. the analysis screen names a pair stopped short, as analyze does ---------------------------
async def test_the_analysis_screen_names_a_pair_killed_part_way(tmp_path):
    """g2n1's sweep was killed (SIGKILL) after 1 of its 3 trials: `hwscale-tui analyze` says so
    in a note, the app's analysis screen ranked it beside g1n1's 3 trials with nothing said."""
    exp = _killed_part_way(tmp_path)
    app = create_app(experiment_file=exp, start="analysis")
    async with app.run_test(size=(140, 40)) as pilot:
        status = app.screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: "4 trials" in text_of(status), 120, "the analysis")
        notes = " ".join(
            text_of(app.screen.query_one("#analysis-tables", Static), width=400).split()
        )
        assert (
            "Stopped short: g2n1 was killed by signal 9 after 1 of its 3 trials, so the analysis "
            "has fewer trials than planned of it; hwscale-tui launch --experiment-name exp runs "
            "the rest."
        ) in notes


async def test_the_analysis_screen_says_nothing_of_pairs_that_ran_their_trials(tmp_path):
    exp = _killed_part_way(tmp_path, exit_code=0)  # ended by itself: done, not stopped short
    app = create_app(experiment_file=exp, start="analysis")
    async with app.run_test(size=(140, 40)) as pilot:
        status = app.screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: "4 trials" in text_of(status), 120, "the analysis")
        notes = text_of(app.screen.query_one("#analysis-tables", Static), width=400)
        assert "Stopped short" not in notes
