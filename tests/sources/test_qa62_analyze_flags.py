"""``analyze`` says when trials it analyzed came with data problems their source flagged (a W&B
score that is a string or NaN, a summary that is not JSON): each bad value is read as unknown
and the trial kept (docs/sources.md, "Flags"), which ``trials`` said but the analysis did not --
a flagged trial could be recommended without a word."""

from __future__ import annotations

import json

from hwscale_tui import config as cfgmod
from hwscale_tui.analysis.core import analyze
from hwscale_tui.cli import main
from hwscale_tui.records import HistoryPoint, Trial
from tests.support.wandb_loopback import (
    DEFAULT_ENTITY,
    WandbLoopback,
    experiment_runs,
    make_run,
)


def test_analyze_of_wandb_trials_notes_the_flagged_ones(tmp_path, capsys, monkeypatch):
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 3, history_points=12)
    bad = make_run("hardware_scaling.g2n1", 9, history_points=12)
    bad.summary["sweep/score"] = "high"
    bad.summary["evaluator/eval_sweep/score"] = "high"
    runs.append(bad)
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        rc = main(["analyze", "-e", str(experiment_file), "--bootstrap", "0", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    notes = [n for n in json.loads(out)["notes"] if "flagged" in n]
    assert notes == [
        f"1 of 7 trials has data problems their source flagged (first: {bad.name}: sweep/score "
        "is not a finite number: 'high'): each bad value is left out as unknown and the trial "
        "kept; hwscale-tui trials lists every one"
    ]


def _trial(run_id: str, flags: list[str]) -> Trial:
    return Trial(
        sweep="e.g1n1",
        run_id=run_id,
        gpus=1,
        nodes=1,
        state="finished",
        score=0.9,
        source="wandb",
        flags=flags,
    )


def _curve(top: float) -> list[HistoryPoint]:
    return [HistoryPoint(1000.0 * i, 10.0 * i, top * i / 5) for i in range(1, 6)]


def test_no_flag_no_note_and_the_count_is_of_flagged_trials():
    trials = [_trial("a", []), _trial("b", ["x is odd", "y too"]), _trial("c", ["z"])]
    histories = {t.run_id: _curve(0.5 + i / 10) for i, t in enumerate(trials)}
    notes = analyze(trials, histories).notes
    assert [n for n in notes if "flagged" in n] == [
        "2 of 3 trials have data problems their source flagged (first: b: x is odd): each bad "
        "value is left out as unknown and the trial kept; hwscale-tui trials lists every one"
    ]
    clean = [_trial(t.run_id, []) for t in trials]
    assert not [n for n in analyze(clean, histories).notes if "flagged" in n]


def test_a_trials_csv_keeps_the_flags_and_so_the_note(tmp_path, capsys, monkeypatch):
    """``trials --csv`` writes each trial's flags; ``analyze --trials`` dropped them, so the same
    trials analyzed from the export lost the note the W&B read gave."""
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 3, history_points=12)
    bad = make_run("hardware_scaling.g1n1", 9, history_points=12)
    bad.summary["overview/sps"] = "fast"
    runs.append(bad)
    trials_csv, history_csv = tmp_path / "t.csv", tmp_path / "h.csv"
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        for args, path in (((), trials_csv), (("--history",), history_csv)):
            assert main(["trials", "-e", str(experiment_file), "--csv", *args]) == 0
            path.write_text(capsys.readouterr().out)
        assert main(["analyze", "-e", str(experiment_file), "--bootstrap", "0", "--json"]) == 0
        from_wandb = json.loads(capsys.readouterr().out)["notes"]
    rc = main(
        ["analyze", "--trials", str(trials_csv), "--history", str(history_csv), "--bootstrap", "0"]
        + ["--json"]
    )
    from_csv = json.loads(capsys.readouterr().out)["notes"]
    assert rc == 0
    expected = (
        f"1 of 7 trials has data problems their source flagged (first: {bad.name}: overview/sps "
        "is not a finite number: 'fast'): each bad value is left out as unknown and the trial "
        "kept; hwscale-tui trials lists every one"
    )
    assert expected in from_wandb and expected in from_csv
