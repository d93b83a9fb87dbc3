"""A CSV whose header names a column twice is refused (helper 73's QA pass): pandas renamed the
second one (``gpus.1``) and the first was read, so ``run_id,gpus,nodes,gpus`` with ``a,1,1,2``
analyzed run a as 1 GPU with exit 0, whichever the file meant."""

from __future__ import annotations

import pytest

from hwscale_tui import cli

TRIALS = "run_id,gpus,nodes\na,1,1\nb,2,1\n"
HISTORY = "run_id,agent_step,wall_s,score\na,100,1,10\na,200,2,100\nb,100,1,90\n"


@pytest.mark.parametrize(
    "trials,history,what,column",
    [
        ("run_id,gpus,nodes,gpus\na,1,1,2\nb,2,1,2\n", HISTORY, "trials file", "gpus"),
        ("run_id, gpus,nodes, gpus\na,1,1,2\nb,2,1,2\n", HISTORY, "trials file", "gpus"),
        (
            TRIALS,
            "run_id,agent_step,wall_s,score,score\na,100,1,10,1\na,200,2,100,2\nb,100,1,90,3\n",
            "history file",
            "score",
        ),
    ],
)
def test_a_column_named_twice_is_refused(tmp_path, capsys, trials, history, what, column):
    (tmp_path / "t.csv").write_text(trials)
    (tmp_path / "h.csv").write_text(history)
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0"]) == 2
    captured = capsys.readouterr()
    path = tmp_path / ("t.csv" if what == "trials file" else "h.csv")
    assert captured.err == (
        f"hwscale-tui: error: {what} {path} has the column {column!r} more than once; accepted: "
        "a header row naming each column once.\n"
    )
    assert captured.out == ""


def test_distinct_columns_and_empty_trailing_ones_are_read(tmp_path, capsys):
    """A column really named ``gpus.1`` and empty names (trailing commas) are no repeat."""
    (tmp_path / "t.csv").write_text("run_id,gpus,nodes,gpus.1,,\na,1,1,2,,\nb,2,1,2,,\n")
    (tmp_path / "h.csv").write_text(HISTORY)
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--json"]) == 0
