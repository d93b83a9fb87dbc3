"""The CLI against what README.md and docs/ promise (new-user docs audit, QA pass 37)."""

from __future__ import annotations

import json


def _help(command: str) -> str:
    from hwscale_tui.cli import build_parser

    parser = build_parser(only=command)
    sub = next(a for a in parser._actions if a.dest == "command")
    return str(sub.choices[command].format_help())  # type: ignore[attr-defined]


def test_sweep_help_does_not_promise_to_change_the_current_experiment():
    """docs/sweep.md: a sweep run from a file registers it "without making it current" (the
    supervisor starts every pair as `hwscale-tui sweep --experiment <snapshot>`), and
    `sweep` loads its experiment with select=False. Its --help still said "-e FILE: its
    experiment becomes the current one" and "--experiment-name: ... make it the current one",
    the text shared with plan, launch, status, trials and analyze, which do."""
    text = " ".join(_help("sweep").split())
    assert "becomes the current one" not in text, text
    assert "make it the current one" not in text, text
    assert "never changes which experiment is current" in text, text
    # the commands that do select keep saying so
    for command in ("plan", "launch", "status", "trials", "analyze"):
        assert "becomes the current one" in " ".join(_help(command).split()), command


def test_sweep_minus_e_leaves_the_current_experiment_as_it_was(tmp_path, capsys):
    """What the help now says, checked: `sweep -e FILE --status` and `sweep --experiment-name`
    act on that experiment and leave the current one alone."""
    from hwscale_tui.cli import main
    from hwscale_tui.paths import app_paths

    body = "[grid]\ngpu_counts = [1]\nnode_counts = [1]\n[sweep]\nmax_trials = 1\nbatch_size = 1\n"
    mine = tmp_path / "mine.toml"
    mine.write_text('[experiment]\nname = "mine"\n' + body)
    other = tmp_path / "other.toml"
    other.write_text('[experiment]\nname = "other"\n' + body)
    assert main(["plan", "-e", str(mine), "--save", str(mine)]) == 0  # saved: registered
    assert main(["plan", "-e", str(other), "--save", str(other)]) == 0
    assert main(["experiments", "select", "mine"]) == 0
    capsys.readouterr()
    current = app_paths().state / "current-experiment.json"
    assert json.loads(current.read_text())["name"] == "mine"
    assert main(["sweep", "-e", str(other), "--gpus", "1", "--nodes", "1", "--status"]) == 0
    assert "other.g1n1" in capsys.readouterr().out
    assert (
        main(["sweep", "--experiment-name", "other", "--gpus", "1", "--nodes", "1", "--status"])
        == 0
    )
    assert json.loads(current.read_text())["name"] == "mine"


def test_no_output_goes_into_hwscale_tuis_logs_folder(tmp_path, capsys):
    """docs/analysis.md and docs/experiments.md refuse outputs inside hwscale-tui's own folders.
    In the platform's layout the logs are under state/ (refused); with HWSCALE_HOME set they
    are beside it, in logs/, and `analyze --csv $HWSCALE_HOME/logs/qa/qa.g1n1.log` replaced a
    pair's log with the per-config table (exit 0). `plan --save` into logs/ went through too."""
    from hwscale_tui.cli import main
    from hwscale_tui.paths import app_paths

    paths = app_paths()
    assert paths.state not in paths.logs.parents  # the HWSCALE_HOME layout of the tests
    log = paths.logs / "qa" / "qa.g1n1.log"
    log.parent.mkdir(parents=True)
    log.write_text("=== hwscale-tui launch #1: qa.g1n1 starting\n")
    trials = tmp_path / "t.csv"
    trials.write_text("run_id,gpus,nodes,agent_step,score,wall_s\nr1,1,1,100,1,1\nr1,1,1,200,5,2\n")
    for argv in (
        ["analyze", "--trials", str(trials), "--bootstrap", "0", "--csv", str(log)],
        ["analyze", "--trials", str(trials), "--bootstrap", "0", "--plots", str(paths.logs / "p")],
        ["plan", "--save", str(paths.logs / "exp.toml")],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"is inside hwscale-tui's own folder {paths.logs}" in err, (
            err
        )
    assert log.read_text() == "=== hwscale-tui launch #1: qa.g1n1 starting\n"
    assert not (paths.logs / "p").exists() and not (paths.logs / "exp.toml").exists()
