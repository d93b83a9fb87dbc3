"""Cancel latency of the slurm dispatcher on a real local Slurm cluster (needs root; docs/slurm.md).

A trial is a process that sleeps (started through the dispatcher: sbatch + srun on Slurm, a
process group locally). Measured from the dispatcher's ``cancel()`` call:

* ``cancel returns``: when the call returns (Slurm: scancel plus the bounded wait until squeue
  shows no active job);
* ``job gone``: the job left squeue's active states (Slurm only);
* ``processes gone``: no process with the trial's run id in its command line is left.

Two trials: one that exits on SIGTERM, one that ignores it (Slurm then kills it after the
cluster's ``KillWait``, 5 s here; the local dispatcher after its grace, 3 s as the runner uses).
Baseline in the same run: the local dispatcher, same trials. Usage:
``python benchmarks/slurm_cancel.py [--repeat N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's package and tests.support

from hwscale_tui.config import from_dict  # noqa: E402
from hwscale_tui.hardware import HardwarePair  # noqa: E402
from hwscale_tui.sweep.dispatch import InFlightTrial  # noqa: E402
from hwscale_tui.sweep.local import LocalDispatcher  # noqa: E402
from hwscale_tui.sweep.slurm import SlurmCLI, SlurmDispatcher  # noqa: E402
from hwscale_tui.sweep.trial_command import TrialSpec  # noqa: E402
from tests.support.slurm_cluster import LocalSlurmCluster, unavailable_reason  # noqa: E402

GRACE_S = 3.0  # the runner's cancel grace (RunnerTimings.cancel_grace_s)
SLEEPER = "import signal, sys, time; {ignore}print('up', flush=True); time.sleep(600)"


def spec(root: Path, run_id: str, ignore_term: bool) -> TrialSpec:
    code = SLEEPER.format(
        ignore="signal.signal(signal.SIGTERM, signal.SIG_IGN); " if ignore_term else ""
    )
    argv = [sys.executable, "-c", code, run_id]
    run_dir = root / run_id
    return TrialSpec(
        sweep="bench.g1n1",
        run_id=run_id,
        idx=1,
        pair=HardwarePair(1, 1),
        params={},
        argv=argv,
        remote_script=shlex.join(argv),
        env={},
        remote_env={},
        run_dir=run_dir,
        log_path=run_dir / "trial.log",
        metrics_path=run_dir / "metrics.jsonl",
        writes_store=False,
    )


def trial_processes(run_id: str) -> list[int]:
    pids = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if run_id in (proc.info["cmdline"] or []):
                pids.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return pids


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)


def measure(
    dispatcher: Any, root: Path, run_id: str, ignore_term: bool, cli: SlurmCLI | None
) -> dict[str, float]:
    s = spec(root, run_id, ignore_term)
    handle, _ = dispatcher.start(s)
    wait_until(lambda: s.log_path.exists() and "up" in s.log_path.read_text(), "the trial to start")
    trial = InFlightTrial(run_id, {}, time.time(), s.log_path, s.metrics_path, False, handle)
    t0 = time.monotonic()
    dispatcher.cancel([trial], GRACE_S)
    out = {"cancel returns": time.monotonic() - t0}
    if cli is not None:
        active = ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED")
        wait_until(
            lambda: all(i.state not in active for i in cli.queue([handle.job_id]).values()),
            "the job to leave the queue",
        )
        out["job gone"] = time.monotonic() - t0
    wait_until(lambda: not trial_processes(run_id), "the trial's processes to end")
    out["processes gone"] = time.monotonic() - t0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="trials per row (default 5)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error(f"--repeat takes a number from 1, not {args.repeat}")
    reason = unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="hwscale-bench-"))
    os.environ["HWSCALE_HOME"] = str(root / "home")
    cluster = LocalSlurmCluster(nodes=2, gpus_per_node=2, cpus_per_node=4)
    t0 = time.monotonic()
    cluster.start()
    start_s = time.monotonic() - t0
    os.environ.update(cluster.env())
    rows: list[dict[str, Any]] = []
    try:
        cfg = from_dict(
            {"experiment": {"dispatcher": "slurm"}, "slurm": {"cpus_per_task": 1, "poll_s": 0.1}},
            env={},
        )
        cli = SlurmCLI()
        slurm = SlurmDispatcher(cfg, "bench.g1n1", cli=cli)
        local = LocalDispatcher()
        n = 0
        for ignore in (False, True):
            for name, dispatcher, c in (("local (baseline)", local, None), ("slurm", slurm, cli)):
                samples = []
                for _ in range(args.repeat):
                    n += 1
                    samples.append(measure(dispatcher, root / "runs", f"bench_{n:04d}", ignore, c))
                row: dict[str, Any] = {
                    "dispatcher": name,
                    "trial": "ignores SIGTERM" if ignore else "exits on SIGTERM",
                    "n": len(samples),
                }
                for key in samples[0]:
                    values = [s[key] for s in samples]
                    row[key] = {"median_s": statistics.median(values), "max_s": max(values)}
                rows.append(row)
    finally:
        t1 = time.monotonic()
        cluster.stop()
        stop_s = time.monotonic() - t1
    if args.json:
        print(
            json.dumps(
                {"cluster_start_s": start_s, "cluster_stop_s": stop_s, "rows": rows}, indent=2
            )
        )
        return 0
    print(f"local Slurm cluster (2 nodes): start {start_s:.2f} s, stop {stop_s:.2f} s")
    cols = ("cancel returns", "job gone", "processes gone")
    print(
        f"{'dispatcher':<17} {'trial':<17} {'n':>2}  "
        + "  ".join(f"{c + ' med/max s':>26}" for c in cols)
    )
    for row in rows:
        cells = []
        for col in cols:
            v = row.get(col)
            cells.append(f"{v['median_s']:>12.3f} / {v['max_s']:<11.3f}" if v else f"{'-':>26}")
        print(f"{row['dispatcher']:<17} {row['trial']:<17} {row['n']:>2}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
