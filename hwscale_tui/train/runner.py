"""``run_training``: start the ranks, turn their reports into metrics, stop cleanly.

The calling process is the coordinator: it never trains. It starts ``gpus x nodes`` rank
processes (``spawn``, one BLAS thread each), waits on their pipes and exit sentinels, pools
their finished episodes into the score, and writes every sink. A rank that dies fails the
trial at once (the others are stopped); SIGTERM / SIGINT / SIGHUP stop every rank and mark the run
killed.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, cast

from ..paths import app_paths, ensure_private_dir
from ..prices import job_cost_usd
from .envs import ENV_SPACES, param_count
from .overrides import TrainConfig
from .sinks import (
    COST_KEY,
    LOSS_KEYS,
    RUNNER_RUN_ENV,
    MetricsFile,
    MetricSink,
    MetricsWriteError,
    StoreRefused,
    StoreSink,
    WandbSink,
    metrics_path_refusal,
)

SCORE_WINDOW = 20  # episodes in the score (pooled over ranks)
STOP_GRACE_S = 1.0  # SIGTERM -> SIGKILL for ranks that linger
POLL_S = 0.1
BLAS_SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
EXIT_CODES = {"finished": 0, "failed": 1}
# SIGHUP: a closed terminal or a dropped SSH link stops a run by hand as a sweep runner stops
# (128 + the signal, as `launch --foreground` and `sweep` exit)
SIGNAL_EXIT_CODES: dict[int, int] = {signal.SIGTERM: 143, signal.SIGINT: 130, signal.SIGHUP: 129}


@dataclass
class TrainResult:
    run: str
    group: str
    state: str  # finished | failed | killed
    exit_code: int  # 0 finished, 1 failed, 143 after SIGTERM, 130 after SIGINT, 129 after SIGHUP
    score: float | None  # mean return of the last 20 episodes at the end
    agent_steps: int
    total_time_s: float
    sps: float
    cost_usd: float
    updates: int
    metrics_file: Path
    error: str | None = None
    rank_pids: list[int] = field(default_factory=list)
    rank_param_hashes: list[str] = field(default_factory=list)  # after the last update, per rank
    params_in_sync: bool = True  # every update's parameter hashes agreed across ranks
    rank_peak_rss_bytes: list[int] = field(default_factory=list)
    rank_train_cpu_s: list[float] = field(
        default_factory=list
    )  # CPU seconds of each rank's training loop


class StopRequest:
    """Records the first SIGTERM / SIGINT / SIGHUP; the coordinator loop polls it."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum


