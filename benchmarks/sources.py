"""Trial sources benchmark: requests, seconds and memory per poll cycle, W&B and local store.

* W&B: the real ``wandb`` client against the loopback GraphQL server (its own process, so the
  server's CPU and memory are not counted) holding 8 sweeps x 500 Metta-shaped runs (20
  history rows each, every 10th still running). Our source: first poll (login + fetch), steady
  polls with nothing changed, a poll after ``--changed`` runs logged a step, and curves: a cold
  fill for every run, then ``histories(all)`` after the change. Baselines in the same run: the
  client's defaults with ``lazy=False`` (50 runs a page, all sweeps in one filter), and the
  naive way -- one ``api.runs`` per sweep with the default ``lazy=True`` and ``run.summary``
  touched per run (N+1), measured on one sweep and extrapolated x8.
* Local: a store with ``--local-trials`` trials (10 history rows each, written over the last
  hour). Our source: first poll,
  steady polls, a poll after 10 x ``--changed`` trials were updated, and curves. Baseline: re-reading
  every trial each cycle (``Store.trials(sweeps)``).

Peak memory is tracemalloc's peak over one steady poll (Python allocations of this process).
Target: one request per cycle, plus history requests only for changed runs.

    python benchmarks/sources.py [--json] [--sweeps 8] [--trials 500] [--local-trials 10000]
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
import tracemalloc
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))

PAIRS = ["g1n1", "g2n1", "g4n1", "g8n1", "g1n2", "g2n2", "g4n2", "g8n2"]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


RUNNING_EVERY = 10  # every 10th loopback run is still running: only those can log a step


class LoopbackProcess:
    """The loopback server in a child process; counts come from its stats endpoint."""

    def __init__(self, sweeps: int, trials: int):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.wandb_loopback",
                "--sweeps",
                str(sweeps),
                "--trials",
                str(trials),
                "--running-every",
                str(RUNNING_EVERY),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None  # stdout=PIPE
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"loopback server did not start: {self.url!r}")

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/_loopback/stats", timeout=60) as r:
            return json.load(r)["counts"]

    def advance(self, runs: int) -> None:
        req = urllib.request.Request(
            f"{self.url}/_loopback/advance", data=json.dumps({"runs": runs}).encode(), method="POST"
        )
        urllib.request.urlopen(req, timeout=60).close()

    def close(self) -> None:
        assert self.proc.stdin is not None  # stdin=PIPE
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)
    }


def bench_wandb(sweeps: int, trials: int, changed: int, cycles: int) -> list[dict[str, Any]]:
    import wandb  # noqa: F401  (import cost is not a poll's cost)

    from hwscale_tui.config import apply_overrides, default_config
    from hwscale_tui.sources import SourceSettings, make_source, make_wandb_api
    from tests.support.wandb_loopback import DEFAULT_ENTITY

    server = LoopbackProcess(sweeps, trials)
    rows: list[dict[str, Any]] = []
    try:
        cfg = apply_overrides(
            default_config("metta"),
            {
                "wandb.entity": DEFAULT_ENTITY,
                "grid.gpu_counts": [1, 2, 4, 8],
                "grid.node_counts": [1, 2],
            },
        )
        sweep_names = [f"{cfg.name}.{p}" for p in PAIRS[:sweeps]]
        n_runs = sweeps * trials

        def factory():
            return make_wandb_api(base_url=server.url, entity=DEFAULT_ENTITY, timeout_s=120)

        src = make_source(
            cfg, "wandb", api_factory=factory, settings=SourceSettings(stale_after_s=1e12)
        )

        def row(
            name: str,
            requests: dict[str, int],
            seconds: float,
            note: str = "",
            runs: int = n_runs,
            mib: float | None = None,
        ):
            rows.append(
                {
                    "case": f"wandb: {name}",
                    "runs": runs,
                    "requests": sum(requests.values()),
                    "by_operation": requests,
                    "seconds": round(seconds, 3),
                    "peak_mib": None if mib is None else round(mib, 1),
                    "note": note,
                }
            )

        c0 = server.counts()
        s, first = timed(src.poll)
        assert len(first.trials) == n_runs, len(first.trials)
        row("ours, first poll (login + fetch)", delta(server.counts(), c0), s)

        times = []
        c0 = server.counts()
        for _ in range(cycles):
            s, res = timed(src.poll)
            times.append(s)
            assert not res.changed
        per_cycle = {k: v // cycles for k, v in delta(server.counts(), c0).items()}
        mib = peak_mib(src.poll)
        row(
            "ours, steady poll (nothing changed)",
            per_cycle,
            statistics.median(times),
            f"median of {cycles}",
            mib=mib,
        )

        ids = [t.run_id for t in first.trials]
        c0 = server.counts()
        s, _ = timed(lambda: src.histories(ids))
        row(
            "ours, curves cold (every run, once)",
            delta(server.counts(), c0),
            s,
            "then cached on disk",
        )

        server.advance(changed)
        c0 = server.counts()
        s, res = timed(src.poll)
        poll_req = delta(server.counts(), c0)
        assert len(res.changed) == changed, len(res.changed)
        c1 = server.counts()
        s2, _ = timed(lambda: src.histories(ids))
        hist_req = delta(server.counts(), c1)
        row(
            f"ours, poll + curves after {changed} runs changed",
            {**poll_req, **hist_req},
            s + s2,
            f"poll {s:.2f} s + curves {s2:.2f} s",
        )

        api = factory()  # baselines use the client as it comes
        c0 = server.counts()
        s, fetched = timed(
            lambda: [
                r.summary_metrics
                for r in api.runs(
                    f"{DEFAULT_ENTITY}/{cfg.wandb.effective_project}",
                    filters={"group": {"$in": sweep_names}},
                    lazy=False,
                )
            ]
        )
        assert len(fetched) == n_runs
        row("baseline: lazy=False, client's 50 per page", delta(server.counts(), c0), s)

        api.flush()
        c0 = server.counts()
        s, fetched = timed(
            lambda: [
                dict(r.summary)
                for r in api.runs(
                    f"{DEFAULT_ENTITY}/{cfg.wandb.effective_project}",
                    filters={"group": sweep_names[0]},
                )
            ]
        )
        naive = delta(server.counts(), c0)
        row("baseline: per sweep, lazy=True, N+1 (1 sweep)", naive, s, runs=len(fetched))
        row(
            f"baseline: same, extrapolated x{sweeps}",
            {k: v * sweeps for k, v in naive.items()},
            s * sweeps,
            "estimate",
        )
    finally:
        server.close()
    return rows


# what the optimizer's last_info holds with transfer (one pair of the `other` family, round 5)
TRANSFER_INFO = {
    "acquisition": -2.13,
    "acquisition_fn": "ei",
    "candidates": 640,
    "how": "gp",
    "predicted_cost": 24.18,
    "predicted_score": 39.80,
    "predicted_score_std": 15.73,
    "transfer": {
        "context_length_scales": {"total_gpus": 0.5},
        "context_shift": {
            "batch": {"total_gpus": 0.3333},
            "clip": {"total_gpus": 0.0},
            "epochs": {"total_gpus": 0.0},
            "lr": {"total_gpus": 0.0753},
        },
        "other": 4,
        "other_contexts": 1,
        "own": 4,
        "shear": {"lr": {"batch": 0.2258}},
    },
}


def src_trials(cfg: Any, store: Any) -> list[Any]:
    from hwscale_tui.sources import SourceSettings, make_source

    return (
        make_source(cfg, "local", store=store, settings=SourceSettings(stale_after_s=1e12))
        .poll()
        .trials
    )


def bench_local(n_trials: int, changed: int, cycles: int) -> list[dict[str, Any]]:
    from hwscale_tui.config import apply_overrides, default_config
    from hwscale_tui.sources import SourceSettings, make_source
    from hwscale_tui.store import Store

    # every pair of PAIRS (the embedded default grid fits the machine's cores: 2 pairs on 2)
    cfg = apply_overrides(
        default_config("builtin"), {"grid.gpu_counts": [1, 2, 4, 8], "grid.node_counts": [1, 2]}
    )
    sweeps = [f"{cfg.name}.{p}" for p in PAIRS]
    rows: list[dict[str, Any]] = []
    store = Store.open_default()
    now = time.time()
    with store.transaction() as conn:
        for i in range(n_trials):
            sweep = sweeps[i % len(sweeps)]
            run_id = f"{sweep}_trial_{i:05d}_{i:06x}"
            conn.execute(
                "INSERT INTO trials (run_id, sweep, experiment, idx, gpus, nodes, state, params_json, score, cost_usd, "
                "agent_steps, runtime_s, sps, created_at, updated_at) VALUES (?, ?, ?, ?, NULL, NULL, 'finished', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    sweep,
                    cfg.name,
                    i,
                    json.dumps(
                        {"trainer.optimizer.learning_rate": 1e-3, "trainer.batch_size": 2048}
                    ),
                    0.5,
                    0.01,
                    1e5,
                    30.0,
                    3000.0,
                    now - 3600 + i * 3000 / n_trials,
                    now - 3600 + i * 3000 / n_trials,
                ),
            )
            conn.executemany(
                "INSERT INTO history (run_id, agent_step, wall_s, score, reward) VALUES (?, ?, ?, ?, ?)",
                [(run_id, 1e4 * k, 3.0 * k, 0.05 * k, 0.05 * k) for k in range(1, 11)],
            )
    src = make_source(cfg, "local", store=store, settings=SourceSettings(stale_after_s=1e12))

    def row(name: str, queries: int, seconds: float, note: str = "", mib: float | None = None):
        rows.append(
            {
                "case": f"local: {name}",
                "runs": n_trials,
                "requests": queries,
                "by_operation": {},
                "seconds": round(seconds, 4),
                "peak_mib": None if mib is None else round(mib, 1),
                "note": note,
            }
        )

    before = src.counter.total
    s, first = timed(src.poll)
    assert len(first.trials) == n_trials
    row("ours, first poll", src.counter.total - before, s, "SQL queries")
    times = []
    before = src.counter.total
    for _ in range(cycles):
        s, res = timed(src.poll)
        times.append(s)
    per_cycle = (src.counter.total - before) // cycles  # before the memory poll, as for W&B
    mib = peak_mib(src.poll)
    row(
        "ours, steady poll (nothing changed)",
        per_cycle,
        statistics.median(times),
        f"median of {cycles}",
        mib=mib,
    )
    ids = [t.run_id for t in first.trials]
    before = src.counter.total
    s, _ = timed(lambda: src.histories(ids))
    row("ours, curves cold (every trial)", src.counter.total - before, s)
    later = time.time()
    for run_id in ids[:changed]:
        store.update_trial(run_id, score=0.6, updated_at=later)
        store.append_history(run_id, [{"agent_step": 2e5, "wall_s": 60.0, "score": 0.6}])
    before = src.counter.total
    s, res = timed(src.poll)
    s2, _ = timed(lambda: src.histories(ids))
    assert len(res.changed) == changed
    row(
        f"ours, poll + curves after {changed} trials changed",
        src.counter.total - before,
        s + s2,
        f"poll {s:.3f} s + curves {s2:.3f} s",
    )

    # A built-in sweep records each suggestion's last_info (suggestion_json); with [sweep]
    # transfer it names how many other pairs' results it used, which every record reads
    # (Trial.transfer_other). A fresh source's first poll, warm SQLite cache, without and with.
    def fresh_first_poll() -> float:
        settings = SourceSettings(stale_after_s=1e12)
        return statistics.median(
            timed(make_source(cfg, "local", store=store, settings=settings).poll)[0]
            for _ in range(cycles)
        )

    plain = fresh_first_poll()
    row("ours, first poll, warm cache", 1, plain, f"median of {cycles}; no suggestions")
    with store.transaction() as conn:
        conn.execute("UPDATE trials SET suggestion_json = ?", (json.dumps(TRANSFER_INFO),))
    with_info = fresh_first_poll()
    assert all(t.transfer_other == 4 for t in src_trials(cfg, store))
    row(
        "ours, first poll, warm, every suggestion w/ transfer",
        1,
        with_info,
        f"median of {cycles}; {with_info - plain:+.3f} s against the row above",
    )
    times = []
    for _ in range(cycles):
        s, _trials = timed(lambda: store.trials(sweeps))
        times.append(s)
    mib = peak_mib(lambda: store.trials(sweeps))
    row(
        "baseline: re-read every trial each cycle",
        1,
        statistics.median(times),
        f"median of {cycles}",
        mib=mib,
    )
    store.close()
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'case':<52} {'runs':>6} {'requests':>8} {'s/cycle':>8} {'peak MiB':>8}  note"
    print(header)
    print("-" * len(header))
    for r in rows:
        mib = "" if r["peak_mib"] is None else f"{r['peak_mib']:.1f}"
        ops = ", ".join(f"{k} {v}" for k, v in r["by_operation"].items())
        note = "; ".join(filter(None, [r["note"], ops]))
        print(
            f"{r['case']:<52} {r['runs']:>6} {r['requests']:>8} {r['seconds']:>8.3f} {mib:>8}  {note}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps", type=int, default=8, choices=range(1, 9), metavar="1..8")
    ap.add_argument("--trials", type=int, default=500, help="runs per sweep on the loopback server")
    ap.add_argument("--local-trials", type=int, default=10_000)
    ap.add_argument(
        "--changed", type=int, default=10, help="runs that log a step between two polls"
    )
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--local-only", action="store_true", help="only the local store's rows")
    args = ap.parse_args()
    running = args.sweeps * (args.trials // RUNNING_EVERY)  # the runs that can log a step
    if min(args.trials, args.local_trials, args.changed, args.cycles) < 1:
        ap.error("--trials, --local-trials, --changed and --cycles take a number from 1")
    if not args.local_only and args.changed > running:
        ap.error(
            f"--changed {args.changed} is more than the {running} running runs on the loopback "
            f"server (every {RUNNING_EVERY}th of --trials {args.trials}, x --sweeps {args.sweeps})"
        )
    if args.changed * 10 > args.local_trials:
        ap.error(
            f"--changed {args.changed} updates {args.changed * 10} local trials, more than "
            f"--local-trials {args.local_trials}"
        )
    home = tempfile.mkdtemp(prefix="hwscale-bench-sources-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ.update(
        HWSCALE_HOME=home,
        WANDB_API_KEY="k" * 40,
        WANDB_ERROR_REPORTING="false",
        WANDB_SILENT="true",
        WANDB_DIR=str(Path(home) / "wandb-dir"),
        WANDB_MODE="disabled",
    )
    rows = (
        [] if args.local_only else bench_wandb(args.sweeps, args.trials, args.changed, args.cycles)
    )
    rows += bench_local(args.local_trials, args.changed * 10, args.cycles)
    steady = {r["case"]: r for r in rows}
    targets = {
        "one query per steady local poll": steady["local: ours, steady poll (nothing changed)"][
            "requests"
        ]
        == 1,
    }
    if not args.local_only:
        ours = steady["wandb: ours, steady poll (nothing changed)"]
        changed = steady[f"wandb: ours, poll + curves after {args.changed} runs changed"]
        targets["one request per steady W&B poll"] = ours["requests"] == 1
        targets["changed cycle = 1 Runs + 1 history per changed run"] = changed["by_operation"] == {
            "Runs": 1,
            "RunSampledHistory": args.changed,
        }
    if args.json:
        json.dump({"rows": rows, "targets": targets}, sys.stdout, indent=2)
        print()
        return
    print_table(rows)
    print()
    for name, ok in targets.items():
        print(f"target {'met' if ok else 'MISSED'}: {name}")


if __name__ == "__main__":
    main()
