"""``status`` with a finished trial whose score was damaged to text.

Found by hand: a finished trial's score set to 'high' (a hand edit, a damaged store) made
``hwscale-tui status`` end in a traceback: the best score was taken with ``MAX(score)`` over
the finished trials, SQLite sorts text above every number, so 'high' became the best and the
table's ``:.4g`` raised on it. Only numeric scores count toward the best now.
"""

from __future__ import annotations

from hwscale_tui.cli import main
from hwscale_tui.store import Store
from tests.support.launches import recorded_launch

SWEEP = "exp.g1n1"


def test_a_text_score_is_not_the_best_and_status_shows_the_numeric_one(tmp_path, capsys) -> None:
    with Store.open_default() as store:
        store.touch_experiment("exp")
        store.upsert_sweep(SWEEP, experiment="exp", gpus=1, nodes=1, max_trials=4)
        for idx, score in ((1, 0.625), (2, 0.5)):
            run_id = f"{SWEEP}_trial_{idx:04d}_abcdef"
            store.insert_trial(run_id, SWEEP, experiment="exp", idx=idx, gpus=1, nodes=1)
            store.update_trial(run_id, state="finished", score=score)
        store.conn.execute(
            "UPDATE trials SET score = 'high' WHERE run_id = ?", (f"{SWEEP}_trial_0002_abcdef",)
        )
        store.conn.commit()
        recorded_launch(store, "exp", [SWEEP], tmp_path / "exp.toml", running_pid=999_999_999)

    assert main(["status", "--experiment-name", "exp"]) == 0
    out = capsys.readouterr().out
    assert "0.625" in out, out
    assert "high" not in out, out
    assert main(["status", "--experiment-name", "exp", "--json"]) == 0
    assert '"best_score": 0.625' in capsys.readouterr().out
