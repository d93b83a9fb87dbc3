"""An experiment file's ``[analysis] curve_metric`` that no trial logged, where they logged the
runner's default one (a typo: 'scor'), is refused as ``--metric`` is (helper 73's QA pass).
``analyze`` said 'no trial has a learning curve to analyze (of 4 trials: 4 finished);
accepted: trials with history (agent_step, wall_s, score)' of trials that have curves, and
``trials --csv --history`` printed a header alone with exit 0."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.store import Store


def _experiment(tmp_path, metric: str):
    path = tmp_path / "exp.toml"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "exp"},
            "grid": {"gpu_counts": [1, 2], "node_counts": [1]},
            "analysis": {"curve_metric": metric},
        },
        source=str(path),
        env={},
    )
    cfgmod.save(cfg, path)
    with Store.open_default() as st:
        for gpus in (1, 2):
            sweep = f"exp.g{gpus}n1"
            st.upsert_sweep(sweep, experiment="exp", gpus=gpus, nodes=1, runner="builtin")
            run_id = f"{sweep}_trial_0001_aaaaaa"
            st.insert_trial(
                run_id, sweep, experiment="exp", gpus=gpus, nodes=1, state="finished", score=9.0
            )
            st.append_history(
                run_id,
                [
                    {"agent_step": s, "wall_s": s / 100, "score": s / 100, "reward": 1.0}
                    for s in (1, 900)
                ],
            )
    return path


@pytest.mark.parametrize(
    "argv", [["analyze", "--bootstrap", "0"], ["trials", "--csv", "--history"]]
)
def test_a_curve_metric_no_trial_logged_is_refused(tmp_path, capsys, argv):
    exp = _experiment(tmp_path, "scor")
    assert main([*argv, "-e", str(exp)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == (
        f"hwscale-tui: error: [analysis] curve_metric 'scor' ({exp}): no trial's history has that "
        "metric; accepted: a metric the trials logged, like the builtin runner's default 'score' "
        "(the file's [analysis] curve_metric, or --metric KEY)."
    )
    assert captured.out == ""


@pytest.mark.parametrize("metric", ["score", "reward"])
def test_a_curve_metric_the_trials_logged_is_analyzed(tmp_path, capsys, metric):
    exp = _experiment(tmp_path, metric)
    assert main(["analyze", "-e", str(exp), "--bootstrap", "0", "--json"]) == 0
    assert main(["trials", "-e", str(exp), "--csv", "--history"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 3
