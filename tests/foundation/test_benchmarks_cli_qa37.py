"""Every benchmark script refuses a bad option with one sentence and exit 2, before it measures.

Before, a zero or negative count ended in a traceback (an empty median, an index error, an
assertion deep in a measurement) or ran and printed a table of nothing; ``sources.py
--trials 20`` (fewer running runs than the default ``--changed 10``) and ``transfer_fit.py
--rounds 46`` (one more result crosses a refit) failed the same way on options that look
fine. The scripts are loaded in-process and their ``main`` called with ``sys.argv`` set: the
checks run right after the arguments are parsed, so nothing is measured, built or written.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.cli import REPO

_LOADED: dict[str, ModuleType] = {}


def _script(name: str) -> ModuleType:
    if name not in _LOADED:
        path = REPO / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"qa37_bench_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        _LOADED[name] = module
    return _LOADED[name]


CASES = [
    ("alignment", ["--draws", "0"], "--draws and every --results take a number from 1"),
    ("alignment", ["--results", "4", "-3"], "--draws and every --results take a number from 1"),
    ("analysis", ["--repeat", "0"], "--repeat takes a number from 1, not 0"),
    ("analyze_store", ["--repeat", "0"], "--repeat and --trials take a number from 1, --points"),
    ("analyze_store", ["--trials", "-1"], "--repeat and --trials take a number from 1, --points"),
    ("analyze_store", ["--points", "1"], "--points one from 2"),
    ("cli_startup", ["--repeat", "-1"], "--repeat takes a number from 1, not -1"),
    ("launch", ["--delay", "-1"], "--delay takes seconds from 0 to 604800, not -1"),
    ("launch", ["--delay", "nan"], "--delay takes seconds from 0 to 604800, not nan"),
    ("optimizer", ["--seeds", "0"], "--seeds, --trials and --workers take a number from 1"),
    ("optimizer", ["--trials", "0"], "--seeds, --trials and --workers take a number from 1"),
    ("optimizer", ["--workers", "0"], "--seeds, --trials and --workers take a number from 1"),
    ("run_start", ["--repeat", "0"], "--repeat takes a number from 1, not 0"),
    ("slurm_cancel", ["--repeat", "0"], "--repeat takes a number from 1, not 0"),
    ("sources", ["--cycles", "0"], "--local-trials, --changed and --cycles take a number from 1"),
    ("sources", ["--local-trials", "-1", "--local-only"], "take a number from 1"),
    ("sources", ["--sweeps", "1", "--trials", "20"], "--changed 10 is more than the 2 running"),
    (
        "sources",
        ["--local-only", "--local-trials", "50"],
        "--changed 10 updates 100 local trials, more than --local-trials 50",
    ),
    ("sweep", ["--repeat", "0"], "--repeat takes a number from 1, --trials one from 2"),
    ("sweep", ["--trials", "1"], "--repeat takes a number from 1, --trials one from 2"),
    ("trainer", ["--repeat", "0"], "--steps and --repeat take a number from 1, --seed one from 0"),
    ("trainer", ["--seed", "-1"], "--steps and --repeat take a number from 1, --seed one from 0"),
    ("transfer", ["--max-rounds", "0"], "--seeds, --max-rounds and --workers take a number from 1"),
    ("transfer_fit", ["--repeats", "0"], "--repeats takes a number from 1, not 0"),
    ("transfer_fit", ["--rounds", "3,x"], "--rounds takes comma-separated whole numbers"),
    (
        "transfer_fit",
        ["--rounds", "1"],
        "--rounds 1: one more result crosses the optimizer's refit",
    ),
    (
        "transfer_fit",
        ["--rounds", "6,3"],
        "--rounds 3: one more result crosses the optimizer's refit",
    ),
    (
        "transfer_fit",
        ["--rounds", "6,69"],
        "so the cached column would time a refit (6, 12 and 24 do not)",
    ),
    ("trials_table", ["--trials", "0"], "--trials and --repeat take a number from 1"),
    ("tui", ["--repeat", "0"], "--repeat takes a number from 1, not 0"),
]


@pytest.mark.parametrize(("name", "argv", "sentence"), CASES)
def test_a_bad_option_is_one_sentence_exit_2_and_nothing_measured(
    name, argv, sentence, monkeypatch, capsys, tmp_path
):
    home = tmp_path / "home"
    monkeypatch.setenv("HWSCALE_HOME", str(home))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))  # some scripts extend it
    monkeypatch.setattr(sys, "path", list(sys.path))
    module = _script(name)
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *argv])
    with pytest.raises(SystemExit) as exc:
        module.main()
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    message = err.strip().splitlines()[-1]
    assert message.startswith(f"{name}.py: error: ") and sentence in message, err
    assert not home.exists()


def test_analyze_store_refuses_before_it_makes_home(monkeypatch, capsys, tmp_path):
    """``--home DIR`` with a bad count: the directory is not created, no store is built."""
    target = tmp_path / "store-home"
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "argv", ["analyze_store.py", "--home", str(target), "--trials", "0"])
    with pytest.raises(SystemExit) as exc:
        _script("analyze_store").main()
    assert exc.value.code == 2 and not Path(target).exists()
    assert "--trials" in capsys.readouterr().err


def test_trainer_benchmark_runs_with_wandb_disabled_whatever_the_callers_mode(monkeypatch):
    """Every training run the benchmark starts says ``wandb.mode=disabled``: with
    ``WANDB_MODE=online`` (or offline) in the caller's environment its runs had logged to W&B,
    which costs time in every row and uploads the benchmark's runs."""
    bench = _script("trainer")
    seen: list[list[str]] = []

    def fake_measure(run_id: str, tokens: list[str]):
        seen.append(tokens)
        return bench.Measurement(1000.0, 1000.0, 1000.0, None, None, 10.0, 40.0)

    def fake_pair(run_id: str, tokens: list[str]) -> float:
        seen.append(tokens)
        return 2000.0

    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setattr(bench, "measure", fake_measure)
    monkeypatch.setattr(bench, "independent_pair_sps", fake_pair)
    monkeypatch.setattr(bench, "env_only_sps", lambda: 5000.0)
    bench.run(1000, 0, 1)
    assert len(seen) == len(bench.CONFIGS) + 1
    assert all("wandb.mode=disabled" in tokens for tokens in seen), seen


