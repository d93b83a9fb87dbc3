"""``hwscale-tui trials`` and the import discipline of the sources package."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store
from tests.support.cli import hwscale_cmd
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs


@pytest.fixture
def seeded():
    with Store.open_default() as store:
        for i, sweep in enumerate(
            ["hardware_scaling.g1n1", "hardware_scaling.g2n1", "hardware_scaling.g2n1"], 1
        ):
            store.insert_trial(
                f"{sweep}_trial_{i:04d}_aaaaaa",
                sweep,
                idx=i,
                state="finished",
                score=0.5 + i / 10,
                params={"trainer.optimizer.learning_rate": 0.001 * i, "trainer.batch_size": 1024},
            )
        store.insert_trial(
            "hardware_scaling.g4n1_trial_0001_bbbbbb",
            "hardware_scaling.g4n1",
            idx=1,
            state="nonsense",
        )


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["trials", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_json_lists_the_records_of_the_local_store(seeded, capsys):
    rc, out, _ = run_cli(capsys, "--json")
    data = json.loads(out)
    assert rc == 0 and data["source"] == "local" and data["flagged"] == 1 and data["requests"] == 1
    by_id = {t["run_id"]: t for t in data["trials"]}
    assert len(by_id) == 4
    t = by_id["hardware_scaling.g2n1_trial_0002_aaaaaa"]
    assert (t["gpus"], t["nodes"], t["state"], t["score"]) == (2, 1, "finished", 0.7)
    assert t["params"] == {"trainer.batch_size": 1024, "trainer.optimizer.learning_rate": 0.002}
    assert by_id["hardware_scaling.g4n1_trial_0001_bbbbbb"]["flags"] == ["unknown state 'nonsense'"]


def test_csv_with_sweep_filter_by_pair_tag_has_param_columns(seeded, capsys):
    rc, out, _ = run_cli(capsys, "--csv", "--sweep", "g2n1")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and [r["run_id"] for r in rows] == [
        "hardware_scaling.g2n1_trial_0002_aaaaaa",
        "hardware_scaling.g2n1_trial_0003_aaaaaa",
    ]
    assert rows[0]["params.trainer.optimizer.learning_rate"] == "0.002" and rows[0]["gpus"] == "2"
    assert rows[0]["flags"] == ""


def test_table_shows_trials_and_explains_flags(seeded, capsys):
    rc, out, _ = run_cli(capsys)
    assert rc == 0 and "4 trials from local" in out and "trial_0002_aaaaaa" in out
    assert "unknown state 'nonsense'" in out and "1 flagged" in out
    assert "; 1 request this poll" in out  # one SQL query; it said "1 request(s)"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sweep", "g3n1"], "--sweep 'g3n1' is not a sweep of experiment 'hardware_scaling'"),
        (["--source", "wandb"], "--source wandb needs WANDB_API_KEY"),
        (["--experiment", "missing.toml"], "the file does not exist"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_writes_nothing(capsys, args, message):
    rc, out, err = run_cli(capsys, *args)
    assert rc == 2 and out == "" and message in err and err.count("\n") == 1
    assert not os.path.exists(app_paths().data) and not os.path.exists(app_paths().state)


def test_json_and_csv_together_are_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["trials", "--json", "--csv"])
    assert e.value.code == 2


def test_wandb_source_end_to_end_in_a_child_process(tmp_path):
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1", "g4n1"], 3)
    with WandbLoopback(runs) as server:
        env = server.client_env(tmp_path / "wandb-dir")

        def trials(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                hwscale_cmd(
                    "trials",
                    *("--experiment", str(experiment_file), "--source", "wandb"),
                    *("--sweep", "g2n1", *args),
                ),
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )

        proc = trials("--json")
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        expected = [r for r in runs if r.group == "hardware_scaling.g2n1"]
        assert [t["run_id"] for t in data["trials"]] == [r.name for r in expected]
        assert [t["score"] for t in data["trials"]] == [r.summary["sweep/score"] for r in expected]
        assert server.counts["Runs"] == 1 and server.unknown == []
        assert data["requests"] == len(server.requests) == 2  # the key check, the query
        assert "k" * 40 not in proc.stdout + proc.stderr

        curves = trials("--csv", "--history")
        assert curves.returncode == 0, curves.stderr
        rows = list(csv.DictReader(io.StringIO(curves.stdout)))
        assert sorted({r["run_id"] for r in rows}) == sorted(r.name for r in expected)
        for run in expected:  # every logged point of the curve metric, in step order
            mine = [r for r in rows if r["run_id"] == run.name]
            logged = [h for h in run.history if "overview/reward" in h]
            assert len(mine) == len(logged) >= 2, (len(mine), len(logged))
            assert [float(r["score"]) for r in mine] == [h["overview/reward"] for h in logged]
            steps = [float(r["agent_step"]) for r in mine]
            assert steps == sorted(steps) and len(set(steps)) == len(steps)
        assert server.unknown == []


def test_analyze_refuses_a_generation_the_experiment_never_had_before_asking_wandb(
    tmp_path, capsys, monkeypatch
):
    """``analyze --generation 9`` asked W&B first: with W&B down it exited 1 ("unavailable")
    for bad input, and with W&B up it sent its requests first. ``trials`` checked first."""
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    with WandbLoopback() as server:
        monkeypatch.setenv("WANDB_BASE_URL", server.url)
        rc = main(["analyze", "--experiment", str(experiment_file), "--generation", "9"])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and err.count("\n") == 0, err
        assert "--generation 9: experiment hardware_scaling has no such generation" in err, err
        assert server.requests == []  # nothing asked of W&B


def test_analyze_with_a_key_wandb_refuses_asks_for_another_key_not_a_retry(
    tmp_path, capsys, monkeypatch
):
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    runs = experiment_runs("hardware_scaling", ["g1n1"], 2)
    with WandbLoopback(runs, api_key="r" * 40) as server:  # not the key in the environment
        monkeypatch.setenv("WANDB_BASE_URL", server.url)
        rc = main(["analyze", "--experiment", str(experiment_file)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "W&B refused the API key (HTTP 401)" in err, err
    assert "; set a WANDB_API_KEY W&B accepts, or analyze an export" in err, err
    assert "retry" not in err, err


def test_wandb_unreachable_is_exit_1_with_a_reason(tmp_path, capsys, monkeypatch):
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    with WandbLoopback() as server:
        url = server.url
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", url)  # nothing listens there any more
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    rc, out, err = run_cli(capsys, "--experiment", str(experiment_file))
    assert rc == 1 and out == "" and "could not read trials" in err and url in err
    # analyze says the same with the same exit code (it exited 2, as if the input were bad)
    rc = main(["analyze", "--experiment", str(experiment_file)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.count("\n") == 0, err
    assert (
        err.startswith("hwscale-tui: error: the wandb trial source is unavailable (") and url in err
    )
    assert err.endswith("retry, or analyze an export with --trials FILE.csv.")


def test_sources_and_the_command_import_no_wandb_textual_or_rich_until_used():
    code = (
        "import sys\n"
        "import hwscale_tui.commands.trials\n"
        "from hwscale_tui.config import default_config\n"
        "from hwscale_tui.sources import make_source, Poller\n"
        "src = make_source(default_config('metta'))\n"
        "assert src.kind == 'wandb' and len(src.sweeps) == 8\n"
        "Poller(src, interval_s=5)\n"
        "print(sorted(m for m in ('wandb', 'textual', 'rich', 'requests', 'pandas', 'numpy') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_csv_history_is_what_analyze_reads_back(seeded, tmp_path, capsys):
    with Store.open_default() as store:
        for i, run in enumerate(["g1n1_trial_0001", "g2n1_trial_0002", "g2n1_trial_0003"], 1):
            store.append_history(
                f"hardware_scaling.{run}_aaaaaa",
                [
                    {"agent_step": s, "wall_s": s / 100, "score": s * i / 1000, "cost_usd": None}
                    for s in (100, 200, 300)
                ],
            )
    rc, trials_csv, _ = run_cli(capsys, "--csv", "--sweep", "g1n1", "--sweep", "g2n1")
    assert rc == 0
    rc, history_csv, _ = run_cli(capsys, "--csv", "--history", "--sweep", "g1n1", "--sweep", "g2n1")
    rows = list(csv.DictReader(io.StringIO(history_csv)))
    assert rc == 0 and len(rows) == 9
    assert rows[0] == {
        "run_id": "hardware_scaling.g1n1_trial_0001_aaaaaa",
        "agent_step": "100.0",
        "wall_s": "1.0",
        "score": "0.1",
        "cost_usd": "",
    }
    (tmp_path / "t.csv").write_text(trials_csv)
    (tmp_path / "h.csv").write_text(history_csv)
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert main([*argv, "--bootstrap", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["config"]: r["n_curves"] for r in out["per_config"]} == {"g1n1": 1, "g2n1": 2}


def test_history_without_csv_is_one_sentence_exit_2(capsys):
    rc, out, err = run_cli(capsys, "--history")
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "accepted: trials --csv --history." in err


def test_csv_history_metric_picks_the_curve_and_refuses_what_no_trial_logged(seeded, capsys):
    with Store.open_default() as store:
        store.append_history(
            "hardware_scaling.g1n1_trial_0001_aaaaaa",
            [
                {"agent_step": s, "wall_s": s / 100, "score": s / 1000, "reward": s / 10}
                for s in (100, 200)
            ],
        )
    base = ["--csv", "--history", "--sweep", "g1n1"]
    rc, out, _ = run_cli(capsys, *base, "--metric", "reward")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and [r["score"] for r in rows] == ["10.0", "20.0"]
    rc, out, _ = run_cli(capsys, *base)  # the default: [analysis] curve_metric, score here
    assert rc == 0 and [r["score"] for r in csv.DictReader(io.StringIO(out))] == ["0.1", "0.2"]
    rc, out, err = run_cli(capsys, *base, "--metric", "nope/metric")
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "--metric 'nope/metric': no trial's history has that metric" in err
    rc, out, err = run_cli(capsys, "--csv", "--metric", "reward")
    assert rc == 2 and out == "" and "accepted: trials --csv --history --metric KEY." in err


@pytest.mark.parametrize(("table", "args"), [("trials", ()), ("history", ("--csv", "--history"))])
def test_a_store_missing_a_table_says_what_to_do(seeded, capsys, table, args):
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(app_paths().store)) as c:
        c.execute(f"DROP TABLE {table}")
        c.commit()
    rc, _, err = run_cli(capsys, *args)
    assert rc == 1 and err.count("\n") == 1, err
    # the store's sentence: the file, what is wrong, and what to do
    assert str(app_paths().store) in err and "no such table" in err, err
    assert "run hwscale-tui doctor" in err, err


def test_sweep_by_pair_tag_selects_that_pair_in_every_generation(capsys):
    """--sweep g1n1 (a pair tag, the same in every generation) chose only generation 1's sweep:
    `--sweep g1n1 --generation 2` printed 0 trials, exit 0."""
    with Store.open_default() as store:
        for gen in (1, 2):
            store.add_generation("hardware_scaling", gen, f"fp{gen}", {}, "test")
            sweep = "hardware_scaling.g1n1" + ("" if gen == 1 else f".gen{gen}")
            store.insert_trial(f"{sweep}_trial_0001_aaaaaa", sweep, idx=1, state="finished")
        store.insert_trial(
            "hardware_scaling.g2n1.gen2_trial_0001_bbbbbb",
            "hardware_scaling.g2n1.gen2",
            idx=1,
            state="finished",
        )

    def ids(*args: str) -> list[str]:
        rc, out, err = run_cli(capsys, "--json", *args)
        assert rc == 0, err
        return sorted(t["run_id"] for t in json.loads(out)["trials"])

    both = [
        "hardware_scaling.g1n1.gen2_trial_0001_aaaaaa",
        "hardware_scaling.g1n1_trial_0001_aaaaaa",
    ]
    assert ids("--sweep", "g1n1") == both
    assert ids("--sweep", "g1n1", "--generation", "2") == both[:1]
    # a sweep's own name (with or without the experiment) is that one generation's sweep
    assert ids("--sweep", "hardware_scaling.g1n1") == both[1:]
    assert ids("--sweep", "g1n1.gen2") == both[:1]


def test_a_failed_trials_reason_is_in_every_output_and_read_back(tmp_path, capsys):
    """The store keeps why a trial failed; trials showed it nowhere (only sweep --status)."""
    reason = "exit code 3: trainer.batch_size=1000 cannot be split\n(see the log)"
    with Store.open_default() as store:
        store.insert_trial(
            "hardware_scaling.g1n1_trial_0001_cccccc",
            "hardware_scaling.g1n1",
            idx=1,
            state="failed",
            error=reason,
        )
        store.insert_trial(
            "hardware_scaling.g1n1_trial_0002_cccccc",
            "hardware_scaling.g1n1",
            idx=2,
            state="finished",
            score=1.0,
        )
    rc, out, _ = run_cli(capsys)
    assert rc == 0
    one_line = "exit code 3: trainer.batch_size=1000 cannot be split (see the log)"
    assert f"failed hardware_scaling.g1n1_trial_0001_cccccc: {one_line}" in out.splitlines()
    rc, out, _ = run_cli(capsys, "--json")
    errors = {t["run_id"][-11:]: t["error"] for t in json.loads(out)["trials"]}
    assert errors == {"0001_cccccc": reason, "0002_cccccc": None}
    rc, out, _ = run_cli(capsys, "--csv")
    rows = {r["run_id"][-11:]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["0001_cccccc"]["error"] == reason and rows["0002_cccccc"]["error"] == ""
    # analyze --trials reads the exported reason back
    from hwscale_tui.analysis.tables import read_trials_csv

    path = tmp_path / "t.csv"
    path.write_text(out)
    back = {t.run_id[-11:]: t.error for t in read_trials_csv(path)[0]}
    assert back == {"0001_cccccc": one_line, "0002_cccccc": None}


def test_reading_wandb_gives_stdout_and_stderr_their_own_write_back(tmp_path):
    """Importing wandb wraps sys.stdout.write and sys.stderr.write (its console capture, three
    context managers per call); every later write paid for it -- `trials --json` of 4000 runs
    took 3-4 s instead of ~1 s, and the app's frames go out through stderr."""
    code = (
        "import sys\n"
        "from hwscale_tui import config as c\n"
        "from hwscale_tui.sources import make_source\n"
        "cfg = c.apply_overrides(c.default_config('metta'), {'wandb.entity': sys.argv[1]})\n"
        "result = make_source(cfg, 'wandb').poll()\n"
        "assert 'wandb' in sys.modules and len(result.trials) == 2, result\n"
        "import wandb.sdk.lib.console_capture  # imported with wandb: it wrapped the streams\n"
        "print([n for n in ('stdout', 'stderr', '__stdout__', '__stderr__')\n"
        "       if 'write' in vars(getattr(sys, n))])\n"
    )
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        env = server.client_env(tmp_path / "wandb-dir")
        proc = subprocess.run(
            [sys.executable, "-c", code, DEFAULT_ENTITY],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_analyze_says_when_wandb_gave_the_trials_but_none_of_their_curves(
    tmp_path, capsys, monkeypatch
):
    """Every history request failing read as 'no trial has a learning curve to analyze' (exit
    2, as if the trials had logged none); it is the source's failure (exit 1) with its reason."""
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 2)
    with WandbLoopback(runs) as server:
        monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
        monkeypatch.setenv("WANDB_BASE_URL", server.url)
        monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
        server.fail("500", times=1000, operation="RunSampledHistory")
        rc = main(["analyze", "--experiment", str(experiment_file), "--bootstrap", "0"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 1, err
    assert err.startswith("hwscale-tui: error: the wandb trial source gave no learning curve (")
    assert "HTTP 500" in err and err.endswith("--trials FILE.csv --history FILE.csv.")


def test_trials_says_how_many_requests_it_sent_to_wandb(tmp_path, capsys, monkeypatch):
    """`trials` printed "1 request(s) this poll" where it sent 3 (two key checks, the query;
    now 2: the client's own key check is the one our probe sent, so it is not sent again)."""
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 2)) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        rc, out, _ = run_cli(capsys, "--experiment", str(experiment_file))
        assert rc == 0 and len(server.requests) == 2
        assert out.rstrip().splitlines()[-1].endswith("; 2 requests this poll")
        server.reset_counts()
        rc, out, _ = run_cli(capsys, "--experiment", str(experiment_file), "--json")
        assert rc == 0 and json.loads(out)["requests"] == len(server.requests) == 2


