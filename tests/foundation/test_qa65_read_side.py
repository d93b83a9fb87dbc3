"""QA pass 65 over the read-side commands (plan, experiments): what a user saw, fixed."""

from __future__ import annotations

import os
import subprocess

from tests.support.cli import hwscale_cmd


def test_sequential_plan_keeps_every_value_whole_at_60_columns():
    """A sequential plan's 'after previous' start took, on one line, the room the pairs' tags and
    ranges needed at 60 columns: the default plan of a 2-core machine showed 'minibat…',
    '1,024…' and 'after previo…' (and a larger grid cut the pair tags to 'g1…')."""
    r = subprocess.run(
        hwscale_cmd("plan", "--gpu-counts", "1", "8", "--node-counts", "1", "4", "--sequential"),
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "60"},
    )
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if "│" in line or "┃" in line]
    assert rows and all(len(line) <= 60 for line in rows), r.stdout
    assert "…" not in "".join(rows), r.stdout
    cells = [[x.strip() for x in line.split("│")] for line in rows if "│" in line]
    whole = {
        top[0]: [(a + " " + b).strip() if a.isalpha() else a + b for a, b in zip(top, below)]
        for top, below in zip(cells, cells[1:], strict=False)
        if top[0]
    }
    assert set(whole) == {"g1n1", "g1n4", "g8n1", "g8n4"}, whole
    assert whole["g8n4"][1:] == [
        "32",
        "16,384..131,072",
        "32,768",
        "256..32,768",
        "4,096",
        "after previous",
    ]
    assert whole["g1n1"][-1] == "+0s"


