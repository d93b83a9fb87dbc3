"""QA 83: the refusal of a fractional target over negative scores gives advice that works.

Acrobot-v1 / MountainCar-v0 returns lie below 0, so no fraction of the best is a target, and
analyze said "accepted: an absolute target (--target-kind absolute)". Followed, that analyzed
the experiment's own target 0.9 read as a score: every config "not reached", no
recommendation. The refusal now asks for a score (--target SCORE), as the app's analysis
screen and docs/analysis.md do.
"""

from __future__ import annotations

import json

from hwscale_tui.cli import main


def _negative_scores(tmp_path) -> list[str]:
    trials = tmp_path / "t.csv"
    history = tmp_path / "h.csv"
    trials.write_text("run_id,gpus,nodes,score\na,1,1,-100\nb,2,1,-300\n")
    history.write_text(
        "run_id,agent_step,wall_s,score\n"
        + "".join(
            f"{r},{s},{s / 10},{-500 + (500 - end) * s / 1000}\n"
            for r, end in (("a", 100), ("b", 300))
            for s in range(0, 1001, 100)
        )
    )
    return ["analyze", "--trials", str(trials), "--history", str(history), "--bootstrap", "0"]


def test_the_refusal_asks_for_a_score(tmp_path, capsys) -> None:
    args = _negative_scores(tmp_path)
    assert main([*args, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    said = captured.err.strip().splitlines()[-1]
    assert said == (
        "hwscale-tui: error: a fractional target needs a positive best score, but the best "
        "smoothed score is -100; accepted: an absolute target, a score: --target SCORE (with "
        "--target-kind absolute when SCORE is between 0 and 1)."
    )
    # the advice, followed, analyzes: a score the curves reach
    assert main([*args, "--json", "--target", "-400"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(r["best_reached"] for r in data["per_config"])