def test_analyze_says_how_many_wandb_curves_it_could_not_read_and_why(
    tmp_path, capsys, monkeypatch
):
    """Some curves read and some not: analyze analyzed the rest without a word. One note (a
    stderr line, the report's notes, the JSON's notes) says how many and the first reason, and
    the JSON carries them as ``curves_unread``."""
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1", "g4n1"], 4, history_points=30)
    order = [r.name for r in sorted(runs, key=lambda r: (r.group, r.created_at))]
    analyze = ["analyze", "--experiment", str(experiment_file), "--bootstrap", "0", "--json"]
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        server.fail("500", times=1000, operation="RunSampledHistory", run=order[9])
        rc = main(analyze)
        out = capsys.readouterr()
        assert rc == 0, out.err
        data = json.loads(out.out)
        unread = data["curves_unread"]
        assert unread["run_ids"] == [order[9]] and (unread["trials"], unread["of"]) == (1, 12)
        assert unread["older_cached"] == 0 and "HTTP 500" in unread["reason"]
        said = [n for n in data["notes"] if "could not be read" in n]
        assert len(said) == 1 and said[0].startswith(
            f"Learning curves of 1 of 12 trials could not be read from W&B (W&B at {server.url} "
            "answered HTTP 500): they are analyzed without one"
        )
        assert f"analyze: {said[0]}" in out.err.splitlines()
        assert sum(r["n_trials"] for r in data["per_config"]) == 12

        server.clear_faults()  # read again: every curve (the 11 read before from the cache)
        assert main(analyze) == 0
        out = capsys.readouterr()
        data = json.loads(out.out)
        assert data["curves_unread"] is None and "could not be read" not in out.err


