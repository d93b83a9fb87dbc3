"""QA 60: ``trials`` says when the store has trials of the experiment from pairs outside its
grid, which it does not show ("0 trials" said nothing of them: a ``sweep --gpus 3`` run, or a
pair taken out of the grid)."""

from __future__ import annotations

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.store import Store


def _experiment(path, gpus):
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "exp"}, "grid": {"gpu_counts": gpus, "node_counts": [1]}},
        source=str(path),
        env={},
    )
    cfgmod.save(cfg, path)


def _trial(st, run_id, gpus):
    sweep = f"exp.g{gpus}n1"
    st.upsert_sweep(sweep, experiment="exp", gpus=gpus, nodes=1, runner="builtin")
    st.insert_trial(run_id, sweep, experiment="exp", gpus=gpus, nodes=1, state="finished")


def test_trials_of_pairs_outside_the_grid_are_said_not_shown(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    _experiment(exp, [2])
    with Store.open_default() as st:
        _trial(st, "exp.g1n1_trial_0001_aaaaaa", 1)
        _trial(st, "exp.g1n1_trial_0002_bbbbbb", 1)
        _trial(st, "exp.g2n1_trial_0001_cccccc", 2)
    assert main(["trials", "-e", str(exp)]) == 0
    captured = capsys.readouterr()
    assert "1 trial from local" in captured.out, captured.out
    assert (
        "hwscale-tui: warning: 2 trials of exp from pairs outside its grid (g1n1) are not shown"
        in captured.err
    ), captured.err
    # back in the grid, they are shown, and nothing is said
    _experiment(exp, [1, 2])
    assert main(["trials", "-e", str(exp)]) == 0
    captured = capsys.readouterr()
    assert "3 trials from local" in captured.out and "outside its grid" not in captured.err


def test_analyze_with_only_trials_outside_the_grid_says_where_they_are(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    _experiment(exp, [2])
    with Store.open_default() as st:
        _trial(st, "exp.g1n1_trial_0001_aaaaaa", 1)
    assert main(["analyze", "-e", str(exp)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    # it said "has no trials for experiment 'exp'", as if nothing had run
    assert "(its 1 trial is of g1n1, outside the grid)" in err, err
    assert "accepted: those pairs added to its [grid]" in err, err