@pytest.mark.parametrize("rounds", [3, 6, 12, 24])
def test_transfer_fit_checks_the_refit_schedule_the_optimizer_keeps_with_transfer(rounds):
    """With other pairs' results the optimizer refits every 10% growth, not every 25%: after 3
    rounds (12 results) one more crosses a refit, so the former default's first row timed a
    refit (2.5 s) in its "cached" column. The benchmark's check is the optimizer's schedule."""
    bench = _script("transfer_fit")
    from hwscale_tui.search.protein import ProteinOptimizer, context_key

    rows = bench.data(rounds)
    opt = ProteinOptimizer(bench.pair(8).space, seed=0)
    opt._target = context_key({"total_gpus": 8})  # what the timed suggest(context=) sets
    for g in (1, 2, 4):
        for p, y, s in rows[g][:rounds]:
            opt.observe(p, y, s, context={"total_gpus": g}, space=bench.pair(g).space)
    for p, y, s in rows[8][:rounds]:
        opt.observe(p, y, s)
    n = len(opt.observations)
    before = opt._fit_prefix(n)
    opt.observe(*rows[8][rounds])
    assert bench.crosses_refit(n) == (opt._fit_prefix(n + 1) != before)
    assert bench.crosses_refit(n) == (rounds == 3)


def test_transfer_fit_default_rounds_all_measure_a_cached_suggestion(monkeypatch, capsys):
    bench = _script("transfer_fit")
    timed_rounds: list[int] = []

    def fake_measure(rounds: int):
        timed_rounds.append(rounds)
        return 0.05, 1.0, 0.02, 4

    monkeypatch.setattr(bench, "measure", fake_measure)
    monkeypatch.setattr(sys, "argv", ["transfer_fit.py", "--repeats", "1"])
    bench.main()
    assert timed_rounds == [6, 12, 24]
    assert "cached" in capsys.readouterr().out