def test_an_unknown_generation_is_refused_before_wandb_is_asked(tmp_path, capsys, monkeypatch):
    """`trials --generation 7` read every run from W&B first (3 requests), then exited 2; with a
    malformed key it exited 1 on the key, never saying the generation was wrong."""
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    sentence = (
        "hwscale-tui: error: --generation 7: experiment hardware_scaling has no such generation; "
        "accepted: 1.\n"
    )
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        rc, out, err = run_cli(capsys, "--experiment", str(experiment_file), "--generation", "7")
        assert (rc, out, err) == (2, "", sentence)
        assert server.requests == []
    monkeypatch.setenv("WANDB_API_KEY", "short")
    rc, out, err = run_cli(capsys, "--experiment", str(experiment_file), "--generation", "7")
    assert (rc, out, err) == (2, "", sentence)


def test_csv_history_says_how_many_curves_it_could_not_read_and_prints_none(
    tmp_path, capsys, monkeypatch
):
    """One run's history failing read as 'could not read learning curves: ...' with no word of
    which or how many, though the other curves had been read."""
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 2)
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        server.fail("500", times=2, operation="RunSampledHistory", run=runs[1].name)
        rc, out, err = run_cli(capsys, "--experiment", str(experiment_file), "--csv", "--history")
        url = server.url
    assert (rc, out) == (1, "")
    assert err == (
        "hwscale-tui: error: could not read the learning curves of 1 of 4 trials "
        f"(W&B at {url} answered HTTP 500); nothing was printed.\n"
    )


