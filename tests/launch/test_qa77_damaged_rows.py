"""Hand-damaged store rows are read as unknown, not as a traceback.

Found by hand: text (or NULL) where the store keeps numbers -- a pair's ``gpus``, its
``exit_code`` or ``started_at``, a trial's ``sps`` or ``agent_steps``, an experiment's
``updated_at`` -- ended ``hwscale-tui status`` and ``hwscale-tui experiments`` in a traceback
(``sorted`` over a NULL ``gpus``, ``int('x')``, ``math.isfinite('x')``, ``'x' - 1.5``, ``'x' >
1.0``). Each such value is now unknown: the pair's shape from its sweep name, the rest shown
as ``-``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.paths import ensure_private_dir, snapshot_path
from hwscale_tui.store import Store
from tests.support.launches import recorded_launch

SWEEPS = ["exp.g1n1", "exp.g2n1"]

DAMAGE = [
    "UPDATE pairs SET gpus = NULL WHERE sweep = 'exp.g1n1'",
    "UPDATE pairs SET gpus = 'two', nodes = 'x' WHERE sweep = 'exp.g2n1'",
    "UPDATE pairs SET exit_code = 'boom', status = 'exited', started_at = 'noon', "
    "ended_at = 'later', planned_start = 'soon', pid = 'p'",
    "UPDATE launches SET supervisor_pid = 'x', supervisor_start = 'y', started_at = 'z'",
    "UPDATE trials SET sps = 'fast', agent_steps = 'many', cost_usd = 'cheap', "
    "runtime_s = 'long', gpus = 'g', nodes = 'n', started_at = 'dawn', ended_at = 'dusk', "
    "updated_at = 'now'",
    "UPDATE sweeps SET max_trials = 'lots', updated_at = 'then'",
    "UPDATE experiments SET updated_at = 'yesterday'",
]


@pytest.fixture
def damaged(tmp_path):  # type: ignore[no-untyped-def]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    # the launch's snapshot: status reads its trials' progress (ETA, cost) only with one
    ensure_private_dir(snapshot_path("exp").parent)
    cfgmod.save(cfgmod.from_dict({"experiment": {"name": "exp"}}, env={}), snapshot_path("exp"))
    with Store.open_default() as store:
        store.touch_experiment("exp")
        for sweep in SWEEPS:
            store.upsert_sweep(
                sweep, experiment="exp", gpus=1, nodes=1, max_trials=4, runner="builtin"
            )
            for idx, state in ((1, "finished"), (2, "running")):
                run_id = f"{sweep}_trial_{idx:04d}_abcdef"
                store.insert_trial(run_id, sweep, experiment="exp", idx=idx, gpus=1, nodes=1)
                store.update_trial(
                    run_id, state=state, score=0.5, sps=100.0, agent_steps=1000, started_at=2.0
                )
        recorded_launch(store, "exp", SWEEPS, tmp_path / "exp.toml", running_pid=dead.pid)
        for sql in DAMAGE:
            store.conn.execute(sql)
        store.conn.commit()


def test_status_reads_damaged_numbers_as_unknown(damaged, capsys) -> None:
    assert main(["status", "--experiment-name", "exp"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    assert "g1n1" in out and "g2n1" in out, out
    assert main(["status", "--experiment-name", "exp", "--json"]) == 0
    pairs = json.loads(capsys.readouterr().out)["pairs"]
    assert sorted((p["gpus"], p["nodes"], p["exit_code"]) for p in pairs) == [
        (1, 1, None),
        (2, 1, None),
    ]


def test_experiments_reads_a_damaged_time_as_unknown(damaged, capsys) -> None:
    assert main(["experiments"]) == 0
    out, err = capsys.readouterr()
    assert "exp" in out and "Traceback" not in out + err, out + err
    assert main(["experiments", "--json"]) == 0
    json.loads(capsys.readouterr().out)
