"""benchmarks/optimizer.py --quick --json runs and prints its documented schema.

Three seeds of 12 trials cannot rank the optimizers reliably, so only the schema and the
internal consistency of the numbers are checked here; the full run is in BENCHMARKS.md. The GP
peer (Optuna's GPSampler) needs torch, which CI does not install, so CI runs TPE and random.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from tests.support.cli import REPO


def test_quick_json_run_has_the_documented_schema():
    r = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "optimizer.py"),
            "--quick",
            "--json",
            "--suite",
            "test",
            "--problems",
            "rosenbrock4,rl_a",
            "--peers",
            "tpe,random",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert set(result) == {"problems", "latency_s", "suite", "seeds", "trials"}
    assert (result["suite"], result["seeds"], result["trials"]) == ("test", 3, 12)
    assert set(result["problems"]) == {"rosenbrock4", "rl_a"}
    for name, p in result["problems"].items():
        assert set(p) == {"regret", "seeds_won", "ratio_vs_tpe", "ratio_vs_random"}, name
        regret = p["regret"]
        assert set(regret) == {"ours", "tpe", "random"}
        assert all(math.isfinite(v) and v >= 0 for v in regret.values()), regret
        assert p["ratio_vs_tpe"] == regret["ours"] / regret["tpe"]
        assert p["ratio_vs_random"] == regret["ours"] / regret["random"]
        assert set(p["seeds_won"]) == {"tpe", "random"}
        assert all(0 <= w <= 3 for w in p["seeds_won"].values())
    assert set(result["latency_s"]) == {"10", "100", "500"}
    assert all(v > 0 for v in result["latency_s"].values())


def test_an_unknown_problem_is_one_sentence_and_exit_2():
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "optimizer.py"), "--problems", "nope"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert r.returncode == 2 and "--problems takes names from" in r.stderr
