"""The sweep runner's own costs: stop latency after SIGTERM and scheduling overhead per trial.

    python benchmarks/sweep.py [--repeat 3] [--trials 6] [--no-trainer] [--json]

Stop latency: a real `hwscale-tui sweep` with 2 trials in flight gets SIGTERM; we time until the
runner has exited and until the last trial process is gone. Trials that exit on SIGTERM, trials
that ignore it (SIGKILL after the 3 s grace), and real `hwscale-tui train` trials. Baseline in
the same run: SIGTERM to a plain process group of 2 sleeping processes until it is gone.
Target (issue 4): the runner exits within 5 s.

Scheduling overhead: a sweep of N short trials, one at a time; the slot time per trial (start to
next start, from the store) against the same trial command run N times in a plain loop.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

import psutil
import tomli_w

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hwscale_tui.store import Store  # noqa: E402

TRIAL = """\
import json, os, signal, sys, time
run_id, metrics = sys.argv[1], sys.argv[2]
if os.environ.get("BENCH_IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
os.makedirs(os.path.dirname(metrics), exist_ok=True)
open(metrics + ".ready", "w").close()
time.sleep(float(os.environ.get("BENCH_TRIAL_S", "0")))
with open(metrics, "a") as fh:
    fh.write(json.dumps({"metric/agent_step": 1, "metric/total_time": 0.1, "score": 1.0}) + "\\n")
    fh.write(json.dumps({"sweep/score": 1.0, "metric/total_time": 0.1, "final": True, "state": "finished"}) + "\\n")
"""
STOP_TARGET_S = 5.0
OVERHEAD_TARGET_S = 1.0


def wait_for(predicate, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError("benchmark condition not reached")


def gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def trial_row(store: Store, run_id: str) -> dict[str, Any]:
    row = store.get_trial_row(run_id)
    assert row is not None  # the store listed this trial
    return row


def tree(pid: int) -> list[int]:
    try:
        return [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class Bench:
    def __init__(self, root: Path):
        self.root = root
        self.script = root / "trial.py"
        self.script.write_text(TRIAL)

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "HWSCALE_HOME": str(home),
            "WANDB_MODE": "disabled",
            "SKYPILOT_DISABLE_LOCAL_API_SERVER": "1",
            **extra,
        }

    def experiment(self, path: Path, name: str, *, template: bool, **sweep) -> Path:
        section = {"max_trials": 4, "batch_size": 2, "max_parallel_jobs": 2, **sweep}
        if template:
            section["trial_command"] = [
                sys.executable,
                str(self.script),
                "{run_id}",
                "{metrics_file}",
            ]
        path.write_text(tomli_w.dumps({"experiment": {"name": name}, "sweep": section}))
        return path

    def stop_latency(self, case: str, i: int) -> dict[str, float]:
        home = Path(tempfile.mkdtemp(dir=self.root))
        name = f"stop{i}"
        if case == "real trainer trials":
            exp = self.experiment(home / "e.toml", name, template=False, total_timesteps=50_000_000)
            env = self.env(home)
        else:
            exp = self.experiment(home / "e.toml", name, template=True)
            env = self.env(
                home,
                BENCH_TRIAL_S="600",
                **({"BENCH_IGNORE_TERM": "1"} if "ignore" in case else {}),
            )
        runner = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hwscale_tui",
                "sweep",
                "--experiment",
                str(exp),
                "--gpus",
                "1",
                "--nodes",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        wait_for(lambda: (home / "data" / "hwscale.sqlite").exists())
        store = Store(home / "data" / "hwscale.sqlite")
        sweep = f"{name}.g1n1"
        rows = wait_for(
            lambda: len(r := [x for x in store.trial_rows([sweep]) if x["pid"]]) == 2 and r
        )
        if case == "real trainer trials":  # training, with its signal handlers in place
            wait_for(lambda: all(trial_row(store, r["run_id"])["agent_steps"] for r in rows))
        else:
            wait_for(lambda: all(Path(r["metrics_path"] + ".ready").exists() for r in rows))
        pids = [p for r in rows for p in tree(r["pid"])]
        t0 = time.perf_counter()
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=120)
        t_exit = time.perf_counter() - t0
        wait_for(lambda: gone(pids))
        t_gone = time.perf_counter() - t0
        store.close()
        return {"runner_exit_s": t_exit, "trials_gone_s": t_gone, "exit_code": runner.returncode}

    @staticmethod
    def baseline_group_stop() -> dict[str, float]:
        p = subprocess.Popen(["sh", "-c", "sleep 600 & sleep 600 & wait"], start_new_session=True)
        wait_for(lambda: len(tree(p.pid)) == 3)
        pids = tree(p.pid)
        t0 = time.perf_counter()
        os.killpg(p.pid, signal.SIGTERM)
        p.wait()
        wait_for(lambda: gone(pids))
        t = time.perf_counter() - t0
        return {"runner_exit_s": t, "trials_gone_s": t, "exit_code": p.returncode}

    def overhead(self, trials: int, trial_s: float) -> dict[str, float]:
        env_base = self.env(self.root, BENCH_TRIAL_S=str(trial_s))
        plain = []
        for k in range(trials):
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    str(self.script),
                    f"plain_{k}",
                    str(self.root / f"plain{k}.jsonl"),
                ],
                env=env_base,
                check=True,
            )
            plain.append(time.perf_counter() - t0)
        home = Path(tempfile.mkdtemp(dir=self.root))
        exp = self.experiment(
            home / "e.toml",
            "ovh",
            template=True,
            max_trials=trials,
            batch_size=1,
            max_parallel_jobs=1,
        )
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "hwscale_tui",
                "sweep",
                "--experiment",
                str(exp),
                "--gpus",
                "1",
                "--nodes",
                "1",
            ],
            env=self.env(home, BENCH_TRIAL_S=str(trial_s)),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        total = time.perf_counter() - t0
        with Store(home / "data" / "hwscale.sqlite") as store:
            starts = [r["started_at"] for r in store.trial_rows(["ovh.g1n1"])]
        slots = [b - a for a, b in zip(starts, starts[1:])]
        return {
            "trials": trials,
            "plain_trial_s": statistics.median(plain),
            "sweep_slot_s": statistics.median(slots),
            "overhead_per_trial_s": statistics.median(slots) - statistics.median(plain),
            "sweep_total_s": total,
            "startup_and_exit_s": total - sum(slots) - statistics.median(plain),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--no-trainer", action="store_true", help="skip the real-trainer stop case")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.repeat < 1 or args.trials < 2:
        # a slot is from one trial's start to the next's: one trial has none
        ap.error("--repeat takes a number from 1, --trials one from 2")
    root = tempfile.mkdtemp(prefix="hwscale-bench-sweep-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    bench = Bench(Path(root))
    cases = ["trials exit on SIGTERM", "trials ignore SIGTERM"] + (
        [] if args.no_trainer else ["real trainer trials"]
    )
    stop: dict[str, StopSummary] = {}
    base = [bench.baseline_group_stop() for _ in range(args.repeat)]
    stop["baseline: plain process group"] = summarize(base)
    for case in cases:
        stop[case] = summarize([bench.stop_latency(case, i) for i in range(args.repeat)])
    overhead = bench.overhead(args.trials, trial_s=0.5)
    worst = max(v["runner_exit_max_s"] for k, v in stop.items() if not k.startswith("baseline"))
    result = {
        "stop": stop,
        "overhead": overhead,
        "targets": {
            "stop_under_5s": worst < STOP_TARGET_S,
            "overhead_under_1s": overhead["overhead_per_trial_s"] < OVERHEAD_TARGET_S,
        },
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"SIGTERM -> exit ({args.repeat} runs each; target: runner exits within {STOP_TARGET_S:g} s)"
    )
    print(
        f"{'case':<32} {'exit median':>12} {'exit max':>9} {'trials gone max':>16} {'exit code':>10}"
    )
    for name, r in stop.items():
        print(
            f"{name:<32} {r['runner_exit_median_s']:11.2f}s {r['runner_exit_max_s']:8.2f}s "
            f"{r['trials_gone_max_s']:15.2f}s {r['exit_codes']:>10}"
        )
    o = overhead
    print(
        f"\nscheduling overhead ({o['trials']} trials of {0.5:g} s, one at a time; target < {OVERHEAD_TARGET_S:g} s per trial)"
    )
    print(f"{'plain loop, per trial (baseline)':<40} {o['plain_trial_s']:7.2f}s")
    print(f"{'sweep runner, start to next start':<40} {o['sweep_slot_s']:7.2f}s")
    print(f"{'overhead per trial':<40} {o['overhead_per_trial_s']:7.2f}s")
    print(f"{'sweep start-up + exit (total - slots)':<40} {o['startup_and_exit_s']:7.2f}s")
    print(f"\nload average {result['load_average']:.1f}; targets met: {result['targets']}")


class StopSummary(TypedDict):
    runner_exit_median_s: float
    runner_exit_max_s: float
    trials_gone_max_s: float
    exit_codes: str


def summarize(runs: list[dict[str, float]]) -> StopSummary:
    exits = [r["runner_exit_s"] for r in runs]
    return {
        "runner_exit_median_s": statistics.median(exits),
        "runner_exit_max_s": max(exits),
        "trials_gone_max_s": max(r["trials_gone_s"] for r in runs),
        "exit_codes": ",".join(sorted({str(r["exit_code"]) for r in runs})),
    }


if __name__ == "__main__":
    main()
