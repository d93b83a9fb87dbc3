"""QA pass of the app's analysis screen (key 4): each test is a defect found by hand."""

from __future__ import annotations

from textual.widgets import Label, Static

from hwscale_tui import config as cfgmod
from hwscale_tui.tui.app import create_app
from tests.support.wandb_loopback import metta_wandb_experiment
from tests.tui.test_tui_pilot import text_of
from tests.tui.tui_helpers import wait_for

SIZE = (140, 40)


def _store_trials(experiment: str, trials: list[tuple[int, int, float]], score_at) -> None:
    """One finished trial per ``(gpus, idx, score)`` of ``experiment`` (one node), its curve
    ``score_at(gpus, agent_step)`` over 0..1000 steps (wall time steps / 100)."""
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        for gpus, idx, score in trials:
            run_id = f"{experiment}.g{gpus}n1_trial_{idx:04d}_abcdef"
            store.insert_trial(
                run_id,
                f"{experiment}.g{gpus}n1",
                experiment=experiment,
                idx=idx,
                gpus=gpus,
                nodes=1,
                state="finished",
                score=score,
            )
            store.append_history(
                run_id,
                [
                    {"agent_step": s, "wall_s": s / 100, "score": score_at(gpus, s)}
                    for s in range(0, 1001, 100)
                ],
            )


async def _said_when_done(app, pilot) -> tuple[str, str]:
    """The analysis bar's status and the plot's note once the analysis is done."""
    status = app.screen.query_one("#analysis-status", Label)
    await wait_for(pilot, lambda: "computing" not in text_of(status), 120, "the analysis")
    await pilot.pause()
    note = " ".join(text_of(app.screen.query_one("#plot-note", Label), width=200).split())
    return text_of(status).strip(), note


async def test_the_screen_counts_a_wandb_curve_it_could_not_read_once(tmp_path, monkeypatch):
    """The notes counted a trial whose W&B curve could not be read twice: "Learning curves of 1
    of 12 trials could not be read ..." and "1 trial(s) have no learning curve yet"."""
    with metta_wandb_experiment(tmp_path, monkeypatch) as (server, experiment_file, order):
        server.fail("500", times=1000, operation="RunSampledHistory", run=order[9])
        app = create_app(experiment_file=experiment_file, start="analysis")
        async with app.run_test(size=SIZE) as pilot:
            status = app.screen.query_one("#analysis-status", Label)
            await wait_for(pilot, lambda: "12 trials" in text_of(status), 120, "the analysis")
            assert "1 curve unread (see the notes)" in text_of(status)
            notes = " ".join(
                text_of(app.screen.query_one("#analysis-tables", Static), width=200).split()
            )
            assert notes.count("could not be read") == 1
            assert "no learning curve yet" not in notes


def test_the_throughput_note_names_the_chosen_law_once():
    """The throughput plot's note read "throughput: AMDAHL (sigma 1; Amdahl (the USL could not
    be fitted: ...))": the law's name twice and nested brackets. It names it once."""
    from hwscale_tui.analysis.fits import select_throughput_model
    from hwscale_tui.tui.analysis_view import describe_law

    law = select_throughput_model([1, 1, 2, 2], [100.0, 110.0, 150.0, 160.0], n_boot=0)
    note = describe_law("throughput", law, "ranks")
    assert note.startswith("throughput: AMDAHL (sigma ")
    assert note.count("Amdahl") == 0 and note.count("AMDAHL") == 1, note
    assert note.endswith(
        "; the USL could not be fitted: the USL needs at least 4 points at 3 "
        "or more distinct x values; got 4 points at 2 distinct values)"
    ), note


