"""Short real training runs: metrics lines, identical parameters across ranks, the store, W&B offline."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from hwscale_tui.train import parse_overrides, run_training
from hwscale_tui.train.sinks import COST_KEY, LOSS_KEYS

UPDATE_KEYS = {
    "metric/agent_step",
    "metric/total_time",
    "overview/sps",
    "overview/reward",
    "score",
    COST_KEY,
    *LOSS_KEYS,
}
FINAL_KEYS = {
    "sweep/score",
    "sweep/cost",
    "metric/agent_step",
    "metric/total_time",
    "overview/sps",
    "final",
    "state",
}

pytestmark = pytest.mark.slow


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_ranks_keep_identical_parameters_and_write_one_line_per_update():
    cfg = parse_overrides(["run=dp", "hardware.gpus=2", "trainer.total_timesteps=16384", "seed=3"])
    result = run_training(cfg)
    assert (result.state, result.exit_code, result.error) == ("finished", 0, None)
    assert result.updates == cfg.updates == 8
    assert len(result.rank_param_hashes) == 2 and len(set(result.rank_param_hashes)) == 1
    assert result.params_in_sync
    assert len(result.rank_pids) == 2 and len(set(result.rank_pids)) == 2
    assert len(result.rank_peak_rss_bytes) == 2 and min(result.rank_peak_rss_bytes) > 10 * 2**20
    assert len(result.rank_train_cpu_s) == 2 and min(result.rank_train_cpu_s) > 0

    assert result.metrics_file == app_paths().runs / "dp" / "metrics.jsonl"
    lines = read_lines(result.metrics_file)
    updates, final = lines[:-1], lines[-1]
    assert len(updates) == 8
    for i, line in enumerate(updates, start=1):
        assert set(line) == UPDATE_KEYS
        assert line["metric/agent_step"] == i * cfg.batch_size
    assert all(
        b["metric/total_time"] >= a["metric/total_time"] for a, b in zip(updates, updates[1:])
    )
    assert (
        set(final) - {"error"} == FINAL_KEYS
        and final["final"] is True
        and final["state"] == "finished"
    )
    assert final["sweep/score"] == result.score == updates[-1]["score"]
    assert final["metric/agent_step"] == result.agent_steps == 8 * cfg.batch_size
    # sweep/cost = price x ranks x hours
    expected_cost = cfg.price_per_gpu_hour * 2 * final["metric/total_time"] / 3600
    assert final["sweep/cost"] == pytest.approx(expected_cost, rel=1e-3)
    assert result.metrics_file.stat().st_mode & 0o777 == 0o600
    assert (
        app_paths().runs.stat().st_mode & 0o777 == 0o700
        and result.metrics_file.parent.stat().st_mode & 0o777 == 0o700
    )


def test_three_ranks_split_an_uneven_batch_and_stay_in_step():
    # 3 ranks, the preset's center batch 4096: 64 envs dealt 22/21/21 (a power-of-two batch
    # never splits evenly over 3 ranks; such pairs were refused before any trial could run)
    cfg = parse_overrides(["run=dp3", "hardware.gpus=3", "trainer.total_timesteps=8192"])
    assert cfg.rank_envs() == [22, 21, 21]
    result = run_training(cfg)
    assert (result.state, result.exit_code, result.error) == ("finished", 0, None)
    assert result.updates == 2 and result.agent_steps == 2 * 4096
    assert len(result.rank_pids) == 3 and len(set(result.rank_param_hashes)) == 1
    assert result.params_in_sync


def test_rank_parameters_differ_between_seeds():
    """The parameter hash is sensitive: a different seed gives different parameters."""
    hashes = []
    for seed in (0, 1):
        cfg = parse_overrides([f"run=s{seed}", f"seed={seed}", "trainer.total_timesteps=2048"])
        hashes.append(run_training(cfg).rank_param_hashes[0])
    assert hashes[0] != hashes[1]


def test_store_gets_the_trial_its_history_and_final_state(tmp_path):
    metrics = tmp_path / "custom" / "m.jsonl"
    cfg = parse_overrides(
        [
            "run=st1",
            "group=exp.g1n1",
            "store=true",
            "trainer.total_timesteps=6144",
            "trainer.optimizer.learning_rate=0.001",
            f"metrics_file={metrics}",
            "cost.price_per_gpu_hour=2.0",
        ]
    )
    result = run_training(cfg)
    assert result.state == "finished" and result.metrics_file == metrics
    with Store.open_default() as store:
        row = store.get_trial_row("st1")
        assert row["sweep"] == "exp.g1n1" and (row["gpus"], row["nodes"]) == (1, 1)
        assert row["state"] == "finished" and row["ended_at"] is not None and row["error"] is None
        assert json.loads(row["params_json"]) == cfg.swept_params()
        assert row["score"] == pytest.approx(result.score)
        assert row["cost_usd"] == pytest.approx(2.0 * result.total_time_s / 3600, rel=1e-3)
        assert row["agent_steps"] == 6144 and row["metrics_path"] == str(metrics)
        history = store.conn.execute(
            "SELECT * FROM history WHERE run_id = 'st1' ORDER BY agent_step"
        ).fetchall()
        assert [h["agent_step"] for h in history] == [1024 * i for i in range(1, 7)]
        extra = json.loads(history[-1]["extra_json"])
        assert set(LOSS_KEYS) <= set(extra)
        assert store.histories(["st1"], "losses/entropy")["st1"][0].score == pytest.approx(
            read_lines(metrics)[0]["losses/entropy"]
        )


def test_store_row_made_by_the_sweep_runner_is_reused(monkeypatch):
    # the environment the sweep runner gives the trial process it starts for the row
    monkeypatch.setenv("HWSCALE_RUN_ID", "st2")
    monkeypatch.setenv("HWSCALE_SWEEP", "exp.g1n1")
    with Store.open_default() as store:
        store.insert_trial(
            "st2", "exp.g1n1", idx=4, gpus=1, nodes=1, params={"x": 1}, state="queued"
        )
    result = run_training(
        parse_overrides(["run=st2", "group=exp.g1n1", "store=true", "trainer.total_timesteps=2048"])
    )
    assert result.exit_code == 0
    with Store.open_default() as store:
        rows = store.trial_rows(["exp.g1n1"])
    assert len(rows) == 1 and rows[0]["idx"] == 4 and rows[0]["state"] == "finished"
    assert rows[0]["agent_steps"] == 2048


def test_acrobot_trains_with_a_sync_vector_env():
    result = run_training(
        parse_overrides(["run=acro", "env=Acrobot-v1", "trainer.total_timesteps=8192"])
    )
    assert result.state == "finished" and result.agent_steps == 8192
    assert (
        result.score is not None and -500.0 <= result.score < 0.0
    )  # -1 per step until the swing-up


def _wandb_records(run_file: Path) -> dict[str, list]:
    from wandb.proto import wandb_internal_pb2 as pb
    from wandb.sdk.internal import datastore

    ds = datastore.DataStore()
    ds.open_for_scan(str(run_file))
    records: dict[str, list] = {}
    while (data := ds.scan_data()) is not None:
        rec = pb.Record()
        rec.ParseFromString(data)
        kind = rec.WhichOneof("record_type")
        records.setdefault(kind, []).append(getattr(rec, kind))
    return records


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # raised inside wandb's own sentry hook
def test_wandb_offline_run_follows_the_key_contract(tmp_path, monkeypatch):
    run_dir = tmp_path / "wb"
    monkeypatch.setenv("WANDB_DIR", str(run_dir))
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)  # present, and never written anywhere
    cfg = parse_overrides(
        ["run=wb1", "group=exp.g1n1", "wandb.mode=offline", "trainer.total_timesteps=3072"]
    )
    result = run_training(cfg)
    assert result.state == "finished"
    (run_file,) = run_dir.glob("wandb/offline-run-*-wb1/run-wb1.wandb")
    # wandb's service process may still be writing the file when finish() returns: poll for the exit record.
    records: dict[str, list] = {}
    deadline = time.monotonic() + 120
    while "exit" not in records and time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            records = _wandb_records(run_file)
        except Exception:  # a block still being written; read again
            records = {}
    (run,) = records["run"]
    assert (run.run_id, run.display_name, run.run_group) == ("wb1", "wb1", "exp.g1n1")
    assert list(run.tags) == ["hwscale", "g1n1"]
    config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert config["hardware"] == {"gpus": 1, "nodes": 1}
    assert config["trainer.optimizer.learning_rate"] == cfg.learning_rate
    history = [
        {
            item.nested_key[0] if item.nested_key else item.key: json.loads(item.value_json)
            for item in h.item
        }
        for h in records["history"]
    ]
    assert [h["metric/agent_step"] for h in history] == [1024, 2048, 3072]
    assert all("score" in h and "overview/reward" in h for h in history)
    summary = {}
    for s in records["summary"]:
        for item in s.update:
            summary[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    assert summary["sweep/score"] == pytest.approx(result.score)
    assert summary["sweep/cost"] == pytest.approx(result.cost_usd)
    assert summary["sweep/suggestion"] == cfg.swept_params()
    assert (
        summary["metric/agent_step"] == 3072
        and "overview/sps" in summary
        and "metric/total_time" in summary
    )
    assert records["exit"][0].exit_code == 0
    assert b"x" * 40 not in b"".join(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())


def test_a_diverging_run_fails_saying_so(tmp_path):
    # it failed with "ValueError: Out of range float values are not JSON compliant" (the
    # metrics file refusing a NaN loss) after numpy's overflow warnings on stderr
    import subprocess

    from tests.support.cli import cli_env, hwscale_cmd

    metrics = tmp_path / "m.jsonl"
    proc = subprocess.run(
        hwscale_cmd(
            "train",
            "-q",
            "trainer.optimizer.learning_rate=1e30",
            "trainer.total_timesteps=8192",
            f"metrics_file={metrics}",
        ),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc
    assert "hwscale-tui train: error: training diverged at update " in proc.stderr, proc.stderr
    assert "try a smaller trainer.optimizer.learning_rate" in proc.stderr
    assert "JSON" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    final = read_lines(metrics)[-1]
    assert final["state"] == "failed" and final["error"].startswith("training diverged")
