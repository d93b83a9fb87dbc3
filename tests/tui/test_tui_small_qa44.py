"""Small defects of the app (QA pass 44): shares that read 100% when they are not, saved state
of deleted experiments, and `?` inside a dialog."""

from __future__ import annotations

import json
from types import SimpleNamespace

from textual.widgets import Input, Static

from hwscale_tui import config as cfgmod
from hwscale_tui.launch import experiments as ex
from hwscale_tui.paths import app_paths
from hwscale_tui.tui.analysis_view import describe_recommendation, target_choices
from hwscale_tui.tui.app import create_app
from hwscale_tui.tui.experiment_switcher import ExperimentSwitcher
from hwscale_tui.tui.screens.modals import ConfirmScreen, HelpScreen, PromptScreen
from tests.tui.test_tui_pilot import text_of
from tests.tui.tui_helpers import wait_for

# -- 3. a share below 100% never reads 100% ------------------------------------------------------


def test_a_bootstrap_agreement_below_one_is_not_shown_as_certain():
    rec = SimpleNamespace(
        config="g1n1",
        scenario="research",
        hardware="g1n1 (1 GPU x 1 node)",
        expected_score=None,
        samples_to_target=None,
        time_to_target_s=None,
        cost_to_target_usd=None,
        bootstrap_agreement=0.999,
    )
    assert describe_recommendation(rec).endswith("bootstrap agrees 99.9%")


def test_a_target_just_below_the_best_is_labelled_as_set():
    cfg = SimpleNamespace(analysis=SimpleNamespace(target_kind="fraction", target=0.999))
    labels = [label for label, _ in target_choices(cfg)]
    assert labels == ["50% of best", "75% of best", "90% of best", "99.9% of best"]


# -- 4. the saved trials filter of a deleted experiment goes with it ----------------------------


def _save(path, name: str) -> None:
    cfg = cfgmod.apply_overrides(cfgmod.default_config(env={}), {"experiment.name": name})
    cfgmod.save(cfg, path)
    ex.remember(name, path)


def _saved_filters() -> dict:
    return json.loads((app_paths().state / "tui.json").read_text())["trials_filters"]


def _write_filters(filters: dict) -> None:
    paths = app_paths().ensure()
    (paths.state / "tui.json").write_text(json.dumps({"bell": True, "trials_filters": filters}))


async def test_the_app_forgets_the_trials_filter_of_an_experiment_it_deletes(tmp_path):
    _save(tmp_path / "one.toml", "one")
    _save(tmp_path / "two.toml", "two")  # current, and what the app opens
    _write_filters({"one": "g1n1", "two": "g2n1"})
    app = create_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        await pilot.press("up", "d")  # "one", not the open experiment
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("y")
        await wait_for(pilot, lambda: "one" not in [r.name for r in app.screen.rows], what="gone")
        assert _saved_filters() == {"two": "g2n1"}
    assert "one" not in [s.name for s in ex.summaries()]


async def test_the_app_drops_saved_filters_of_experiments_deleted_elsewhere(tmp_path):
    """`hwscale-tui experiments delete` (or a delete in another app) left the filter saved:
    a new experiment of the same name would have opened filtered."""
    _save(tmp_path / "one.toml", "one")
    _save(tmp_path / "two.toml", "two")  # current
    _write_filters({"one": "g1n1", "two": "g2n1", "gone": "g4n2"})
    app = create_app()
    assert app.ui_state["trials_filters"] == {"one": "g1n1", "two": "g2n1"}
    assert _saved_filters() == {"one": "g1n1", "two": "g2n1"}
    assert json.loads((app_paths().state / "tui.json").read_text())["bell"] is True


def test_saved_filters_stay_when_the_store_cannot_be_read(tmp_path):
    _save(tmp_path / "two.toml", "two")
    _write_filters({"two": "g2n1", "gone": "g4n2"})
    app = create_app(remember_state=False)
    app.ui_state = {"trials_filters": {"two": "g2n1", "gone": "g4n2"}}
    app_paths().store.write_bytes(b"not a database")
    app._forget_gone_experiments()
    assert app.ui_state["trials_filters"] == {"two": "g2n1", "gone": "g4n2"}


# -- 5. ? inside a dialog shows the dialog's keys -------------------------------------------------


async def test_question_mark_in_a_dialog_opens_the_help_with_its_keys_first(tmp_path):
    """A modal dialog cuts the app's keys off: `?` in the experiment switcher or a yes/no
    question did nothing."""
    _save(tmp_path / "one.toml", "one")
    _save(tmp_path / "two.toml", "two")
    app = create_app(remember_state=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        switcher = app.screen
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        title, rows = app.screen.sections()[0]
        assert title == "Experiments (this screen)"
        assert {ident for _, _, ident in rows} >= {
            "experiments.switch",
            "experiments.delete",
            "experiments.close",
        }
        assert "Experiments (this screen)" in text_of(app.screen.query_one("#help-keys", Static))
        await pilot.press("escape")  # back to the dialog, still open
        await wait_for(pilot, lambda: app.screen is switcher, what="switcher again")

        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        title, rows = app.screen.sections()[0]
        assert title == "Question (this screen)"
        assert {ident for _, _, ident in rows} >= {"confirm.yes", "confirm.no"}
        await pilot.press("question_mark")  # closes the help, as everywhere
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is switcher, what="not deleted")
    assert "one" in [s.name for s in ex.summaries()]


async def test_question_mark_in_a_prompt_is_typed_and_f1_opens_the_help(tmp_path):
    _save(tmp_path / "one.toml", "one")
    app = create_app(remember_state=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentSwitcher), what="switcher")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="prompt")
        prompt = app.screen
        await pilot.press("a", "question_mark")
        assert prompt.query_one(Input).value == "a?" and app.screen is prompt
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        assert app.screen.sections()[0][0] == "Prompt (enter submits) (this screen)"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is prompt, what="prompt again")
        assert prompt.query_one(Input).value == "a?"


async def test_the_help_of_a_screen_is_unchanged(tmp_path):
    app = create_app(remember_state=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        titles = [title for title, _ in app.screen.sections()]
        assert titles[0] == "Everywhere" and "1 Grid (this screen)" in titles
