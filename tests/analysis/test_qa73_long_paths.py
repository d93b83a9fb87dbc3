"""Paths too long for the filesystem are bad input (helper 73's QA pass): ``analyze --trials``
with a 300-character name, and ``--report`` with a 250-character name (which fits) whose
``<name>_plots`` folder does not, ended with exit 1 and 'File name too long; check that the
path exists and is yours and writable' -- the report's only once the analysis had run."""

from __future__ import annotations

import pytest

from hwscale_tui import cli

TRIALS = "run_id,gpus,nodes\na,1,1\nb,2,1\n"
HISTORY = "run_id,agent_step,wall_s,score\na,100,1,10\na,200,2,100\nb,100,1,90\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "t.csv").write_text(TRIALS)
    (tmp_path / "h.csv").write_text(HISTORY)
    return tmp_path


@pytest.mark.parametrize("flag,what", [("--trials", "trials file"), ("--history", "history file")])
def test_an_input_name_too_long_is_refused(files, capsys, flag, what):
    long = files / ("t" * 300 + ".csv")
    argv = {"--trials": str(files / "t.csv"), "--history": str(files / "h.csv")}
    argv[flag] = str(long)
    assert cli.main(["analyze", *(x for kv in argv.items() for x in kv), "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"hwscale-tui: error: {what} {long} is not a usable path (File name too long); "
        "accepted: a path to a CSV file.\n"
    )


def test_a_report_whose_plots_folder_name_is_too_long_is_refused_first(files, capsys):
    report = files / ("r" * 250 + ".md")
    argv = ["analyze", "--trials", str(files / "t.csv"), "--history", str(files / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--report", str(report)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"hwscale-tui: error: --report {report}: its plots folder {'r' * 250}_plots is not a "
        "usable path (File name too long); accepted: a shorter report name, or --plots DIR.\n"
    )
    assert captured.out == ""  # refused before the analysis ran
    assert sorted(p.name for p in files.iterdir()) == ["h.csv", "t.csv"]
