"""The sweep runner: suggest, dispatch, watch, record -- until ``max_trials`` are done.

One runner owns one sweep (one hardware pair). Its loop: poll in-flight trials, copy live
metrics, finish ended trials (store, stdout event, optimizer), then fill free slots with a new
round of suggestions. On start it resumes from the store: finished and failed trials are
observed again, in-flight ones re-attached (or settled), queued-but-never-started ones started.
A stop request (SIGTERM/SIGINT) cancels every in-flight trial, marks them killed and the sweep
cancelled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from ..config import ExperimentConfig
from ..errors import StoreError, UsageError
from ..hardware import HardwarePair
from ..launch import registry
from ..launch.commands import builtin_multinode_refusal
from ..metrics_file import history_row
from ..prices import job_cost_usd
from ..processes import SignalSafeEvent, process_start_time
from ..records import plural
from ..search.presets import Preset, preset_for
from ..store import Store
from .dispatch import (
    NOT_SUBMITTED_ALLOWED,
    Dispatcher,
    InFlightTrial,
    NotSubmitted,
    read_trial_final,
)
from .outcome import (
    BAD_INPUT_EXIT_CODE,
    TrialExit,
    TrialOutcome,
    clean_numbers,
    decide_outcome,
)
from .scheduler import ScheduleLimits, SweepProgress, suggestions_this_round, sweep_done
from .state import IN_FLIGHT_STATES, SweepState
from .trial_command import (
    TrialCommandBuilder,
    TrialSpec,
    fit_minibatch_to_batch,
    short_params,
    stored_params,
)

# Trials killed in a row (none finished or failed since) before the sweep stops: enough for a
# wave of preemptions of every trial in flight, a few times over.
KILLED_IN_A_ROW_ALLOWED = 10


def killed_in_a_row_allowed(max_parallel_jobs: int) -> int:
    return max(KILLED_IN_A_ROW_ALLOWED, 3 * max(1, max_parallel_jobs))


# trial column <- history row key, for the live values copied from a template trial's metrics
LIVE_COLUMNS = {
    "agent_steps": "agent_step",
    "sps": "sps",
    "runtime_s": "wall_s",
    "score": "score",
    "cost_usd": "cost_usd",
}


class Optimizer(Protocol):
    last_info: list[dict[str, Any]]

    def observe(
        self,
        params: dict,
        score: float | None,
        cost: float | None,
        failed: bool = False,
        context: dict | None = None,
        space: Any = None,
    ) -> None: ...
    def suggest(
        self, n: int = 1, pending: Sequence[dict] = (), context: dict | None = None
    ) -> list[dict]: ...


OptimizerFactory = Callable[[Preset, int], Optimizer]


class StopRequested(BaseException):
    """A stop signal that arrived while the runner was starting up."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def hardware_context(gpus: int, nodes: int) -> dict[str, float]:
    """The optimizer's context for a pair ([sweep] transfer): its total GPUs and node count."""
    return {"total_gpus": float(gpus * nodes), "nodes": float(nodes)}


def protein_optimizer(preset: Preset, seed: int) -> Optimizer:
    from ..search.protein import ProteinOptimizer

    return ProteinOptimizer(preset.space, settings=preset.settings, goal=preset.goal, seed=seed)


@dataclass(frozen=True)
class SweepSetup:
    """A validated sweep: what to search and how each trial runs (nothing written yet)."""

    cfg: ExperimentConfig
    pair: HardwarePair
    sweep: str
    preset: Preset
    limits: ScheduleLimits
    builder: TrialCommandBuilder
    fingerprint: str | None = None  # comparability fingerprint each trial records


def prepare_sweep(
    cfg: ExperimentConfig, pair: HardwarePair, extra_args: Sequence[str], runs_dir: Path
) -> SweepSetup:
    """Check the pair and the arguments; raise UsageError (one sentence) on bad input."""
    if pair.gpus < 1 or pair.nodes < 1 or pair.gpus > cfg.grid.max_gpus_per_node:
        raise UsageError(
            f"--gpus {pair.gpus} --nodes {pair.nodes} is not a valid pair; accepted: 1 <= gpus <= "
            f"max_gpus_per_node ({cfg.grid.max_gpus_per_node}) and nodes >= 1."
        )
    if cfg.experiment.runner != "builtin":
        raise UsageError(
            f"experiment {cfg.name} uses the {cfg.experiment.runner} runner, whose sweeps run in its own tool; "
            'accepted: an experiment with runner = "builtin" for hwscale-tui sweep.'
        )
    if cfg.experiment.dispatcher == "skypilot" and cfg.wandb.mode != "online":
        raise UsageError(
            f"the skypilot dispatcher reads trial results from W&B, but wandb.mode is {cfg.wandb.mode!r}; "
            'accepted: wandb.mode = "online" with the skypilot dispatcher.'
        )
    refusal = builtin_multinode_refusal(cfg, pair)
    if refusal:
        raise UsageError(refusal[0].upper() + refusal[1:] + ".")
    preset = preset_for(cfg, pair)
    builder = TrialCommandBuilder(cfg, pair, extra_args, runs_dir, preset.space.keys)
    limits = ScheduleLimits(cfg.sweep.max_trials, cfg.sweep.batch_size, cfg.sweep.max_parallel_jobs)
    return SweepSetup(cfg, pair, pair.sweep_name(cfg.name, cfg.generation), preset, limits, builder)


