"""``analyze`` names the analyzed generation's trials of pairs no longer in the grid (helper 73's
QA pass): with g2n1 taken out of ``[grid]`` after it ran, its trials were left out of the
analysis and its recommendations with nothing said (``trials`` warns of them), the notes
naming only the other generations' trials left out."""

from __future__ import annotations

import json

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


def _trial(st, run_id, gpus, score):
    sweep = f"exp.g{gpus}n1"
    st.upsert_sweep(sweep, experiment="exp", gpus=gpus, nodes=1, runner="builtin")
    st.insert_trial(
        run_id, sweep, experiment="exp", gpus=gpus, nodes=1, state="finished", score=score
    )
    st.append_history(
        run_id,
        [{"agent_step": s, "wall_s": s / 100, "score": score * s / 1000} for s in (100, 500, 1000)],
    )


def test_analyze_says_it_left_out_the_trials_of_a_pair_taken_out_of_the_grid(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    _experiment(exp, [1, 2])
    with Store.open_default() as st:
        _trial(st, "exp.g1n1_trial_0001_aaaaaa", 1, 100.0)
        _trial(st, "exp.g1n1_trial_0002_bbbbbb", 1, 90.0)
        _trial(st, "exp.g2n1_trial_0001_cccccc", 2, 80.0)
    argv = ["analyze", "-e", str(exp), "--bootstrap", "0", "--json"]
    assert main(argv) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert not any("Left out" in n for n in notes), notes  # every pair in the grid

    _experiment(exp, [1])  # g2n1 out of the grid
    assert main(argv) == 0
    captured = capsys.readouterr()
    said = (
        "Left out: 1 trial of generation 1 from g2n1, a pair no longer in experiment exp's "
        "grid; add it back to its [grid] (its file, or the app's grid editor) to analyze them."
    )
    assert said in json.loads(captured.out)["notes"]
    assert f"analyze: {said}\n" in captured.err
