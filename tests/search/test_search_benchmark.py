"""benchmarks/optimizer.py --quick --json runs and prints exactly the issue's schema.

Three seeds of 12 trials cannot rank the optimizers reliably, so only the schema and the
internal consistency of the numbers are checked here; the full run is in BENCHMARKS.md.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from tests.support.cli import REPO


def test_quick_json_run_has_the_issue_schema():
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "optimizer.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert set(result) == {"problems", "latency_s"}
    assert set(result["problems"]) == {"branin", "hartmann6", "ppo_like"}
    for name, p in result["problems"].items():
        assert set(p) == {"regret", "ratio_vs_tpe", "ratio_vs_random"}, name
        regret = p["regret"]
        assert set(regret) == {"ours", "tpe", "random"}
        assert all(math.isfinite(v) and v >= 0 for v in regret.values()), regret
        assert p["ratio_vs_tpe"] == regret["ours"] / regret["tpe"]
        assert p["ratio_vs_random"] == regret["ours"] / regret["random"]
    assert set(result["latency_s"]) == {"10", "100", "500"}
    assert all(v > 0 for v in result["latency_s"].values())