async def test_only_oversubscribed_pairs_is_said_in_the_apps_words(tmp_path, monkeypatch):
    """Local mode, every pair with trials oversubscribed: the screen showed "no analysis" and
    the command line's refusal, "accepted: --allow-oversubscribed to analyze them anyway", a
    flag the app has no place for. It says the state and where that flag is."""

    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "big"}, "grid": {"gpu_counts": [4], "node_counts": [1]}}, env={}
    )
    experiment_file = cfgmod.save(cfg, tmp_path / "big.toml")
    _store_trials("big", [(4, i, 100.0 + i) for i in (1, 2)], lambda _g, s: s / 10)
    app = create_app(experiment_file=experiment_file, start="analysis")
    async with app.run_test(size=SIZE) as pilot:
        status, said = await _said_when_done(app, pilot)
        assert status == "oversubscribed pairs only"
        assert said == (
            "Every pair with trials (g4n1) has more CPU ranks than the 2 usable cores, so its "
            "times measure contention, not scaling: the analysis leaves such pairs out "
            "(hwscale-tui analyze --allow-oversubscribed analyzes them anyway)."
        )
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_negative_scores_are_said_in_the_apps_words(tmp_path):
    """An Acrobot-v1 experiment (returns below 0): the screen showed "no analysis", an error
    notice and the command line's "accepted: an absolute target (--target-kind absolute)", a
    flag the app has no place for. It says why no fraction is a target and what analyzes it."""
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "acro"}, "grid": {"gpu_counts": [1, 2], "node_counts": [1]}},
        env={},
    )
    experiment_file = cfgmod.save(cfg, tmp_path / "acro.toml")
    _store_trials(
        "acro",
        [(gpus, 1, -100.0 * gpus) for gpus in (1, 2)],
        lambda g, s: -500 + (500 - 100 * g) * s / 1000,
    )
    app = create_app(experiment_file=experiment_file, start="analysis")
    async with app.run_test(size=SIZE) as pilot:
        status, said = await _said_when_done(app, pilot)
        assert status == "no fractional target"
        assert said == (
            "The best smoothed score is -100: no fraction of it is a target (a fraction needs a "
            "best score above 0). A score as the target analyzes them: hwscale-tui analyze "
            "--target SCORE."
        )
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_the_bar_names_the_generation_it_analyzed(tmp_path):
    """After a relaunch, before generation 2's first trial, the bar said "gen 2 of 2: ..." over
    generation 1's trials (the notes said generation 1)."""
    from hwscale_tui.store import Store

    cfg = cfgmod.from_dict(
        {"experiment": {"name": "gens"}, "grid": {"gpu_counts": [1, 2], "node_counts": [1]}},
        env={},
    )
    experiment_file = cfgmod.save(cfg, tmp_path / "gens.toml")
    with Store.open_default() as store:
        store.add_generation("gens", 1, "f1", {}, "first launch")
        store.add_generation("gens", 2, "f2", {}, "relaunch")
    _store_trials("gens", [(gpus, 1, 100.0) for gpus in (1, 2)], lambda _g, s: s / 10)
    app = create_app(experiment_file=experiment_file, start="analysis")
    async with app.run_test(size=SIZE) as pilot:
        status = app.screen.query_one("#analysis-status", Label)
        await wait_for(pilot, lambda: "trials" in text_of(status), 120, "the analysis")
        assert text_of(status).strip().startswith("gen 1 of 2: ")
        notes = " ".join(
            text_of(app.screen.query_one("#analysis-tables", Static), width=200).split()
        )
        assert "Generation 2, the newest, has no trials yet" in notes


def test_a_law_without_an_interval_and_a_fractional_peak_read_as_the_report_says():
    """Session 43 (helpers 83 and 89): the app showed "samples to target ~ GPUs^-1.00 [nan,
    nan]" for a power law with no interval (the report says "[no interval]"), and a USL peak of
    1.4 as "peak at 1" (:.0f)."""
    from types import SimpleNamespace

    from hwscale_tui.analysis.fits import fit_power_law
    from hwscale_tui.tui.analysis_view import describe_law

    law = fit_power_law([1, 2, 4], [400.0, 200.0, 100.0], n_boot=0)  # exactly on the law
    text = describe_law("samples to target", law)
    assert "[no interval]" in text and "nan" not in text, text
    usl = SimpleNamespace(
        chosen="usl",
        fit=SimpleNamespace(sigma=0.1, peak_n=1.4),
        reason="USL (AICc lower by 5)",
    )
    assert "peak at 1.4 ranks" in describe_law("throughput", usl, "ranks")
