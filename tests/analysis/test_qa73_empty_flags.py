"""An empty text flag is refused, not read as not given (helper 73's QA pass).

``analyze --trials "$FILE"`` with FILE unset analyzed the store's trials instead, exit 0; an
empty ``--history`` was dropped, and an empty ``--metric`` (``analyze``, ``trials --csv
--history``) used the default metric, all without a word."""

from __future__ import annotations

import pytest

from hwscale_tui import cli


@pytest.mark.parametrize(
    "argv,flag,accepted",
    [
        (["analyze", "--trials", ""], "--trials", "a path to a trials CSV file"),
        (["analyze", "--trials", "  "], "--trials", "a path to a trials CSV file"),
        (["analyze", "--history", ""], "--history", "a path to a history CSV file"),
        (["analyze", "--metric", ""], "--metric", "a history metric name like score"),
        (
            ["trials", "--csv", "--history", "--metric", ""],
            "--metric",
            "a history metric name like score",
        ),
    ],
)
def test_an_empty_flag_is_refused(argv, flag, accepted, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"hwscale-tui: error: {flag} is empty; accepted: {accepted}.\n"
    assert captured.out == ""
