"""How far along an experiment is: per trial, per pair and overall, with labelled estimates.

Pure arithmetic on :class:`~hwscale_tui.records.Trial` records (from any source) and the
experiment's settings, so ``status`` (and ``--json``) and the app print the same numbers:

- a running trial: agent steps as a fraction of its budget (``sweep.total_timesteps``), its
  live steps/s and its ETA (steps left / steps/s);
- a pair: trials done (finished + failed: what counts toward ``max_trials``), running, failed,
  killed; the ETA of the pair; cost so far and projected;
- the experiment: ETA (the latest pair end, or the sum for sequential launches), cost so far
  and projected cost.

Every duration and projected cost is an **estimate** and says what it is based on:
``measured`` (this pair's own trials: finished trials' time, else running trials' steps/s),
``history`` (finished trials of the same GPU x node shape in this experiment's earlier runs:
an earlier generation's sweeps), ``scaled`` (another pair's measured throughput scaled by the
GPU count), or ``settings`` (no throughput of this experiment known:
``sweep.max_suggestion_cost``, the longest a suggestion may be predicted to run, so the
estimate is an upper bound). Other experiments' throughput is never used: they may train
another environment, batch or trainer on the same shapes (an experiment's first estimate took
another's seconds per trial and called it "earlier runs of the same pairs").
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..analysis.format import fmt_share
from ..prices import job_cost_usd
from ..records import Trial

BASIS_MEASURED, BASIS_HISTORY, BASIS_SCALED, BASIS_SETTINGS = (
    "measured",
    "history",
    "scaled",
    "settings",
)
BASIS_TEXT = {
    BASIS_MEASURED: "from this experiment's measured throughput",
    BASIS_HISTORY: "from the throughput of this experiment's earlier runs of the same pairs",
    BASIS_SCALED: "from measured throughput scaled by the pair's size (GPUs; ranks in local mode)",
    # shown in parentheses: none of its own
    # "no throughput measured yet": of this experiment (no other experiment's is used)
    BASIS_SETTINGS: "an upper bound from settings: sweep.max_suggestion_cost per trial, no "
    "throughput measured yet",
}
BASIS_ORDER = (BASIS_MEASURED, BASIS_HISTORY, BASIS_SCALED, BASIS_SETTINGS)


def mixed_basis_text(pairs: Iterable[Any]) -> str:
    """What the estimates of pairs on different bases stand on, pair by pair: ``g1n1: from
    this experiment's measured throughput; g2n1: an upper bound from settings ...`` (it said
    "from measured throughput where known, else from settings" whatever the bases were)."""
    by_basis: dict[str, list[str]] = {}
    for pp in pairs:
        by_basis.setdefault(pp.basis, []).append(pp.tag)
    order = sorted(by_basis, key=lambda b: BASIS_ORDER.index(b) if b in BASIS_ORDER else 99)
    return "; ".join(f"{', '.join(by_basis[b])}: {BASIS_TEXT.get(b, b)}" for b in order)


ENDED_PAIR_STATUSES = ("exited", "failed_to_start", "cancelled")
# a pair ended this way before its budget was spent does no more work: it is left out of the
# experiment's share done (counting it as done would overstate the progress)
STOPPED_SHORT_TEXT = {"cancelled": "cancelled", "failed_to_start": "failed to start"}


@dataclass(frozen=True)
class ProgressSettings:
    """What the estimates need from the experiment file."""

    budget_steps: float  # sweep.total_timesteps: one trial's agent-step budget
    max_trials: int
    parallel: int  # sweep.max_parallel_jobs
    price_per_gpu_hour: float
    max_trial_s: float  # sweep.max_suggestion_cost: the settings-only trial duration
    delay_s: float = 0.0
    sequential: bool = False
    local_ranks: bool = False  # local mode: a pair's G x N are CPU ranks on this machine

    @classmethod
    def from_config(cls, cfg: Any) -> ProgressSettings:
        return cls(
            budget_steps=float(cfg.sweep.total_timesteps),
            max_trials=int(cfg.sweep.max_trials),
            parallel=max(1, int(cfg.sweep.max_parallel_jobs)),
            price_per_gpu_hour=float(cfg.price_per_gpu_hour),
            max_trial_s=float(cfg.sweep.max_suggestion_cost),
            delay_s=float(cfg.launch.delay_s),
            sequential=bool(cfg.launch.sequential),
            local_ranks=bool(cfg.local_ranks),
        )


@dataclass(frozen=True)
class PairPlan:
    """One pair to estimate: its sweep, shape and (when launched) status and planned start."""

    sweep: str
    gpus: int
    nodes: int
    status: str | None = None  # the supervisor's pair status; None: not launched
    planned_start: float | None = None
    started_at: float | None = None
    # the max_trials the pair's sweep recorded when it started (what it runs to); None:
    # ``ProgressSettings.max_trials``
    max_trials: int | None = None
    exit_code: int | None = None  # of an exited pair's sweep (negative: killed by that signal)
    # pending, but the supervisor that would start it is gone: it waits for launch --resume,
    # so no time left can be estimated (it was counted as starting at its planned time)
    never_started: bool = False
    # the launch that owns the pair and its place in it: a sequential pair with no planned
    # start runs after the pairs running now and those launched before it (a pair relaunched
    # beside a running one waits for it), whatever their order in the grid
    launch_id: int | None = None
    position: int | None = None
    # exited, but its sweep runner died while no supervisor watched (exit code unknown, and
    # its sweep recorded no end): it does no more work until launch --resume starts it again
    runner_died: bool = False

    @classmethod
    def of(cls, pair: Any) -> PairPlan:
        """The plan of a launched pair as ``pair_status`` reports it (a ``PairStatus``)."""
        return cls(
            pair.sweep_name,
            pair.gpus,
            pair.nodes,
            pair.status,
            pair.planned_start,
            pair.started_at,
            getattr(pair, "max_trials", None),
            getattr(pair, "exit_code", None),
            bool(getattr(pair, "never_started", False)),
            getattr(pair, "launch_id", None),
            getattr(pair, "position", None),
            pair.status == "exited"
            and getattr(pair, "exit_code", None) is None
            and getattr(pair, "ended_at", None) is None
            and not getattr(pair, "alive", False),
        )

    @property
    def tag(self) -> str:
        return f"g{self.gpus}n{self.nodes}"

    @property
    def total_gpus(self) -> int:
        return self.gpus * self.nodes


def _finite(x: float | None) -> float | None:
    """``x`` if it is a finite number; None for anything else (also text a damaged store row
    holds: math.isfinite('many') raised TypeError, and status ended in a traceback)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class TrialProgress:
    fraction: float | None  # agent steps / budget, 0..1
    sps: float | None  # live agent steps per second
    eta_s: float | None  # running trials only: steps left / steps per second

    @property
    def percent_text(self) -> str:
        return "-" if self.fraction is None else fmt_share(self.fraction)