STORE_ERRORS = (sqlite3.Error, StoreError)
STORE_RETRY_MIN_S, STORE_RETRY_MAX_S = 0.5, 30.0  # backoff while the store is unavailable


def _disk_full(path: Path, min_free_bytes: int = 256 * 1024) -> bool:
    """Whether the file system holding ``path`` (or its nearest existing parent) is full."""
    import shutil

    for p in (path, *path.parents):
        if p.exists():
            try:
                return shutil.disk_usage(p).free < min_free_bytes
            except OSError:
                return False
    return False


EXIT_STORE_UNAVAILABLE = registry.EXIT_STORE_UNAVAILABLE
RESERVE_BYTES = 512 * 1024


def disk_full_stop_s() -> float:
    """How long a full disk is waited out before the sweep stops cleanly
    (``HWSCALE_DISK_FULL_STOP_S``, default 300 s)."""
    try:
        return max(0.0, float(os.environ.get("HWSCALE_DISK_FULL_STOP_S", "300")))
    except ValueError:
        return 300.0


def take_reserve(directory: Path, sweep: str) -> Path | None:
    """Hold ``RESERVE_BYTES`` of real disk blocks (best effort)."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = directory / f"{sweep}.bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * RESERVE_BYTES)  # written, not sparse: the blocks are ours
        finally:
            os.close(fd)
        return path
    except OSError:
        return None


def release_reserve(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _same_disk(a: Path, b: Path) -> bool:
    """Whether two paths (or their nearest existing parents) are on one file system; True
    when that cannot be told."""
    try:
        devs = {
            os.stat(next(p for p in (path, *path.parents) if p.exists())).st_dev for path in (a, b)
        }
    except (OSError, StopIteration):
        return True
    return len(devs) == 1


# A trial's start that fails with one of these failed for the machine's reason, not its own.
MACHINE_ERRNOS = (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EIO)


class _DiskFull(OSError):
    """The trials' file system is full: pause like an unavailable store."""


class _StillUnrecorded(Exception):
    """A trial's outcome still waits for the store: stay paused."""


@dataclass(frozen=True)
class RunnerTimings:
    poll_s: float = 0.5  # loop period (a stop request wakes it at once)
    cancel_grace_s: float = 3.0  # SIGTERM -> SIGKILL for local trials; bounded wait for SkyPilot


@dataclass
class _SubmitWait:
    """A trial the cluster could not take now, waiting to be submitted again (the dispatcher
    asked for it: a ``NotSubmitted`` with ``retry_in_s``). It holds its slot, its params are
    pending for the optimizer, and the loop goes on polling the other trials meanwhile."""

    spec: TrialSpec
    due: float  # runner clock: when to call the dispatcher's start again
    reason: str  # the dispatcher's last refusal
    note: str  # the started event's note ("suggested before the runner restarted")


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


