"""Reports (text, Markdown + PNG, CSV, JSON) and the `hwscale-tui analyze` command."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hwscale_tui import cli
from hwscale_tui.analysis import AnalysisSettings, analyze, render_text, write_report
from hwscale_tui.errors import UsageError
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.store import Store
from tests.analysis.analysis_helpers import linear_history, trial
from tests.support.cli import REPO, hwscale_cmd
from tests.support.synthetic import synthetic_experiment

PAIRS = [HardwarePair(g, n) for n in (1, 2) for g in (1, 2, 4, 8)]


@pytest.fixture(scope="module")
def experiment():
    return synthetic_experiment(PAIRS, 6, 60, seed=5, experiment="hardware_scaling")


@pytest.fixture(scope="module")
def result(experiment):
    trials, histories, _ = experiment
    return analyze(trials, histories, AnalysisSettings(n_boot=200))


def long_csv(experiment, path) -> None:
    trials, histories, _ = experiment
    rows = [
        {
            "run_id": t.run_id,
            "sweep": t.sweep,
            "gpus": t.gpus,
            "nodes": t.nodes,
            "state": t.state,
            "sps": t.sps,
            "param.trainer.batch_size": t.params["trainer.batch_size"],
            "agent_step": p.agent_step,
            "wall_s": p.wall_s,
            "score": p.score,
        }
        for t in trials
        for p in histories[t.run_id]
    ]
    pd.DataFrame(rows).to_csv(path, index=False)


def test_text_report_has_every_section_and_no_nan(result):
    text = render_text(result, width=140)
    for title in (
        "Summary",
        "Per hardware config",
        "Scaling laws",
        "Figure of merit",
        "Pareto",
        "Recommendations",
        "Target levels",
        "Notes",
    ):
        assert title in text
    assert "nan" not in text.lower().replace("nano", "")
    assert result.price.describe() in text.replace("\n", " ") or "H100 on-demand" in text
    assert all(f"{r.config} (" in text for r in result.recommendations)


def test_text_report_at_80_columns_cuts_no_value_and_no_title(result):
    """A table too wide for 80 columns was folded inside words and numbers ('$0.00' over
    '0869', 'reache' over 'd') and long section titles ended in an ellipsis."""
    from hwscale_tui.analysis.report import report_sections

    text = render_text(result, width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "\u2026" not in text
    flat = re.sub(r"\s+", " ", text)
    for sec in report_sections(result):
        assert sec.title in flat
        for row in sec.rows:
            for cell in row:
                assert any(cell in line for line in lines), (sec.title, cell)


@pytest.mark.parametrize("width", [90, 100, 110, 120, 130])
def test_text_report_between_80_and_wide_cuts_no_word_and_drops_no_column(result, width):
    """At 100 columns rich squeezed the tables itself: it cut headers inside a word
    ('researc' over 'h', 'develo' over 'pment'), cut 'logged' to 'logge' and dropped the
    figure-of-merit table's last column ('geo bal')."""
    from hwscale_tui.analysis.report import report_sections

    text = render_text(result, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    tokens = {w.removesuffix(":") for w in text.split()}  # a record line is "header: value"
    for sec in report_sections(result):
        for cell in (*sec.headers, *(c for row in sec.rows for c in row)):
            for word in cell.split():
                assert word in tokens, (width, sec.title, cell, word)


@pytest.mark.parametrize(
    "value, shown",
    [
        (123_456, "123k"),
        (999_500, "1M"),  # was '1e+03k'
        (999_600_000, "1G"),  # was '1e+03M'
        (999.7, "1k"),
        (1e15, "1e+15"),  # was '1e+03T'
        (1e300, "1e+300"),  # was '1e+288T'
        (-999_500, "-1M"),
        (12, "12"),
    ],
)
def test_counts_round_before_their_unit_is_chosen(value, shown):
    from hwscale_tui.analysis.format import fmt_count

    assert fmt_count(value) == shown


def test_text_report_says_not_reached_and_not_enough_data():
    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 30.0)]
    res = analyze(
        trials,
        {"a": linear_history(0.1), "b": linear_history(0.03)},
        AnalysisSettings(target=90.0, target_kind="absolute", n_boot=50),
    )
    text = render_text(res, width=160)
    assert "not reached" in text and "not enough data" in text
    assert "best hyperparameters:\n  research" in text.replace("\r", "")


def test_report_without_any_recommendation_has_no_empty_hyperparameter_heading(tmp_path):
    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 30.0)]
    res = analyze(
        trials,
        {"a": linear_history(0.1), "b": linear_history(0.03)},
        AnalysisSettings(target=1e6, target_kind="absolute", n_boot=50),
    )
    assert all(r.config is None for r in res.recommendations)
    local = analyze(
        trials,
        {"a": linear_history(0.1), "b": linear_history(0.03)},
        AnalysisSettings(target=1e6, target_kind="absolute", n_boot=20, unit="ranks"),
    )
    assert {r.unit for r in local.recommendations} == {"ranks"}  # was "GPUs" when none reached
    text = render_text(res, width=160)
    assert "none: no config reached" in text
    assert "best hyperparameters" not in text
    body = write_report(res, tmp_path / "r.md").read_text()  # crashed drawing empty log axes
    assert "best hyperparameters" not in body
    assert "To target vs total" not in body  # nothing reached: no such figure
    assert (tmp_path / "r_plots" / "curves.png").stat().st_size > 0


