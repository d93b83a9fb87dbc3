"""A ``[launch] command`` whose program this machine cannot run is refused by ``plan`` and
``launch`` (helper 73's QA pass), as ``[sweep] trial_command``'s is: every pair's command runs
here under the supervisor, whatever the dispatcher, so every pair would fail to start. It was
planned and launched without a word: the first pair failed ('cannot start nonexistent: No
such file or directory') and the rest stayed scheduled, one stagger after another."""

from __future__ import annotations

import sys

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.paths import app_paths


def _experiment(tmp_path, command: list[str]):
    path = tmp_path / "exp.toml"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "exp"},
            "grid": {"gpu_counts": [1], "node_counts": [1]},
            "launch": {"command": command},
        },
        source=str(path),
        env={},
    )
    cfgmod.save(cfg, path)
    return path


@pytest.mark.parametrize("program", ["", "no-such-program-qa73", "./not-here-qa73.sh"])
@pytest.mark.parametrize("command", ["plan", "launch"])
def test_a_launch_command_whose_program_is_missing_is_refused(tmp_path, capsys, program, command):
    exp = _experiment(tmp_path, [program, "{sweep_name}"])
    assert main([command, "-e", str(exp)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"hwscale-tui: error: launch.command[0] {program!r} is not a program this machine can "
        "run (not on PATH, no such file, or not executable), so every pair would fail to start; "
        'accepted: a program on PATH or the path of an executable file (e.g. "python", '
        '"./sweep.sh" with chmod +x).\n'
    )
    assert captured.out == ""
    assert not (app_paths().state / "experiments" / "exp.toml").exists()  # nothing launched


def test_a_runnable_program_or_a_placeholder_is_planned(tmp_path, capsys):
    for command in ([sys.executable, "-c", "pass"], ["{experiment}", "x"]):
        exp = _experiment(tmp_path, command)
        assert main(["plan", "-e", str(exp), "--json"]) == 0, capsys.readouterr().err
        capsys.readouterr()
