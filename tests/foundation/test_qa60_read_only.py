"""QA 60: an output file the user made read-only (``chmod 444``) is not replaced.

The atomic write (a temporary file renamed over the path) needs only the folder's permission,
so it replaced such a file without a word; ``>``, ``cp``, ``sort -o`` and pandas' ``to_csv``
refuse it ("Permission denied"). Refused now: one sentence, exit 2, the file as it was."""

from __future__ import annotations

import os

import pytest

from hwscale_tui.cli import main
from hwscale_tui.paths import write_private_text


def _read_only(path, text="mine\n"):
    path.write_text(text)
    os.chmod(path, 0o444)
    return path


def test_the_atomic_write_refuses_a_read_only_file_and_leaves_it_as_it_was(tmp_path):
    target = _read_only(tmp_path / "out.csv")
    with pytest.raises(PermissionError) as caught:
        write_private_text(target, "new\n")
    assert caught.value.filename == str(target) and "read-only" in caught.value.strerror
    assert target.read_text() == "mine\n" and sorted(os.listdir(tmp_path)) == ["out.csv"]
    os.chmod(target, 0o644)  # writable again: replaced as before
    write_private_text(target, "new\n")
    assert target.read_text() == "new\n"


@pytest.mark.parametrize("command", ["plan", "analyze"])
def test_an_output_flag_naming_a_read_only_file_is_refused_in_one_sentence(
    command, tmp_path, capsys
):
    target = _read_only(tmp_path / "out.csv")
    if command == "plan":
        argv, flag = ["plan", "--save", str(target)], "--save"
    else:
        trials = tmp_path / "t.csv"
        trials.write_text(
            "run_id,gpus,nodes,agent_step,score,wall_s\nr1,1,1,100,1,1\nr1,1,1,200,5,2\n"
        )
        argv = ["analyze", "--trials", str(trials), "--bootstrap", "0", "--csv", str(target)]
        flag = "--csv"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{flag} {target} is read-only" in err and "accepted: " in err, err
    assert target.read_text() == "mine\n"
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["out.csv"] + (["t.csv"] if command == "analyze" else [])
    )


def test_a_read_only_plot_in_the_reports_plots_folder_is_refused(tmp_path, capsys):
    """The report's PNGs were opened with O_TRUNC and set to 0600: as root a chmod 444 plot was
    replaced and made writable again."""
    trials = tmp_path / "t.csv"
    trials.write_text("run_id,gpus,nodes,agent_step,score,wall_s\nr1,1,1,100,1,1\nr1,1,1,200,5,2\n")
    plots = tmp_path / "r_plots"
    plots.mkdir()
    plot = _read_only(plots / "curves.png", "old png")
    report = tmp_path / "r.md"
    argv = ["analyze", "--trials", str(trials), "--bootstrap", "0", "--report", str(report)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"its plot {plot} is read-only" in err, err
    assert plot.read_text() == "old png" and not report.exists()