def test_report_draws_to_target_when_one_quantity_is_unknown_everywhere(tmp_path):
    import math

    from hwscale_tui.records import HistoryPoint

    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 100.0)]
    no_wall = {  # no wall time logged: samples to target known, time (and cost) to target not
        r: [HistoryPoint(p.agent_step, math.nan, p.score) for p in linear_history(0.1)]
        for r in ("a", "b")
    }
    res = analyze(trials, no_wall, AnalysisSettings(target=50.0, target_kind="absolute", n_boot=20))
    assert res.per_config["samples_to_target"].notna().all()
    assert res.per_config["time_to_target_s"].isna().all()
    body = write_report(res, tmp_path / "r.md").read_text()
    assert "To target vs total" in body
    assert (tmp_path / "r_plots" / "to_target.png").stat().st_size > 0


def test_markdown_report_with_png_plots(result, tmp_path):
    md = write_report(result, tmp_path / "report.md")  # the CLI's --report calls exactly this
    body = md.read_text()
    assert body.startswith("# Hardware scaling analysis") and "| config |" in body
    pngs = sorted((tmp_path / "report_plots").glob("*.png"))
    assert {p.name for p in pngs} == {
        "curves.png",
        "to_target.png",
        "throughput.png",
        "survival.png",
        "pareto.png",
    }
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"report_plots/{p.name}" in body


def test_cli_long_csv_text_and_csv(experiment, tmp_path, capsys):
    src = tmp_path / "long.csv"
    long_csv(experiment, src)
    out_csv = tmp_path / "per_config.csv"
    rc = cli.main(
        [
            "analyze",
            "--trials",
            str(src),
            "--bootstrap",
            "100",
            "--csv",
            str(out_csv),
            "--width",
            "150",
        ]
    )
    cap = capsys.readouterr()
    assert rc == 0 and "HARDWARE SCALING ANALYSIS" in cap.out and "bootstrap" in cap.err
    table = pd.read_csv(out_csv)
    assert list(table["config"]) == [
        p.tag for p in sorted(PAIRS, key=lambda p: (p.total_gpus, p.nodes))
    ]
    assert {"km_median_time_s", "p_reach", "cost_source", "best_params"} <= set(table.columns)
    assert json.loads(table["best_params"][0])["trainer.batch_size"] > 0
    assert f"analyze: wrote {out_csv}\n" in cap.err  # a new file: nothing to say

    # run again: the file is replaced whole, and the line says so
    out_csv.write_text("old,content\n")
    report = tmp_path / "r.md"
    report.write_text("an old report\n")
    argv = ["analyze", "--trials", str(src), "--bootstrap", "0", "--csv", str(out_csv)]
    assert cli.main([*argv, "--report", str(report)]) == 0
    err = capsys.readouterr().err
    assert f"analyze: wrote {out_csv} (replaced the file that was there)" in err
    assert f"analyze: wrote {report} (replaced the file that was there)" in err
    assert "old" not in out_csv.read_text() and "an old report" not in report.read_text()


def test_cli_piped_text_follows_columns(experiment, tmp_path, capsys, monkeypatch):
    """Piped (not a terminal), the text is laid out for $COLUMNS when it is set, as the other
    commands' output is; without it, for 120 columns."""
    src = tmp_path / "long.csv"
    long_csv(experiment, src)
    argv = ["analyze", "--trials", str(src), "--bootstrap", "0"]
    monkeypatch.setenv("COLUMNS", "80")
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 80 and "HARDWARE SCALING ANALYSIS" in lines[0]
    monkeypatch.delenv("COLUMNS")
    assert cli.main(argv) == 0
    assert 80 < max(map(len, capsys.readouterr().out.splitlines())) <= 120


