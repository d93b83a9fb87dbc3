"""QA 60: a setting made wrong by another flag is not named as if it had been given.

``launch --max-trials 1`` (the default sweep.batch_size is 2) said "--batch-size
(sweep.batch_size): 2 is more than max_trials = 1" to a user who never gave --batch-size."""

from __future__ import annotations

from hwscale_tui.cli import main


def _experiment(path):
    from hwscale_tui import config as cfgmod

    cfg = cfgmod.from_dict({"sweep": {"batch_size": 4, "max_trials": 8}}, source=str(path), env={})
    cfgmod.save(cfg, path)
    return str(path)


def test_a_setting_not_given_is_named_as_the_experiments_value(capsys, tmp_path):
    assert main(["plan", "-e", _experiment(tmp_path / "e.toml"), "--max-trials", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert not err.startswith("hwscale-tui: error: --batch-size"), err
    assert (
        "sweep.batch_size (the experiment's value, not given on the command line; --batch-size "
        "sets it) does not go with --max-trials: 4 is more than max_trials = 2" in err
    ), err


def test_a_flag_given_is_still_named_as_given(capsys, tmp_path):
    assert main(["plan", "-e", _experiment(tmp_path / "e.toml"), "--batch-size", "9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwscale-tui: error: --batch-size (sweep.batch_size): 9 is more than")
