"""QA 83: when the best score and the curves are different metrics, the analysis says so.

The best trial of each config is chosen by the trials' own score ([sweep] metric), while the
curves, the target and the levels are in the curve metric (``--metric``, ``[analysis]
curve_metric``; Metta's defaults differ: evaluator/eval_sweep/score and overview/reward). The
report printed "best score 9" beside "target: 0.9 x best smoothed score 1.8 = 1.62" with no
word that they measure different things (only docs/analysis.md said it).
"""

from __future__ import annotations

import json

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.store import Store


def _experiment(tmp_path, curve_metric: str | None):
    path = tmp_path / "exp.toml"
    data: dict = {
        "experiment": {"name": "exp"},
        "grid": {"gpu_counts": [1], "node_counts": [1]},
    }
    if curve_metric:
        data["analysis"] = {"curve_metric": curve_metric}
    cfg = cfgmod.from_dict(data, source=str(path), env={})
    cfgmod.save(cfg, path)
    with Store.open_default() as st:
        sweep = "exp.g1n1"
        st.upsert_sweep(sweep, experiment="exp", gpus=1, nodes=1, runner="builtin")
        for k in (1, 2):
            run_id = f"{sweep}_trial_000{k}_aaaaaa"
            st.insert_trial(
                run_id, sweep, experiment="exp", gpus=1, nodes=1, state="finished", score=9.0 + k
            )
            st.append_history(
                run_id,
                [
                    {"agent_step": s, "wall_s": s / 100, "score": 5.0 + k, "reward": k * s / 500}
                    for s in (100, 500, 900)
                ],
            )
    return path


def _notes(capsys) -> list[str]:
    return json.loads(capsys.readouterr().out)["notes"]


@pytest.mark.parametrize("how", ["file", "flag"])
def test_a_curve_metric_other_than_the_score_is_said(tmp_path, capsys, how) -> None:
    exp = _experiment(tmp_path, "reward" if how == "file" else None)
    flag = ["--metric", "reward"] if how == "flag" else []
    assert main(["analyze", "-e", str(exp), "--bootstrap", "0", "--json", *flag]) == 0
    said = [n for n in _notes(capsys) if n.startswith("Two metrics:")]
    where = "--metric" if how == "flag" else "[analysis] curve_metric"
    assert said == [
        "Two metrics: each config's best trial and its best score are the trials' score ([sweep] "
        f"metric), while the learning curves, the target and the levels are in reward ({where}): "
        "the best score and the target are not in the same units."
    ]


def test_one_metric_says_nothing(tmp_path, capsys) -> None:
    exp = _experiment(tmp_path, None)
    assert main(["analyze", "-e", str(exp), "--bootstrap", "0", "--json"]) == 0
    assert not [n for n in _notes(capsys) if n.startswith("Two metrics:")]
