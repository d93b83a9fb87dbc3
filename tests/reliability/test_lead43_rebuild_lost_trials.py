"""Trials the store lost are rebuilt from their run folders by ``doctor --repair``.

Before (session 43, by hand): a damaged page under the trials table, repaired by ``doctor
--repair``, left a store with 0 of 6 trials; doctor then said the rows 'cannot be brought back'
although every run folder held the trial's metrics, and `launch` would run all of them again.
Now the sweep runner writes each trial's record (``trial.json``: pair, index, generation,
hyperparameters) beside its metrics, and ``doctor --repair`` rebuilds the lost rows from both:
``trials`` and ``analyze`` read as before the loss, and a resumed sweep counts them done.

Real processes (the CLI, the built-in trainer), real SQLite.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from hwscale_tui import config as cfgmod
from hwscale_tui.metrics_file import TRIAL_RECORD, recovered_trial, write_trial_record
from tests.support.cli import cli_env, hwscale_cmd


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hwscale_cmd(*args),
        env=cli_env(HWSCALE_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _trials(home: Path) -> list[dict]:
    res = _cli("trials", "--json", home=home)
    assert res.returncode == 0, res.stderr
    keep = ("run_id", "sweep", "state", "score", "cost_usd", "agent_steps", "runtime_s", "params")
    return sorted(
        ({k: t.get(k) for k in keep} for t in json.loads(res.stdout)["trials"]),
        key=lambda t: t["run_id"],
    )


def test_doctor_repair_rebuilds_the_rows_the_store_lost(tmp_path):
    home = tmp_path / "home"
    exp = tmp_path / "exp.toml"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "lost"},
            "grid": {"gpu_counts": [1, 2], "node_counts": [1]},
            "sweep": {"total_timesteps": 2048, "max_trials": 2, "batch_size": 1},
            "launch": {"delay_s": 0},
        },
        env={},
    )
    cfgmod.save(cfg, exp)
    ran = _cli("launch", "-e", str(exp), "--foreground", home=home)
    assert ran.returncode == 0, ran.stderr
    before = _trials(home)
    assert len(before) == 4 and {t["state"] for t in before} == {"finished"}
    analyzed = _cli("analyze", "--bootstrap", "0", "--json", home=home)
    assert analyzed.returncode == 0, analyzed.stderr

    # every trial's record lies beside its metrics
    runs = home / "state" / "runs"
    for t in before:
        record = json.loads((runs / t["run_id"] / TRIAL_RECORD).read_text())
        assert record["params"] == t["params"] and record["sweep"] == t["sweep"]

    # the store loses the rows (an older copy put back, a page a repair could not read)
    store = home / "data" / "hwscale.sqlite"
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM trials")
    gone = _cli("trials", "--json", home=home)
    assert json.loads(gone.stdout)["trials"] == []

    look = _cli("doctor", home=home)
    assert look.returncode == 1
    line = next(x for x in look.stdout.splitlines() if "trial runs" in x)
    assert line.startswith("PROBLEM") and "--repair rebuilds 4 rows from the run folders" in line

    fixed = _cli("doctor", "--repair", home=home)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    line = next(x for x in fixed.stdout.splitlines() if "trial runs" in x)
    assert line.startswith("fixed") and "rebuilt 4 trials (finished 4)" in line, line
    assert _trials(home) == before
    again = _cli("analyze", "--bootstrap", "0", "--json", home=home)
    assert json.loads(again.stdout) == json.loads(analyzed.stdout)
    assert _cli("doctor", home=home).returncode == 0

    # a resumed sweep counts them done: one more trial per pair, not three
    more = _cli("launch", "-e", str(exp), "--max-trials", "3", "--foreground", home=home)
    assert more.returncode == 0, more.stderr
    assert len(_trials(home)) == 6


def test_a_folder_without_its_record_or_its_end_is_not_rebuilt(tmp_path):
    run = tmp_path / "exp.g1n1_trial_0001_abcdef"
    (run).mkdir()
    assert "no readable trial.json" in str(recovered_trial(run))
    record = {
        "run_id": run.name,
        "sweep": "exp.g1n1",
        "experiment": "exp",
        "idx": 1,
        "gpus": 1,
        "nodes": 1,
        "params": {"lr": 0.01},
        "generation": 1,
    }
    write_trial_record(run, record)
    metrics = run / "metrics.jsonl"
    metrics.write_text(json.dumps({"metric/agent_step": 1024, "score": 5.0}) + "\n")
    assert "no final metrics line" in str(recovered_trial(run))  # its result is unknown

    final = {"metric/agent_step": 2048, "metric/total_time": 3.0, "final": True}
    with metrics.open("a") as fh:
        fh.write(json.dumps({**final, "state": "finished", "sweep/score": 7.5}) + "\n")
    row, history = recovered_trial(run)  # type: ignore[misc]
    assert (row["state"], row["score"], row["runtime_s"], row["params"]) == (
        "finished",
        7.5,
        3.0,
        {"lr": 0.01},
    )
    assert [h["agent_step"] for h in history] == [1024.0]

    # a finished line without a score is a failure, as the sweep runner reads it
    metrics.write_text(json.dumps({**final, "state": "finished"}) + "\n")
    row, _ = recovered_trial(run)  # type: ignore[misc]
    assert row["state"] == "failed" and row["score"] is None

    # a record of another run (copied folder) is not this run's
    write_trial_record(run, {**record, "run_id": "exp.g1n1_trial_0002_abcdef"})
    assert "no readable trial.json" in str(recovered_trial(run))


def test_one_lost_trial_is_said_in_the_singular(tmp_path, monkeypatch):
    """helper 91: '1 trial ... is missing from the store though their run folders are ...'"""
    from hwscale_tui.commands.doctor import Report, check_runs
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store

    paths = app_paths().ensure()
    Store(paths.store).close()
    run = paths.runs / "exp.g1n1_trial_0001_abcdef"
    run.mkdir(parents=True)
    report = Report()
    check_runs(report, False, True)
    (finding,) = report.findings
    assert "1 trial run by sweeps (0 finished) is missing from the store though its run folder" in (
        finding.detail
    ), finding.detail
    assert "the store lost it (a deleted -wal file" in finding.detail
