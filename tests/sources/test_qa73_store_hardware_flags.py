"""A store row whose ``gpus`` or ``nodes`` is no whole number from 1 (helper 73's QA pass):
``analyze`` ended with a traceback (``int('zzz')`` in the analysis's local mode) on a damaged
row SQLite kept as written; the local source now flags it and takes the pair from the sweep
name, as for a row without hardware (docs/sources.md, "Flags")."""

from __future__ import annotations

import json

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.sources.local_source import normalize_store_row
from hwscale_tui.store import Store


def _row(**changes) -> dict:
    row = {
        "sweep": "exp.g2n1",
        "run_id": "exp.g2n1_trial_0001_aaaaaa",
        "gpus": 2,
        "nodes": 1,
        "state": "finished",
        "params_json": "{}",
        "score": 1.0,
        "cost_usd": None,
        "agent_steps": None,
        "runtime_s": None,
        "sps": None,
        "created_at": None,
        "updated_at": None,
        "source": "local",
    }
    row.update(changes)
    return row


@pytest.mark.parametrize("column", ["gpus", "nodes"])
@pytest.mark.parametrize("value", ["zzz", 0, -1, 2.5, True])
def test_a_bad_count_is_flagged_and_the_sweep_names_pair_used(column, value):
    trial = normalize_store_row(_row(**{column: value}))
    assert (trial.gpus, trial.nodes) == (2, 1)
    assert trial.flags == [f"{column} is not a whole number from 1: {str(value)!r}"]


def test_good_counts_are_kept_unflagged():
    trial = normalize_store_row(_row(sweep="exp.g9n9"))
    assert (trial.gpus, trial.nodes, trial.flags) == (2, 1, [])


def test_analyze_of_a_store_with_a_text_gpu_count(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    exp = tmp_path / "exp.toml"
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "exp"}, "grid": {"gpu_counts": [1, 2], "node_counts": [1]}},
        source=str(exp),
        env={},
    )
    cfgmod.save(cfg, exp)
    with Store.open_default() as st:
        for gpus in (1, 2):
            sweep = f"exp.g{gpus}n1"
            st.upsert_sweep(sweep, experiment="exp", gpus=gpus, nodes=1, runner="builtin")
            run_id = f"{sweep}_trial_0001_aaaaaa"
            st.insert_trial(
                run_id, sweep, experiment="exp", gpus=gpus, nodes=1, state="finished", score=9.0
            )
            st.append_history(
                run_id, [{"agent_step": s, "wall_s": s / 100, "score": s / 100} for s in (1, 900)]
            )
        st.conn.execute("UPDATE trials SET gpus = 'zzz' WHERE sweep = 'exp.g2n1'")
    assert main(["analyze", "-e", str(exp), "--bootstrap", "0", "--json"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    result = json.loads(captured.out)
    assert sorted(row["config"] for row in result["per_config"]) == ["g1n1", "g2n1"]
    assert any("gpus is not a whole number from 1: 'zzz'" in n for n in result["notes"])
