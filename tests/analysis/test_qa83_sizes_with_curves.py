"""QA 83: local mode's "too few sizes for a scaling law" counts the sizes the analysis has.

A local experiment of g1n1, g2n1 and g4n1 whose g4n1 trials all failed before logging a point
(no learning curve: no row, "g4n1 left out") counted 4 ranks among its sizes, so the note
"Only 2 sizes (1 and 2 ranks): too few for a scaling law" was missing while the laws stood on
two sizes. Sizes are counted over the trials with a learning curve.
"""

from __future__ import annotations

import json

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.store import Store


def _experiment(tmp_path, g4_curve: bool):
    path = tmp_path / "exp.toml"
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "exp"}, "grid": {"gpu_counts": [1, 2, 4], "node_counts": [1]}},
        source=str(path),
        env={},
    )
    cfgmod.save(cfg, path)
    with Store.open_default() as st:
        for gpus in (1, 2, 4):
            sweep = f"exp.g{gpus}n1"
            st.upsert_sweep(sweep, experiment="exp", gpus=gpus, nodes=1, runner="builtin")
            for k in (1, 2):
                run_id = f"{sweep}_trial_000{k}_aaaaaa"
                curve = gpus != 4 or g4_curve
                st.insert_trial(
                    run_id,
                    sweep,
                    experiment="exp",
                    gpus=gpus,
                    nodes=1,
                    state="finished" if curve else "failed",
                    score=100.0 + k if curve else None,
                )
                if curve:
                    st.append_history(
                        run_id,
                        [
                            {"agent_step": s, "wall_s": s / (100 * gpus), "score": s / 10 + k}
                            for s in (100, 500, 1000)
                        ],
                    )
    return path


def _sizes_note(tmp_path, capsys, monkeypatch, g4_curve: bool) -> list[str]:
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "8")
    exp = _experiment(tmp_path, g4_curve)
    assert main(["analyze", "-e", str(exp), "--bootstrap", "0", "--json"]) == 0
    return [n for n in json.loads(capsys.readouterr().out)["notes"] if n.startswith("Only ")]


def test_a_size_without_a_curve_is_not_counted(tmp_path, capsys, monkeypatch) -> None:
    assert _sizes_note(tmp_path, capsys, monkeypatch, g4_curve=False) == [
        "Only 2 sizes (1 and 2 ranks): too few for a scaling law (a law needs at least 3 "
        "sizes); compare the pairs directly and read any fitted law as not established."
    ]


def test_three_sizes_with_curves_say_nothing(tmp_path, capsys, monkeypatch) -> None:
    assert _sizes_note(tmp_path, capsys, monkeypatch, g4_curve=True) == []
