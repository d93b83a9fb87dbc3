"""QA pass of ``hwscale-tui analyze`` as a new user runs it: each test is a defect found by hand."""

from __future__ import annotations

import json

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from tests.support.wandb_loopback import experiment_runs, metta_wandb_experiment


def test_a_wandb_curve_that_could_not_be_read_is_counted_in_one_note(tmp_path, capsys, monkeypatch):
    """A trial whose W&B curve could not be read was counted twice: in the curves_unread note
    ("Learning curves of 1 of 12 trials could not be read ...") and again in "1 trial(s) have no
    learning curve yet". Each trial is counted once: by the unread note only, and a trial that
    logged no curve (a run with no history rows) still by the other."""
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1", "g4n1"], 4, history_points=30)
    with metta_wandb_experiment(tmp_path, monkeypatch, runs) as (server, exp, order):
        analyze = ["analyze", "--experiment", str(exp), "--bootstrap", "0"]
        server.fail("500", times=1000, operation="RunSampledHistory", run=order[9])
        assert main([*analyze, "--json"]) == 0
        out = capsys.readouterr()
        notes = json.loads(out.out)["notes"]
        assert len([n for n in notes if "could not be read" in n]) == 1
        assert not [n for n in notes if "no learning curve yet" in n], notes
        assert "no learning curve yet" not in out.err

        # a second trial without any logged point: counted by the other note, on its own
        empty = next(r for r in runs if r.name == order[2])
        empty.history = []
        empty.changed()
        assert main([*analyze, "--json"]) == 0
        notes = json.loads(capsys.readouterr().out)["notes"]
        assert len([n for n in notes if "could not be read" in n]) == 1
        assert [n for n in notes if "no learning curve yet" in n] == [
            "1 trial has no learning curve yet (counted in n_trials, not in the estimates)"
        ]


def _local_store(pairs=((1, 1), (2, 1)), trials_per_pair=2, usd_per_rank_hour=6.88):
    """A local-mode store (the embedded default experiment: built-in trainer, local dispatcher)
    whose trials logged their cost as the built-in trainer does: its price x ranks x hours."""
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        for gpus, nodes in pairs:
            sweep = f"hardware_scaling.g{gpus}n{nodes}"
            for i in range(1, trials_per_pair + 1):
                run_id = f"{sweep}_trial_{i:04d}_qa40{gpus}{i}"
                slope = 0.1 * i
                store.insert_trial(
                    run_id,
                    sweep,
                    experiment="hardware_scaling",
                    idx=i,
                    gpus=gpus,
                    nodes=nodes,
                    state="finished",
                    score=slope * 1000,
                    params={"trainer.batch_size": 1024 * gpus},
                )
                sps = 100.0 * gpus
                store.append_history(
                    run_id,
                    [
                        {
                            "agent_step": s,
                            "wall_s": s / sps,
                            "score": slope * s,
                            "cost_usd": usd_per_rank_hour * gpus * nodes * (s / sps) / 3600,
                        }
                        for s in range(0, 1100, 100)
                    ],
                )


def _linear_curves(tmp_path, trials_csv: str, tops) -> tuple:
    """A trials file and a history file: each ``(run_id, top)`` a straight curve from 0 to
    ``top`` over 0..1000 agent steps (wall time steps / 10)."""
    trials, history = tmp_path / "t.csv", tmp_path / "h.csv"
    trials.write_text(trials_csv)
    history.write_text(
        "run_id,agent_step,wall_s,score\n"
        + "".join(
            f"{r},{s},{s / 10},{top * s / 1000}\n" for r, top in tops for s in range(0, 1001, 100)
        )
    )
    return trials, history


