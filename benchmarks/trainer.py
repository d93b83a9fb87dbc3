"""Benchmark the built-in trainer on CartPole-v1: throughput for 1 and 2 ranks, time to 475, memory.

Every number comes from this run: the baseline rows (the bare vectorized env, one rank) are
measured here, next to the rows compared against them.

    .venv/bin/python benchmarks/trainer.py            # table
    .venv/bin/python benchmarks/trainer.py --json     # machine-readable
    .venv/bin/python benchmarks/trainer.py --steps 100000 --seed 1

Targets (issue 3): >= 15k env steps/s for one rank; 2-rank speed-up >= 1.6x. The 2-rank rows
run the same per-rank work as one rank (16 envs x 64 steps, 4 minibatches per rank per epoch)
-- weak scaling, as adding GPUs on a cluster does -- plus, for reference, the 2-rank preset center.

Other people's processes share this machine, so next to wall-clock throughput the table shows
a CPU-time view: ``steps/CPU-s`` is agent steps per CPU second of the slowest rank's training
loop -- the steps/s each rank would reach on a core of its own, barrier waits excluded. The
targets are judged on wall-clock numbers; the load average before the run is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TARGET_SCORE = 475.0
TARGET_SPS_ONE_RANK = 15_000
TARGET_SPEEDUP = 1.6


@dataclass
class Row:
    name: str
    ranks: int
    batch: int
    minibatch: int
    sps: float  # agent steps / wall time of the whole run (start-up included)
    steady_sps: float  # after the first update (start-up excluded)
    speedup: float | None
    steps_to_target: int | None
    seconds_to_target: float | None
    final_score: float | None
    peak_rss_mb_per_rank: float | None
    cpu_sps: float  # agent steps / CPU seconds of the slowest rank's training loop
    cpu_speedup: float | None


def env_only_sps(seconds: float = 2.0) -> float:
    """The bare numpy-vectorized CartPole with random actions: the ceiling a trainer approaches."""
    import gymnasium as gym
    import numpy as np

    env = gym.make_vec("CartPole-v1", num_envs=16, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        env.step(rng.integers(0, 2, 16))
        steps += 16
    return steps / (time.perf_counter() - t0)


def independent_runs_sps(tokens: list[str], copies: int = 2) -> float:
    """Aggregate steps/s of ``copies`` one-rank trainings running at once with no all-reduce
    between them: what this machine gives two busy processes (the ceiling for 2 synced ranks)."""
    from hwscale_tui.paths import app_paths

    repo = Path(__file__).resolve().parent.parent
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hwscale_tui", "train", f"run=bench_independent_{i}", *tokens, "-q"],
            cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for i in range(copies)
    ]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("independent runs: a training run failed")
    finals = [
        json.loads((app_paths().runs / f"bench_independent_{i}" / "metrics.jsonl").read_text().splitlines()[-1])
        for i in range(copies)
    ]
    return sum(f["overview/sps"] for f in finals)


def train_row(name: str, tokens: list[str], baseline: Row | None) -> Row:
    from hwscale_tui.train import parse_overrides, run_training

    cfg = parse_overrides(tokens)
    result = run_training(cfg)
    if result.state != "finished":
        raise SystemExit(f"{name}: training {result.state}: {result.error}")
    lines = [json.loads(line) for line in Path(result.metrics_file).read_text().splitlines()]
    updates = [line for line in lines if not line.get("final")]
    first, last = updates[0], updates[-1]
    steady = (last["metric/agent_step"] - first["metric/agent_step"]) / max(
        last["metric/total_time"] - first["metric/total_time"], 1e-9
    )
    hit = next((u for u in updates if u["score"] is not None and u["score"] >= TARGET_SCORE), None)
    rss = result.rank_peak_rss_bytes
    cpu_sps = result.agent_steps / max(result.rank_train_cpu_s)
    return Row(
        name=name, ranks=cfg.ranks, batch=cfg.batch_size, minibatch=cfg.minibatch_size,
        sps=result.sps, steady_sps=steady,
        speedup=result.sps / baseline.sps if baseline else None,
        steps_to_target=hit["metric/agent_step"] if hit else None,
        seconds_to_target=hit["metric/total_time"] if hit else None,
        final_score=result.score,
        peak_rss_mb_per_rank=max(rss) / 2**20 if rss else None,
        cpu_sps=cpu_sps,
        cpu_speedup=cpu_sps / baseline.cpu_sps if baseline else None,
    )


def run(steps: int, seed: int) -> dict:
    load_before = os.getloadavg()[0]
    env_sps = env_only_sps()
    common = [f"trainer.total_timesteps={steps}", f"seed={seed}", "env=CartPole-v1"]
    one = train_row("1 rank (default)", ["run=bench_1rank", *common], None)
    rows = [
        one,
        train_row("2 ranks, same work per rank", ["run=bench_2rank", "hardware.gpus=2", "trainer.minibatch_size=512", *common], one),
        train_row("2 ranks, preset center", ["run=bench_2rank_center", "hardware.gpus=2", *common], one),
    ]
    independent = independent_runs_sps(common)
    return {
        "cpu_count": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "env_only_sps": round(env_sps),
        "independent_pair_sps": round(independent),
        "independent_pair_speedup": round(independent / one.sps, 2),
        "rows": [row.__dict__ for row in rows],
        "targets": {
            "one_rank_sps": {"target": TARGET_SPS_ONE_RANK, "measured": round(one.sps), "met": one.sps >= TARGET_SPS_ONE_RANK},
            "two_rank_speedup": {"target": TARGET_SPEEDUP, "measured": round(rows[1].speedup, 2), "met": rows[1].speedup >= TARGET_SPEEDUP},
        },
    }


def _fmt(value, spec: str = "", none: str = "-") -> str:
    return none if value is None else format(value, spec)


def print_table(report: dict) -> None:
    print(
        f"CartPole-v1, {report['cpu_count']} CPUs, load average before: {report['load_average_before']}, "
        f"after: {report['load_average_after']}"
    )
    print(f"baseline: bare vectorized env (16 envs, random actions): {report['env_only_sps']:,} steps/s")
    print(
        f"baseline: 2 independent 1-rank runs at once, no all-reduce (this machine's ceiling for 2 ranks): "
        f"{report['independent_pair_sps']:,} steps/s = {report['independent_pair_speedup']:.2f} x one rank\n"
    )
    header = (
        f"{'configuration':<28} {'batch/mb':>9} {'steps/s':>8} {'steady':>8} {'speed-up':>8} {'steps/CPU-s':>11} "
        f"{'CPU speed-up':>12} {'steps->475':>10} {'s->475':>6} {'final':>6} {'RSS/rank':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in report["rows"]:
        print(
            f"{r['name']:<28} {str(r['batch']) + '/' + str(r['minibatch']):>9} {r['sps']:>8,.0f} {r['steady_sps']:>8,.0f} "
            f"{_fmt(r['speedup'], '.2f', '1.00'):>8} {r['cpu_sps']:>11,.0f} {_fmt(r['cpu_speedup'], '.2f', '1.00'):>12} "
            f"{_fmt(r['steps_to_target'], ','):>10} {_fmt(r['seconds_to_target'], '.1f'):>6} "
            f"{_fmt(r['final_score'], '.1f'):>6} {_fmt(r['peak_rss_mb_per_rank'], '.0f'):>5} MB"
        )
    print()
    for name, t in report["targets"].items():
        print(f"target {name}: >= {t['target']:,}  measured {t['measured']:,}  {'MET' if t['met'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000, help="agent steps per training run (default 200000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hwscale-bench-") as home:
        os.environ["HWSCALE_HOME"] = home  # never the user's state
        report = run(args.steps, args.seed)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
