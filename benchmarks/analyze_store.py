"""``hwscale-tui analyze`` end to end on a store of 8 pairs x 200 trials x 1000-point curves.

Two comparisons, each against a baseline measured in the same run (interleaved, medians):

- reading the curves: the local trial source's ``histories()`` for every trial (what
  ``analyze`` calls) against a plain ``sqlite3`` fetch of the same rows (``run_id, agent_step,
  wall_s, score, cost_usd`` of those runs, ordered, ``fetchall()``). Target: ratio <= 1.3.
- the command: ``hwscale-tui analyze --json`` in a fresh interpreter, from start to exit,
  against a fresh interpreter that imports the analysis and runs ``analyze()`` on the same
  trials and curves (already in memory: loading them is not timed), i.e. imports +
  ``analyze()`` itself. Target: ratio <= 2.

The store is written once into a temporary ``HWSCALE_HOME`` from the seeded synthetic
experiment (``tests.support.synthetic``, seed 0); ``HWSCALE_USABLE_CORES=16`` so that the local
default grid keeps all 8 pairs as scaling data (on this 2-core machine the larger ones would be
set aside as oversubscribed).

    python benchmarks/analyze_store.py [--repeat 5] [--trials 200] [--points 1000] [--json]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import pickle
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout and tests.support

READ_TARGET = 1.3
COMMAND_TARGET = 2.0
GRID = {"grid.gpu_counts": [1, 2, 4, 8], "grid.node_counts": [1, 2], "grid.exclude": []}

BASELINE_CHILD = r"""
import pickle, sys, time
t0 = time.perf_counter()
from hwscale_tui.analysis import analyze, settings_from_config
t1 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    cfg, trials, histories = pickle.load(f)
t2 = time.perf_counter()
analyze(trials, histories, settings_from_config(cfg))
t3 = time.perf_counter()
print(f"{t1 - t0:.6f} {t3 - t2:.6f}")
"""


def build(home: Path, trials_per_pair: int, points: int, env: dict[str, str]):
    """Write the store and the experiment file; return (cfg, file, run_ids)."""
    os.environ.update(env)  # paths.app_paths() reads HWSCALE_HOME from the environment
    from hwscale_tui import config as cfgmod
    from hwscale_tui.hardware import HardwarePair
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store
    from tests.support.demo import DemoData, write_demo_store
    from tests.support.synthetic import SyntheticTruth, synthetic_experiment

    cfg = cfgmod.apply_overrides(
        cfgmod.default_config(env=env),
        {"experiment.name": "bench", "sweep.max_trials": trials_per_pair, **GRID},
    )
    file = home / "bench.toml"
    cfgmod.save(cfg, file)
    pairs = [HardwarePair(g, n) for n in (1, 2) for g in (1, 2, 4, 8)]
    trials, histories, _ = synthetic_experiment(
        pairs, trials_per_pair, points, SyntheticTruth(), seed=0, experiment=cfg.name
    )
    paths = app_paths().ensure()
    with Store(paths.store) as store:
        write_demo_store(store, cfg, DemoData(trials, histories))
    return cfg, file, [t.run_id for t in trials]


def plain_fetch(store_path: Path, run_ids: list[str]) -> float:
    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        t0 = time.perf_counter()
        rows = []
        for i in range(0, len(run_ids), 900):  # SQLite's bound-parameter cap, as the source does
            chunk = run_ids[i : i + 900]
            rows += conn.execute(
                "SELECT run_id, agent_step, wall_s, score, cost_usd FROM history "
                f"WHERE run_id IN ({', '.join('?' for _ in chunk)}) ORDER BY run_id, agent_step",
                chunk,
            ).fetchall()
        return time.perf_counter() - t0
    finally:
        conn.close()


def source_read(cfg, run_ids: list[str]) -> tuple[float, int]:
    from hwscale_tui.sources import make_source

    source = make_source(cfg, "local")  # a fresh source: no curve cached
    t0 = time.perf_counter()
    curves = source.histories(run_ids, cfg.analysis.curve_metric)
    elapsed = time.perf_counter() - t0
    return elapsed, sum(len(c) for c in curves.values())


def command_seconds(file: Path, env: dict[str, str]) -> float:
    exe = str(Path(sys.executable).with_name("hwscale-tui"))
    t0 = time.perf_counter()
    subprocess.run(
        [exe, "analyze", "--experiment", str(file), "--json"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    return time.perf_counter() - t0


def baseline_seconds(data: Path, env: dict[str, str]) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", BASELINE_CHILD, str(data)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--trials", type=int, default=200, help="trials per pair (8 pairs)")
    p.add_argument("--points", type=int, default=1000, help="points per learning curve")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--home",
        metavar="DIR",
        help="HWSCALE_HOME to build the store in, or to reuse when it holds one from an earlier run "
        "with the same --trials/--points (default: a new temporary directory)",
    )
    args = p.parse_args()
    if min(args.repeat, args.trials) < 1 or args.points < 2:
        # one point per curve is its step-0 score alone: analyze has no best score to aim at
        p.error("--repeat and --trials take a number from 1, --points one from 2")
    if args.home is not None and Path(args.home).exists() and not Path(args.home).is_dir():
        p.error(f"--home {args.home} is a file, not a directory to build the store in")

    import compileall

    compileall.compile_dir(REPO / "hwscale_tui", quiet=1)  # as an install has (see tui.py)
    if args.home is None:  # a store of its own: removed at exit (--home keeps it for reuse)
        home = Path(tempfile.mkdtemp(prefix="hwscale-bench-")).resolve()
        atexit.register(shutil.rmtree, home, ignore_errors=True)
    else:
        home = Path(args.home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HWSCALE_HOME=str(home), HWSCALE_USABLE_CORES="16")
    stamp = home / "bench-size.txt"
    t0 = time.perf_counter()
    if stamp.exists() and stamp.read_text().split() == [str(args.trials), str(args.points)]:
        os.environ.update(env)
        from hwscale_tui import config as cfgmod

        file = home / "bench.toml"
        cfg = cfgmod.load(file)
        run_ids = None
    else:
        cfg, file, run_ids = build(home, args.trials, args.points, env)
        stamp.write_text(f"{args.trials} {args.points}")
    build_s = time.perf_counter() - t0

    from hwscale_tui.paths import app_paths
    from hwscale_tui.sources import make_source

    store_path = app_paths().store
    source = make_source(cfg, "local")
    trials = [t for t in source.poll().trials]
    run_ids = run_ids or [t.run_id for t in trials]
    histories = source.histories([t.run_id for t in trials], cfg.analysis.curve_metric)
    data = home / "data.pickle"
    with data.open("wb") as f:
        pickle.dump((cfg, trials, histories), f)

    fetch, read, command, imports, analyze_s = [], [], [], [], []
    points = 0
    plain_fetch(store_path, run_ids)  # warm the page cache
    for _ in range(args.repeat):
        fetch.append(plain_fetch(store_path, run_ids))
        s, points = source_read(cfg, run_ids)
        read.append(s)
    for _ in range(args.repeat):
        command.append(command_seconds(file, env))
        i, a = baseline_seconds(data, env)
        imports.append(i)
        analyze_s.append(a)
    med = statistics.median
    base = med(imports) + med(analyze_s)
    result: dict[str, Any] = {
        "workload": f"8 pairs x {args.trials} trials x {args.points}-point curves "
        f"({points:,} history rows), default analysis settings (1000 bootstrap resamples)",
        "build_s": build_s,
        "plain_fetch_s": med(fetch),
        "source_histories_s": med(read),
        "read_ratio": med(read) / med(fetch),
        "command_s": med(command),
        "imports_s": med(imports),
        "analyze_s": med(analyze_s),
        "command_ratio": med(command) / base,
        "targets": {"read_ratio": READ_TARGET, "command_ratio": COMMAND_TARGET},
        "load_average": os.getloadavg(),
    }
    result["met"] = {
        "read": result["read_ratio"] <= READ_TARGET,
        "command": result["command_ratio"] <= COMMAND_TARGET,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(result["workload"])
    rows = [
        ("plain sqlite3 fetch of the same rows (baseline)", result["plain_fetch_s"], ""),
        (
            "local source histories() (what analyze reads)",
            result["source_histories_s"],
            f"ratio {result['read_ratio']:.2f} (target <= {READ_TARGET})",
        ),
        ("imports of the analysis (baseline part)", result["imports_s"], ""),
        ("analyze() on the same data (baseline part)", result["analyze_s"], ""),
        (
            "`hwscale-tui analyze --json`, end to end",
            result["command_s"],
            f"ratio {result['command_ratio']:.2f} to imports + analyze() "
            f"(target <= {COMMAND_TARGET:g})",
        ),
    ]
    w = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{w}}  {value:8.3f} s  {note}")
    print(f"load average {result['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