def test_local_mode_says_when_the_costs_are_not_at_the_price_its_note_names(capsys):
    """Local mode: `analyze --gpu-type vCPU` said "costs use $0.0425/rank-hour: one cloud vCPU"
    while every cost shown was the one the trainer had logged at the H100 price ($6.88 per
    rank-hour: $0.0172 where $0.000106 was implied). The price in force prices only trials that
    logged no cost (docs/analysis.md), so a note says the costs are the logged ones, at which
    rate; none when the logged rate is the price in force."""
    from hwscale_tui.prices import price_per_gpu_hour

    _local_store()
    vcpu = price_per_gpu_hour("vCPU").price
    assert main(["analyze", "--bootstrap", "0", "--json", "--gpu-type", "vCPU"]) == 0
    data = json.loads(capsys.readouterr().out)
    for row in data["per_config"]:  # the logged costs, as documented
        assert row["cost_to_target_usd"] == pytest.approx(
            6.88 * row["total_gpus"] * row["time_to_target_s"] / 3600, rel=1e-6
        )
    said = [n for n in data["notes"] if "trainer logged when" in n]
    assert said == [
        "The costs are those the 4 trials' trainer logged when they ran, at $6.88/rank-hour, "
        f"not the ${vcpu:g}/rank-hour in force (it prices only a trial that logged no cost); "
        "launch with the [cost] you want to change them."
    ]
    assert main(["analyze", "--bootstrap", "0", "--json"]) == 0  # logged at the price in force
    assert not [n for n in json.loads(capsys.readouterr().out)["notes"] if "logged when" in n]


def test_json_and_csv_say_inf_for_a_target_never_reached_and_null_for_unknown(tmp_path, capsys):
    """docs/analysis.md: in --json "null = unknown, "inf" = unbounded / never reached". A pair
    whose best trial never reached the target had null samples/time/cost to target (the same
    as a reached trial whose time is unknown), while its KM medians said "inf"; the CSV had
    empty cells. They say "inf" (a trial without a curve stays null: unknown)."""
    import csv
    import io

    trials, history = _linear_curves(
        tmp_path,
        "run_id,gpus,nodes,score\na,1,1,100\nb,1,1,50\nc,2,1,40\nd,2,1,30\ne,2,1,\n",
        (("a", 100), ("b", 50), ("c", 40), ("d", 30)),
    )
    out_csv = tmp_path / "pc.csv"
    args = ["analyze", "--trials", str(trials), "--history", str(history), "--bootstrap", "0"]
    assert main([*args, "--json", "--csv", str(out_csv)]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["config"]: r for r in data["per_config"]}
    assert rows["g1n1"]["best_reached"] and rows["g1n1"]["samples_to_target"] == 900.0
    g2 = rows["g2n1"]
    assert g2["best_reached"] is False and g2["km_median_steps"] == "inf"
    for col in ("samples_to_target", "time_to_target_s", "cost_to_target_usd"):
        assert g2[col] == "inf", (col, g2[col])
    per_trial = {r["run_id"]: r for r in data["per_trial"]}
    assert per_trial["c"]["samples_to_target"] == "inf"
    assert per_trial["e"]["n_points"] == 0 and per_trial["e"].get("samples_to_target") is None
    written = {r["config"]: r for r in csv.DictReader(io.StringIO(out_csv.read_text()))}
    assert written["g2n1"]["samples_to_target"] == "inf"
    assert written["g1n1"]["samples_to_target"] == "900.0"


def test_a_pair_without_any_curve_is_named_not_said_counted_in_n_trials(tmp_path, capsys):
    """Trials of a pair none of whose trials has a curve were in the note "3 trial(s) have no
    learning curve yet (counted in n_trials, not in the estimates)", but their pair is not in
    the tables, so n_trials never counted them (summary: "trials: 3" of 5) and nothing said
    which pairs were missing. That note counts the trials of the pairs in the tables; another
    names the pairs left out."""
    trials, history = _linear_curves(
        tmp_path,
        "run_id,gpus,nodes,score\na,1,1,100\nb,1,1,50\nx,1,1,\nc,2,1,40\nd,4,1,\n",
        (("a", 100), ("b", 50)),
    )
    args = ["analyze", "--trials", str(trials), "--history", str(history), "--bootstrap", "0"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["config"] for r in data["per_config"]] == ["g1n1"]
    assert data["per_config"][0]["n_trials"] == 3
    assert [n for n in data["notes"] if "learning curve" in n] == [
        "1 trial has no learning curve yet (counted in n_trials, not in the estimates)",
        "g2n1, g4n1 left out: none of their trials has a learning curve yet, so they are not "
        "in the tables or the trial counts.",
    ]


