"""A ``[launch] command`` whose program this machine cannot run is refused by ``launch`` and
said by ``plan`` (helper 73's QA pass): every pair's command runs here under the supervisor,
whatever the dispatcher, so every pair would fail to start. It was launched without a word:
the first pair failed ('cannot start nonexistent: No such file or directory') and the rest
stayed scheduled, one stagger after another. ``plan`` only warns: it may prepare a file for
another machine (tests/foundation/test_docs_qa42.py plans one with a ``my_sweep``)."""

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
def test_a_launch_command_whose_program_is_missing_is_refused(tmp_path, capsys, program):
    exp = _experiment(tmp_path, [program, "{sweep_name}"])
    assert main(["launch", "-e", str(exp)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"hwscale-tui: error: launch.command[0] {program!r} is not a program this machine can "
        "run (not on PATH, no such file, or not executable), so every pair would fail to start; "
        'accepted: a program on PATH or the path of an executable file (e.g. "python", '
        '"./sweep.sh" with chmod +x).\n'
    )
    assert captured.out == ""
    assert not (app_paths().state / "experiments" / "exp.toml").exists()  # nothing launched


def test_plan_says_so_and_plans_it(tmp_path, capsys):
    exp = _experiment(tmp_path, ["no-such-program-qa73", "{sweep_name}"])
    assert main(["plan", "-e", str(exp), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        "hwscale-tui: warning: launch.command[0] 'no-such-program-qa73' is not a program this "
        "machine can run (not on PATH, no such file, or not executable), so every pair would "
        "fail to start if launched here\n"
    )


def test_a_runnable_program_or_a_placeholder_is_planned(tmp_path, capsys):
    for command in ([sys.executable, "-c", "pass"], ["{experiment}", "x"]):
        exp = _experiment(tmp_path, command)
        assert main(["plan", "-e", str(exp), "--json"]) == 0
        assert "warning" not in capsys.readouterr().err
