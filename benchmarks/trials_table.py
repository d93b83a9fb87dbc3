"""`hwscale-tui trials` (the table) against `trials --json` and `--csv` on a store of N trials.

Baseline measured in the same run: the same trials rendered with a rich Table (how the table
was drawn before), in-process. Each command runs as a real process against a private
HWSCALE_HOME; calls are interleaved and medians compared.

python benchmarks/trials_table.py [--trials 10000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def make_store(home: Path, n: int) -> None:
    os.environ["HWSCALE_HOME"] = str(home)
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store

    with Store(app_paths().store) as st, st.transaction():
        for g in (1, 2, 4, 8):
            st.upsert_sweep(
                f"hardware_scaling.g{g}n1", experiment="hardware_scaling", gpus=g, nodes=1
            )
        for i in range(n):
            g = (1, 2, 4, 8)[i % 4]
            sweep = f"hardware_scaling.g{g}n1"
            st.insert_trial(
                f"{sweep}_trial_{i:05d}_abcdef",
                sweep,
                experiment="hardware_scaling",
                idx=i + 1,
                gpus=g,
                nodes=1,
                state="finished",
                score=float(i % 500),
                cost_usd=0.1,
                agent_steps=2e5,
                runtime_s=30.0,
                sps=5000.0,
                params={"trainer.batch_size": 1024, "trainer.optimizer.learning_rate": 1e-3},
            )


def once(args: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [str(REPO / ".venv/bin/hwscale-tui"), "trials", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        check=True,
    )
    return time.perf_counter() - t0


def rich_table_s() -> float:
    """The pre-change renderer: a rich Table of the same columns, printed to a buffer."""
    from rich.console import Console
    from rich.table import Table

    from hwscale_tui.config import default_config
    from hwscale_tui.sources import make_source

    t0 = time.perf_counter()
    trials = make_source(default_config(env={}), "local").poll().trials
    table = Table(show_edge=False)
    for col in ("gen", "pair", "run id", "state", "score", "cost $", "steps", "runtime", "SPS"):
        table.add_column(col, no_wrap=True)
    for t in trials:
        table.add_row(
            str(t.generation),
            t.sweep[-4:],
            t.run_id,
            t.state,
            f"{t.score:.4g}",
            f"{t.cost_usd:.2f}",
            str(t.agent_steps),
            str(t.runtime_s),
            str(t.sps),
        )
    Console(file=io.StringIO(), width=120).print(table)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.trials < 1 or a.repeat < 1:
        ap.error("--trials and --repeat take a number from 1")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        make_store(home, a.trials)
        env = dict(os.environ, HWSCALE_HOME=str(home), COLUMNS="120")
        cases: dict[str, list[float]] = {
            "trials (table)": [],
            "trials --json": [],
            "trials --csv": [],
        }
        times: dict[str, list[float]] = {k: [] for k in cases}
        times["rich Table (before), in-process"] = []
        for _ in range(a.repeat):
            times["trials (table)"].append(once([], env))
            times["trials --json"].append(once(["--json"], env))
            times["trials --csv"].append(once(["--csv"], env))
            times["rich Table (before), in-process"].append(rich_table_s())
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["trials (table)"] / med["trials --json"]
    if a.json:
        print(json.dumps({"trials": a.trials, "median_s": med, "table_over_json": ratio}, indent=2))
        return
    print(f"{a.trials} trials, median of {a.repeat} (interleaved)")
    print(f"{'case':<36} {'median s':>9}")
    for k, v in med.items():
        print(f"{k:<36} {v:>9.2f}")
    print(f"table / --json: {ratio:.2f}x (target: within 2x)")


if __name__ == "__main__":
    main()
