"""How fast `hwscale-tui --help` and `plan --json` start, against a bare interpreter in the same run.

python benchmarks/cli_startup.py [--repeat 15] [--json]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "python -c 'import argparse, rich' (baseline)": [sys.executable, "-c", "import argparse, rich"],
    "hwscale-tui --version": [sys.executable, "-m", "hwscale_tui", "--version"],
    "hwscale-tui --help": [sys.executable, "-m", "hwscale_tui", "--help"],
    "hwscale-tui plan --json": [sys.executable, "-m", "hwscale_tui", "plan", "--json"],
}


def measure(argv: list[str], repeat: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True
        )
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error(f"--repeat takes a number from 1, not {args.repeat}")
    home = tempfile.mkdtemp(prefix="hwscale-bench-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    env = dict(os.environ, HWSCALE_HOME=home)
    rows = {}
    for name, argv in CASES.items():
        measure(argv, 1, env)  # warm the page cache
        t = measure(argv, args.repeat, env)
        rows[name] = {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t)}
    base = rows["python -c pass (baseline)"]["median_s"]
    for r in rows.values():
        r["ratio_vs_python"] = r["median_s"] / base
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'command':<46} {'median':>8} {'min':>8} {'max':>8} {'x python':>9}")
    for name, r in rows.items():
        print(
            f"{name:<46} {r['median_s'] * 1000:7.0f}ms {r['min_s'] * 1000:7.0f}ms {r['max_s'] * 1000:7.0f}ms {r['ratio_vs_python']:8.1f}x"
        )


if __name__ == "__main__":
    main()