class SweepRunner:
    def __init__(
        self,
        setup: SweepSetup,
        *,
        store: Store,
        dispatcher: Dispatcher,
        optimizer_factory: OptimizerFactory = protein_optimizer,
        out: TextIO = sys.stdout,
        clock: Callable[[], float] = time.time,
        timings: RunnerTimings = RunnerTimings(),
        on_claimed: Callable[[], None] | None = None,
    ):
        self.setup = setup
        self.on_claimed = on_claimed  # run once the sweep is this runner's (claim succeeded)
        self.cfg = setup.cfg
        self.dispatcher = dispatcher
        self.clock = clock
        self.timings = timings
        self.state = SweepState(store, setup.sweep, out=out, clock=clock)
        self.optimizer_factory = optimizer_factory
        self.optimizer: Optimizer | None = (
            None  # built after the sweep is claimed (it imports scikit-learn)
        )
        self.price = setup.cfg.price_per_gpu_hour
        self.in_flight: dict[str, InFlightTrial] = {}
        self._to_submit: dict[str, _SubmitWait] = {}  # waiting to be submitted again, by run id
        self.counted = 0
        self.abort_reason: str | None = None
        self._not_submitted_in_a_row = 0  # starts the cluster did not take (NotSubmitted)
        self._killed_in_a_row = 0  # trials stopped from outside, none finished or failed since
        self._stop_signal: int | None = None
        self._stopping = False  # set once the runner cancels its trials (stop, abort or error)
        self._building_optimizer = False
        self._wake = SignalSafeEvent()  # set by signal handlers (SIGCHLD, SIGTERM)
        self._fed: set[str] = set()  # other pairs' trials given to the optimizer ([sweep] transfer)
        self._spaces: dict[HardwarePair, Any] = {}  # other pairs' search spaces (transfer)
        self._identity = process_start_time(os.getpid())
        # Trial outcomes the store could not take yet (run id -> (params, outcome)).
        self._unrecorded: dict[str, tuple[dict[str, Any], TrialOutcome]] = {}
        self._paused: str | None = None  # why the sweep is paused (the store is unavailable)
        self._paused_since = 0.0
        self._paused_label = ""  # what the pause event said was unavailable
        # A little disk space held back, released to record a clean stop on a full disk.
        self._reserve = take_reserve(setup.builder.runs_dir.parent / "reserve", setup.sweep)
        self._store_backoff_s = STORE_RETRY_MIN_S

    # -- control ----------------------------------------------------------------------------------
    def request_stop(self, signum: int) -> None:
        """Safe from a signal handler: the loop cancels everything on its next turn.

        While the optimizer is being built (a slow import, and no trial can be in flight yet) the
        request interrupts it at once, so a stop is never held up by start-up.
        """
        self._stop_signal = signum
        self._wake.set()
        if self._building_optimizer:
            raise StopRequested(signum)

    def wake(self) -> None:
        """Safe from a signal handler (SIGCHLD): look at the trials now instead of at the next tick."""
        self._wake.set()

    def run(self) -> int:
        """Run (or resume) the sweep; 0 finished, 1 failed, 128+signal when stopped."""
        cfg, pair = self.cfg, self.setup.pair
        resumed = self.state.claim(
            experiment=cfg.name,
            pair=pair,
            dispatcher=self.dispatcher.kind,
            max_trials=self.setup.limits.max_trials,
            config=cfg.to_dict(),
            generation=cfg.generation,
        )
        if self.on_claimed is not None:
            self.on_claimed()
        try:
            return self._run(resumed)
        finally:
            release_reserve(self._reserve)
            self._wake.close()

    def _run(self, resumed: bool) -> int:
        cfg = self.cfg
        try:
            self._building_optimizer = True
            try:
                self.optimizer = self.optimizer_factory(self.setup.preset, cfg.sweep.seed)
            finally:
                self._building_optimizer = False
            self._resume(resumed)
            return self._loop()
        except StopRequested as stop:
            self._reattach_to_stop()
            return self._stop(stop.signum)
        except BaseException as e:
            self._cancel_in_flight()
            self.state.set_status("failed")
            self.state.event("error", f"the runner stopped on an error: {type(e).__name__}: {e}")
            raise

    # -- the loop ---------------------------------------------------------------------------------
    def _loop(self) -> int:
        while True:
            if self._stop_signal is not None:
                return self._stop(self._stop_signal)
            try:
                code = self._turn()
            except (*STORE_ERRORS, _StillUnrecorded, _DiskFull) as e:
                if not isinstance(e, _StillUnrecorded):
                    self._store_unavailable(e)
                if self._disk_full_too_long():
                    return self._stop_for_full_disk()
                self._wake.wait(self._store_backoff_s)
                self._wake.clear()
                self._store_backoff_s = min(self._store_backoff_s * 2, STORE_RETRY_MAX_S)
                continue
            if code is not None:
                return code
            self._wake.wait(self._next_turn_in_s())
            self._wake.clear()

    def _next_turn_in_s(self) -> float:
        """The loop's period, shorter when a trial's submit is due before it."""
        wait = self.timings.poll_s
        if self._to_submit:
            due = min(w.due for w in self._to_submit.values())
            wait = min(wait, max(0.0, due - self.clock()))
        return wait

    def _turn(self) -> int | None:
        """One turn of the loop; an exit code when the sweep is over. A store failure raises
        (the loop pauses and retries); nothing counts until it is recorded."""
        self._retry_unrecorded()
        self._poll_trials()
        self._copy_live_metrics()
        if self._unrecorded:
            raise _StillUnrecorded
        if _disk_full(self.setup.builder.runs_dir):  # trials could not write: start none
            raise _DiskFull(
                errno.ENOSPC, "No space left on device", str(self.setup.builder.runs_dir)
            )
        self._store_available()
        if self.abort_reason is None:
            self._submit_due()
        progress = SweepProgress(self.counted, len(self.in_flight) + len(self._to_submit))
        if self.abort_reason is not None:
            self._cancel_in_flight()
            self.state.set_status("failed")
            self.state.event("failed", self.abort_reason)
            return 1
        if sweep_done(self.setup.limits, progress):
            states = {r["state"] for r in self.state.rows()}
            if "failed" in states and "finished" not in states:
                # nothing measured: a sweep of failures is no result (its launch and scripts
                # say so), not a done sweep; its trials stay counted, as any failed trial is
                self.state.set_status("failed")
                self.state.event("failed", f"every trial failed: {self._summary()}")
                return 1
            self.state.set_status("finished")
            self.state.event("done", self._summary())
            return 0
        if self._stop_signal is not None:
            # a stop came during this turn (a cancel's SIGTERM while sbatch ran): the loop
            # stops next; a trial suggested now was recorded killed, "not submitted: the sweep
            # is stopping", a row nobody asked for
            return None
        n = suggestions_this_round(self.setup.limits, progress)
        if n:
            self._suggest_and_start(n)
        return None

    def _built_optimizer(self) -> Optimizer:
        assert self.optimizer is not None, "run() builds the optimizer before any trial"
        return self.optimizer

    def _suggest_and_start(self, n: int) -> None:
        # a re-attached trial whose stored params were damaged ({}) is no pending point
        pending = [t.params for t in self.in_flight.values() if t.params]
        pending += [w.spec.params for w in self._to_submit.values()]
        if self.cfg.sweep.transfer:
            self._feed_other_pairs()
            context = hardware_context(self.setup.pair.gpus, self.setup.pair.nodes)
            suggestions = self._built_optimizer().suggest(n, pending=pending, context=context)
        else:
            suggestions = self._built_optimizer().suggest(n, pending=pending)
        if not suggestions and not self.in_flight and not self._to_submit:
            self.abort_reason = "the optimizer returned no suggestion and no trial is running"
            return
        infos = list(self._built_optimizer().last_info) + [{}] * len(suggestions)
        for suggested, info in zip(suggestions, infos):
            params, repair = fit_minibatch_to_batch(suggested)
            if repair:
                info = {
                    **info,
                    "repaired": repair,
                }  # the optimizer will observe the params that ran

            def build(run_id: str, idx: int, params: dict[str, Any] = params) -> TrialSpec:
                return self.setup.builder.build(run_id, idx, params)

            spec = self.state.new_trial(
                params,
                info,
                self.cfg.name,
                build,
                generation=self.cfg.generation,
                fingerprint=self.setup.fingerprint,
            )
            how = "; ".join(str(x) for x in (info.get("how"), repair) if x)
            self.state.event(
                "suggested", short_params(params) + (f" ({how})" if how else ""), spec.run_id
            )
            self._start(spec)

    def _feed_other_pairs(self) -> None:
        """[sweep] transfer: the other pairs' newly ended trials of this experiment, with context."""
        rows = self.state.store.trial_rows(experiment=self.cfg.name)
        for row in rows:
            ended = row["state"] in ("finished", "failed")
            if row["sweep"] == self.setup.sweep or not ended or row["run_id"] in self._fed:
                continue
            self._fed.add(row["run_id"])
            params = stored_params(row["params_json"])
            if params is None:  # a damaged row: nowhere to place it
                continue
            row = clean_numbers(row)
            ok = row["state"] == "finished" and row["score"] is not None
            if row["state"] == "finished" and "score" in row["damaged"]:
                continue  # a damaged score: neither a result nor a failure
            gpus, nodes = row["gpus"], row["nodes"]
            if not all(isinstance(n, int) and n >= 1 for n in (gpus, nodes)):
                continue  # a damaged row (NULL or text): no pair to place it in
            pair = HardwarePair(gpus, nodes)
            if pair not in self._spaces:  # the space it was suggested from: how the spaces move
                self._spaces[pair] = preset_for(self.cfg, pair).space
            self._built_optimizer().observe(
                params,
                row["score"] if ok else None,
                row["runtime_s"],
                failed=not ok,
                context=hardware_context(gpus, nodes),
                space=self._spaces[pair],
            )

    def _start(self, spec: TrialSpec, note: str = "") -> None:
        self._to_submit.pop(spec.run_id, None)
        try:
            handle, fields = self.dispatcher.start(spec)
        except NotSubmitted as e:
            retry_in_s = getattr(e, "retry_in_s", None)
            if retry_in_s is not None:  # asked again later (a stop records it, unsubmitted)
                self._wait_to_submit(spec, float(retry_in_s), str(e), note)
                return
            # the cluster's fault, not the hyperparameters': killed (replaced, never counted,
            # never a failure for the optimizer), until too many in a row end the sweep
            self._not_submitted_in_a_row += 1
            if self._not_submitted_in_a_row >= NOT_SUBMITTED_ALLOWED and self.abort_reason is None:
                self.abort_reason = (
                    f"the cluster took none of the last {self._not_submitted_in_a_row} trials, so "
                    f"no trial can run: {e}"
                )
            self._settle(
                spec.run_id,
                spec.params,
                TrialOutcome("killed", None, None, None, None, f"not submitted: {e}"),
            )
            return
        except (OSError, ValueError) as e:
            if isinstance(e, OSError) and e.errno in MACHINE_ERRNOS:
                # the machine's disk, not the hyperparameters (a file system remounted
                # read-only mid-sweep): each trial was a failure the optimizer learned from,
                # one after another until the whole budget was spent
                self._machine_refused_start(spec, e)
                return
            self._settle(
                spec.run_id,
                spec.params,
                TrialOutcome("failed", None, None, None, None, f"could not start: {e}"),
            )
            return
        self._not_submitted_in_a_row = 0
        self._register(spec.run_id, fields)
        self.in_flight[spec.run_id] = InFlightTrial(
            spec.run_id,
            dict(spec.params),
            self.clock(),
            spec.log_path,
            spec.metrics_path,
            spec.writes_store,
            handle,
        )
        try:  # tracked above first: a started trial is never lost to a store failure
            # error=None: a row that said "waiting to submit: ..." (this runner's wait, or one
            # that died waiting) no longer waits
            self.state.mark_started(spec.run_id, **fields, error=None)
        except STORE_ERRORS as e:
            self._store_unavailable(e)
        label = {"pid": "pid", "job_name": getattr(self.dispatcher, "job_label", "job_name")}
        where = " ".join(f"{label[k]}={v}" for k, v in fields.items() if k in label)
        self.state.event("started", (where + note).strip(), spec.run_id)

    def _machine_refused_start(self, spec: TrialSpec, e: OSError) -> None:
        """A trial this machine could not start for a reason of its own (a read-only or full
        disk): recorded killed (replaced, never counted, never a failure for the optimizer),
        and after ``NOT_SUBMITTED_ALLOWED`` in a row the sweep stops with the cause."""
        self._not_submitted_in_a_row += 1
        if self._not_submitted_in_a_row >= NOT_SUBMITTED_ALLOWED and self.abort_reason is None:
            self.abort_reason = (
                f"none of the last {self._not_submitted_in_a_row} trials could start, for a "
                f"reason of this machine's, not theirs: {e}; fix that, then start the pair again "
                f"(hwscale-tui launch --only {self.setup.pair.tag}, or this hwscale-tui sweep)"
            )
        self._settle(
            spec.run_id,
            spec.params,
            TrialOutcome(
                "killed", None, None, None, None, f"could not start: {e} (the machine's disk)"
            ),
        )

    def _wait_to_submit(self, spec: TrialSpec, retry_in_s: float, reason: str, note: str) -> None:
        """The cluster cannot take the trial now and the dispatcher asks for it again later:
        it waits (queued, ``waiting to submit: <reason>``) while the loop polls the other
        trials, and is started again by ``_submit_due`` once ``retry_in_s`` has passed."""
        self._to_submit[spec.run_id] = _SubmitWait(spec, self.clock() + retry_in_s, reason, note)
        try:
            self.state.store.update_trial(
                spec.run_id,
                state="queued",
                error=f"waiting to submit: {reason}",
                updated_at=self.clock(),
            )
        except STORE_ERRORS as e:  # only what the row shows: the wait goes on
            self._store_unavailable(e)

    def _submit_due(self) -> None:
        """Start again each trial waiting to be submitted whose time has come (not once a
        stop was asked for: the stop records them, and no further sbatch is run)."""
        now = self.clock()
        for waiting in list(self._to_submit.values()):
            if self._stop_signal is not None or self.abort_reason is not None:
                return
            if waiting.due <= now:
                self._start(waiting.spec, note=waiting.note)

    def _register(self, run_id: str, fields: Mapping[str, Any]) -> None:
        """Mirror a running trial into the per-launch file, so ``cancel`` finds it even when
        the store is damaged or this runner died (best effort: never fails the sweep)."""
        registry.record_trial(
            self.cfg.name,
            self.setup.sweep,
            run_id,
            runner_pid=os.getpid(),
            runner_start=self._identity,
            fields=dict(fields),
            dispatcher=self.dispatcher.kind,
        )

    # -- watching ---------------------------------------------------------------------------------
    def _poll_trials(self) -> None:
        if not self.in_flight:
            return
        for run_id, exit in self.dispatcher.poll(list(self.in_flight.values())).items():
            # Popped only once handled: a store failure in between leaves it to the next poll.
            self._finish(self.in_flight[run_id], exit)
            self.in_flight.pop(run_id, None)
        self._track_queue_time()
        self._record_waiting()

    def _track_queue_time(self) -> None:
        """Note when each trial enters and leaves the cluster's queue (``waiting``): a job that
        waits for resources runs nothing and is billed nothing, so its runtime and cost count
        from when it runs. A trial first seen waiting has waited since it was submitted."""
        now = self.clock()
        for trial in self.in_flight.values():
            if trial.waiting and trial.queued_since is None:
                trial.queued_since = trial.started_at if trial.where is None else now
            elif not trial.waiting and trial.queued_since is not None:
                trial.queued_s += max(0.0, now - trial.queued_since)
                trial.queued_since = None

    def _run_wall_s(self, trial: InFlightTrial) -> float:
        """Seconds since the trial started, less the time it waited in the cluster's queue."""
        now = self.clock()
        queued = trial.queued_s
        if trial.queued_since is not None:  # still waiting when it ended (cancelled in the queue)
            queued += max(0.0, now - trial.queued_since)
        return max(0.0, now - trial.started_at - queued)

    def _record_waiting(self) -> None:
        """A trial the cluster has not started yet shows why (``waiting: Resources``)."""
        for trial in self.in_flight.values():
            if trial.waiting == trial.recorded_waiting:
                continue
            try:
                if trial.waiting:
                    self.state.store.update_trial(
                        trial.run_id, state="queued", error=trial.waiting, updated_at=self.clock()
                    )
                    reason = trial.waiting.removeprefix("waiting: ")
                    self.state.event("waiting", reason, trial.run_id)
                else:
                    self.state.store.update_trial(
                        trial.run_id, state="running", error=None, updated_at=self.clock()
                    )
                    self.state.event("running", trial.where or "", trial.run_id)
            except STORE_ERRORS as e:  # tried again on the next poll
                self._store_unavailable(e)
                return
            trial.recorded_waiting = trial.waiting

    def _copy_live_metrics(self) -> None:
        for trial in self.in_flight.values():
            if not trial.writes_store:
                self._copy_metrics(trial)

    def _copy_metrics(self, trial: InFlightTrial) -> None:
        """Metrics-file lines -> history rows and the trial's live columns (template trials)."""
        records = trial.metrics.read_new()
        rows = [
            history_row(r) for r in records if r.get("final") is not True
        ]  # the final line is a summary
        rows = [r for r in rows if r["agent_step"] is not None]
        if not rows:
            return
        pair = self.setup.pair
        for r in rows:
            if r["wall_s"] is not None:
                r["cost_usd"] = job_cost_usd(self.price, pair.gpus, pair.nodes, r["wall_s"])
        live: dict[str, Any] = {}
        for column, row_key in LIVE_COLUMNS.items():
            values = [r.get(row_key) for r in rows if r.get(row_key) is not None]
            if values:
                live[column] = values[-1]
        self.state.record_live(trial.run_id, live, rows)

    def _finish(self, trial: InFlightTrial, exit: TrialExit, unconfirmed: bool = False) -> None:
        """Settle an ended (or cancelled) trial. ``unconfirmed``: its cancel was not confirmed
        (scancel failed or got no answer): it stays in the per-launch file and says so, so that
        ``hwscale-tui cancel`` finds its job and tries again."""
        if not trial.writes_store:
            self._copy_metrics(trial)
        outcome = decide_outcome(
            exit,
            cancelled=trial.cancelled,
            row=self.state.row(trial.run_id),
            wall_s=exit.runtime_s if exit.runtime_s is not None else self._run_wall_s(trial),
            price_per_gpu_hour=self.price,
            pair=self.setup.pair,
        )
        if outcome.state == "failed" and (self._paused is not None or _disk_full(trial.log_path)):
            # It failed while the store or the disk was unavailable: the machine's failure, not
            # the hyperparameters' -- never a failure for the optimizer, never counted.
            why = self._paused or "the disk is full"
            outcome = dataclasses.replace(
                outcome, state="killed", error=f"{outcome.error} while {why.rstrip('.')}"
            )
        if unconfirmed:
            kind = getattr(self.dispatcher, "kind", "")
            job = {"slurm": "Slurm job", "skypilot": "SkyPilot job"}.get(kind, "job")
            outcome = dataclasses.replace(
                outcome,
                error=f"{outcome.error}; its cancel was not confirmed, so its {job} may still "
                "run: hwscale-tui cancel tries again",
            )
        self._settle(trial.run_id, trial.params, outcome)
        if not unconfirmed:
            registry.forget_trial(self.cfg.name, trial.run_id)
        if exit.abort and self.abort_reason is None:
            self.abort_reason = exit.abort
        self._count_kills(trial, outcome)
        if (
            outcome.state == "failed"
            and exit.code == BAD_INPUT_EXIT_CODE
            and self.abort_reason is None
        ):
            self.abort_reason = (
                f"trial {trial.run_id} rejected its arguments (exit 2), so every trial would; "
                f"fix the trial command or the extra arguments ({outcome.error})"
            )

    def _count_kills(self, trial: InFlightTrial, outcome: TrialOutcome) -> None:
        """A killed trial is replaced and not counted (preempted, cancelled by an admin, the
        machine's failure); but trials killed one after another with nothing finishing or
        failing (jobs scancelled as they start, a node that kills every trial) would be replaced
        without end: after ``killed_in_a_row_allowed`` in a row the sweep stops, saying why."""
        if trial.cancelled or self._stopping:
            return
        if outcome.state != "killed":
            self._killed_in_a_row = 0
            return
        self._killed_in_a_row += 1
        allowed = killed_in_a_row_allowed(self.setup.limits.max_parallel_jobs)
        if self._killed_in_a_row >= allowed and self.abort_reason is None:
            self.abort_reason = (
                f"the last {self._killed_in_a_row} trials were all stopped before they ended and "
                f"none finished or failed since (the last: {outcome.error or 'killed'}), so the "
                "sweep stops instead of replacing them without end; find what stops them, then "
                f"start the pair again (hwscale-tui launch --only {self.setup.pair.tag})"
            )

    def _settle(self, run_id: str, params: dict[str, Any], outcome: TrialOutcome) -> None:
        """Record a trial's end: store, event line, optimizer, budget. If the store cannot take
        it (disk full, lock timeout, WAL gone), the outcome waits in ``_unrecorded`` and the
        sweep pauses: it reaches the optimizer and the budget only once it is recorded."""
        try:
            self.state.finish(run_id, outcome)
        except STORE_ERRORS as e:
            self._unrecorded[run_id] = (params, outcome)
            self._store_unavailable(e)
            return
        self._unrecorded.pop(run_id, None)
        self._recorded(run_id, params, outcome)

    def _retry_unrecorded(self) -> None:
        for run_id, (params, outcome) in list(self._unrecorded.items()):
            self.state.finish(run_id, outcome)  # raises while the store is still unavailable
            del self._unrecorded[run_id]
            self._recorded(run_id, params, outcome)

    def _store_unavailable(self, exc: BaseException) -> None:
        """Pause: no new trial starts; trials in flight keep running; writes are retried."""
        from ..errors import store_error_sentence

        runs = self.setup.builder.runs_dir
        if isinstance(exc, _DiskFull) and not _same_disk(runs, self.state.store.path.parent):
            # only the trials' disk is full: it said "the store <path>: the disk is full" of a
            # store on another disk with room to spare
            label, after = "the trials' disk is full", "."
            reason = (
                f"the trials' run folders {runs}: the disk is full; free space, then retry "
                "(hwscale-tui launch --resume resumes a launch)."
            )
        else:
            label = "store unavailable"
            after = "; their results are written once the store takes them."
            reason = store_error_sentence(self.state.store.path, exc)
        if self._paused is None:
            self._paused_since = time.monotonic()
            self._paused_label = label
            self.state.event(
                "paused",
                f"{label}: {reason} No new trial starts; {len(self.in_flight)} in flight "
                f"keep running{after}",
            )
            registry.update(
                self.cfg.name,
                lambda d: d.setdefault("paused", {}).update({self.setup.sweep: reason}),
            )
        self._paused = reason

    def _disk_full_too_long(self) -> bool:
        return (
            self._paused is not None
            and "the disk is full" in self._paused
            and time.monotonic() - self._paused_since >= disk_full_stop_s()
        )

    def _stop_for_full_disk(self) -> int:
        """The disk stayed full: stop cleanly instead of holding trials that cannot record.
        The space reserve is released so the stop itself can be written: trials in flight are
        cancelled and recorded killed (never counted), the sweep is marked stopped with the
        reason, and the runner exits EXIT_STORE_UNAVAILABLE, which ``launch --resume`` restarts
        once there is space again."""
        release_reserve(self._reserve)
        self.state.event(
            "stopping", f"the disk stayed full for {disk_full_stop_s():g} s; stopping cleanly"
        )
        self._cancel_in_flight()
        try:
            self._retry_unrecorded()
            self.state.set_status("stopped: the disk is full")
            self.state.event(
                "stopped",
                f"{self._summary()}; hwscale-tui launch --resume continues once space is free",
            )
        except STORE_ERRORS as e:
            self._store_unavailable(e)
        return EXIT_STORE_UNAVAILABLE

    def _store_available(self) -> None:
        if self._paused is None:
            return
        self._paused = None
        self._store_backoff_s = STORE_RETRY_MIN_S
        registry.update(
            self.cfg.name, lambda d: d.setdefault("paused", {}).pop(self.setup.sweep, None)
        )
        again = (
            "space on the trials' disk again"
            if self._paused_label == "the trials' disk is full"
            else "store available again"
        )
        self.state.event("resumed", f"{again}; the sweep continues")

    def _recorded(self, run_id: str, params: dict[str, Any], outcome: TrialOutcome) -> None:
        if outcome.state == "finished":
            self.state.event(
                "finished",
                f"score={_fmt(outcome.score, '.6g')} cost_usd={_fmt(outcome.cost_usd, '.4g')} "
                f"runtime_s={_fmt(outcome.runtime_s, '.1f')}",
                run_id,
            )
            # None: stopped during start-up (the store has it); no params: a damaged row
            if self.optimizer is not None and params:
                self.optimizer.observe(params, outcome.score, outcome.runtime_s)
        elif outcome.state == "failed":
            self.state.event("failed", outcome.error or "failed", run_id)
            if self.optimizer is not None and params:
                self.optimizer.observe(params, None, outcome.runtime_s, failed=True)
        else:
            note = (
                ""
                if self._stopping or self._stop_signal is not None
                else "; not counted toward max_trials (a new suggestion replaces it)"
            )
            self.state.event("killed", (outcome.error or "killed") + note, run_id)
        if outcome.counts_toward_max_trials:
            self.counted += 1

    # -- resume -----------------------------------------------------------------------------------
    def _resume(self, resumed: bool) -> None:
        """Rebuild everything from the store (a no-op for a new sweep)."""
        to_start: list[TrialSpec] = []
        announced = self.state.ended_run_ids() if resumed else set()
        for row in map(clean_numbers, self.state.rows()):
            # None: a hand-damaged row; it counts, but the optimizer cannot place it
            stored = stored_params(row["params_json"])
            params = stored if stored is not None else {}
            state = row["state"]
            if state not in IN_FLIGHT_STATES and row["run_id"] not in announced:
                self._announce_unwatched_end(row)
            if state == "finished" and (row["score"] is not None or "score" in row["damaged"]):
                if stored is not None and row["score"] is not None:
                    self._built_optimizer().observe(params, row["score"], row["runtime_s"])
                self.counted += 1
            elif state in ("finished", "failed", "stale"):
                if stored is not None:
                    self._built_optimizer().observe(params, None, row["runtime_s"], failed=True)
                self.counted += 1
            elif state in IN_FLIGHT_STATES:
                spec = self._resume_in_flight(row, params, damaged=stored is None)
                if spec is not None:
                    to_start.append(spec)
        if resumed:
            self.state.event(
                "resumed",
                f"{self.counted} of {plural(self.setup.limits.max_trials, 'trial')} done, "
                f"{len(self.in_flight)} re-attached, "
                f"{len(to_start)} suggested but never started",
            )
        for spec in to_start:
            self._start(spec, note=" (suggested before the runner restarted)")

    def _announce_unwatched_end(self, row: Mapping[str, Any]) -> None:
        """A trial that recorded its own end (the trainer writes its row) while no runner watched."""
        if row["state"] == "finished":
            detail = f"score={_fmt(row['score'], '.6g')} cost_usd={_fmt(row['cost_usd'], '.4g')} runtime_s={_fmt(row['runtime_s'], '.1f')}"
        else:
            detail = row["error"] or row["state"]
        self.state.event(
            row["state"], f"{detail} (ended while no runner was watching)", row["run_id"]
        )

    def _reattach(self, row: Mapping[str, Any], params: dict[str, Any]) -> bool:
        """Watch a trial an earlier runner started, if the dispatcher still finds it running."""
        run_id = row["run_id"]
        handle = self.dispatcher.attach(row)
        if handle is None:
            return False
        trial = InFlightTrial(
            run_id,
            params,
            row["started_at"] or self.clock(),
            Path(row["log_path"]),
            Path(row["metrics_path"]),
            self.setup.builder.trainer_writes_store,
            handle,
        )
        if row["state"] == "queued":
            # the row says it waits ("waiting: Resources"): once a poll sees it running, the
            # row must say so too (a job that started while no runner watched showed
            # "queued, waiting: Resources" for its whole run)
            trial.recorded_waiting = row["error"] or "waiting: in the queue"
        self.in_flight[run_id] = trial
        self._register(run_id, dict(row))
        self.state.event(
            "reattached",
            f"pid={row['pid']}"
            if row["pid"]
            else f"{getattr(self.dispatcher, 'job_label', 'job_name')}={row['job_name']}",
            run_id,
        )
        return True

    def _reattach_to_stop(self) -> None:
        """A stop that came during start-up, before ``_resume``: the trials an earlier runner
        left running (a Slurm job, a local process) are re-attached so that the stop cancels
        them, rather than the sweep being recorded cancelled while they run on unwatched; one
        that ended meanwhile is settled as a resume settles it. A suggestion never started is
        left to the next runner."""
        try:
            rows = self.state.rows()
        except STORE_ERRORS as e:
            self._store_unavailable(e)
            return
        for row in map(clean_numbers, rows):
            if row["state"] not in IN_FLIGHT_STATES or row["run_id"] in self.in_flight:
                continue
            with contextlib.suppress(*STORE_ERRORS):
                stored = stored_params(row["params_json"])
                self._resume_in_flight(row, stored or {}, damaged=stored is None)

    def _resume_in_flight(
        self, row: Mapping[str, Any], params: dict[str, Any], damaged: bool = False
    ) -> TrialSpec | None:
        """Re-attach a trial an earlier runner started, settle it if it ended, or return it to
        start (``damaged``: its stored params are no JSON object, so it is never started)."""
        run_id = row["run_id"]
        was_started = bool(row["pid"] or row["job_name"])
        if was_started and self._reattach(row, params):
            return None
        log_exists = bool(row["log_path"]) and Path(row["log_path"]).exists()
        if was_started or log_exists:
            reason = "its process ended while no runner was watching and left no final result"
            if not was_started:
                reason = "the runner stopped while starting it, so its process (if any) was never tracked"
            final, problem = (
                read_trial_final(Path(row["metrics_path"])) if row["metrics_path"] else (None, None)
            )
            exit = TrialExit(None, reason, final, metrics_problem=problem)
            started = row["started_at"]
            outcome = decide_outcome(
                exit,
                cancelled=False,
                row=row,
                wall_s=(self._last_sign_of_life(row) - started) if started else None,
                price_per_gpu_hour=self.price,
                pair=self.setup.pair,
            )
            self._settle(run_id, params, outcome)
            registry.forget_trial(self.cfg.name, run_id)  # as _finish does: nothing runs
            return None
        if damaged:  # what it was to run is lost: replaced, never started with defaults
            outcome = TrialOutcome(
                "killed",
                None,
                None,
                None,
                None,
                "never started: its params in the store are damaged (params_json is no JSON "
                "object)",
            )
            self._settle(run_id, params, outcome)
            return None
        return self.setup.builder.build(run_id, row["idx"], params)

    def _last_sign_of_life(self, row: Mapping[str, Any]) -> float:
        """When a trial that ended while no runner watched was last seen alive: the last write
        to its log or metrics file (never later than now). Its wall time, and so the cost of a
        trial that reported no time of its own, ran to now: a 0.2 s trial settled 12 minutes
        later was charged 709 s, the time the runner was away."""
        now = self.clock()
        seen: list[float] = []
        for key in ("log_path", "metrics_path"):
            if row[key]:
                with contextlib.suppress(OSError):
                    seen.append(os.stat(row[key]).st_mtime)
        started = row["started_at"] or 0.0
        last = max((t for t in seen if t >= started), default=now)
        return min(now, last)

    # -- stopping ---------------------------------------------------------------------------------
    def _cancel_in_flight(self) -> None:
        self._stopping = True
        for run_id, waiting in list(self._to_submit.items()):  # never submitted: nothing to cancel
            del self._to_submit[run_id]
            self._settle(
                run_id,
                waiting.spec.params,
                TrialOutcome(
                    "killed",
                    None,
                    None,
                    None,
                    None,
                    f"not submitted: {waiting.reason}; the sweep stopped before sbatch was "
                    "asked again",
                ),
            )
        trials = list(self.in_flight.values())
        if not trials:
            return
        for trial in trials:
            trial.cancelled = True
        unconfirmed = self.dispatcher.cancel(trials, self.timings.cancel_grace_s) or set()
        for trial in trials:
            try:
                self._finish(
                    self.in_flight.pop(trial.run_id),
                    TrialExit(None),
                    unconfirmed=trial.run_id in unconfirmed,
                )
            except STORE_ERRORS as e:  # stopped all the same; the store is told when it can be
                self._store_unavailable(e)

    def _stop(self, signum: int) -> int:
        name = signal.Signals(signum).name
        n = len(self.in_flight) + len(self._to_submit)  # waiting to submit: in flight for the sweep
        self.state.event(
            "cancelling",
            f"{name}: stopping {plural(n, 'in-flight trial')}",
        )
        self._cancel_in_flight()
        try:
            self._retry_unrecorded()
            self.state.set_status("cancelled")
            self.state.event("cancelled", self._summary())
        except STORE_ERRORS as e:
            self._store_unavailable(e)
        return 128 + signum

    def _summary(self) -> str:
        rows = [clean_numbers(r) for r in self.state.rows()]
        by_state: dict[str, int] = {}
        for r in rows:
            by_state[r["state"]] = by_state.get(r["state"], 0) + 1
        counts = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items())) or "no trials"
        scored = [r for r in rows if r["state"] == "finished" and r["score"] is not None]
        if not scored:
            return counts
        pick = max if self.cfg.sweep.goal == "maximize" else min
        best = pick(scored, key=lambda r: r["score"])
        return f"{counts}; best score={best['score']:.6g} ({best['run_id']})"