def test_a_benchmark_removes_its_temporary_home_when_it_ends(tmp_path):
    """``cli_startup.py`` (the quickest of the scripts that make one) leaves no
    ``hwscale-bench-*`` directory behind; before, every run of cli_startup, run_start, sources,
    sweep, tui and analyze_store (there a whole store of 1.6 million history rows) left its own."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "cli_startup.py"), "--repeat", "1", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "hwscale-tui --help" in r.stdout
    assert list(tmp.iterdir()) == []


def test_sources_counts_a_steady_local_poll_without_the_memory_poll(monkeypatch, tmp_path):
    """The steady local row divided the queries of ``--cycles`` polls plus tracemalloc's extra
    poll by ``--cycles``: with ``--cycles 1`` it said 2 queries and "target MISSED"."""
    monkeypatch.setenv("HWSCALE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    monkeypatch.setattr(sys, "path", list(sys.path))
    rows = _script("sources").bench_local(40, 4, 1)
    steady = next(r for r in rows if r["case"] == "local: ours, steady poll (nothing changed)")
    assert steady["requests"] == 1


def test_optimizer_refuses_a_peer_whose_package_is_missing(monkeypatch, capsys):
    """The documented default (``--peers tpe,gp,random``) without torch (the ``bench`` extra)
    was a ModuleNotFoundError traceback from a worker process."""
    bench = _script("optimizer")
    real = bench.importlib.util.find_spec
    monkeypatch.setattr(
        bench.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "torch" else real(name, *a),
    )
    monkeypatch.setattr(sys, "argv", ["optimizer.py", "--quick"])
    with pytest.raises(SystemExit) as exc:
        bench.main()
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert err.strip().splitlines()[-1] == (
        "optimizer.py: error: --peers gp needs torch, which is not installed "
        "(pip install -e '.[bench]'); without it: --peers tpe,random"
    )


def test_optimizer_refuses_a_cache_it_cannot_read(monkeypatch, capsys, tmp_path):
    cache = tmp_path / "peers.json"
    cache.write_text("{not json")
    monkeypatch.setattr(
        sys, "argv", ["optimizer.py", "--quick", "--peers", "random", "--cache", str(cache)]
    )
    with pytest.raises(SystemExit) as exc:
        _script("optimizer").main()
    assert exc.value.code == 2
    assert f"--cache {cache}: not a JSON file this benchmark wrote" in capsys.readouterr().err


def test_alignment_and_transfer_fit_print_json_as_every_benchmark_does(monkeypatch, capsys):
    """BENCHMARKS.md: each benchmark prints a table and ``--json``; these two had no --json."""
    import json

    import numpy as np

    align = _script("alignment")
    monkeypatch.setattr(
        align,
        "errors",
        lambda family, n, draws: {
            "bump": np.array([0.2, 0.3]),
            "best result": np.array([0.4, 0.5]),
        },
    )
    monkeypatch.setattr(sys, "argv", ["alignment.py", "--draws", "2", "--results", "4", "--json"])
    align.main()
    out = json.loads(capsys.readouterr().out)
    assert out["draws"] == 2 and len(out["rows"]) == len(align.bench.FAMILIES)
    assert out["rows"][0]["bump"] == {"epochs": 0.2, "clip": 0.3}
    assert out["rows"][0]["best_result"] == {"epochs": 0.4, "clip": 0.5}

    fit = _script("transfer_fit")
    monkeypatch.setattr(fit, "measure", lambda rounds: (0.05, 1.0, 0.02, 4))
    monkeypatch.setattr(
        sys, "argv", ["transfer_fit.py", "--rounds", "6", "--repeats", "1", "--json"]
    )
    fit.main()
    out = json.loads(capsys.readouterr().out)
    assert out["space"] == "bench" and out["repeats"] == 1
    assert out["rows"] == [
        {
            "rounds": 6,
            "results": 24,
            "independent_s": 0.05,
            "refit_s": 1.0,
            "cached_s": 0.02,
            "refit_over_independent": 20.0,
            "splits": 4,
        }
    ]


def test_analyze_store_refuses_a_home_that_is_a_file(monkeypatch, capsys, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "argv", ["analyze_store.py", "--home", str(target)])
    with pytest.raises(SystemExit) as exc:
        _script("analyze_store").main()
    assert exc.value.code == 2 and target.read_text() == "mine"
    assert f"--home {target} is a file, not a directory" in capsys.readouterr().err
