"""`launch --only PAIR` after a launch given settings on its command line.

Found by hand (session 43, a real local Slurm cluster): `launch -e exp.toml --new-generation
--total-timesteps 600000` ran generation 2; its g1n1 runner was killed while its Slurm job ran,
and status said `hwscale-tui launch --experiment-name slurmy --only g1n1 re-attaches them`. That
command reads the experiment's file (total_timesteps 20000) and was refused: 'comparability
settings changed since generation 2 ran ...; accepted: ... --new-generation ..., or the settings
put back' -- a new generation would have left the job's trial behind. The refusal now offers
first the launch with the settings the generation ran with (its launch snapshot plus the
forwarded arguments its command line gave), and that command, pasted, goes on in the same
generation.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from hwscale_tui import config as cfgmod
from hwscale_tui.store import Store
from tests.support.cli import cli_env, hwscale_cmd


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hwscale_cmd(*args),
        env=cli_env(HWSCALE_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_only_after_command_line_settings_offers_the_launch_as_it_ran(tmp_path):
    home = tmp_path / "home"
    exp = tmp_path / "exp.toml"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "asran"},
            "grid": {"gpu_counts": [1], "node_counts": [1]},
            "sweep": {"total_timesteps": 2048, "max_trials": 1, "batch_size": 1},
            "launch": {"delay_s": 0},
        },
        env={},
    )
    cfgmod.save(cfg, exp)
    first = _cli(
        "launch", "-e", str(exp), "--total-timesteps", "4096", "seed=3", "--foreground", home=home
    )
    assert first.returncode == 0, first.stderr

    # what status offers for a pair whose runner died: the file's settings, so refused
    again = _cli("launch", "--experiment-name", "asran", "--only", "g1n1", home=home)
    assert again.returncode == 2
    err = again.stderr.strip().splitlines()
    assert len(err) == 1, err
    assert "sweep.total_timesteps 4096 -> 2048" in err[0]
    accepted = err[0].split("accepted: ", 1)[1]
    offered = accepted.split(" (the settings generation 1 ran with", 1)[0]
    words = shlex.split(offered)
    snapshot = home / "state" / "experiments" / "asran.toml"
    assert words[:6] == ["hwscale-tui", "launch", "-e", str(snapshot), "--only", "g1n1"], words
    assert words[6:] == ["seed=3"]  # the first launch's forwarded argument, or it differs too
    assert "--new-generation" in accepted  # still offered, after it

    # pasted (one more trial allowed), it goes on in generation 1 with 4096 steps
    pasted = _cli(*words[1:], "--max-trials", "2", "--foreground", "--json", home=home)
    assert pasted.returncode == 0, pasted.stderr
    assert json.loads(pasted.stdout)["generation"] == 1
    with Store(home / "data" / "hwscale.sqlite", readonly=True) as store:
        assert store.latest_generation("asran") == 1
        trials = store.trials(experiment="asran")
    assert len(trials) == 2 and {t.sweep for t in trials} == {"asran.g1n1"}
    # the file the user edits stays the experiment's file
    current = json.loads((home / "state" / "current-experiment.json").read_text())
    assert current["file"] == str(exp.resolve())


def test_no_launch_as_it_ran_is_offered_when_the_snapshot_was_edited(tmp_path):
    home = tmp_path / "home"
    exp = tmp_path / "exp.toml"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "edited"},
            "grid": {"gpu_counts": [1], "node_counts": [1]},
            "sweep": {"total_timesteps": 2048, "max_trials": 1, "batch_size": 1},
            "launch": {"delay_s": 0},
        },
        env={},
    )
    cfgmod.save(cfg, exp)
    first = _cli("launch", "-e", str(exp), "--total-timesteps", "4096", "--foreground", home=home)
    assert first.returncode == 0, first.stderr
    snapshot = home / "state" / "experiments" / "edited.toml"
    snapshot.write_text(snapshot.read_text().replace("4096", "8192"))
    again = _cli("launch", "--experiment-name", "edited", "--only", "g1n1", home=home)
    assert again.returncode == 2
    assert "its launch snapshot" not in again.stderr  # it would not run as generation 1 did
    assert "--new-generation" in again.stderr
