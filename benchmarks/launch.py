"""Launch supervisor benchmark: stagger accuracy and cancel latency for 8 pairs whose sweeps
each hold a tree of child processes.

Each pair's command is a shell that records when it started, then holds five processes: two
``sleep`` children, a subshell with a ``sleep`` grandchild, and a ``sleep`` in a session of its
own (it escapes the process group, as trials started with ``start_new_session`` do).

* Stagger: 8 pairs, ``--delay`` apart, started by the real detached supervisor; error = actual
  start - planned start, by the supervisor's record and by the sweep's own clock. Baseline in
  the same run: the original launcher's loop (``Popen`` then ``time.sleep(delay)``).
* Cancel: ``cancel`` of one running pair, then of the other seven at once; latency = from the
  call to the last process of the tree gone (checked in the process table). Baseline: a bare
  ``os.killpg(SIGTERM)`` of an identical tree, which leaves the escaped child orphaned.
* Escalation: a tree that ignores SIGTERM, cancelled with a 1 s grace (SIGKILL after it).

Targets: stagger max error < 0.5 s, cancel < 3 s. Usage: ``python benchmarks/launch.py [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

# This checkout's package, here and in the supervisor and sweeps the benchmark starts.
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))

PAIRS_GRID = {"gpu_counts": [1, 2, 4, 8], "node_counts": [1, 2]}  # 8 pairs
TREE_SCRIPT = (
    'echo "$0 $(date +%s.%N)" >> "$1"; {trap} '
    "sleep 300 & sleep 300 & (sleep 300 & wait) & setsid sleep 300 & wait"
)
TARGET_STAGGER_S = 0.5
TARGET_CANCEL_S = 3.0
WAIT_S = 120.0
MAX_DELAY_S = 7 * 24 * 3600  # launch.delay_s's bound (hwscale_tui.config.MAX_DELAY_S)


def tree_argv(record: Path, ignore_term: bool = False) -> list[str]:
    trap = "trap '' TERM;" if ignore_term else ""
    return ["sh", "-c", TREE_SCRIPT.format(trap=trap), "{sweep_name}", str(record)]


def wait_until(predicate, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def live(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tree_of(pid: int) -> list[psutil.Process]:
    leader = psutil.Process(pid)
    return [leader, *leader.children(recursive=True)]


def child_starts(record: Path) -> dict[str, float]:
    if not record.exists():
        return {}
    out = {}
    for line in record.read_text().splitlines():
        name, stamp = line.rsplit(" ", 1)
        out[name] = float(stamp)
    return out


def time_until_gone(procs: list[psutil.Process], t0: float) -> float:
    wait_until(lambda: not any(live(p) for p in procs), "the tree to go")
    return time.monotonic() - t0


def kill_all(procs: list[psutil.Process]) -> None:
    for p in procs:
        if live(p):
            p.kill()


def bench_supervisor(work: Path, delay_s: float) -> dict:
    from hwscale_tui import config as cfgmod
    from hwscale_tui.launch import supervisor as sup

    record = work / "starts.txt"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "bench"},
            "grid": PAIRS_GRID,
            "launch": {"delay_s": delay_s, "command": tree_argv(record)},
        },
        env={},
    )
    t = time.monotonic()
    info = sup.launch(cfg)
    launch_return_s = time.monotonic() - t
    n = len(info.sweeps)
    wait_until(
        lambda: (
            len(child_starts(record)) == n
            and all(
                p.pid is not None and len(tree_of(p.pid)) >= 5
                for p in sup.pair_status("bench").pairs
            )
        ),
        "every pair to hold its tree",
    )
    status = sup.pair_status("bench")
    seen = child_starts(record)
    sup_err, child_err = [], []
    for p in status.pairs:  # every pair has started, each at a planned time (a delay, no chain)
        assert p.started_at is not None and p.planned_start is not None
        sup_err.append(p.started_at - p.planned_start)
        child_err.append(seen[p.sweep_name] - p.planned_start)

    # cancel one pair, then the other seven together
    trees = {}
    for p in status.pairs:
        assert p.pid is not None  # running
        trees[p.sweep_name] = tree_of(p.pid)
    one = status.pairs[3].sweep_name
    t0 = time.monotonic()
    sup.cancel("bench", [one], by="benchmark")
    cancel_one_s = time_until_gone(trees[one], t0)
    rest = [p for s, procs in trees.items() if s != one for p in procs]
    t0 = time.monotonic()
    sup.cancel("bench", None, by="benchmark")
    cancel_rest_s = time_until_gone(rest, t0)
    orphans = sum(live(p) for procs in trees.values() for p in procs)
    return {
        "pairs": n,
        "launch_returns_s": launch_return_s,
        "stagger_max_err_s": max(abs(e) for e in sup_err),
        "stagger_mean_err_s": sum(sup_err) / n,
        "stagger_child_max_err_s": max(abs(e) for e in child_err),
        "cancel_one_s": cancel_one_s,
        "cancel_seven_s": cancel_rest_s,
        "processes_per_tree": min(len(t) for t in trees.values()),
        "orphans": orphans,
    }


def bench_escalation(work: Path) -> dict:
    from hwscale_tui import config as cfgmod
    from hwscale_tui.launch import supervisor as sup

    record = work / "stubborn.txt"
    cfg = cfgmod.from_dict(
        {
            "experiment": {"name": "stubborn"},
            "grid": {"gpu_counts": [1], "node_counts": [1]},
            "launch": {"delay_s": 0, "command": tree_argv(record, ignore_term=True)},
        },
        env={},
    )
    sup.launch(cfg)
    pair = wait_until(
        lambda: [
            p for p in sup.pair_status("stubborn").pairs if p.pid and len(tree_of(p.pid)) >= 5
        ],
        "the stubborn tree",
    )[0]
    procs = tree_of(pair.pid)
    t0 = time.monotonic()
    sup.cancel("stubborn", None, by="benchmark", grace_s=1.0)
    latency = time_until_gone(procs, t0)
    return {"cancel_ignoring_sigterm_grace1_s": latency, "orphans": sum(live(p) for p in procs)}


def bench_baseline(work: Path, delay_s: float, n: int) -> dict:
    """The original launcher: Popen one pair, sleep the delay, repeat; cancel = killpg."""
    record = work / "baseline.txt"
    argv = tree_argv(record)
    procs: list[subprocess.Popen] = []
    planned, actual = [], []
    t0 = time.time()
    for i in range(n):
        planned.append(t0 + i * delay_s)
        procs.append(
            subprocess.Popen(
                [*argv[:3], f"base{i}", str(record)],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
            )
        )
        actual.append(time.time())
        if i < n - 1:
            time.sleep(delay_s)
    wait_until(
        lambda: len(child_starts(record)) == n and all(len(tree_of(p.pid)) >= 5 for p in procs),
        "baseline trees",
    )
    seen = child_starts(record)
    err = [a - p for a, p in zip(actual, planned)]
    child_err = [seen[f"base{i}"] - planned[i] for i in range(n)]
    trees = [tree_of(proc.pid) for proc in procs]
    tree = trees[3]
    in_group = [p for p in tree if os.getpgid(p.pid) == procs[3].pid]
    t = time.monotonic()
    os.killpg(procs[3].pid, signal.SIGTERM)
    procs[3].wait()
    latency = time_until_gone(in_group, t)
    orphans = sum(live(p) for p in tree)
    kill_all([p for t in trees for p in t])
    for proc in procs:
        proc.wait()
    return {
        "stagger_max_err_s": max(abs(e) for e in err),
        "stagger_mean_err_s": sum(err) / n,
        "stagger_child_max_err_s": max(abs(e) for e in child_err),
        "cancel_one_s": latency,
        "orphans": orphans,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--delay", type=float, default=0.5, help="seconds between pair starts (default 0.5)"
    )
    args = parser.parse_args()
    if not 0 <= args.delay <= MAX_DELAY_S:
        parser.error(f"--delay takes seconds from 0 to {MAX_DELAY_S}, not {args.delay:g}")
    with tempfile.TemporaryDirectory(prefix="hwscale-bench-launch-") as tmp:
        os.environ["HWSCALE_HOME"] = str(Path(tmp) / "home")  # never the user's real state
        work = Path(tmp)
        ours = bench_supervisor(work, args.delay)
        stubborn = bench_escalation(work)
        base = bench_baseline(work, args.delay, ours["pairs"])
    result = {
        "delay_s": args.delay,
        "cpus": os.cpu_count(),
        "supervisor": ours,
        "escalation": stubborn,
        "baseline": base,
        "targets": {"stagger_max_err_s": TARGET_STAGGER_S, "cancel_s": TARGET_CANCEL_S},
        "met": {
            "stagger": ours["stagger_max_err_s"] < TARGET_STAGGER_S
            and ours["stagger_child_max_err_s"] < TARGET_STAGGER_S,
            "cancel": max(ours["cancel_one_s"], ours["cancel_seven_s"]) < TARGET_CANCEL_S
            and ours["orphans"] == 0,
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    rows = [
        (
            "stagger max |error| (supervisor record)",
            ms(ours["stagger_max_err_s"]),
            ms(base["stagger_max_err_s"]),
            f"< {ms(TARGET_STAGGER_S)}",
        ),
        (
            "stagger max |error| (sweep's own clock)",
            ms(ours["stagger_child_max_err_s"]),
            ms(base["stagger_child_max_err_s"]),
            f"< {ms(TARGET_STAGGER_S)}",
        ),
        ("stagger mean error", ms(ours["stagger_mean_err_s"]), ms(base["stagger_mean_err_s"]), ""),
        (
            "cancel 1 pair: SIGTERM -> tree gone",
            ms(ours["cancel_one_s"]),
            ms(base["cancel_one_s"]) + " (group only)",
            f"< {ms(TARGET_CANCEL_S)}",
        ),
        ("cancel 7 pairs at once", ms(ours["cancel_seven_s"]), "-", f"< {ms(TARGET_CANCEL_S)}"),
        ("orphans left after cancel", str(ours["orphans"]), str(base["orphans"]), "0"),
        (
            "tree ignoring SIGTERM, grace 1 s",
            ms(stubborn["cancel_ignoring_sigterm_grace1_s"]),
            "-",
            "grace + kill",
        ),
        ("launch() returns after", ms(ours["launch_returns_s"]), "-", ""),
    ]
    print(
        f"launch benchmark: {ours['pairs']} pairs, {ours['processes_per_tree']} processes per sweep, "
        f"delay {args.delay:g} s, {os.cpu_count()} CPUs"
    )
    widths = [
        max(len(r[i]) for r in rows + [("measure", "supervisor", "baseline", "target")])
        for i in range(4)
    ]
    for r in [("measure", "supervisor", "baseline", "target"), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print(
        f"targets met: stagger {'yes' if result['met']['stagger'] else 'NO'}, cancel {'yes' if result['met']['cancel'] else 'NO'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
