"""QA pass of ``hwscale-tui analyze`` as a new user runs it: each test is a defect found by hand."""

from __future__ import annotations

import json

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs


def _wandb_experiment(tmp_path):
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    return cfgmod.save(cfg, tmp_path / "exp.toml")


def test_a_wandb_curve_that_could_not_be_read_is_counted_in_one_note(tmp_path, capsys, monkeypatch):
    """A trial whose W&B curve could not be read was counted twice: in the curves_unread note
    ("Learning curves of 1 of 12 trials could not be read ...") and again in "1 trial(s) have no
    learning curve yet". Each trial is counted once: by the unread note only, and a trial that
    logged no curve (a run with no history rows) still by the other."""
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1", "g4n1"], 4, history_points=30)
    order = [r.name for r in sorted(runs, key=lambda r: (r.group, r.created_at))]
    analyze = ["analyze", "--experiment", str(_wandb_experiment(tmp_path)), "--bootstrap", "0"]
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        server.fail("500", times=1000, operation="RunSampledHistory", run=order[9])
        assert main([*analyze, "--json"]) == 0
        out = capsys.readouterr()
        notes = json.loads(out.out)["notes"]
        assert len([n for n in notes if "could not be read" in n]) == 1
        assert not [n for n in notes if "have no learning curve yet" in n], notes
        assert "have no learning curve yet" not in out.err

        # a second trial without any logged point: counted by the other note, on its own
        empty = next(r for r in runs if r.name == order[2])
        empty.history = []
        empty.changed()
        assert main([*analyze, "--json"]) == 0
        notes = json.loads(capsys.readouterr().out)["notes"]
        assert len([n for n in notes if "could not be read" in n]) == 1
        assert [n for n in notes if "have no learning curve yet" in n] == [
            "1 trial(s) have no learning curve yet (counted in n_trials, not in the estimates)"
        ]
