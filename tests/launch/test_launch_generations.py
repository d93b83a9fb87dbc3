"""Generations: a relaunch never mixes trials run under different comparability settings.

Real SQLite stores, real configs; the end-to-end test runs the real CLI (built-in runner, real
trainer, local dispatcher) twice with a changed budget.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import UsageError
from hwscale_tui.hardware import (
    HardwarePair,
    generation_of_sweep,
    pair_from_sweep_name,
    pair_tag_of,
    parse_pair,
)
from hwscale_tui.launch.generations import (
    GenerationChangeRequired,
    check_for_sweep,
    compare,
    decide_for_launch,
    fingerprint,
    settings,
)
from hwscale_tui.store import SCHEMA_VERSION, Store
from tests.support.cli import cli_env, hwscale_cmd


def _cfg(**sections: dict) -> cfgmod.ExperimentConfig:
    data = {"experiment": {"name": "exp"}, "grid": {"gpu_counts": [1, 2], "node_counts": [1]}}
    for k, v in sections.items():
        data.setdefault(k, {}).update(v)
    return cfgmod.from_dict(data, env={})


def _trial(store: Store, cfg: cfgmod.ExperimentConfig, idx: int, runtime_s: float = 3600.0):
    sweep = HardwarePair(2, 1).sweep_name(cfg.name, cfg.generation)
    store.insert_trial(
        f"{sweep}_trial_{idx:04d}",
        sweep,
        experiment=cfg.name,
        idx=idx,
        gpus=2,
        nodes=1,
        state="finished",
        score=1.0,
        runtime_s=runtime_s,
        cost_usd=999.0,
        generation=cfg.generation,
    )


def test_sweep_names_carry_the_generation_from_2_on():
    pair = HardwarePair(4, 2)
    assert pair.sweep_name("exp") == "exp.g4n2"
    assert pair.sweep_name("exp", 3) == "exp.g4n2.gen3"
    for name in ("exp.g4n2", "exp.g4n2.gen3", "my.exp.v1.g4n2.gen12"):
        assert pair_from_sweep_name(name) == pair
        assert parse_pair(name) == pair
        assert pair_tag_of(name) == "g4n2"
    assert generation_of_sweep("exp.g4n2") == 1
    assert generation_of_sweep("exp.g4n2.gen3") == 3
    assert generation_of_sweep("exp.gen3.g4n2") == 1  # only a suffix counts


def test_what_changes_comparability_and_what_does_not(tmp_path):
    base = _cfg(sweep={"total_timesteps": 30000, "max_trials": 3})
    fp = fingerprint(settings(base))
    same = {
        "more trials": _cfg(sweep={"total_timesteps": 30000, "max_trials": 4}),
        "parallelism": _cfg(
            sweep={"total_timesteps": 30000, "max_trials": 3, "max_parallel_jobs": 2}
        ),
        "delay": _cfg(sweep={"total_timesteps": 30000, "max_trials": 3}, launch={"delay_s": 1}),
        "pairs": _cfg(sweep={"total_timesteps": 30000, "max_trials": 3}, grid={"gpu_counts": [1]}),
        "price": _cfg(
            sweep={"total_timesteps": 30000, "max_trials": 3}, cost={"price_per_gpu_hour": 1.0}
        ),
    }
    for why, cfg in same.items():
        assert fingerprint(settings(cfg)) == fp, why
    different = {
        "budget": _cfg(sweep={"total_timesteps": 200000, "max_trials": 3}),
        "env": _cfg(sweep={"total_timesteps": 30000, "env": "Acrobot-v1"}),
        "metric goal": _cfg(sweep={"total_timesteps": 30000, "goal": "minimize"}),
        "dispatcher": _cfg(
            sweep={"total_timesteps": 30000},
            experiment={"dispatcher": "skypilot"},
            wandb={"mode": "online"},
        ),
        "runner": _cfg(sweep={"total_timesteps": 30000}, experiment={"runner": "metta"}),
        "forwarded args": _cfg(
            sweep={"total_timesteps": 30000}, launch={"extra_args": ["trainer.seed=3"]}
        ),
    }
    for why, cfg in different.items():
        assert fingerprint(settings(cfg)) != fp, why


def test_changed_budget_is_refused_then_a_new_generation_keeps_old_trials_apart(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    old = _cfg(sweep={"total_timesteps": 30000, "max_trials": 3})
    decide_for_launch(store, old).record(store)
    for i in (1, 2, 3):
        _trial(store, old, i)
    new = _cfg(sweep={"total_timesteps": 200000, "max_trials": 4})
    with pytest.raises(GenerationChangeRequired) as err:
        decide_for_launch(store, new, hint_command="hwscale-tui launch -e x.toml")
    msg = str(err.value)
    assert "sweep.total_timesteps 30000 -> 200000" in msg
    assert "hwscale-tui launch -e x.toml --new-generation" in msg
    assert msg.count(".") >= 1 and "\n" not in msg
    assert store.latest_generation("exp") == 1  # nothing recorded by the refusal
    # more max_trials alone is fine: same generation, no refusal
    more = _cfg(sweep={"total_timesteps": 30000, "max_trials": 5})
    assert decide_for_launch(store, more).generation == 1
    # a running pair blocks a new generation
    with pytest.raises(
        UsageError, match="g2n1 of experiment exp is still running or due to start in generation 1"
    ):
        decide_for_launch(store, new, new_generation=True, running=["g2n1"])
    with pytest.raises(
        UsageError,
        match="g1n1, g2n1 of experiment exp are still running or due to start in generation",
    ):
        decide_for_launch(store, new, new_generation=True, running=["g1n1", "g2n1"])
    d = decide_for_launch(store, new, new_generation=True)
    assert (d.generation, d.started_new) == (2, True)
    d.record(store)
    assert store.latest_generation("exp") == 2
    gens = store.generations("exp")
    assert gens[1]["reason"] == "sweep.total_timesteps 30000 -> 200000"
    assert len(store.trials(experiment="exp")) == 3  # generation 1's trials are all kept


def test_a_price_change_recosts_the_generation_instead_of_starting_one(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    cfg = _cfg(cost={"price_per_gpu_hour": 2.0})
    decide_for_launch(store, cfg).record(store)
    _trial(store, cfg, 1, runtime_s=1800.0)
    store.append_history(
        "exp.g2n1_trial_0001", [{"agent_step": 10, "wall_s": 900.0, "cost_usd": 5.0}]
    )
    cheaper = _cfg(cost={"price_per_gpu_hour": 1.0})
    d = decide_for_launch(store, cheaper)
    assert (d.generation, d.started_new, d.price_change) == (1, False, (2.0, 1.0))
    d.record(store)
    assert d.recosted == 1 and "re-costed 1 trial of" in d.note
    row = store.get_trial_row("exp.g2n1_trial_0001")
    assert row["cost_usd"] == pytest.approx(1.0 * 2 * 1 * 0.5)  # $1 x 2 GPUs x half an hour
    hist = store.conn.execute("SELECT cost_usd FROM history").fetchone()[0]
    assert hist == pytest.approx(1.0 * 2 * 900 / 3600)
    assert json.loads(store.generations("exp")[0]["settings_json"])["price_per_gpu_hour"] == 1.0


def test_a_sweep_run_directly_with_changed_settings_is_refused(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    cfg = _cfg(sweep={"total_timesteps": 30000})
    assert check_for_sweep(store, cfg) == fingerprint(settings(cfg))  # records generation 1
    assert store.latest_generation("exp") == 1
    changed = _cfg(sweep={"total_timesteps": 99999})
    with pytest.raises(GenerationChangeRequired, match="--new-generation") as e:
        check_for_sweep(store, changed)
    # the hint can be pasted: the experiment's name when it has no file (it said -e FILE)
    assert "accepted: hwscale-tui launch --experiment-name exp --new-generation" in str(e.value)
    changed.path = tmp_path / "my exp.toml"
    with pytest.raises(GenerationChangeRequired) as e:
        check_for_sweep(store, changed)
    assert f"accepted: hwscale-tui launch -e '{tmp_path / 'my exp.toml'}' --new-generation" in str(
        e.value
    )


def test_an_old_store_is_upgraded_in_place_and_its_trials_become_generation_1(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE sweeps (sweep TEXT PRIMARY KEY, experiment TEXT, gpus INTEGER,
            nodes INTEGER, runner TEXT, dispatcher TEXT, max_trials INTEGER, status TEXT,
            pid INTEGER, proc_start REAL, started_at REAL, updated_at REAL, config_json TEXT);
        CREATE TABLE trials (run_id TEXT PRIMARY KEY, sweep TEXT NOT NULL, experiment TEXT,
            idx INTEGER, gpus INTEGER, nodes INTEGER, state TEXT NOT NULL,
            params_json TEXT NOT NULL DEFAULT '{}', score REAL, cost_usd REAL,
            agent_steps REAL, runtime_s REAL, sps REAL, created_at REAL, updated_at REAL,
            started_at REAL, ended_at REAL, pid INTEGER, pgid INTEGER, proc_start REAL,
            job_name TEXT, log_path TEXT, metrics_path TEXT, error TEXT, suggestion_json TEXT,
            source TEXT NOT NULL DEFAULT 'local');
        INSERT INTO trials (run_id, sweep, experiment, idx, gpus, nodes, state, score)
            VALUES ('exp.g1n1_trial_0001', 'exp.g1n1', 'exp', 1, 1, 1, 'finished', 0.5);
        """
    )
    old_cfg = _cfg(sweep={"total_timesteps": 30000})
    conn.execute(
        "INSERT INTO sweeps (sweep, experiment, config_json, updated_at) VALUES (?, ?, ?, 1)",
        ("exp.g1n1", "exp", json.dumps(old_cfg.to_dict())),
    )
    conn.commit()
    conn.close()
    # read-only opening of the old store works and reports no generations
    with Store(path, readonly=True) as ro:
        assert ro.generations("exp") == [] and ro.latest_generation("exp") == 1
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        [trial] = store.trials(experiment="exp")
        assert (trial.generation, trial.score) == (1, 0.5)
        # the old trials' settings come from their sweep's recorded config
        comp, _ = compare(store, _cfg(sweep={"total_timesteps": 60000}))
        assert comp.recorded and [c[0] for c in comp.changes] == ["total_timesteps"]
        with pytest.raises(GenerationChangeRequired):
            decide_for_launch(store, _cfg(sweep={"total_timesteps": 60000}))
        assert decide_for_launch(store, old_cfg).generation == 1


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hwscale_cmd(*args),
        env=cli_env(HWSCALE_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_relaunch_with_a_changed_budget(tmp_path):
    home = tmp_path / "home"
    exp = tmp_path / "exp.toml"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "budget"},
            "grid": {"gpu_counts": [1], "node_counts": [1]},
            "sweep": {"total_timesteps": 2048, "max_trials": 1, "batch_size": 1},
            "launch": {"delay_s": 0},
        },
        env={},
    )
    cfgmod.save(cfg, exp)
    first = _cli("launch", "-e", str(exp), "--foreground", home=home)
    assert first.returncode == 0, first.stderr
    assert "generation:          1\n" in first.stdout

    bigger = _cli(
        "launch", "-e", str(exp), "--total-timesteps", "4096", "--max-trials", "2", home=home
    )
    assert bigger.returncode == 2
    err = bigger.stderr.strip().splitlines()
    assert len(err) == 1, err
    assert "sweep.total_timesteps 2048 -> 4096" in err[0]
    # the hint is the same command plus --new-generation, and it works when pasted
    hint = err[0].split("accepted: ", 1)[1].split(" (starts generation 2", 1)[0]
    assert hint.startswith("hwscale-tui launch -e ") and hint.endswith("--new-generation")
    store = Store(home / "data" / "hwscale.sqlite", readonly=True)
    assert len(store.trials(experiment="budget")) == 1 and store.latest_generation("budget") == 1
    store.close()

    argv = hint.split()[1:] + ["--foreground"]
    second = _cli(*argv, home=home)
    assert second.returncode == 0, second.stderr
    assert "generation:          2 (new" in second.stdout

    listed = json.loads(_cli("trials", "-e", str(exp), "--json", home=home).stdout)
    by_gen = sorted((t["generation"], t["sweep"]) for t in listed["trials"])
    assert by_gen[0] == (1, "budget.g1n1")
    assert {s for g, s in by_gen if g == 2} == {"budget.g1n1.gen2"}
    assert sum(1 for g, _ in by_gen if g == 2) == 2
    only1 = json.loads(
        _cli("trials", "-e", str(exp), "--json", "--generation", "1", home=home).stdout
    )
    assert [t["generation"] for t in only1["trials"]] == [1]

    res = _cli("analyze", "-e", str(exp), "--bootstrap", "0", "--json", home=home)
    assert res.returncode == 0, res.stderr
    notes = json.loads(res.stdout)["notes"]
    assert notes[0].startswith("Trials analyzed: generation 2 of experiment budget (2 trials)")
    bad = _cli("analyze", "-e", str(exp), "--generation", "7", home=home)
    assert bad.returncode == 2 and "accepted: 1 to 2" in bad.stderr

    old = json.loads(_cli("status", "--generation", "1", "--json", home=home).stdout)
    assert old["generation"] == 1 and old["newest_generation"] == 2
    assert old["pairs"] == [
        {
            "pair": "g1n1",
            "trials_done": 1,
            "finished": 1,
            "best_score": old["pairs"][0]["best_score"],
            "in_grid": True,  # g1n1 is still in the experiment file's grid
        }
    ]
    assert "first launch" in old["started_because"]
    newest = json.loads(_cli("status", "--json", home=home).stdout)
    assert newest["generation"] == 2 and newest["generations"] == 2
    assert [p["sweep_name"] for p in newest["pairs"]] == ["budget.g1n1.gen2"]
    bad = _cli("status", "--generation", "3", home=home)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "accepted: 1 to 2" in bad.stderr