def test_sweep_on_an_experiment_with_no_pair_is_one_clear_sentence(tmp_path, capsys):
    """It read '...; accepted:  (or their pair tags like g4n1).' with an empty list."""
    exp = tmp_path / "e.toml"
    exp.write_text('[grid]\ngpu_counts = [1]\nnode_counts = [1]\nexclude = ["g1n1"]\n')
    rc, out, err = run_cli(capsys, "--experiment", str(exp), "--sweep", "g1n1")
    assert (rc, out) == (2, "")
    assert err == (
        "hwscale-tui: error: --sweep 'g1n1' is not a sweep of experiment 'hardware_scaling', "
        "whose grid has no pair (each is in grid.exclude or above grid.max_gpus_per_node); "
        "accepted: no --sweep, or a grid with pairs.\n"
    )


def test_csv_history_metric_is_not_refused_before_any_trial_logged_a_point(seeded, capsys):
    """With no history logged yet, `--metric score` (the default itself) was refused: "no
    trial's history has that metric; accepted: ... like the default 'score'", where the same
    command without --metric printed the header; nothing logged says nothing about the metric."""
    header = "run_id,agent_step,wall_s,score,cost_usd\n"
    for metric in ("score", "reward", "nope/metric"):
        rc, out, err = run_cli(capsys, "--csv", "--history", "--metric", metric)
        assert (rc, out, err) == (0, header, ""), metric
    with Store.open_default() as store:  # once a trial logged its curve, a wrong metric is told
        store.append_history(
            "hardware_scaling.g1n1_trial_0001_aaaaaa", [{"agent_step": 1, "wall_s": 1, "score": 1}]
        )
    rc, out, err = run_cli(capsys, "--csv", "--history", "--metric", "nope/metric")
    assert (rc, out) == (2, "") and "no trial's history has that metric" in err