def test_the_stderr_count_of_curves_counts_curves_read_in_the_singular_for_one(
    tmp_path, capsys, monkeypatch
):
    """stderr said "analyze: 1 trials, 1 learning curves" for one trial, and "12 trials, 12
    learning curves" when W&B gave 11 curves (an unread one counted as a curve)."""
    trials = tmp_path / "t.csv"
    history = tmp_path / "h.csv"
    trials.write_text("run_id,gpus,nodes,score\na,1,1,100\n")
    history.write_text("run_id,agent_step,wall_s,score\na,0,0,0\na,100,1,50\na,200,2,100\n")
    args = ["analyze", "--trials", str(trials), "--history", str(history), "--bootstrap", "0"]
    assert main(args) == 0
    assert "analyze: 1 trial, 1 learning curve" in capsys.readouterr().err.splitlines()

    with metta_wandb_experiment(tmp_path, monkeypatch) as (server, exp, order):
        analyze = ["analyze", "--experiment", str(exp), "--bootstrap", "0"]
        server.fail("500", times=1000, operation="RunSampledHistory", run=order[9])
        assert main(analyze) == 0
        assert "analyze: 12 trials, 11 learning curves" in capsys.readouterr().err.splitlines()


def test_a_target_that_is_not_a_fraction_names_the_flag_and_how_to_give_a_score(tmp_path, capsys):
    """`--target 1.5 --target-kind fraction` said "target 1.5 is not a fraction; accepted: a
    number in (0, 1], or an absolute target": no flag, and not how to give a score. And
    `--target-kind fraction` over a file's absolute 450 blamed a "target 450" not given here."""
    trials = tmp_path / "t.csv"
    history = tmp_path / "h.csv"
    trials.write_text("run_id,gpus,nodes,score\na,1,1,100\n")
    history.write_text("run_id,agent_step,wall_s,score\na,0,0,0\na,100,1,50\na,200,2,100\n")
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(), {"analysis.target": 450.0, "analysis.target_kind": "absolute"}
    )
    exp = cfgmod.save(cfg, tmp_path / "exp.toml")
    base = ["analyze", "-e", str(exp), "--trials", str(trials), "--history", str(history)]
    for extra, said in (
        (
            ["--target", "1.5", "--target-kind", "fraction"],
            "--target 1.5 is not a fraction of the best smoothed score; accepted: a number in "
            "(0, 1], or a score with --target-kind absolute.",
        ),
        (
            ["--target-kind", "fraction"],
            "--target-kind fraction would read the experiment's target 450 ([analysis] target) "
            "as a fraction of the best smoothed score; accepted: --target with a number in "
            "(0, 1].",
        ),
    ):
        out = tmp_path / "pc.csv"
        assert main([*base, *extra, "--csv", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"hwscale-tui: error: {said}"]
        assert not out.exists()


def test_a_wide_trials_file_without_history_asks_for_history(tmp_path, capsys):
    """`analyze --trials t.csv` (a wide file, no --history) said "no trial has a learning curve
    to analyze ...; accepted: trials with history (agent_step, wall_s, score)", not that the
    curves go in --history FILE.csv (or in the trials file's own per-step rows)."""
    trials = tmp_path / "t.csv"
    trials.write_text("run_id,gpus,nodes,score\na,1,1,100\nb,2,1,90\n")
    assert main(["analyze", "--trials", str(trials)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"hwscale-tui: error: --trials {trials} holds no learning curves and no --history was "
        "given; accepted: --history FILE.csv (run_id, agent_step, wall_s, score), or a trials "
        "file with a row per logged point (agent_step and score columns)."
    ]


def test_a_report_written_from_python_has_private_plots_as_its_markdown(tmp_path):
    """write_report (the app's export, and docs/analysis.md's "From Python") wrote the Markdown
    0600 but its PNGs and their folder with the caller's umask (0644 / 0755 under umask 022):
    one report, two privacies. Both are private whatever the umask."""
    import os
    import stat

    from hwscale_tui.analysis import AnalysisSettings, analyze, write_report
    from tests.analysis.analysis_helpers import linear_history, trial

    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 90.0)]
    histories = {"a": linear_history(0.1), "b": linear_history(0.09, sps=180.0)}
    result = analyze(trials, histories, AnalysisSettings(n_boot=0))
    previous = os.umask(0o022)
    try:
        md = write_report(result, tmp_path / "r.md")
    finally:
        os.umask(previous)
    pngs = sorted((tmp_path / "r_plots").glob("*.png"))
    assert pngs and stat.S_IMODE(md.stat().st_mode) == 0o600
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in pngs} == {p.name: 0o600 for p in pngs}
    assert stat.S_IMODE((tmp_path / "r_plots").stat().st_mode) == 0o700


