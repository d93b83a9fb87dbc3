"""``status --generation N`` of an earlier generation (helper 73's QA pass): its ``best`` column
is the best by the sweep's goal (it was the highest score for a minimized metric too), and a
damaged row whose score is text (``'high'``, which SQLite keeps as written) is left out of it
instead of ending the command with a traceback (``Unknown format code 'g' for object of type
'str'``; ``trials`` flags such a row)."""

from __future__ import annotations

import json
import re

import pytest

from hwscale_tui.cli import main
from hwscale_tui.store import Store


def _two_generations(tmp_path, goal: str, scores: dict[str, list]) -> None:
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'[experiment]\nname = "exp"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n'
        f'[sweep]\ngoal = "{goal}"\n'
    )
    with Store.open_default() as store:
        store.touch_experiment("exp", file=str(exp))
        for sweep, values in scores.items():
            for i, score in enumerate(values):
                store.insert_trial(
                    f"{sweep}_trial_{i + 1:04d}",
                    sweep,
                    experiment="exp",
                    gpus=1,
                    nodes=1,
                    idx=i + 1,
                    state="finished",
                    score=score,
                )
        for gen, why in ((1, "first launch"), (2, "total_timesteps changed")):
            store.add_generation("exp", gen, f"fp{gen}", {}, why)


def _best(capsys) -> object:
    assert main(["status", "--experiment-name", "exp", "--generation", "1", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["pairs"][0]["best_score"]


@pytest.mark.parametrize("goal,best", [("maximize", 9.0), ("minimize", 2.0)])
def test_the_best_of_an_earlier_generation_follows_the_goal(tmp_path, capsys, goal, best):
    _two_generations(tmp_path, goal, {"exp.g1n1": [5.0, 2.0, 9.0], "exp.g1n1.gen2": [1.0]})
    assert _best(capsys) == best
    assert main(["status", "--experiment-name", "exp", "--generation", "1"]) == 0
    assert re.search(rf"^g1n1 +3 +3 +{best:g}$", capsys.readouterr().out, re.M)


def test_a_score_stored_as_text_is_left_out_of_the_best(tmp_path, capsys):
    _two_generations(tmp_path, "maximize", {"exp.g1n1": [5.0, "high"], "exp.g1n1.gen2": [1.0]})
    assert _best(capsys) == 5.0
    assert main(["status", "--experiment-name", "exp", "--generation", "1"]) == 0
    captured = capsys.readouterr()
    assert re.search(r"^g1n1 +2 +2 +5$", captured.out, re.M), captured.out
    assert captured.err == ""