def test_cli_json_is_strict_json(experiment, tmp_path, capsys):
    src = tmp_path / "long.csv"
    long_csv(experiment, src)
    assert (
        cli.main(
            ["analyze", "--trials", str(src), "--bootstrap", "50", "--target", "0.8", "--json"]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["target"] == 0.8 and len(data["per_config"]) == len(PAIRS)
    assert {"samples_to_target", "throughput", "critical_batch", "composite"} <= set(data["laws"])
    assert [r["scenario"] for r in data["recommendations"]] == [
        "research",
        "development",
        "budget",
        "balanced",
    ]


# The command as its own process: exit handlers run and its output is whole, but the objects
# left at exit are not freed one by one (a module global's __del__ never runs).
OWN_PROCESS = """
import atexit, sys
from hwscale_tui.cli import main

class Noisy:
    def __del__(self):
        print("freed at teardown", file=sys.stderr)

kept = Noisy()
atexit.register(lambda: print("exit handler ran", file=sys.stderr))
sys.argv = ["hwscale-tui", *sys.argv[1:]]
sys.exit(main())
"""


def test_analyze_process_ends_without_teardown_after_its_whole_output(experiment, tmp_path):
    src = tmp_path / "long.csv"
    long_csv(experiment, src)
    args = ["analyze", "--trials", str(src), "--bootstrap", "20"]
    done = subprocess.run(
        [sys.executable, "-c", OWN_PROCESS, *args, "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["per_config"]) == len(PAIRS)  # flushed, all of it
    assert "exit handler ran" in done.stderr and "freed at teardown" not in done.stderr
    refused = subprocess.run(
        [sys.executable, "-c", OWN_PROCESS, *args, "--seed", "-1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=240,
    )
    assert refused.returncode == 2 and "--seed -1 is out of range" in refused.stderr
    assert "exit handler ran" in refused.stderr
    # another command ends as before: its objects are freed
    other = subprocess.run(
        [sys.executable, "-c", OWN_PROCESS, "plan", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=240,
    )
    assert "freed at teardown" in other.stderr


def test_cli_wide_trials_and_history_files(tmp_path, capsys):
    (tmp_path / "t.csv").write_text(
        'run_id,config,score,params_json\na,g1n1,100,"{""trainer.batch_size"": 64}"\nb,g2n1,100,\n'
    )
    rows = [
        f"{r},{p.agent_step},{p.wall_s},{p.score}"
        for r, s in (("a", 0.1), ("b", 0.1))
        for p in linear_history(s, sps=50 if r == "a" else 100)
    ]
    (tmp_path / "h.csv").write_text("run_id,agent_step,wall_s,score\n" + "\n".join(rows) + "\n")
    assert (
        cli.main(
            [
                "analyze",
                "--trials",
                str(tmp_path / "t.csv"),
                "--history",
                str(tmp_path / "h.csv"),
                "--target",
                "50",
                "--bootstrap",
                "0",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    by = {r["config"]: r for r in data["per_config"]}
    assert data["target"] == 50.0 and by["g1n1"]["time_to_target_s"] == pytest.approx(10.0)
    assert by["g2n1"]["time_to_target_s"] == pytest.approx(5.0) and by["g1n1"]["best_params"] == {
        "trainer.batch_size": 64
    }


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--trials", "/nonexistent.csv"], "does not exist"),
        (["--history", "h.csv"], "--history only goes with --trials"),
        (["--target", "0"], "not a fraction"),
        (["--csv", "/nonexistent/dir/x.csv"], "folder does not exist"),
        ([], "has no trials"),
        # a blank GPU type was priced as 'one  on-demand' (an H100's price under no name)
        (["--gpu-type", ""], "--gpu-type '' is not a GPU name; accepted: a name like H100"),
        (["--gpu-type", "  "], "--gpu-type '  ' is not a GPU name"),
        (["--gpu-type", "H100\n"], "is not a GPU name"),
        # it exited 1 with "unavailable ...; retry", though no retry can find a key
        (["--source", "wandb"], "--source wandb needs WANDB_API_KEY in the environment; accepted"),
    ],
)
def test_cli_bad_input_exits_2_with_one_sentence_and_writes_nothing(
    argv, message, tmp_path, capsys, private_home
):
    assert cli.main(["analyze", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (private_home / "data").exists()


GOOD_TRIALS = "run_id,gpus,nodes,score,cost_usd,sps\na,1,1,100,0.5,50\nb,2,1,90,0.7,100\n"
GOOD_HISTORY = (
    "run_id,agent_step,wall_s,score,cost_usd\na,100,1,10,0.1\na,200,2,100,0.2\nb,100,1,90,0.1\n"
)


@pytest.mark.parametrize(
    "trials, history, message",
    [
        (
            GOOD_TRIALS.replace("b,2,1", "b,-2,1"),
            GOOD_HISTORY,
            "run b has gpus -2; accepted: a whole number from 1 to 1024.",
        ),
        (
            GOOD_TRIALS.replace("b,2,1", "b,1.5,1"),
            GOOD_HISTORY,
            "run b has gpus 1.5; accepted: a whole number",
        ),
        (GOOD_TRIALS.replace("b,2,1", "b,1e30,1"), GOOD_HISTORY, "run b has gpus 1e+30; accepted"),
        (
            GOOD_TRIALS.replace("b,2,1", "b,2,0"),
            GOOD_HISTORY,
            "run b has nodes 0; accepted: a whole number from 1 to 4096.",
        ),
        (
            GOOD_TRIALS + "b,2,1,95,0.7,100\n",
            GOOD_HISTORY,
            "run b has more than one row; accepted: one row per trial",
        ),
        (GOOD_TRIALS + ",2,1,95,0.7,100\n", GOOD_HISTORY, "line 4 has no run_id; accepted"),
        (
            GOOD_TRIALS.replace(",90,", ",abc,"),
            GOOD_HISTORY,
            "run b has score 'abc'; accepted: a finite number or an empty cell.",
        ),
        (GOOD_TRIALS.replace(",90,", ",inf,"), GOOD_HISTORY, "run b has score inf; accepted"),
        (
            GOOD_TRIALS.replace(",0.7,", ",-0.7,"),
            GOOD_HISTORY,
            "run b has cost_usd -0.7; accepted: a finite number >= 0",
        ),
        (
            GOOD_TRIALS.replace(",", ";"),
            GOOD_HISTORY,
            "is separated by semicolons; accepted: a comma-separated file",
        ),
        (
            GOOD_TRIALS,
            GOOD_HISTORY.replace("a,200,", "a,abc,"),
            "run a has agent_step 'abc'; accepted: a finite number >= 0.",
        ),
        (
            GOOD_TRIALS,
            GOOD_HISTORY.replace("a,100,1,10,", "a,100,1,x,"),
            "run a has score 'x'; accepted: a finite number.",
        ),
        (
            GOOD_TRIALS,
            GOOD_HISTORY.replace("a,200,2,", "a,200,inf,"),
            "run a has wall_s inf; accepted",
        ),
        (GOOD_TRIALS, GOOD_HISTORY.replace(",0.2", ",$0.2"), "run a has cost_usd '$0.2'; accepted"),
        (GOOD_TRIALS, GOOD_HISTORY.replace(",", "\t"), "is separated by tabs; accepted"),
        (
            GOOD_TRIALS,
            GOOD_HISTORY.replace("a,100,1,", "a,100,-5,"),
            "run a has wall_s -5; accepted: a finite number >= 0 or an empty cell.",
        ),
        (
            GOOD_TRIALS,
            GOOD_HISTORY.replace("a,100,", "a,-100,"),
            "run a has agent_step -100; accepted: a finite number >= 0.",
        ),
        (GOOD_TRIALS, GOOD_HISTORY.replace(",0.2", ",-0.2"), "run a has cost_usd -0.2; accepted"),
    ],
    ids=lambda v: v.split(";")[0][-40:] if isinstance(v, str) and "accepted" in v else "",
)
def test_cli_bad_csv_values_exit_2_with_one_sentence(
    trials, history, message, tmp_path, capsys, private_home
):
    (tmp_path / "t.csv").write_text(trials)
    (tmp_path / "h.csv").write_text(history)
    out = tmp_path / "out.csv"
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--csv", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not out.exists()


def test_cli_long_csv_whose_rows_disagree_on_hardware_is_refused(tmp_path, capsys):
    rows = "run_id,gpus,nodes,agent_step,wall_s,score\na,1,1,100,1,10\na,2,1,200,2,100\n"
    (tmp_path / "long.csv").write_text(rows + "b,,1,100,1,50\nb,2,1,200,2,90\n")
    argv = ["analyze", "--trials", str(tmp_path / "long.csv"), "--bootstrap", "0"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "run a has gpus 1, 2 on different rows; accepted: the same gpus" in err, err
    assert err.count("\n") == 1
    (tmp_path / "long.csv").write_text(
        rows.replace("a,1,1,", "a,2,1,") + "b,,1,100,1,50\n" + "b,2,1,200,2,90\n"
    )
    assert cli.main([*argv, "--json"]) == 0  # an empty cell does not disagree
    assert [r["n_trials"] for r in json.loads(capsys.readouterr().out)["per_config"]] == [2]


def test_cli_long_csv_whose_last_row_leaves_the_hardware_empty_reads_it_from_the_others(
    tmp_path, capsys
):
    """docs/analysis.md: in a long-format file "an empty cell does not count" when a run's
    rows are compared, but the trial's fields came from its last row alone, so hardware logged
    on the first row only (`r1,1,1,100,...` then `r1,,,200,...`) was refused: "run r1 has no
    hardware", exit 2."""
    (tmp_path / "long.csv").write_text(
        "run_id,gpus,nodes,config,agent_step,wall_s,score\n"
        "a,1,1,,100,1,10\na,,,,200,2,100\n"
        "b,,,g2n1,100,1,50\nb,,,,200,2,90\n"
        "c,2,,,100,1,40\nc,,1,,200,2,80\n"
    )
    argv = ["analyze", "--trials", str(tmp_path / "long.csv"), "--bootstrap", "0", "--json"]
    assert cli.main(argv) == 0, capsys.readouterr().err
    rows = json.loads(capsys.readouterr().out)["per_config"]
    assert [(r["config"], r["n_trials"]) for r in rows] == [("g1n1", 1), ("g2n1", 2)]


def test_cost_column_says_priced_logged_or_mixed_never_unknown_for_a_cost_shown(tmp_path, capsys):
    # a trial total (b) is "logged"; no cost at all (a, c) is "priced": the docs' three words
    (tmp_path / "t.csv").write_text(
        "run_id,gpus,nodes,score,cost_usd,runtime_s\na,1,1,100,,\nb,2,1,90,0.5,2\nc,2,1,80,,\n"
    )
    (tmp_path / "h.csv").write_text(
        GOOD_HISTORY.replace(",cost_usd", "").replace(",0.1", "").replace(",0.2", "")
        + "c,100,1,80\n"
    )
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--price-per-gpu-hour", "3", "--width", "200"]) == 0
    rows: dict[str, str] = {}
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("g"):  # the per-config table comes first
            rows.setdefault(line.split()[0], line.split()[-1])
    assert rows["g1n1"] == "priced" and rows["g2n1"] == "mixed", rows


def test_cli_trials_csv_counts_gpus_even_when_the_current_experiment_is_local(
    tmp_path, capsys, private_home
):
    # the default experiment runs locally (ranks); a CSV's counts are its gpus column
    (tmp_path / "t.csv").write_text(GOOD_TRIALS)
    (tmp_path / "h.csv").write_text(GOOD_HISTORY)
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--width", "200"]) == 0
    out = capsys.readouterr().out
    assert (
        not re.search(r"\branks?\b", out)
        and "config  GPUs" in out
        and "(2 GPUs/node x 1 node)" in out
    ), out


def test_cli_csv_with_spaces_after_its_commas_is_read(tmp_path, capsys):
    (tmp_path / "t.csv").write_text(GOOD_TRIALS.replace(",", ", ").replace("run_id, ", "run_id , "))
    (tmp_path / "h.csv").write_text(GOOD_HISTORY.replace(",", ", "))
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--target", "50", "--json"]) == 0
    by = {r["config"]: r for r in json.loads(capsys.readouterr().out)["per_config"]}
    assert by["g1n1"]["best_run_id"] == "a" and by["g2n1"]["best_score"] == 90
    assert by["g1n1"]["samples_to_target"] == pytest.approx(100 + 100 * 40 / 90)


def test_cli_csv_export_writes_hyperparameters_as_strict_json(tmp_path, capsys):
    (tmp_path / "t.csv").write_text(
        GOOD_TRIALS.replace("sps\n", "sps,params_json\n").replace(",50\n", ',50,"{""lr"": NaN}"\n')
    )
    (tmp_path / "h.csv").write_text(GOOD_HISTORY)
    out = tmp_path / "pc.csv"
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--csv", str(out)]) == 0
    cells = pd.read_csv(out)["best_params"]

    def refuse(constant):
        raise ValueError(constant)

    assert [json.loads(c, parse_constant=refuse) for c in cells] == [{"lr": None}, {}]


@pytest.mark.parametrize("flag", [["--metric", "reward"], ["--allow-oversubscribed"]])
def test_cli_source_only_flags_are_refused_with_trials_not_ignored(flag, tmp_path, capsys):
    (tmp_path / "t.csv").write_text(GOOD_TRIALS)
    (tmp_path / "h.csv").write_text(GOOD_HISTORY)
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", *flag]) == 2
    err = capsys.readouterr().err
    assert f"{flag[0]} does not go with --trials" in err and err.count("\n") == 1, err


def test_cli_good_csv_with_a_bom_and_empty_cells_is_read(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("\ufeff" + GOOD_TRIALS.replace(",0.7,", ",,"), encoding="utf-8")
    (tmp_path / "h.csv").write_text(GOOD_HISTORY.replace("b,100,1,", "b,100,,"))
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--target", "50", "--json"]) == 0
    by = {r["config"]: r for r in json.loads(capsys.readouterr().out)["per_config"]}
    assert by["g1n1"]["n_trials"] == 1 and by["g2n1"]["n_trials"] == 1
    assert by["g1n1"]["samples_to_target"] == pytest.approx(100 + 100 * 40 / 90)


@pytest.mark.parametrize(
    "outputs, message",
    [
        (["--report", "r.md", "--csv", "r.md"], "--report and --csv are the same path"),
        (["--report", "r.md", "--plots", "r.md"], "--report and --plots are the same path"),
        (
            ["--report", "r.md", "--csv", "r_plots"],
            "--csv and the report's plots folder are the same",
        ),
        (["--report", "q.md", "--csv", "c.csv"], "its plots folder"),
        # the report's PNGs replaced an output of their name (the CSV became curves.png's image)
        (
            ["--report", "r.md", "--plots", ".", "--csv", "curves.png"],
            "--csv and the report's plot curves.png are the same path",
        ),
        (
            ["--report", "r.md", "--csv", "r_plots/survival.png"],
            "--csv r_plots/survival.png: its folder does not exist",
        ),
        (
            ["--report", "pareto.png", "--plots", "."],
            "--report and the report's plot pareto.png are the same path",
        ),
    ],
)
def test_cli_outputs_that_would_clash_are_refused_before_anything_is_written(
    outputs, message, tmp_path, capsys, monkeypatch
):
    (tmp_path / "t.csv").write_text(GOOD_TRIALS)
    (tmp_path / "h.csv").write_text(GOOD_HISTORY)
    (tmp_path / "q_plots").write_text("a file where the report's plots would go\n")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["analyze", "--trials", "t.csv", "--history", "h.csv", "--bootstrap", "0", *outputs]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_reads_the_local_store_in_a_child_process(experiment, tmp_path, private_home):
    trials, histories, _ = experiment
    with Store.open_default() as store:
        for t in trials:
            store.insert_trial(
                t.run_id,
                t.sweep,
                experiment="hardware_scaling",
                gpus=t.gpus,
                nodes=t.nodes,
                state="finished",
                params=t.params,
                score=t.score,
                sps=t.sps,
                agent_steps=t.agent_steps,
                runtime_s=t.runtime_s,
            )
            store.append_history(
                t.run_id,
                [
                    {"agent_step": p.agent_step, "wall_s": p.wall_s, "score": p.score}
                    for p in histories[t.run_id]
                ],
            )

    def analyze_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            hwscale_cmd("analyze", *args), capture_output=True, text=True, cwd=REPO, timeout=240
        )

    r = analyze_cli("--bootstrap", "100", "--width", "160")
    assert r.returncode == 0, r.stderr
    assert f"{len(trials)} trials, {len(trials)} learning curves" in r.stderr
    assert "g8n2" in r.stdout and "Recommendations" in r.stdout
    # a metric no trial logged is named as the problem (one sentence, exit 2)
    r = analyze_cli("--bootstrap", "0", "--metric", "nosuch")
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines()[-1] == (
        "hwscale-tui: error: --metric 'nosuch': no trial's history has that metric; accepted: "
        "a metric the trials logged, like the default 'score' ([analysis] curve_metric)."
    )


def test_command_module_imports_only_the_standard_library_at_top():
    code = "import sys, hwscale_tui.commands.analyze; print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'matplotlib', 'rich') if m in sys.modules))"
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_cli_reads_wandb_through_the_sources_against_a_loopback_server(tmp_path):

    from hwscale_tui import config as cfgmod
    from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs

    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1", "g4n1"], 4, history_points=30)
    with WandbLoopback(runs) as server:
        env = server.client_env(tmp_path / "wandb-dir")
        proc = subprocess.run(
            hwscale_cmd(
                "analyze",
                "--experiment",
                str(experiment_file),
                "--source",
                "wandb",
                "--bootstrap",
                "50",
                "--json",
            ),
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            cwd=REPO,
        )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [r["config"] for r in data["per_config"]] == ["g1n1", "g2n1", "g4n1"]
    assert sum(r["n_trials"] for r in data["per_config"]) == len(runs)
    assert (
        "12 trials, 12 learning curves" in proc.stderr and "k" * 40 not in proc.stdout + proc.stderr
    )


def test_local_mode_reports_say_ranks_not_gpus(experiment, tmp_path):
    from hwscale_tui.config import default_config

    cfg = default_config()
    assert cfg.local_ranks  # embedded default: local dispatcher + built-in trainer
    trials, histories, _ = experiment
    from hwscale_tui.analysis import settings_from_config

    settings = settings_from_config(cfg, n_boot=50)
    assert settings.unit == "ranks"
    res = analyze(trials, histories, settings)
    text = render_text(res, width=200)
    assert "vs total ranks" in text and "ranks^" in text
    assert "GPUs" not in text.split("Scaling laws", 1)[1].split("Figure of merit", 1)[0]
    body = write_report(res, tmp_path / "report.md").read_text()
    assert "| config | ranks |" in body and "To target vs total ranks" in body
    cfg.experiment.dispatcher = "skypilot"
    assert settings_from_config(cfg).unit == "GPUs"
    with pytest.raises(UsageError, match="unit 'cores' is unknown"):
        AnalysisSettings(unit="cores")


def test_local_mode_recommendations_name_ranks(experiment):
    from hwscale_tui.analysis import settings_from_config
    from hwscale_tui.config import default_config

    trials, histories, _ = experiment
    res = analyze(trials, histories, settings_from_config(default_config(), n_boot=50))
    hw = [r.hardware for r in res.recommendations if r.config]
    assert hw and all("rank" in h and "GPU" not in h for h in hw)


GENERATIONS_TRIALS = (  # as `trials --csv` writes a relaunched experiment's: both generations
    "run_id,sweep,generation,score,params.lr\n"
    "a,exp.g1n1,1,100,0.1\nb,exp.g2n1,1,90,0.2\n"
    "c,exp.g1n1.gen2,2,80,0.3\nd,exp.g2n1.gen2,2,70,0.4\ne,exp.g2n1.gen2,2,75,0.5\n"
)
GENERATIONS_HISTORY = "run_id,agent_step,wall_s,score\n" + "".join(
    f"{r},100,1,10\n{r},200,2,{s}\n" for r, s in zip("abcde", (100, 90, 80, 70, 75))
)


def _generations(tmp_path, trials: str) -> list[str]:
    (tmp_path / "t.csv").write_text(trials)
    (tmp_path / "h.csv").write_text(GENERATIONS_HISTORY)
    return [
        "analyze",
        "--trials",
        str(tmp_path / "t.csv"),
        "--history",
        str(tmp_path / "h.csv"),
        "--bootstrap",
        "0",
        "--json",
    ]


def test_cli_csv_of_two_generations_analyzes_one_and_says_so(tmp_path, capsys):
    argv = _generations(tmp_path, GENERATIONS_TRIALS)
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    counts = {r["config"]: r["n_trials"] for r in out["per_config"]}
    assert counts == {"g1n1": 1, "g2n1": 2}  # generation 2 only, the newest
    # the params.<key> columns trials --csv writes are the trials' hyperparameters
    assert {r["config"]: r["best_params"] for r in out["per_config"]} == {
        "g1n1": {"lr": 0.3},
        "g2n1": {"lr": 0.5},
    }
    assert out["notes"][0].startswith("Trials analyzed: generation 2 of t.csv (3 trials); 2 ")

    assert cli.main([*argv, "--generation", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["config"]: r["n_trials"] for r in out["per_config"]} == {"g1n1": 1, "g2n1": 1}
    assert out["notes"][0].startswith("Trials analyzed: generation 1 of t.csv (2 trials)")


def test_cli_csv_generations_from_sweep_names_and_bad_values_refused(tmp_path, capsys):
    no_column = "run_id,sweep,score\n" + "".join(
        f"{r},{w},{s}\n"
        for r, w, s in zip(
            "abcde",
            ("exp.g1n1", "exp.g2n1", "exp.g1n1.gen2", "exp.g2n1.gen2", "exp.g2n1.gen2"),
            (100, 90, 80, 70, 75),
        )
    )
    argv = _generations(tmp_path, no_column)
    assert cli.main(argv) == 0
    assert sum(r["n_trials"] for r in json.loads(capsys.readouterr().out)["per_config"]) == 3
    assert cli.main([*argv, "--generation", "3"]) == 2
    err = capsys.readouterr().err
    assert "t.csv has no trials of generation 3; accepted: --generation with one of 1, 2." in err
    assert err.count("\n") == 1
    assert cli.main([*argv, "--generation", "0"]) == 2
    assert "generations count from 1" in capsys.readouterr().err
    argv = _generations(tmp_path, "run_id,gpus,nodes,generation,score\na,1,1,two,5\n")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "run a has generation 'two'; accepted: a whole number from 1." in err, err
    argv = _generations(tmp_path, "run_id,gpus,nodes,transfer_other,score\na,1,1,-1,5\n")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "run a has transfer_other -1; accepted: a whole number from 0, or an empty cell." in err
    assert err.count("\n") == 1


def test_cli_store_without_its_history_table_is_a_store_error_not_no_curves(capsys):
    """The curves could not be read: that is the store's one sentence (exit 1, what to do), not
    'no trial has a learning curve' (exit 2, as if the trials had logged none)."""
    import contextlib
    import sqlite3

    from hwscale_tui.paths import app_paths
    from tests.support.seed import finished_trials

    finished_trials(3, params={"trainer.batch_size": 1024})
    with contextlib.closing(sqlite3.connect(app_paths().store)) as c:
        c.execute("DROP TABLE history")
        c.commit()
    assert cli.main(["analyze", "--bootstrap", "0"]) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert str(app_paths().store) in last and "no such table: history" in last, last
    assert "run hwscale-tui doctor" in last, last


def test_cli_trials_csv_with_a_header_and_no_rows_says_so(tmp_path, capsys):
    """An empty export (trials --csv of an experiment with no trials) was refused as 'no trial
    has a learning curve to analyze', as if its trials had logged no history."""
    empty = tmp_path / "t.csv"
    empty.write_text("sweep,run_id,gpus,nodes,state,score\n")
    assert cli.main(["analyze", "--trials", str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"trials file {empty} has a header but no trial rows" in err, err


def test_local_mode_throughput_note_names_no_gpus():
    """Throughput flat across pairs (sigma at its bound) said 'more GPUs gave no speed-up' in
    local mode, whose pairs are CPU ranks."""
    trials, histories = [], {}
    for gpus in (1, 2, 4):
        for i in range(2):
            run_id = f"g{gpus}_{i}"
            sps = 100.0 / gpus + i  # each rank slower: the pair's total throughput is flat
            trials.append(trial(run_id, gpus, 1, 500.0, sps=sps))
            histories[run_id] = linear_history(0.5, sps=sps)
    res = analyze(trials, histories, AnalysisSettings(n_boot=0, unit="ranks"))
    text = render_text(res, width=200)
    notes = [line for line in text.splitlines() if "sigma at its bound" in line]
    assert notes and all("gave no speed-up" in n and "GPU" not in n for n in notes), notes


@pytest.mark.parametrize("output", ["--csv", "--report"])
@pytest.mark.parametrize("which", ["trials", "history"])
def test_cli_an_output_that_is_an_input_is_refused_and_the_input_kept(
    tmp_path, capsys, monkeypatch, output, which
):
    """`analyze --trials t.csv --csv t.csv` replaced the user's trials with the per-config
    table (exit 0)."""
    trials_csv, history_csv = tmp_path / "t.csv", tmp_path / "h.csv"
    trials_csv.write_text(GOOD_TRIALS)
    history_csv.write_text(GOOD_HISTORY)
    monkeypatch.chdir(tmp_path)
    target = "t.csv" if which == "trials" else str(history_csv)  # relative or absolute alike
    argv = ["analyze", "--trials", str(trials_csv), "--history", "h.csv", "--bootstrap", "0"]
    assert cli.main([*argv, output, target]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"is the --{which} file this analysis reads" in err, err
    assert trials_csv.read_text() == GOOD_TRIALS and history_csv.read_text() == GOOD_HISTORY


def test_cli_generation_of_one_trial_is_counted_in_the_singular(tmp_path, capsys):
    """'generation 1 of t.csv (1 trials)'."""
    one = "run_id,sweep,generation,score\na,exp.g1n1,1,100\nc,exp.g1n1.gen2,2,80\n"
    argv = _generations(tmp_path, one)
    assert cli.main([*argv, "--generation", "1"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert notes[0].startswith("Trials analyzed: generation 1 of t.csv (1 trial); 1 "), notes[0]


def test_too_few_bootstrap_resamples_are_said_and_one_makes_no_interval(tmp_path, capsys):
    """--bootstrap 1 printed "11.5 s [9.07 s, 9.07 s]" (an interval from its one resample to
    itself, without its own estimate), "a [8073, 8073]" for a = 8070 and "bootstrap agrees 100%";
    --bootstrap 20 printed 95% intervals that were the smallest and largest of 20 resamples."""
    from hwscale_tui.analysis.stats import percentile_ci

    assert all(map(math.isnan, percentile_ci(np.array([3.0]), 0.95)))
    rows = ["run_id,gpus,nodes,score"]
    hist = ["run_id,agent_step,wall_s,score"]
    for g in (1, 2, 4):
        for k in range(3):
            rows.append(f"r{g}{k},{g},1,{100 - k}")
            for s in range(0, 1001, 100):
                hist.append(f"r{g}{k},{s},{s / (100 * g**0.8) + k},{s * (0.1 + 0.01 * k) / g**0.3}")
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "h.csv").write_text("\n".join(hist) + "\n")
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    argv += ["--target", "50", "--width", "250"]
    assert cli.main([*argv, "--bootstrap", "1"]) == 0
    out = capsys.readouterr().out
    assert "uncertainty: no intervals (1 bootstrap resample)" in out
    assert "1 bootstrap resample is too few for 95% intervals" in out
    assert not re.search(r"\[([^\],]+), \1\]", out), out  # no interval from a value to itself
    research = next(line for line in out.splitlines() if line.startswith("research "))
    assert "unknown" in research and "100%" not in research, research
    assert cli.main([*argv, "--bootstrap", "20"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "20 bootstrap resamples are too few for 95% intervals (each end needs 2.5% of the "
        "resamples, at least one: 40 or more): each interval runs from the smallest to the "
        "largest resample, narrower than 95% of the uncertainty."
    ) in out
    assert cli.main([*argv, "--bootstrap", "40", "--json"]) == 0
    assert not any("too few" in n for n in json.loads(capsys.readouterr().out)["notes"])


def test_a_history_file_of_other_runs_is_named_as_such(tmp_path, capsys):
    """A history file of other runs than the trials file's said "no trial has a learning curve
    to analyze (of 2 trials: 2 finished)", as if the trials had logged none."""
    (tmp_path / "t.csv").write_text(GOOD_TRIALS)
    (tmp_path / "h.csv").write_text(GOOD_HISTORY.replace("a,", "x,").replace("b,", "y,"))
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--csv", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and (
            f"--history {tmp_path / 'h.csv'} has learning curves of 2 runs ('x', ...), none of them "
            f"a run of --trials {tmp_path / 't.csv'} ('a', ...); accepted: the history file of those "
            "trials (hwscale-tui trials --csv --history writes it)."
        )
        in err
    ), err
    assert not (tmp_path / "out.csv").exists()


def test_metric_default_before_any_curve_is_not_refused_as_a_metric_no_trial_logged(capsys):
    """`analyze --metric score` (the default itself) while no trial had logged a point said "no
    trial's history has that metric; accepted: ... like the default 'score'"; it now says what
    `analyze` alone says. A metric the trials did not log, once they logged the default, is
    still refused."""
    run = "hardware_scaling.g1n1_trial_0001_aaaaaa"
    with Store.open_default() as st:
        st.upsert_sweep("hardware_scaling.g1n1", experiment="hardware_scaling", gpus=1, nodes=1)
        st.insert_trial(
            run, "hardware_scaling.g1n1", experiment="hardware_scaling", idx=1, gpus=1, nodes=1
        )
    said = []
    for argv in (["analyze"], ["analyze", "--metric", "score"], ["analyze", "--metric", "x"]):
        assert cli.main(argv) == 2
        said.append(capsys.readouterr().err.splitlines()[-1])
    assert said[0] == said[1] == said[2] and "no trial has logged a learning curve yet" in said[0]
    with Store.open_default() as st:
        st.append_history(run, [{"agent_step": 1, "wall_s": 1, "score": 1.0}])
    assert cli.main(["analyze", "--metric", "x"]) == 2
    assert "--metric 'x': no trial's history has that metric" in capsys.readouterr().err
