"""The SQLite store: WAL, private files, several writer processes and readers at once."""

from __future__ import annotations

import math
import os
import stat
import subprocess
import sys

from hwscale_tui.store import Store
from tests.support.cli import REPO

WRITER = r"""
import sys
from hwscale_tui.store import Store
path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = Store(path)
for i in range(n):
    with s.transaction() as c:
        run = f"{who}_trial_{i:04d}"
        s.insert_trial(run, f"exp.{who}", experiment="exp", idx=i + 1, params={"x": i})
        s.append_history(run, [{"agent_step": k * 100, "wall_s": k * 0.1, "score": k} for k in range(5)])
        s.update_trial(run, state="finished", score=float(i))
"""


def test_store_is_wal_and_private(tmp_path):
    s = Store(tmp_path / "d" / "s.sqlite")
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(os.stat(tmp_path / "d" / "s.sqlite").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "d").st_mode) == 0o700


def test_trials_and_history_round_trip(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    s.insert_trial(
        "a_trial_0001_abcdef", "a", idx=1, gpus=2, nodes=1, params={"trainer.batch_size": 2048}
    )
    s.update_trial("a_trial_0001_abcdef", state="running", score=float("nan"), sps=123.0)
    s.append_history(
        "a_trial_0001_abcdef",
        [
            {"agent_step": 0, "wall_s": 0.0, "score": 9.0, "losses/policy": 0.1, "sps": 900.0},
            {"agent_step": 1024, "wall_s": 0.5, "score": 22.0, "reward": 21.0, "sps": 950.0},
            {"agent_step": None, "score": 1.0},  # dropped: no step
        ],
    )
    (t,) = s.trials(["a"])
    assert (t.state, t.score, t.sps, t.gpus, t.params) == (
        "running",
        None,
        123.0,
        2,
        {"trainer.batch_size": 2048},
    )
    h = s.history("a_trial_0001_abcdef")
    assert [(p.agent_step, p.score) for p in h] == [(0, 9.0), (1024, 22.0)]
    assert (
        s.histories(["a_trial_0001_abcdef"], "losses/policy")["a_trial_0001_abcdef"][0].score == 0.1
    )
    # steps per second has a column of its own: read from it (it was looked for in extra_json
    # and found in no trial: `trials --csv --history --metric sps` said no trial logged it)
    sps = s.histories(["a_trial_0001_abcdef"], "sps")["a_trial_0001_abcdef"]
    assert [(p.agent_step, p.score) for p in sps] == [(0, 900.0), (1024, 950.0)]
    ((_, marked),) = s.histories_marked(["a_trial_0001_abcdef"], "sps").values()
    assert [p.score for p in marked] == [900.0, 950.0]
    assert s.next_trial_index("a") == 2 and s.next_trial_index("b") == 1


def test_several_writer_processes_and_a_reader_do_not_corrupt(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{k}", "40"], cwd=REPO)
        for k in range(4)
    ]
    reader = Store(path, readonly=True)
    seen = 0
    while any(p.poll() is None for p in procs):
        seen = max(seen, len(reader.trial_rows()))
    assert all(p.wait(timeout=120) == 0 for p in procs)
    s = Store(path)
    assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = s.trial_rows()
    assert len(rows) == 160 and all(r["state"] == "finished" for r in rows)
    assert s.conn.execute("SELECT COUNT(*) FROM history").fetchone()[0] == 800
    assert len(reader.trial_rows()) == 160 >= seen


def test_curves_are_the_store_rows_read_once_with_their_marks(tmp_path):
    import numpy.testing

    from hwscale_tui.analysis.curves import history_frame
    from hwscale_tui.records import HistoryPoint, HistoryRows

    s = Store(tmp_path / "s.sqlite")
    s.append_history(
        "r2",
        [
            {"agent_step": 20, "wall_s": 2.0, "score": 0.2, "cost_usd": 0.5},
            {"agent_step": 10, "wall_s": None, "score": 0.1},  # no wall time: NaN (unknown)
            {"agent_step": 30, "wall_s": 3.0, "reward": 7.0},  # no score: not a score point
        ],
    )
    s.append_history("r1", [{"agent_step": 5, "wall_s": 1.0, "score": 0.05}])
    curves = s.histories(["r2", "r1", "r2", "none"])
    assert list(curves) == ["r1", "r2"]  # run order, each once, runs without rows left out
    r2 = curves["r2"]
    assert isinstance(r2, HistoryRows) and len(r2) == 2
    first = r2[0]
    assert (first.agent_step, first.score, first.cost_usd) == (10, 0.1, None)
    assert math.isnan(first.wall_s)  # unknown, not 0.0
    assert r2[-1] == HistoryPoint(20, 2.0, 0.2, 0.5) and r2[1:] == [HistoryPoint(20, 2.0, 0.2, 0.5)]
    frame = history_frame(r2)  # straight from the rows: a missing cost or wall time is NaN
    assert frame["agent_step"].tolist() == [10.0, 20.0] and frame["score"].tolist() == [0.1, 0.2]
    assert frame["cost_usd"][0] != frame["cost_usd"][0] and frame["cost_usd"][1] == 0.5
    assert math.isnan(frame["wall_s"][0]) and frame["wall_s"][1] == 2.0
    points = history_frame(list(r2))  # the same arrays as from HistoryPoints
    for key, column in frame.items():
        numpy.testing.assert_array_equal(column, points[key])
    marked = s.histories_marked(["r1", "r2", "none"])
    assert marked["r2"] == ((3, 30.0), r2)  # the mark counts every row, the curve its points
    assert {k: v[0] for k, v in marked.items()} == s.history_marks(["r1", "r2", "none"])
    assert s.histories_marked(["r2"], "reward")["r2"] == ((3, 30.0), [HistoryPoint(30, 3.0, 7.0)])
    s.close()