def trial_progress(t: Trial, budget_steps: float | None) -> TrialProgress:
    """A trial's steps as a fraction of the budget, its steps/s and (running) its ETA."""
    steps, sps = _finite(t.agent_steps), _finite(t.sps)
    fraction = None
    if steps is not None and budget_steps and budget_steps > 0:
        fraction = min(1.0, max(0.0, steps / budget_steps))
    if t.state == "finished" and fraction is None:
        fraction = 1.0
    eta = None
    if t.state == "running" and budget_steps and sps and sps > 0:
        eta = max(0.0, budget_steps - (steps or 0.0)) / sps
    return TrialProgress(fraction, sps, eta)


@dataclass
class PairProgress:
    sweep: str
    tag: str
    total_gpus: int
    max_trials: int
    done: int  # finished + failed: what counts toward max_trials
    finished: int
    failed: int
    killed: int  # replaced by a new suggestion: not counted in done
    running: int
    ended: bool  # the pair's sweep has ended (or every trial is done)
    trial_s: float | None  # estimated seconds per full trial
    trial_cost_usd: float | None  # estimated dollars per full trial
    basis: str  # what the estimates are based on (BASIS_*)
    eta_s: float | None  # estimated seconds until the pair ends (0 when ended)
    cost_so_far_usd: float
    cost_projected_usd: float | None  # so far + the estimated rest
    running_fraction: float = 0.0  # the running trials' progress, in trials
    awaiting_eval: int = 0  # trained to the budget, score not in yet (Metta)
    stopped_short: str | None = None  # "cancelled" / "failed to start" before its budget was spent

    @property
    def fraction(self) -> float:
        """Trials' worth of work done, as a fraction of max_trials (running ones in part)."""
        if self.ended or not self.max_trials:
            return 1.0 if self.ended else 0.0
        return min(1.0, (self.done + self.awaiting_eval + self.running_fraction) / self.max_trials)

    def counts_text(self) -> str:
        """``3/8 done, 1 running, 1 failed, 2 killed`` (zero counts left out)."""
        parts = [f"{self.done}/{self.max_trials} done"]
        for n, word in (
            (self.running, "running"),
            (self.awaiting_eval, "awaiting eval"),
            (self.failed, "failed"),
            (self.killed, "killed"),
        ):
            if n:
                parts.append(f"{n} {word}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["fraction"] = self.fraction
        return out


@dataclass
class ExperimentProgress:
    pairs: list[PairProgress]
    eta_s: float | None
    cost_so_far_usd: float
    cost_projected_usd: float | None
    basis: str  # BASIS_* when every pair's estimate has the same basis, else "mixed"
    done: int = 0
    max_trials: int = 0
    running: int = 0
    failed: int = 0
    killed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return all(p.ended for p in self.pairs)

    @property
    def basis_text(self) -> str:
        if self.basis == "mixed":
            return mixed_basis_text(p for p in self.pairs if not p.ended)
        return BASIS_TEXT.get(self.basis, self.basis)

    @property
    def counted(self) -> list[PairProgress]:
        """The pairs the share done is over: all but those stopped short (cancelled, failed to
        start), whose trials will never run."""
        return [p for p in self.pairs if p.stopped_short is None]

    @property
    def fraction(self) -> float:
        counted = self.counted
        total = sum(p.max_trials for p in counted)
        if not total:
            return 0.0
        return min(1.0, sum(p.fraction * p.max_trials for p in counted) / total)

    def stopped_short_text(self) -> str:
        """``g1n1 cancelled, g4n1 failed to start`` (empty when none)."""
        return ", ".join(f"{p.tag} {p.stopped_short}" for p in self.pairs if p.stopped_short)

    def summary(self, short: bool = False) -> str:
        """One line: ``42% | est. 12m05s left | $0.42 so far, est. $1.10 in all (basis)``;
        ``short`` names the basis in one word (``measured``, ``settings``, ...)."""
        if self.ended:  # and say which stopped short: "ended" alone reads as work done
            stopped = self.stopped_short_text()
            ended = f"all pairs ended ({stopped})" if stopped else "all pairs ended"
            return f"{ended} | cost ${self.cost_so_far_usd:,.2f}"
        upper = self.basis == BASIS_SETTINGS
        left = (
            f"est. {'at most ' if upper else ''}{fmt_duration(self.eta_s)} left"
            if self.eta_s is not None
            else "time left unknown"
        )
        projected = (
            f", est. {'at most ' if upper else ''}${self.cost_projected_usd:,.2f} in all"
            if self.cost_projected_usd is not None
            else ""
        )
        basis = self.basis if short else self.basis_text
        stopped = self.stopped_short_text()
        share = fmt_share(self.fraction) + (f" (not counted: {stopped})" if stopped else "")
        return f"{share} | {left} | ${self.cost_so_far_usd:,.2f} so far{projected} ({basis})"

    def to_json(self) -> dict[str, Any]:
        return {
            "fraction": self.fraction,
            "eta_s": self.eta_s,
            "cost_so_far_usd": self.cost_so_far_usd,
            "cost_projected_usd": self.cost_projected_usd,
            "estimate_basis": self.basis,
            "estimate_basis_text": self.basis_text,
            "done": self.done,
            "max_trials": self.max_trials,
            "running": self.running,
            "failed": self.failed,
            "killed": self.killed,
            "ended": self.ended,
            "stopped_short": [p.tag for p in self.pairs if p.stopped_short],
            "pairs": [p.to_json() for p in self.pairs],
            "notes": list(self.notes),
        }


def _stopped_short(p: PairPlan) -> str | None:
    """Why a pair with trials left will run no more: cancelled, failed to start, or its sweep
    exited with an error (a sweep that exits 0 early is taken as done: a Metta sweep's trials
    are not in the local store, so they cannot be counted here)."""
    if p.runner_died:  # not done: launch --resume continues it
        return "sweep runner died"
    if p.status == "exited" and p.exit_code is not None and p.exit_code != 0:
        if p.exit_code < 0:
            return f"killed by signal {-p.exit_code}"
        return f"exited with code {p.exit_code}"
    return STOPPED_SHORT_TEXT.get(p.status or "")


def fmt_duration(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``2h07m``, ``1d03h``; ``-`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _median(values: Iterable[float | None]) -> float | None:
    xs = [x for v in values if (x := _finite(v)) is not None and x > 0]
    return statistics.median(xs) if xs else None


# trials whose steps/s measure the pair's throughput when none finished: killed ones too (a
# cancel or a replacement stopped them; they ran at the pair's speed until then)
_RATE_STATES = ("running", "finished", "failed", "killed")


# the steps a pair's unfinished trials must have made, as a share of one trial's budget, for
# their rate to come before an earlier run's or another pair's: below it their time is mostly
# start-up (a new pair's first report read 1m39s for what took 27s)
MIN_RATE_SHARE = 0.1


def _full_trial_seconds(
    trials: Sequence[Trial], budget: float, min_steps: float = 0.0
) -> float | None:
    """Seconds one full-budget trial takes, measured on this pair's trials.

    Without a finished trial: the steps of the pair's trials over the time they took, added
    up. A trial's steps/s is its steps over its time so far, start-up included (spawning its
    ranks, building its environments): at its first reports that is mostly start-up -- ~20x
    too slow on a loaded machine -- and, taken alone (the median of one), it stood for the
    pair's throughput: a relaunched pair's ETA read 2h44m for a sweep that took 9m. Added up,
    a trial that has only just begun weighs as little as the steps it made."""
    finished: list[float] = []
    for t in trials:
        runtime, steps = _finite(t.runtime_s), _finite(t.agent_steps)
        if t.state == "finished" and runtime is not None and steps is not None and steps > 0:
            finished.append(runtime * budget / steps)
    measured = _median(finished)
    if measured is not None:
        return measured
    steps_sum = seconds_sum = 0.0
    for t in trials:
        steps, sps = _finite(t.agent_steps), _finite(t.sps)
        if t.state in _RATE_STATES and steps and steps > 0 and sps and sps > 0:
            steps_sum += steps
            seconds_sum += steps / sps
    if steps_sum > 0 and seconds_sum > 0 and steps_sum >= min_steps:
        return budget * seconds_sum / steps_sum
    if min_steps > 0:
        return None
    sps_median = _median(t.sps for t in trials if t.state in _RATE_STATES)
    return budget / sps_median if sps_median else None


def _run_order(pairs: Sequence[PairPlan]) -> list[int]:
    """The pairs' indices in the order a sequential experiment runs them: those running now,
    then those with a planned start (by it), then those waiting for their turn (by the launch
    that owns them and their place in it; not launched yet: the grid's order)."""

    def key(i: int) -> tuple[int, float, float, int]:
        p = pairs[i]
        if p.status in ("running", "starting"):
            return (0, 0.0, 0.0, i)
        if p.planned_start is not None:
            return (1, p.planned_start, 0.0, i)
        launch = float(p.launch_id) if p.launch_id is not None else math.inf
        place = float(p.position) if p.position is not None else float(i)
        return (2, launch, place, i)

    return sorted(range(len(pairs)), key=key)


def experiment_progress(
    pairs: Sequence[PairPlan],
    trials: Iterable[Trial],
    settings: ProgressSettings,
    now: float,
    *,
    history_sps: Mapping[tuple[int, int], float] | None = None,
    launched_at: float | None = None,
) -> ExperimentProgress:
    """Progress and estimates of every pair and of the experiment.

    ``trials`` may hold other experiments' trials: only those of the pairs' sweeps count.
    ``history_sps`` (gpus, nodes) -> steps/s of earlier runs (see :func:`measured_throughput`).
    Pairs not launched yet start ``delay_s`` apart from ``launched_at`` (default ``now``).
    """
    by_sweep: dict[str, list[Trial]] = {p.sweep: [] for p in pairs}
    for t in trials:
        if t.sweep in by_sweep:
            by_sweep[t.sweep].append(t)
    budget = settings.budget_steps
    enough = budget * MIN_RATE_SHARE

    def per_gpu_rate(min_steps: float) -> float | None:
        return _median(
            (budget / s) / p.total_gpus
            for p in pairs
            if (s := _full_trial_seconds(by_sweep[p.sweep], budget, min_steps)) and p.total_gpus
        )

    # steps/s per GPU measured anywhere in this experiment, to scale to pairs without their own
    per_gpu = per_gpu_rate(enough)
    if per_gpu is None and history_sps:
        per_gpu = _median(sps / (g * n) for (g, n), sps in history_sps.items() if g and n)
    solid = per_gpu is not None  # from trials that made enough steps, or finished ones
    if per_gpu is None:  # only trials just begun: better than the settings' upper bound
        per_gpu = per_gpu_rate(0.0)
    out: list[PairProgress] = []
    own_etas: list[float] = []  # each live pair's own time left, without waiting for others
    # sequential: the pairs that start when the pair before them has exited (no planned start)
    waits_turn: set[int] = set()
    own_eta: dict[int, float] = {}
    start = launched_at if launched_at is not None else now
    for i, p in enumerate(pairs):
        ts = by_sweep[p.sweep]
        max_trials = p.max_trials or settings.max_trials
        counts = {s: sum(t.state == s for t in ts) for s in ("finished", "failed", "killed")}
        running = [t for t in ts if t.state == "running"]
        awaiting = sum(t.state == "awaiting_eval" for t in ts)  # trained, score not in yet
        done = counts["finished"] + counts["failed"]
        trial_s, basis = _full_trial_seconds(ts, budget, enough), BASIS_MEASURED
        if trial_s is None and history_sps and history_sps.get((p.gpus, p.nodes)):
            trial_s, basis = budget / history_sps[(p.gpus, p.nodes)], BASIS_HISTORY
        own = _full_trial_seconds(ts, budget) if trial_s is None else None
        if trial_s is None and per_gpu and (own is None or solid):
            # another pair's rate, scaled: its trials made enough steps, or this pair has none
            trial_s, basis = budget / (per_gpu * p.total_gpus), BASIS_SCALED
        if trial_s is None and own is not None:  # its own trials, just begun: all there is
            trial_s, basis = own, BASIS_MEASURED
        if trial_s is None:
            trial_s, basis = settings.max_trial_s, BASIS_SETTINGS
        trial_cost = job_cost_usd(settings.price_per_gpu_hour, p.gpus, p.nodes, trial_s)
        full_costs: list[float] = []
        for t in ts:
            cost, steps = _finite(t.cost_usd), _finite(t.agent_steps)
            if t.state == "finished" and cost is not None and steps is not None and steps > 0:
                full_costs.append(cost * budget / steps)
        measured_cost = _median(full_costs)
        if measured_cost is not None:
            trial_cost = measured_cost
        cost_so_far = sum((c for t in ts if (c := _finite(t.cost_usd)) is not None), 0.0)
        ended = p.status in ENDED_PAIR_STATUSES or done >= max_trials
        progress = [trial_progress(t, budget) for t in running]
        running_fraction = sum(tp.fraction or 0.0 for tp in progress)
        eta: float
        projected: float | None
        if ended:
            eta, projected = 0.0, cost_so_far
        else:
            # a running trial's part left at the pair's time per trial: its own steps/s alone
            # is mostly its start-up at its first reports (one trial just begun read 1m16s
            # left of a 5 s trial; the rate it is part of weighs it by its steps)
            left_in_running = [trial_s * (1 - (tp.fraction or 0.0)) for tp in progress]
            new = max(0, max_trials - done - len(running) - awaiting)
            eta = max(left_in_running, default=0.0) + math.ceil(new / settings.parallel) * trial_s
            # a pair not launched yet (status None: an estimate) or scheduled starts at its
            # turn, whatever its sweep ran before (continuing a generation: a scheduled pair
            # with trials had no countdown, "scheduled in 58s, ETA ~7s")
            if p.status in (None, "scheduled", "starting"):
                planned = p.planned_start
                if planned is None and p.status is None and not settings.sequential:
                    planned = start + i * settings.delay_s
                if planned is not None:
                    eta += max(0.0, planned - now)
            own_etas.append(eta)
            own_eta[i] = eta
            if settings.sequential and p.status in (None, "scheduled") and p.planned_start is None:
                waits_turn.add(i)  # it ends after the pairs before it: added up below
            work_left = max(0.0, max_trials - done - awaiting - running_fraction)
            projected = cost_so_far + work_left * trial_cost
        out.append(
            PairProgress(
                sweep=p.sweep,
                tag=p.tag,
                total_gpus=p.total_gpus,
                max_trials=max_trials,
                done=done,
                finished=counts["finished"],
                failed=counts["failed"],
                killed=counts["killed"],
                running=len(running),
                awaiting_eval=awaiting,
                ended=ended,
                trial_s=trial_s,
                trial_cost_usd=trial_cost,
                basis=basis,
                # waits for a --resume nobody has run: no time left can be given (it was
                # counted as starting at its planned time: "est. 25s left" for nothing running)
                eta_s=None if p.never_started and not ended else eta,
                cost_so_far_usd=cost_so_far,
                cost_projected_usd=projected,
                running_fraction=running_fraction,
                stopped_short=(_stopped_short(p) if done + awaiting < max_trials else None),
            )
        )
    if waits_turn:
        # in the order the pairs run (a relaunched pair waits for the pair running now, listed
        # after it in the grid: its ETA left that pair's time out)
        before = 0.0  # what the live pairs before this one still have to run
        for i in _run_order(pairs):
            pp = out[i]
            if pp.ended:
                continue
            before += own_eta[i]
            if i in waits_turn and pp.eta_s is not None:
                pp.eta_s = before
    live = [pp for pp in out if not pp.ended]
    etas = [pp.eta_s for pp in live if pp.eta_s is not None]
    total_eta: float | None = (
        (sum(own_etas) if settings.sequential else max(etas, default=0.0)) if live else 0.0
    )
    if any(pp.eta_s is None for pp in live):
        total_eta = None  # a pair that never started waits for launch --resume: end unknown
    bases = {pp.basis for pp in live} or {BASIS_MEASURED}
    basis = bases.pop() if len(bases) == 1 else "mixed"
    projections = [pp.cost_projected_usd for pp in out]
    notes = []
    if settings.parallel > 1 or (not settings.sequential and len(live) > 1):
        notes.append(
            "pairs and parallel trials are assumed not to slow each other down (on one machine "
            "they share its cores, so times run longer)"
        )
    return ExperimentProgress(
        pairs=out,
        eta_s=total_eta,
        cost_so_far_usd=sum(pp.cost_so_far_usd for pp in out),
        cost_projected_usd=(
            sum(c for c in projections if c is not None)
            if all(c is not None for c in projections)
            else None
        ),
        basis=basis,
        done=sum(pp.done for pp in out),
        max_trials=sum(pp.max_trials for pp in out),
        running=sum(pp.running for pp in out),
        failed=sum(pp.failed for pp in out),
        killed=sum(pp.killed for pp in out),
        notes=notes,
    )


def measured_throughput(
    runner: str, store: Any | None = None, *, experiment: str | None = None
) -> dict[tuple[int, int], float]:
    """(gpus, nodes) -> median steps/s of experiment ``experiment``'s finished trials of
    ``runner`` in the store (its earlier generations' sweeps among them).

    Without ``experiment``: {} -- an estimate stands on its own experiment's throughput only
    (another experiment's, on the same shapes, may train another environment or batch), so a
    caller that names none gets the estimate's honest fallback, the settings' upper bound."""
    from ..store import Store

    if experiment is None:
        return {}
    own = store is None
    # read-only: status is a reading command (a writer's lock, a read-only state location)
    st: Store = Store.open_default(readonly=True) if store is None else store
    try:
        rows = st.conn.execute(
            "SELECT t.gpus, t.nodes, t.sps FROM trials t JOIN sweeps s ON s.sweep = t.sweep "
            "WHERE t.state = 'finished' AND t.sps > 0 AND s.runner = ? AND s.experiment = ?",
            (runner, experiment),
        ).fetchall()
    finally:
        if own:
            st.close()
    by_shape: dict[tuple[int, int], list[float]] = {}
    for gpus, nodes, sps in rows:
        # a value damaged to text is unknown, that trial left out (int('g') raised, and
        # SQLite takes text for more than 0, so 'fast' passed the query's sps > 0)
        g, n, rate = _finite(gpus), _finite(nodes), _finite(sps)
        if g and n and rate and g == int(g) and n == int(n):
            by_shape.setdefault((int(g), int(n)), []).append(float(rate))
    return {k: statistics.median(v) for k, v in by_shape.items()}


@dataclass
class PlanEstimate:
    """What launching every pair of a plan would take: shown before ``L`` and by ``plan``."""

    pairs: int
    trials: int
    ranks: int  # data-parallel ranks of one trial of every pair, added up (= GPUs)
    gpus_max: int  # the largest pair's GPUs
    duration_s: float
    cost_usd: float
    basis: str
    unit: str = "GPU"  # what a pair's G x N counts: "GPU", or "rank" in local mode
    mixed_text: str = ""  # basis "mixed": what each pair's estimate stands on

    @property
    def basis_text(self) -> str:
        if self.basis == "mixed" and self.mixed_text:
            return self.mixed_text
        return BASIS_TEXT.get(self.basis, self.basis)

    def lines(self) -> list[str]:
        upper = "at most " if self.basis == BASIS_SETTINGS else ""
        return [
            f"{self.pairs} pair{'s' if self.pairs != 1 else ''}, {self.trials} "
            f"trial{'s' if self.trials != 1 else ''} in all, {self.ranks} "
            f"{self.unit}{'s' if self.ranks != 1 else ''} across pairs "
            f"(largest pair {self.gpus_max})",
            f"estimated duration {upper}{fmt_duration(self.duration_s)}, estimated cost "
            f"{upper}${self.cost_usd:,.2f}",
            f"({self.basis_text})",
        ]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["basis_text"] = self.basis_text
        return out


def estimate_plan(
    pairs: Sequence[PairPlan],
    settings: ProgressSettings,
    *,
    history_sps: Mapping[tuple[int, int], float] | None = None,
    trials: Iterable[Trial] = (),
) -> PlanEstimate:
    """Duration and cost of launching ``pairs`` now. ``trials``: what their sweeps already ran
    (a launch that continues a generation runs only the trials left: max_trials is each sweep's
    total, and killed trials are run again); the estimate is of the work left."""
    progress = experiment_progress(pairs, trials, settings, 0.0, history_sps=history_sps)
    return PlanEstimate(
        pairs=len(pairs),
        trials=sum(max(0, p.max_trials - p.done) for p in progress.pairs),
        ranks=sum(p.total_gpus for p in pairs),
        gpus_max=max((p.total_gpus for p in pairs), default=0),
        duration_s=progress.eta_s or 0.0,
        cost_usd=sum((p.cost_projected_usd or 0.0) - p.cost_so_far_usd for p in progress.pairs),
        basis=progress.basis,
        unit="rank" if settings.local_ranks else "GPU",
        mixed_text=progress.basis_text if progress.basis == "mixed" else "",
    )


def progress_from_store(
    status: Any, store: Any | None = None, now: float | None = None
) -> ExperimentProgress | None:
    """The progress of a launched experiment (an ``ExperimentStatus``), from the local store and
    the experiment snapshot the launch froze; None when it was never launched."""
    import time

    from .. import config as cfgmod
    from ..errors import UsageError
    from ..paths import snapshot_path
    from ..store import Store

    if status is None or status.launch_id is None or not status.pairs:
        return None
    try:
        cfg = cfgmod.load(snapshot_path(status.experiment))
    except UsageError:  # the snapshot is gone or unreadable: no settings to estimate with
        return None
    settings = ProgressSettings.from_config(cfg)
    pairs = [PairPlan.of(p) for p in status.pairs]
    own = store is None
    st: Store = Store.open_default(readonly=True) if store is None else store
    try:
        trials = st.trials([p.sweep for p in pairs])
        history = measured_throughput(cfg.experiment.runner, st, experiment=status.experiment)
    finally:
        if own:
            st.close()
    return experiment_progress(
        pairs, trials, settings, time.time() if now is None else now, history_sps=history
    )