def test_a_cost_below_a_cent_is_not_shown_as_free(capsys):
    """A local trial's cost of $0.0015 was shown as 0.00 in the table's cost column."""
    with Store.open_default() as store:
        for i, cost in enumerate((0.0015, 0.0, 0.006, None), 1):
            store.insert_trial(
                f"hardware_scaling.g1n1_trial_{i:04d}_aaaaaa",
                "hardware_scaling.g1n1",
                idx=i,
                state="finished",
                score=1.0,
                cost_usd=cost,
            )
    rc, out, _ = run_cli(capsys)
    costs = [line.split()[5] for line in out.splitlines() if "trial_000" in line]
    assert rc == 0 and costs == ["<0.01", "0.00", "0.01", "-"]


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (
            {"WANDB_API_KEY": "short"},
            "WANDB_API_KEY is malformed (API key must have 40+ characters",
        ),
        ({"WANDB_API_KEY": "k" * 39 + " "}, "WANDB_API_KEY is malformed (it starts or ends with"),
        ({"WANDB_BASE_URL": "htp:/x"}, "WANDB_BASE_URL 'htp:/x' is not an http(s) URL; accepted:"),
        (
            {"WANDB_BASE_URL": "https://wandb.ai"},
            "is refused by the wandb client (https://wandb.ai",
        ),
    ],
)
def test_a_malformed_wandb_key_or_url_is_bad_input_exit_2_and_nothing_is_sent(
    tmp_path, capsys, monkeypatch, env, said
):
    """They exited 1 ("could not read trials" / "source unavailable"), the code for a W&B that
    cannot be reached, though retrying never helps: the environment is the user's input."""
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        for name, value in {**server.client_env(tmp_path / "wandb-dir"), **env}.items():
            monkeypatch.setenv(name, value)
        for command in (["trials"], ["analyze"]):
            rc = main([*command, "--experiment", str(experiment_file)])
            out = capsys.readouterr()
            assert (rc, out.out, out.err.count("\n")) == (2, "", 1), (command, out.err)
            assert out.err.startswith("hwscale-tui: error: ") and said in out.err, out.err
            assert "accepted: " in out.err, out.err
        assert server.requests == []
