"""QA 60: an experiment's first launch is "launch 1", not "launch #2".

The store's launch id counts every experiment's launches: after experiment A's launch, B's
first launch printed "launched B (launch #2)" and status "B  generation 1  launch #2". What is
shown is the launch's place among the experiment's own launches; the stored id is unchanged
(it stays in the logs beside it, and in --json as launch_id)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from hwscale_tui.cli import main
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.state import LaunchRecords
from hwscale_tui.launch.status_view import render
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from tests.launch.launch_testkit import clean_processes, fake_command, write_experiment

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def test_the_number_shown_is_the_experiments_own_count_not_the_stores_id(tmp_path):
    with Store.open_default() as st:
        rec = LaunchRecords(st)
        for experiment in ("other", "other", "exp", "other", "exp"):
            rec.create_launch(experiment, tmp_path / f"{experiment}.toml", None, 1.0)
        ids = [r.id for r in rec.launches("exp")]
        assert ids == [3, 5]
        assert [rec.launch_number("exp", i) for i in ids] == [1, 2]
    status = sup.pair_status("exp")
    assert status.launch_id == 5 and status.launch_number == 2
    assert status.to_json()["launch_number"] == 2 and status.to_json()["launch_id"] == 5
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(render(status, 2.0, None, 120))
    header = console.export_text().splitlines()[0]
    assert "launch 2" in header and "#5" not in header and "launch #" not in header, header


def test_a_first_launch_after_another_experiments_says_launch_1(tmp_path, capsys):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    write_experiment(first, fake_command(), name="first", gpus=(1,))
    write_experiment(second, fake_command(), name="second", gpus=(1,))
    assert main(["launch", "-e", str(first), "--foreground"]) == 0
    capsys.readouterr()
    assert main(["launch", "-e", str(second), "--foreground"]) == 0
    out = capsys.readouterr().out
    assert "launched second (launch 1 of this experiment)" in out, out
    assert "launch #2" not in out, out
    assert "second  generation 1  launch 1  " in out, out
    # the stored id is kept as it was: the second launch in the store
    with Store.open_default() as st:
        assert [r.id for r in LaunchRecords(st).launches("second")] == [2]
    # the pair's log names the launch the same way, with the store's id beside it
    log = (app_paths().logs / "second" / "second.g1n1.log").read_text()
    assert "=== hwscale-tui launch 1 (id 2): second.g1n1 starting" in log, log
