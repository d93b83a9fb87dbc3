"""``train`` when a file sits where the runs folder, or the run's own folder, should be (helper
80's QA pass): refused before it starts, exit 2, with a sentence naming the file. It said the
folder "is not writable (a read-only state location, or not yours)", which sent the user to
permissions and HWSCALE_HOME instead of the stray file."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest

from hwscale_tui.cli import main
from hwscale_tui.paths import app_paths


@pytest.mark.parametrize("store", [[], ["store=true"]])
@pytest.mark.parametrize("which", ["runs", "run"])
def test_a_file_where_the_runs_folder_should_be_is_named(which, store):
    paths = app_paths()
    paths.ensure()
    runs = paths.runs
    if which == "runs":  # the runs folder itself
        if runs.is_dir():
            runs.rmdir()
        in_the_way = runs
    else:  # the run's own folder
        runs.mkdir(parents=True, exist_ok=True)
        in_the_way = runs / "r1"
    in_the_way.write_text("not a folder\n")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["train", "-q", "run=r1", "trainer.total_timesteps=64", *store])
    metrics = runs / "r1" / "metrics.jsonl"
    assert code == 2, (out.getvalue(), err.getvalue())
    assert out.getvalue() == ""  # no result line: nothing started
    assert err.getvalue() == (
        f"hwscale-tui: error: run r1's metrics file {metrics} cannot be written: {in_the_way} "
        "is a file, not a folder; move it away (or set metrics_file=PATH in a folder you can "
        "write to).\n"
    )
    assert in_the_way.read_text() == "not a folder\n"  # left as it was