def test_archive_names_the_command_that_undoes_it(capsys):
    """`experiments archive NAME` asks no confirmation (it removes nothing, and `unarchive`
    undoes it): it now says the command that undoes it, as the app's toast does."""
    from hwscale_tui import cli

    assert cli.main(["experiments", "new", "demo"]) == 0
    capsys.readouterr()
    assert cli.main(["experiments", "archive", "demo"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "archived demo"  # the result line, as scripts read it
    assert err == (
        "its data is kept: hwscale-tui experiments unarchive demo lists it again, and "
        "hwscale-tui experiments select demo makes it current again\n"
    )
    assert "demo was the current experiment: commands now act on hardware_scaling" in out
    assert cli.main(["experiments", "archive", "hardware_scaling"]) == 0
    out, err = capsys.readouterr()
    assert out == "archived hardware_scaling\n"
    assert err == (
        "its data is kept: hwscale-tui experiments unarchive hardware_scaling lists it again\n"
    )
    assert cli.main(["experiments", "unarchive", "demo"]) == 0
    assert capsys.readouterr() == ("unarchived demo\n", "")


def test_archiving_the_only_experiment_says_commands_act_on_the_built_in_default(capsys):
    """Archiving the current experiment with no other left said "hardware_scaling was the
    current experiment: commands now act on hardware_scaling": the built-in default, which has
    the same name, read as the archived experiment itself."""
    from hwscale_tui import cli

    assert cli.main(["experiments", "new", "demo"]) == 0
    assert cli.main(["experiments", "archive", "demo"]) == 0
    assert cli.main(["experiments", "select", "hardware_scaling"]) == 0
    capsys.readouterr()
    assert cli.main(["experiments", "archive", "hardware_scaling"]) == 0
    out = capsys.readouterr().out
    assert "commands now act on hardware_scaling" not in out
    assert out.splitlines()[1] == (
        "hardware_scaling was the current experiment and no other experiment is left: commands "
        "still act on hardware_scaling, with the built-in defaults (hwscale-tui experiments new "
        "NAME makes another)"
    )
    # with another one left, it is named
    assert cli.main(["experiments", "unarchive", "demo"]) == 0
    assert cli.main(["experiments", "select", "demo"]) == 0
    capsys.readouterr()
    assert cli.main(["experiments", "archive", "demo"]) == 0
    assert "demo was the current experiment: commands now act on hardware_scaling (" in (
        capsys.readouterr().out
    )


def test_key_profile_help_says_it_is_deprecated_and_what_it_takes(capsys):
    """`plan --help` (and launch's, sweep's) listed `--key-profile STR metta.key_profile`, a key
    docs/experiment.md does not list, with nothing of its values: `--key-profile main` was then
    refused with 'accepted: "ppo" or "loss_configs" or "ppo_actor" (deprecated ...)'."""
    import pytest

    from hwscale_tui import cli

    with pytest.raises(SystemExit):
        cli.main(["plan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "--key-profile STR metta.key_profile (deprecated: ppo or loss_configs is read as "
        "--metta-profile fom-v1, ppo_actor as main; use --metta-profile)"
    ) in text


def _run_with_columns_0(*args: str, terminal: bool) -> str:
    """`hwscale-tui ARGS` with COLUMNS=0 (and LINES=0), its stdout a pipe or a terminal."""
    env = {**os.environ, "COLUMNS": "0", "LINES": "0"}
    if not terminal:
        r = subprocess.run(hwscale_cmd(*args), capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout
    import pty

    master, slave = pty.openpty()  # a new pseudo-terminal reports 0 x 0 too
    try:
        p = subprocess.Popen(hwscale_cmd(*args), stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert p.wait(timeout=120) == 0, p.stderr.read() if p.stderr else ""
    finally:
        os.close(master)
    return b"".join(chunks).decode()


def test_columns_0_does_not_swallow_the_output():
    """With COLUMNS=0 (an exported 0, a pseudo-terminal reporting 0 x 0) rich laid the output
    out for 0 columns: `experiments`, `status` and `plan` printed nothing and exited 0."""
    from hwscale_tui import cli

    assert cli.main(["experiments", "new", "demo"]) == 0
    for terminal in (False, True):
        out = _run_with_columns_0("experiments", terminal=terminal)
        assert "demo" in out and "* current: demo" in " ".join(out.split()), out
        assert "has not been launched" in _run_with_columns_0("status", terminal=terminal)
        assert "2 pairs to launch" in " ".join(
            _run_with_columns_0(
                "plan", "--gpu-counts", "1", "2", "--node-counts", "1", terminal=terminal
            ).split()
        )


def test_doctor_names_an_unreadable_current_experiment_file_in_one_clean_sentence(capsys):
    from hwscale_tui import cli
    from hwscale_tui.launch.experiments import current_path

    assert cli.main(["experiments", "new", "demo"]) == 0
    current_path().write_text("{not json")
    capsys.readouterr()
    assert cli.main(["doctor"]) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if "current experiment:" in x)
    assert line.endswith(
        "cannot be read, so the experiment you last selected is forgotten: commands act on "
        "hardware_scaling instead; hwscale-tui experiments select NAME sets it again"
    ), line


def test_an_output_path_through_a_file_says_so_not_that_its_folder_is_missing(tmp_path, capsys):
    """`--save out.csv/x.toml` with out.csv a file said "its folder does not exist; ... (create
    it first)": a folder cannot be made there."""
    from hwscale_tui import cli

    (tmp_path / "out.csv").write_text("x\n")
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    for argv, flag, path, blocker, what in (
        (["plan", "--save"], "--save", "out.csv/x.toml", "out.csv", "a file, not a folder"),
        (["analyze", "--csv"], "--csv", "out.csv/a/b.csv", "out.csv", "a file, not a folder"),
        (["analyze", "--csv"], "--csv", "gone/b.csv", "gone", "a link to nothing"),
    ):
        assert cli.main([*argv, str(tmp_path / path)]) == 2
        assert capsys.readouterr().err == (
            f"hwscale-tui: error: {flag} {tmp_path / path}: {tmp_path / blocker} is {what}; "
            "accepted: a path in an existing folder.\n"
        )
    assert cli.main(["plan", "--save", str(tmp_path / "no" / "x.toml")]) == 2
    assert "its folder does not exist" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gone", "out.csv"]  # nothing written
