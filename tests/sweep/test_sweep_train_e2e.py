"""The done criterion: a real `hwscale-tui sweep` of real `hwscale-tui train` trials, to the end."""

from __future__ import annotations

import json
import subprocess

import pytest

from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from tests.support.cli import cli_env, hwscale_cmd

pytestmark = pytest.mark.slow


def test_builtin_sweep_of_real_trainer_trials_runs_to_completion(tmp_path):
    args = [
        "--new-experiment",
        "e2e",
        "--max-trials",
        "3",
        "--batch-size",
        "1",
        "--max-parallel-jobs",
        "1",
        "--total-timesteps",
        "20000",
        "--gpus",
        "1",
        "--nodes",
        "1",
    ]
    r = subprocess.run(
        hwscale_cmd("sweep", *args), capture_output=True, text=True, env=cli_env(), timeout=600
    )
    assert r.returncode == 0, r.stdout + r.stderr
    store = Store.open_default()
    rows = store.trial_rows(["e2e.g1n1"])
    assert [row["idx"] for row in rows] == [1, 2, 3] and {row["state"] for row in rows} == {
        "finished"
    }
    for row in rows:
        assert row["agent_steps"] >= 20000 and row["runtime_s"] > 0 and row["cost_usd"] > 0
        lines = [
            json.loads(x)
            for x in (app_paths().runs / row["run_id"] / "metrics.jsonl").read_text().splitlines()
        ]
        final, updates = lines[-1], lines[:-1]
        assert final["final"] is True and row["score"] == pytest.approx(final["sweep/score"])
        # the trainer wrote its learning curve to the store: one history point per update
        history = store.history(row["run_id"])
        assert updates and [h.agent_step for h in history] == [
            u["metric/agent_step"] for u in updates
        ]
        trained = json.loads(row["params_json"])
        log = (app_paths().runs / row["run_id"] / "trial.log").read_text()
        assert f"run={row['run_id']}" in log and f"batch={trained['trainer.batch_size']}" in log
    # the first trial is the search center (the trainer's defaults), and it learns
    assert json.loads(rows[0]["suggestion_json"])["how"] == "center" and rows[0]["score"] > 100
    assert r.stdout.splitlines()[-1].split()[1] == "done"


def test_a_manual_train_store_true_never_rewrites_a_finished_sweep_trial(tmp_path):
    """QA's report: `train run=<finished trial> store=true` on 1 rank overwrote a 2-GPU trial's
    score and steps and mixed its curve. The sweep's own trials write the store; the manual run
    is refused (exit 2, one sentence) and the trial, its history and its metrics file stay."""
    sweep = hwscale_cmd(
        "sweep",
        *("--new-experiment", "qa", "--max-trials", "1", "--batch-size", "1"),
        *("--max-parallel-jobs", "1", "--total-timesteps", "4096", "--gpus", "2", "--nodes", "1"),
    )
    r = subprocess.run(sweep, capture_output=True, text=True, env=cli_env(), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr

    def recorded(run_id: str) -> tuple:
        with Store.open_default() as store:
            history = store.conn.execute(
                "SELECT * FROM history WHERE run_id = ? ORDER BY agent_step", (run_id,)
            ).fetchall()
            return store.get_trial_row(run_id), [tuple(h) for h in history]

    [row] = Store.open_default().trial_rows(["qa.g2n1"])
    run_id, metrics = row["run_id"], app_paths().runs / row["run_id"] / "metrics.jsonl"
    before, metrics_before = recorded(run_id), metrics.read_bytes()
    assert row["state"] == "finished" and (row["gpus"], row["agent_steps"]) == (2, 4096)
    assert [h[1] for h in before[1]] == [2048, 4096]  # written by the trial's own trainer

    manual = hwscale_cmd(
        "train", "-q", f"run={run_id}", "store=true", "trainer.total_timesteps=3000"
    )
    r = subprocess.run(manual, capture_output=True, text=True, env=cli_env(), timeout=300)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(
        f"hwscale-tui: error: run {run_id} is a finished trial of sweep qa.g2n1"
    )
    assert (
        len(r.stderr.splitlines()) == 1 and "accepted: a run id the store does not have" in r.stderr
    )
    assert recorded(run_id) == before and metrics.read_bytes() == metrics_before
