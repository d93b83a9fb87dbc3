"""QA 63: ``hwscale-tui cancel L.g1n1`` -- a pair of experiment L, given by its sweep name --
while a newer launch, of experiment M, is current answered about M: "'L.g1n1' is not a pair of
experiment M; its pairs are: g1n1, g2n1", and nothing of L was cancelled. A sweep name names its
experiment: the cancel acts on L's pair and says whose it is; when the command names another
experiment too (``--experiment-name M``, or one of M's own pairs beside it), one sentence says
why not, with the command that does it."""

from __future__ import annotations

import pytest

from hwscale_tui.cli import main
from tests.launch.launch_testkit import (
    clean_processes,
    fake_command,
    statuses,
    wait_for,
    write_experiment,
)

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def test_cancel_by_another_experiments_sweep_name_acts_on_that_experiment(tmp_path, capsys):
    for name in ("L", "M"):  # M launched last: the current experiment
        write_experiment(
            tmp_path / f"{name}.toml",
            fake_command("--sleep", "600"),
            name=name,
            gpus=(1, 2),
            delay_s=0,
        )
        assert main(["launch", "-e", str(tmp_path / f"{name}.toml")]) == 0
    for name in ("L", "M"):
        wait_for(
            lambda name=name: set(statuses(name).values()) == {"running"},
            f"{name}'s pairs to run",
        )
    capsys.readouterr()

    # the command names another experiment, or mixes the current one's pairs with L's: refused,
    # about L, with the command that cancels L's pair
    for argv in (
        ["cancel", "--experiment-name", "M", "L.g1n1"],
        ["cancel", "g2n1", "L.g1n1"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert "'L.g1n1' is a pair of experiment L, and this cancel acts on experiment M" in err
        assert "hwscale-tui cancel --experiment-name L g1n1" in err, err
    assert statuses("L") == {"g1n1": "running", "g2n1": "running"}
    assert statuses("M") == {"g1n1": "running", "g2n1": "running"}

    # M is still the current experiment (a refused command selects nothing)
    assert main(["cancel", "L.g1n1", "--grace", "1"]) == 0
    out = capsys.readouterr().out
    assert "cancelled L.g1n1 (was running)" in out, out
    assert statuses("L") == {"g1n1": "cancelled", "g2n1": "running"}
    assert statuses("M") == {"g1n1": "running", "g2n1": "running"}

    # an experiment nobody knows is still refused as not a pair of the current one
    assert main(["cancel", "X.g1n1"]) == 2
    assert "'X.g1n1' is not a pair of experiment M" in capsys.readouterr().err
