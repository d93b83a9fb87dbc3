"""QA 60: ``status`` of an experiment whose own file was deleted by hand says so, and what to do.

It said nothing: launched, plan and launch went on reading the launch snapshot without a word;
never launched, status said "hwscale-tui launch --experiment-name X starts it", and that launch
was refused ("its file no longer exists")."""

from __future__ import annotations

import json

import pytest

from hwscale_tui.cli import main
from hwscale_tui.paths import snapshot_path
from tests.launch.launch_testkit import clean_processes, fake_command, write_experiment

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)


def test_never_launched_and_its_file_gone_status_says_it_cannot_be_launched(tmp_path, capsys):
    exp = tmp_path / "mine.toml"
    write_experiment(exp, fake_command(), name="mine", gpus=(1,))
    assert main(["plan", "-e", str(exp)]) == 0
    exp.unlink()  # deleted by hand
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "experiment mine has not been launched" in out, out
    assert "launch --experiment-name mine starts it" not in out, out  # it would be refused
    assert f"mine's file {exp} no longer exists (moved or deleted)" in out, out
    assert "cannot be planned or launched: put the file back" in out, out
    assert main(["status", "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any(f"{exp} no longer exists" in n for n in notes), notes


def test_launched_and_its_file_gone_status_names_the_snapshot_read_instead(tmp_path, capsys):
    exp = tmp_path / "mine.toml"
    write_experiment(exp, fake_command(), name="mine", gpus=(1,))
    assert main(["launch", "-e", str(exp), "--foreground"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    assert "no longer exists" not in capsys.readouterr().out  # the file is there: no note
    exp.unlink()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"mine's file {exp} no longer exists (moved or deleted)" in out, out
    assert f"now read its launch snapshot {snapshot_path('mine')}" in out, out
    assert "hwscale-tui plan --experiment-name mine --save FILE" in out, out
    # what the note says to do works, and the note goes
    again = tmp_path / "again.toml"
    assert main(["plan", "--experiment-name", "mine", "--save", str(again)]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    assert "no longer exists" not in capsys.readouterr().out


def test_its_saved_file_made_invalid_by_hand_is_refused_not_replaced_by_the_defaults(
    tmp_path, capsys
):
    """``plan --new-experiment N --save N.toml``, then a stray line typed into N.toml: plan
    planned the built-in defaults under N's name (the file was recorded in the store, not as the
    pointer's, and a file that is not TOML counted as another experiment's); status said
    "launch ... starts it"."""
    saved = tmp_path / "n.toml"
    assert (
        main(["plan", "--new-experiment", "nexp", "--max-trials", "3", "--save", str(saved)]) == 0
    )
    assert main(["experiments", "select", "nexp"]) == 0
    saved.write_text(saved.read_text() + "garbage [[\n")
    capsys.readouterr()
    assert main(["plan", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{saved}: not valid TOML" in err, err
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "experiment nexp has not been launched\n" in out, out
    assert "nexp's file cannot be read, so it cannot be planned or launched" in out, out
    assert "starts it" not in out, out
