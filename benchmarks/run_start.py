"""Second start of `bash scripts/run.sh` against `.venv/bin/hwscale-tui` run directly.

Both run `--help` (the same code path, no terminal needed). The first run.sh call installs if
the stamp is missing or stale and is not timed; the timed calls run with the package index
unreachable (PIP_INDEX_URL=http://127.0.0.1:9/), so any pip call would fail them. Calls are
interleaved (this machine's speed drifts) and medians compared.

python benchmarks/run_start.py [--repeat 15] [--json]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CASES = {
    ".venv/bin/hwscale-tui --help (baseline)": [str(REPO / ".venv/bin/hwscale-tui"), "--help"],
    "bash scripts/run.sh --help": ["bash", str(REPO / "scripts/run.sh"), "--help"],
}


def once(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True, cwd=REPO
    )
    return time.perf_counter() - t0


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
    first = once(CASES["bash scripts/run.sh --help"], env)  # installs when the stamp is stale
    offline = dict(env, PIP_INDEX_URL="http://127.0.0.1:9/", PIP_NO_INPUT="1")
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeat):
        for name, argv in CASES.items():
            times[name].append(once(argv, offline))
    rows = {
        name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t)}
        for name, t in times.items()
    }
    base = rows[".venv/bin/hwscale-tui --help (baseline)"]["median_s"]
    for r in rows.values():
        r["ratio_vs_direct"] = r["median_s"] / base
    out: dict[str, Any] = {"first_run_sh_s": first, "cases": rows, "load_avg": os.getloadavg()}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"first run.sh call (installs only if the stamp is stale): {first:.2f} s")
    print(
        f"{'command (index unreachable)':<42} {'median':>8} {'min':>8} {'max':>8} {'x direct':>9}"
    )
    for name, r in rows.items():
        print(
            f"{name:<42} {r['median_s'] * 1000:7.0f}ms {r['min_s'] * 1000:7.0f}ms "
            f"{r['max_s'] * 1000:7.0f}ms {r['ratio_vs_direct']:8.2f}x"
        )
    print(f"load average: {' '.join(f'{x:.1f}' for x in out['load_avg'])}")


if __name__ == "__main__":
    main()