def test_the_text_tables_keep_no_interval_which_rich_read_as_markup():
    """With --bootstrap 0 (or a pair of one trial) the per-config table's KM median and
    P(reach) cells are "2.61 s [no interval]" and "50% [no interval]"; the wide text table
    printed "2.61 s" and "50%": rich took "[no interval]" for a style tag and dropped it (the
    narrow one-block-per-row layout kept it)."""
    from hwscale_tui.analysis import AnalysisSettings, analyze, render_text
    from tests.analysis.analysis_helpers import linear_history, trial

    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 90.0)]
    histories = {"a": linear_history(0.1), "b": linear_history(0.09, sps=180.0)}
    result = analyze(trials, histories, AnalysisSettings(n_boot=0))
    wide = render_text(result, width=200)
    table = wide.split("Per hardware config", 1)[1].split("Scaling laws", 1)[0]
    row = next(line for line in table.splitlines() if line.startswith("g1n1"))
    assert row.count("[no interval]") == 2, row


def test_a_trials_file_with_trials_in_flight_says_the_results_will_change(tmp_path, capsys):
    """`trials --csv` of a running experiment, analyzed with --trials: its running and queued
    trials (censored at their last point) were analyzed without the "Still in progress" note
    the same trials read from the store get. The in-flight part is said (which pairs have no
    trial yet only the experiment's grid can say)."""
    trials, history = _linear_curves(
        tmp_path,
        "run_id,gpus,nodes,score,state\na,1,1,100,finished\nb,1,1,50,failed\n"
        "c,2,1,90,running\nd,2,1,,queued\n",
        (("a", 100), ("b", 50), ("c", 90)),
    )
    args = ["analyze", "--trials", str(trials), "--history", str(history), "--bootstrap", "0"]
    assert main([*args, "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert [n for n in notes if n.startswith("Still in progress")] == [
        "Still in progress: 2 trials still running (g2n1). These results will change; run "
        "the analysis again when the sweeps have finished."
    ]


def test_local_notes_on_one_core_and_one_left_out_pair_are_grammatical(
    tmp_path, capsys, monkeypatch
):
    """On a 1-core machine the notes said "this machine's 1 usable cores" and, of the one pair
    left out, "g2n1 left out: ... so their times ... no recommendation is made from them"."""
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "1")
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "hardware_scaling"}, "grid": {"gpu_counts": [1, 2]}}, env={}
    )
    exp = cfgmod.save(cfg, tmp_path / "exp.toml")
    _local_store()
    assert main(["analyze", "-e", str(exp), "--bootstrap", "0", "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any("each rank is a process on this machine's 1 usable core)" in n for n in notes)
    assert (
        "g2n1 left out: more CPU ranks than the 1 usable core, so its times measure CPU "
        "contention, not scaling, and no recommendation is made from it (--allow-oversubscribed "
        "keeps it)."
    ) in notes


def test_a_step_budget_past_every_trial_says_p_reach_is_a_lower_bound(tmp_path, capsys):
    """`--budget-steps 1e9` over trials followed to 1,000 steps printed "P(reach) is within a
    budget of 1G agent steps" and 50%, the Kaplan-Meier value at 1,000 steps, as if trials had
    been followed that far. A note says the budget is past the longest trial and that P(reach)
    there is only a lower bound; none when the budget is within it."""
    trials, history = _linear_curves(
        tmp_path,
        "run_id,gpus,nodes,score\na,1,1,100\nb,1,1,50\nc,2,1,90\n",
        (("a", 100), ("b", 50), ("c", 90)),
    )
    args = ["analyze", "--trials", str(trials), "--history", str(history), "--bootstrap", "0"]
    assert main([*args, "--json", "--budget-steps", "1e9"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert [n for n in notes if "budget" in n] == [
        "The step budget (1G agent steps) is past the longest trial (1k steps): P(reach) is "
        "the Kaplan-Meier value at the end of the trials, a lower bound (no trial was followed "
        "further)."
    ]
    assert main([*args, "--json", "--budget-steps", "500"]) == 0
    assert not [n for n in json.loads(capsys.readouterr().out)["notes"] if "budget" in n]


def _negative_scores(tmp_path):
    """Acrobot-v1 / MountainCar-v0 (built-in environments): returns below 0, best near 0."""
    trials = tmp_path / "t.csv"
    history = tmp_path / "h.csv"
    trials.write_text("run_id,gpus,nodes,score\na,1,1,-100\nb,2,1,-300\n")
    history.write_text(
        "run_id,agent_step,wall_s,score\n"
        + "".join(
            f"{r},{s},{s / 10},{-500 + (500 - end) * s / 1000}\n"
            for r, end in (("a", 100), ("b", 300))
            for s in range(0, 1001, 100)
        )
    )
    return ["analyze", "--trials", str(trials), "--history", str(history), "--bootstrap", "0"]


def test_an_experiment_of_negative_scores_can_be_analyzed_with_a_negative_target(tmp_path, capsys):
    """The built-in Acrobot-v1 and MountainCar-v0 score below 0: a fractional target is refused
    there ("needs a positive best score; accepted: an absolute target"), and `--target -400
    --target-kind absolute` was refused too ("--target -400 is out of range; accepted: a number
    >= 0"): such an experiment could not be analyzed at all. A negative score is a target (read
    as one without --target-kind, as a value above 1 is)."""
    args = _negative_scores(tmp_path)
    assert main([*args, "--json"]) == 2
    assert "needs a positive best score" in capsys.readouterr().err
    for extra in (["--target", "-400", "--target-kind", "absolute"], ["--target", "-400"]):
        assert main([*args, *extra, "--json"]) == 0, capsys.readouterr().err
        data = json.loads(capsys.readouterr().out)
        assert data["target"] == -400.0 and data["target_rule"] == "absolute target -400"
        rows = {r["config"]: r for r in data["per_config"]}
        assert rows["g1n1"]["samples_to_target"] == 250.0  # -500 + 400 s/1000 = -400 at 250
        assert rows["g2n1"]["samples_to_target"] == 500.0
    assert main([*args, "--target", "-400", "--target-kind", "fraction"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "hwscale-tui: error: --target -400 is not a fraction of the best smoothed score; "
        "accepted: a number in (0, 1], or a score with --target-kind absolute."
    )


def test_target_levels_of_a_negative_best_score_say_why_there_are_none(tmp_path, capsys):
    """With a best smoothed score below 0 the target-levels table was empty under "ranking
    stable", with no word why (fractions of a negative best are no levels)."""
    assert main([*_negative_scores(tmp_path), "--target", "-400", "--width", "200"]) == 0
    out = capsys.readouterr().out
    section = out.split("Target levels", 1)[1].split("Notes", 1)[0]
    assert "ranking stable" not in section
    assert (
        "no target levels: they are fractions of the best smoothed score, which is -100 (they "
        "need a positive one)" in section
    )


def test_the_survival_plot_draws_a_pair_that_never_reached_the_target():
    """survival.png drew only pairs with a trial that reached the target: a pair whose trials
    all fell short (P(reached) 0 over all it was followed) was missing from the plot and its
    legend, as if it had no data. It is drawn at 0 up to where it was followed, and labelled."""
    from hwscale_tui.analysis import AnalysisSettings, analyze
    from hwscale_tui.analysis.plots import _pyplot, _survival
    from tests.analysis.analysis_helpers import linear_history, trial

    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 40.0)]
    histories = {"a": linear_history(0.1), "b": linear_history(0.04)}
    result = analyze(trials, histories, AnalysisSettings(n_boot=0))
    assert not result.per_config.set_index("config").loc["g2n1", "best_reached"]
    plt = _pyplot()
    fig = _survival(plt, result)
    try:
        lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
        assert "g2n1 (none reached)" in lines and "g1n1" in lines
        xs, ys = lines["g2n1 (none reached)"].get_data()
        assert max(ys) == 0 and max(xs) == 1000.0
    finally:
        plt.close(fig)


def test_trials_in_flight_without_a_curve_yet_are_a_wait_not_a_missing_history(capsys):
    """Right after a launch (trials running or queued, none has logged a point) analyze said
    "no trial has a learning curve to analyze (of 2 trials: 1 running, 1 queued); accepted:
    trials with history (agent_step, wall_s, score)", the words for a file without its
    history. It says they have not logged one yet and to run the analysis again."""
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        for i, state in ((1, "running"), (2, "queued")):
            store.insert_trial(
                f"hardware_scaling.g1n1_trial_{i:04d}_abcdef",
                "hardware_scaling.g1n1",
                experiment="hardware_scaling",
                idx=i,
                gpus=1,
                nodes=1,
                state=state,
            )
    assert main(["analyze", "--bootstrap", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "hwscale-tui: error: no trial has logged a learning curve yet (of 2 trials: 1 running, "
        "1 queued); accepted: the analysis run again once they have logged their first points."
    )


def _two_generations_newest_without_trials():
    """generation 2 recorded (a relaunch), all trials still of generation 1."""
    from hwscale_tui.store import Store

    with Store.open_default() as store:
        store.add_generation("hardware_scaling", 1, "f1", {}, "first launch")
        store.add_generation("hardware_scaling", 2, "f2", {}, "relaunch")
    _local_store()


def test_the_newest_generation_without_trials_is_said_not_silently_replaced(capsys):
    """Just after `launch --new-generation`, before its first trial, analyze analyzed
    generation 1 and said only "generation 1 of experiment ... (4 trials)": nothing said that a
    newer generation exists and has no trials yet."""
    _two_generations_newest_without_trials()
    assert main(["analyze", "--bootstrap", "0", "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert notes[0] == "Trials analyzed: generation 1 of experiment hardware_scaling (4 trials)."
    assert notes[1] == (
        "Generation 2, the newest, has no trials yet (its sweeps are starting, or ran none): "
        "these are generation 1's results."
    )
    assert main(["analyze", "--bootstrap", "0", "--json", "--generation", "1"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert not [n for n in notes if "the newest, has no trials yet" in n]


def test_bootstrap_agreement_is_unknown_when_no_config_has_two_trials():
    """With one trial per config every resample of each config's trials is that trial, so
    "bootstrap agrees 100%" was certain only by construction (as a Kaplan-Meier interval of one
    trial would be, which is why those are not given). It is unknown then; with a config of
    two trials it is measured."""
    from hwscale_tui.analysis import AnalysisSettings, analyze
    from tests.analysis.analysis_helpers import linear_history, trial

    histories = {"a": linear_history(0.1), "b": linear_history(0.09, sps=180.0)}
    result = analyze(
        [trial("a", 1, 1, 100.0), trial("b", 2, 1, 90.0)], histories, AnalysisSettings(n_boot=200)
    )
    assert all(r.config and r.bootstrap_agreement is None for r in result.recommendations)
    histories["c"] = linear_history(0.05)
    result = analyze(
        [trial("a", 1, 1, 100.0), trial("b", 2, 1, 90.0), trial("c", 2, 1, 50.0)],
        histories,
        AnalysisSettings(n_boot=200),
    )
    assert all(r.bootstrap_agreement is not None for r in result.recommendations)


def test_a_fit_without_bootstrap_does_not_speak_of_its_interval():
    """`--bootstrap 0` printed "[no interval]" beside "note: 1 residual degree of freedom: the
    interval is wide". Without resamples the note says the fit is loose."""
    from hwscale_tui.analysis import fit_power_law

    x, y = [1.0, 2.0, 4.0], [100.0, 60.0, 33.0]
    assert fit_power_law(x, y, n_boot=0).note == (
        "1 residual degree of freedom: the fit is loose (no interval: 0 bootstrap resamples)"
    )
    assert (
        fit_power_law(x, y, n_boot=50).note == "1 residual degree of freedom: the interval is wide"
    )


def test_a_pair_whose_only_curves_could_not_be_read_is_said_so_once(tmp_path, capsys, monkeypatch):
    """A pair whose every W&B curve failed (g4n1's one trial) was said twice, two ways: "its
    curve could not be read ... (counted in n_trials, not in the estimates)" though the pair
    had no row and no count held it, and "g4n1 left out: none of its trials has a learning
    curve yet", as if it had logged none. The left-out note says its curves could not be read,
    and the unread note no longer claims a count for it."""
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 2, history_points=30)
    runs += experiment_runs("hardware_scaling", ["g4n1"], 1, history_points=30)
    lone = next(r.name for r in runs if r.group and r.group.endswith("g4n1"))
    with metta_wandb_experiment(tmp_path, monkeypatch, runs) as (server, exp, _):
        analyze = ["analyze", "--experiment", str(exp), "--bootstrap", "0"]
        server.fail("500", times=1000, operation="RunSampledHistory", run=lone)
        assert main([*analyze, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["curves_unread"]["run_ids"] == [lone]
    said = [n for n in data["notes"] if "g4n1" in n or "could not be read" in n]
    assert said[0].startswith("Learning curves of 1 of 5 trials could not be read from W&B (")
    assert said[0].endswith(
        "): they are analyzed without one (g4n1's, as that pair has no other curve, are in no "
        "table or count). Run the analysis again to retry."
    )
    assert said[1:] == [
        "g4n1 left out: none of its trials' learning curves could be read, so it is not in the "
        "tables or the trial counts."
    ]


def test_an_experiment_file_can_hold_a_negative_absolute_target(tmp_path, capsys):
    """`[analysis] target = -400` (target_kind absolute) was refused by the file's range (0 to
    1e15), so the app and a saved experiment could not hold the target of an Acrobot-v1
    experiment that `--target -400` analyzes; as a fraction it is still refused."""
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(), {"analysis.target": -400.0, "analysis.target_kind": "absolute"}
    )
    exp = cfgmod.save(cfg, tmp_path / "neg.toml")
    assert cfgmod.load(exp).analysis.target == -400.0
    assert main([*_negative_scores(tmp_path), "-e", str(exp), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"] == -400.0 and data["target_rule"] == "absolute target -400"
    with pytest.raises(cfgmod.ConfigError, match="is not a fraction"):
        cfgmod.apply_overrides(cfgmod.default_config(), {"analysis.target": -400.0})


def test_a_level_given_twice_is_one_row(tmp_path, capsys):
    args = [*_negative_scores(tmp_path), "--target", "-400", "--json"]
    assert main([*args, "--levels", "0.5", "0.9", "0.5"]) == 0
    levels = json.loads(capsys.readouterr().out)["settings"]["levels"]
    assert list(levels) == [0.5, 0.9]
