"""An experiment whose own file is gone (or now holds another experiment) and that has no
launch snapshot is refused in one sentence, not run on the built-in defaults under its name.

Real CLI processes, real store.
"""

from __future__ import annotations

import json
import subprocess

from hwscale_tui.launch import experiments as ex
from hwscale_tui.paths import app_paths
from tests.launch.launch_testkit import WAIT_S, fake_command, write_experiment
from tests.support.cli import hwscale_cmd


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hwscale_cmd(*args), capture_output=True, text=True, timeout=WAIT_S, stdin=subprocess.DEVNULL
    )


def _refused(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hwscale-tui: error: "), lines
    for n in needles:
        assert n in lines[0], lines[0]


def _launches() -> int:
    import sqlite3

    if not app_paths().store.exists():
        return 0
    with sqlite3.connect(app_paths().store) as conn:
        return conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0]


def test_a_current_experiment_whose_file_is_gone_is_refused_not_run_on_the_defaults(tmp_path):
    exp = tmp_path / "mine.toml"
    write_experiment(exp, fake_command(), name="mine", gpus=(1,), delay_s=0)
    assert cli("plan", "-e", str(exp)).returncode == 0
    assert ex.read_current().name == "mine"
    exp.unlink()  # moved or deleted by hand
    res = cli("plan", "--json")
    # it planned the built-in default grid (8 trials per sweep, 200000 steps) as 'mine'
    _refused(res, str(exp), "mine", "no longer exists")
    res = cli("launch")
    _refused(res, str(exp), "no longer exists")
    assert _launches() == 0
    assert not (app_paths().state / "experiments" / "mine.toml").exists()
    # status and the list need only its name: they still work
    assert cli("status").returncode == 0
    listed = json.loads(cli("experiments", "--json").stdout)
    assert [r["name"] for r in listed if r["current"]] == ["mine"]
    # put back, it runs again
    write_experiment(exp, fake_command(), name="mine", gpus=(1,), delay_s=0)
    assert json.loads(cli("plan", "--json").stdout)["experiment"] == "mine"


def test_an_experiment_whose_file_now_holds_another_name_is_refused(tmp_path):
    exp = tmp_path / "mine.toml"
    write_experiment(exp, fake_command(), name="mine", gpus=(1,), delay_s=0)
    assert cli("plan", "-e", str(exp)).returncode == 0
    write_experiment(exp, fake_command(), name="renamed", gpus=(1,), delay_s=0)
    _refused(cli("plan"), str(exp), "now holds experiment 'renamed'")
    _refused(cli("plan", "--experiment-name", "mine"), "now holds experiment 'renamed'")
    # opening the file goes on as the experiment it holds now
    assert cli("plan", "-e", str(exp)).returncode == 0
    assert ex.read_current().name == "renamed"
