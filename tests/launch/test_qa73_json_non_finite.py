"""``--json`` output never holds ``Infinity`` or ``NaN`` (helper 73's QA pass): a store value
that is not finite (a damaged row: ``score = 9e999`` reads back as inf) was written by
``json.dump`` as ``Infinity`` in ``experiments --json``, ``sweep --status --json`` and
``status --json``, which no JSON reader takes (``jq``, JavaScript); it is null, as ``trials
--json`` already wrote it."""

from __future__ import annotations

import json

from hwscale_tui.cli import main
from hwscale_tui.commands.common import json_safe
from hwscale_tui.store import Store


def _strict(text: str):
    def refuse(constant: str):
        raise AssertionError(f"{constant} in the JSON output")

    return json.loads(text, parse_constant=refuse)


def _store_with_an_infinite_row(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text('[experiment]\nname = "exp"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n')
    with Store.open_default() as st:
        st.touch_experiment("exp", file=str(exp))
        st.upsert_sweep("exp.g1n1", experiment="exp", gpus=1, nodes=1, runner="builtin")
        st.insert_trial(
            "exp.g1n1_trial_0001_aaaaaa", "exp.g1n1", experiment="exp", gpus=1, nodes=1, idx=1
        )
        st.conn.execute(
            "UPDATE trials SET state = 'finished', score = 9e999, cost_usd = 9e999, "
            "updated_at = 9e999"
        )
    return exp


def test_experiments_and_sweep_status_json_write_null(tmp_path, capsys):
    exp = _store_with_an_infinite_row(tmp_path)
    assert main(["experiments", "--json"]) == 0
    rows = _strict(capsys.readouterr().out)
    # the trial's infinite time is unknown (f41c19b): the last activity is the experiment's own
    # time, a finite number, never Infinity (which _strict refuses)
    (last,) = [r["last_activity"] for r in rows if r["name"] == "exp"]
    assert isinstance(last, float) and 1e9 < last < 1e11, last
    assert main(["sweep", "-e", str(exp), "--gpus", "1", "--nodes", "1", "--status", "--json"]) == 0
    trials = _strict(capsys.readouterr().out)
    assert (trials[0]["score"], trials[0]["cost_usd"]) == (None, None)


def test_json_safe_nulls_every_non_finite_number():
    value = {"a": float("inf"), "b": [float("nan"), 1.5, (float("-inf"), 2)], 3: "x"}
    assert json_safe(value) == {"a": None, "b": [None, 1.5, [None, 2]], "3": "x"}