@contextmanager
def _handle_stop_signals(stop: StopRequest) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, stop) for s in SIGNAL_EXIT_CODES}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def _blas_single_thread_env() -> Iterator[None]:
    """Spawned ranks inherit this environment, so numpy loads with one BLAS thread there."""
    saved = {k: os.environ.get(k) for k in BLAS_SINGLE_THREAD}
    os.environ.update(BLAS_SINGLE_THREAD)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped responding"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (it unlinks the ranks' semaphores) ignoring
    SIGHUP as it ignores SIGINT and SIGTERM. It runs in the coordinator's process group, so a
    closing terminal's SIGHUP killed it: the coordinator then relaunched it and every semaphore
    it released printed a 'KeyError' traceback on stderr. An ignored disposition survives its
    exec; SIGHUP stays blocked meanwhile, so one arriving now still reaches the coordinator."""
    from multiprocessing import resource_tracker

    if threading.current_thread() is not threading.main_thread():
        resource_tracker.ensure_running()
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            resource_tracker.ensure_running()
        finally:
            signal.signal(signal.SIGHUP, previous)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})


class RankGroup:
    """The rank processes of one run, their pipes, and the barrier of their all-reduce."""

    def __init__(self, cfg: TrainConfig):
        from .allreduce import shared_gradient_buffer
        from .rank import DTYPE, rank_main

        ctx = mp.get_context("spawn")
        self.ranks = cfg.ranks
        _start_resource_tracker()
        # Held for the group's lifetime: the ranks attach to its named semaphores after start().
        if cfg.ranks > 1:
            from . import shm

            shm.clean_at_start()  # semaphores a SIGKILLed multi-rank trial left behind
        self.barrier = ctx.Barrier(cfg.ranks) if cfg.ranks > 1 else None
        if self.barrier is not None:
            from . import shm

            shm.record_own(self.barrier)
        size = param_count(*ENV_SPACES[cfg.env], cfg.hidden)
        self.buffer = shared_gradient_buffer(ctx, cfg.ranks, size, DTYPE) if cfg.ranks > 1 else None
        self.procs: list[Any] = []
        self.conns: list[Any] = []
        with _blas_single_thread_env():
            for r in range(cfg.ranks):
                recv, send = ctx.Pipe(duplex=False)
                p = ctx.Process(
                    target=rank_main,
                    args=(cfg, r, os.getpid(), send, self.barrier, self.buffer),
                    name=f"hwscale-train-rank{r}",
                    daemon=True,
                )
                self.procs.append(p)
                self.conns.append(recv)
                p.start()
                send.close()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        """SIGTERM every rank, SIGKILL those still alive after a grace.

        Never touches the barrier: a rank killed inside ``barrier.wait`` can leave its lock held,
        and aborting the barrier would then block forever.
        """
        for p in self.procs:
            if p.exitcode is None:
                p.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for p in self.procs:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in self.procs:
            if p.exitcode is None:
                p.kill()
                p.join()
        for c in self.conns:
            c.close()


class _Pool:
    """Collects rank reports and emits one metrics line per update once every rank sent it."""

    def __init__(self, cfg: TrainConfig, t0: float):
        self.cfg, self.t0 = cfg, t0
        self.pending: list[deque] = [deque() for _ in range(cfg.ranks)]
        self.recent: deque[float] = deque(maxlen=SCORE_WINDOW)
        self.updates = 0
        self.in_sync = True
        self.last_hashes: list[str] = []

    @property
    def score(self) -> float | None:
        return sum(self.recent) / len(self.recent) if self.recent else None

    def add(self, rank: int, report: tuple) -> None:
        self.pending[rank].append(report)

    def ready_lines(self) -> Iterator[dict[str, Any]]:
        while all(self.pending):
            reports = [q.popleft() for q in self.pending]  # (update, finished, stats, digest)
            finished = [ret for _, f, _, _ in reports for ret in f]
            self.recent.extend(finished)
            hashes = [d for *_, d in reports]
            self.in_sync = self.in_sync and len(set(hashes)) == 1
            self.last_hashes = hashes
            self.updates += 1
            stats = [
                sum(s[i] for _, _, s, _ in reports) / len(reports) for i in range(len(LOSS_KEYS))
            ]
            yield self.line(finished, stats)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def progress(self) -> dict[str, Any]:
        cfg, elapsed = self.cfg, self.elapsed()
        steps = self.updates * cfg.batch_size
        return {
            "metric/agent_step": steps,
            "metric/total_time": round(elapsed, 4),
            "overview/sps": round(steps / elapsed, 1) if elapsed > 0 else 0.0,
            COST_KEY: job_cost_usd(cfg.price_per_gpu_hour, cfg.gpus, cfg.nodes, elapsed),
        }

    def line(self, finished: list[float], stats: list[float]) -> dict[str, Any]:
        return {
            **self.progress(),
            "overview/reward": sum(finished) / len(finished) if finished else None,
            "score": self.score,
            **dict(zip(LOSS_KEYS, stats)),
        }


def run_training(
    config: TrainConfig,
    on_update: Callable[[dict[str, Any]], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> TrainResult:
    """Train ``config`` to its ``total_timesteps`` (or until stopped); never raises for a failed run.

    ``on_update`` receives every per-update metrics line (the CLI prints progress from it);
    ``on_start`` is called once the run is accepted, before its ranks start.
    With ``store=true``, a run whose trial row it may not write (a trial that ended, another
    process's trial: ``sinks.store_refusal``) raises ``StoreRefused`` (a ``UsageError``) before
    any rank, file or row is made.
    """
    cfg = config
    t0 = time.monotonic()
    paths = app_paths()
    run_dir = paths.runs / cfg.run
    # absolute: the store's metrics_path is read from other folders (runner, cancel, status)
    metrics_path = (
        Path(cfg.metrics_file).expanduser().absolute()
        if cfg.metrics_file
        else run_dir / "metrics.jsonl"
    )
    if (  # with store=true the store's check (StoreSink) refuses a run id that is not new
        not cfg.store
        and not cfg.metrics_file
        and os.environ.get(RUNNER_RUN_ENV) != cfg.run
        and metrics_path.is_file()
        and metrics_path.stat().st_size
    ):  # an earlier run of this id (a sweep's trial among them): its curve is not truncated
        raise StoreRefused(
            f"run {cfg.run} already has a metrics file from an earlier run ({metrics_path}), "
            "which this run would overwrite; accepted: a run id not used before, or "
            "metrics_file=PATH to write elsewhere."
        )
    if cfg.metrics_file:  # opening it truncates it: never the store, a log or a file of yours
        refusal = metrics_path_refusal(metrics_path, paths)
        if refusal:
            raise StoreRefused(refusal)
    if not cfg.metrics_file:
        refusal = _run_dir_refusal(cfg.run, run_dir, metrics_path)
        if refusal:
            raise StoreRefused(refusal)
    if cfg.store or not cfg.metrics_file:
        paths.ensure()
    if not cfg.metrics_file:
        ensure_private_dir(paths.runs)
    stop = StopRequest()
    pool = _Pool(cfg, t0)
    state, error = "failed", None
    group: RankGroup | None = None
    usage: dict[int, tuple[int, float]] = {}  # rank -> (peak RSS bytes, training CPU seconds)
    sinks: list[MetricSink] = []
    with _handle_stop_signals(stop):
        try:
            # a named pipe is opened first (that writes nothing), so that one no process reads
            # is refused before the store's row is made (it was exit 1 and a failed row)
            pipe = MetricsFile(metrics_path) if _is_pipe(metrics_path) else None
            if cfg.store:  # first: a run the store refuses raises StoreRefused, nothing written
                sinks.append(StoreSink(cfg, metrics_path))
            sinks.insert(0, pipe or MetricsFile(metrics_path))
            if on_start is not None:
                on_start()
            group = RankGroup(cfg)
            if cfg.wandb_mode != "disabled":  # slow to start: the ranks train meanwhile
                sinks.append(WandbSink(cfg, run_dir))
            state, error = _coordinate(cfg, group, pool, sinks, stop, usage, on_update)
        except Exception as exc:  # a sink or the coordinator itself broke: the run failed
            if isinstance(exc, StoreRefused) and not sinks:  # refused before anything was written
                raise
            plain = isinstance(exc, (MetricsWriteError, TrainingDiverged))
            why = str(exc) if plain else f"{type(exc).__name__}: {exc}"
            state, error = "failed", why
        finally:
            if group is not None:
                group.stop()
        final = {**pool.progress(), "sweep/score": pool.score, "final": True, "state": state}
        final["sweep/cost"] = final.pop(COST_KEY)
        for sink in sinks:
            try:
                sink.finish(final, error)
            except Exception as exc:  # keep finishing the other sinks; report the first problem
                error = error or f"{type(sink).__name__} failed to finish: {exc}"
    # "killed" only after a signal arrived, so signum is set.
    exit_code = (
        SIGNAL_EXIT_CODES[cast(int, stop.signum)] if state == "killed" else EXIT_CODES[state]
    )
    return TrainResult(
        run=cfg.run,
        group=cfg.group,
        state=state,
        exit_code=exit_code,
        score=pool.score,
        agent_steps=final["metric/agent_step"],
        total_time_s=final["metric/total_time"],
        sps=final["overview/sps"],
        cost_usd=final["sweep/cost"],
        updates=pool.updates,
        metrics_file=metrics_path,
        error=error,
        rank_pids=group.pids if group else [],
        rank_param_hashes=pool.last_hashes,
        params_in_sync=pool.in_sync,
        rank_peak_rss_bytes=[usage[r][0] for r in sorted(usage)],
        rank_train_cpu_s=[usage[r][1] for r in sorted(usage)],
    )


def _is_pipe(path: Path) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _run_dir_refusal(run: str, run_dir: Path, metrics_path: Path) -> str | None:
    """Why the default metrics file's run directory cannot be made or written (a read-only
    state location, or a file where it or a folder on the way should be), or None. The run
    started, then failed (exit 1) on a raw 'OSError: [Errno 30] Read-only file system: ...'
    with a result line naming a metrics file never made."""
    existing = next((p for p in (run_dir, *run_dir.parents) if p.exists()), None)
    if existing is None:
        return None
    if not existing.is_dir():  # it said "not writable (a read-only state location, ...)"
        what = "a file, not a folder" if existing.is_file() else "not a folder"
        return (
            f"run {run}'s metrics file {metrics_path} cannot be written: {existing} is {what}; "
            "move it away (or set metrics_file=PATH in a folder you can write to)."
        )
    file_in_question = existing == run_dir and metrics_path.exists()  # written in place
    if file_in_question and not metrics_path.is_file():
        # a folder failed the run (exit 1, "IsADirectoryError: ..."); a named pipe waited for
        # a reader forever, deaf to SIGTERM
        what = (
            "a folder, not a file"
            if metrics_path.is_dir()
            else "not a regular file (a named pipe, a socket or a device)"
        )
        return (
            f"run {run}'s metrics file {metrics_path} is {what}; move it away (or set "
            "metrics_file=PATH to write elsewhere)."
        )
    if (
        existing.is_dir()
        and os.access(existing, os.W_OK | os.X_OK)
        and (not file_in_question or os.access(metrics_path, os.W_OK))
    ):
        return None
    where = metrics_path if file_in_question else existing
    return (
        f"run {run}'s metrics file {metrics_path} cannot be written: {where} is not "
        "writable (a read-only state location, or not yours); accepted: a state location you "
        "can write to (HWSCALE_HOME), or metrics_file=PATH in a folder you can write to."
    )


def _coordinate(
    cfg: TrainConfig,
    group: RankGroup,
    pool: _Pool,
    sinks: list[MetricSink],
    stop: StopRequest,
    usage: dict[int, tuple[int, float]],
    on_update: Callable[[dict[str, Any]], None] | None,
) -> tuple[str, str | None]:
    """Relay reports until every rank is done, one fails, or a stop signal arrives."""
    conn_rank = {c: r for r, c in enumerate(group.conns)}
    sentinel_rank = {p.sentinel: r for r, p in enumerate(group.procs)}
    open_conns = set(group.conns)
    done: set[int] = set()
    errors: dict[int, str] = {}

    def receive(conn: Any) -> None:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            open_conns.discard(conn)
            return
        kind, rank = msg[0], msg[1]
        if kind == "update":
            pool.add(rank, msg[2:])
        elif kind == "done":
            done.add(rank)
            usage[rank] = (msg[2], msg[3])
        elif kind == "error":
            errors[rank] = msg[2]

    def stopped() -> tuple[str, str]:
        return "killed", f"stopped by {signal.Signals(cast(int, stop.signum)).name}"

    while len(done) < cfg.ranks:
        if stop.signum is not None:
            return stopped()
        waiting = list(open_conns) + [
            p.sentinel for r, p in enumerate(group.procs) if r not in done
        ]
        for obj in wait(waiting, timeout=POLL_S):
            if obj in conn_rank:
                if obj in open_conns:
                    receive(obj)
                continue
            rank = sentinel_rank[obj]
            conn = group.conns[rank]
            while conn in open_conns and conn.poll():  # drain what it sent before exiting
                receive(conn)
            if rank not in done:
                if (
                    stop.signum is not None
                ):  # a signal to the whole process group reached the ranks too
                    return stopped()
                proc = group.procs[rank]
                proc.join()
                why = f"raised {errors[rank]}" if rank in errors else _describe_exit(proc.exitcode)
                _emit(pool, sinks, on_update)
                return (
                    "failed",
                    f"rank {rank} of {cfg.ranks} (pid {proc.pid}) {why}; the trial failed",
                )
        _emit(pool, sinks, on_update)
        if not pool.in_sync:
            return (
                "failed",
                f"the ranks' parameters differ after update {pool.updates} (hashes {pool.last_hashes}); the trial failed",
            )
    return "finished", None


class TrainingDiverged(RuntimeError):
    """A loss went NaN or infinite: the parameters are no longer finite, the run fails."""


def _emit(
    pool: _Pool, sinks: list[MetricSink], on_update: Callable[[dict[str, Any]], None] | None
) -> None:
    for line in pool.ready_lines():
        bad = {k: v for k, v in line.items() if isinstance(v, float) and not math.isfinite(v)}
        if bad:  # else the metrics file refused it: "Out of range float values are not JSON ..."
            shown = ", ".join(f"{k} = {v}" for k, v in bad.items())
            raise TrainingDiverged(
                f"training diverged at update {pool.updates} ({shown}); try a smaller "
                "trainer.optimizer.learning_rate or trainer.losses.ppo.max_grad_norm"
            )
        for sink in sinks:
            sink.update(line)
        if on_update is not None:
            on_update(line)
