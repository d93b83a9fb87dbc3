"""What every trial source shares: the poll result, settings, the error a poll raises, and rules.

A source turns trials (W&B runs or store rows) into the ``Trial`` record (docs/sources.md). Sources do
not loop or sleep; :class:`~hwscale_tui.sources.poller.Poller` decides when to poll.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import ExperimentConfig
from ..hardware import plan_of
from ..records import HistoryPoint, Trial

LIVE_STATES = ("queued", "running")


@dataclass(frozen=True)
class PollResult:
    """One poll: every trial of the experiment's sweeps, and what changed since the last poll."""

    trials: list[Trial]
    changed: set[str]  # run ids whose record is new or differs from the previous poll
    flagged: int  # trials with data problems (``Trial.flags`` non-empty)
    requests: int  # network requests (W&B) or SQL queries (local) this poll made
    fetched_at: float  # epoch seconds when the poll finished


@dataclass(frozen=True)
class SourceSettings:
    """Knobs of the sources; the defaults suit a real W&B project polled every few seconds."""

    stale_after_s: float = 1200.0  # a live trial with no update for this long is ``stale``
    page_size: int = 5000  # runs per Runs request; one request per poll up to this many runs
    history_samples: int = 1000  # points per sampled W&B history
    timeout_s: float = 20.0  # HTTP timeout per W&B request
    client_retries: int = (
        1  # quick retries inside one poll for 5xx / dropped connections (never 429)
    )
    retry_sleep_s: float = 1.0  # first retry sleep inside one poll
    local_overlap_s: float = (
        5.0  # re-read store rows updated this close to the last poll (late commits)
    )
    # every this long a local poll reads every row (one query, as any poll), so trials deleted
    # from the store (hwscale-tui experiments delete) leave; the polls between read what changed
    local_full_read_s: float = 60.0


class SourceUnavailable(Exception):
    """A poll could not reach its data; ``reason`` is one short sentence for the status line."""

    def __init__(
        self, reason: str, *, retry_after_s: float | None = None, status: int | None = None
    ):
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s
        self.status = status


class TrialSource(Protocol):
    kind: str

    @property
    def sweeps(self) -> list[str]: ...

    def poll(self) -> PollResult: ...

    def histories(
        self, run_ids: Sequence[str], metric: str | None = None
    ) -> dict[str, Sequence[HistoryPoint]]: ...


def experiment_sweeps(cfg: ExperimentConfig) -> list[str]:
    """Sweep names of the experiment's valid pairs, in grid order, of every generation from 1 to
    ``cfg.generation`` (the trials of each are told apart by ``Trial.generation``)."""
    pairs, _ = plan_of(cfg.grid)
    return [p.sweep_name(cfg.name, g) for g in range(1, cfg.generation + 1) for p in pairs]


def mark_stale(trial: Trial, now: float, stale_after_s: float) -> Trial:
    """A queued or running trial with no update for ``stale_after_s`` becomes ``stale``."""
    if (
        trial.state in LIVE_STATES
        and trial.updated_at is not None
        and now - trial.updated_at > stale_after_s
    ):
        trial.state = "stale"
    return trial


def current_record(trial: Trial, now: float, stale_after_s: float) -> Trial:
    """The record as of ``now``: a stale copy of a live trial gone quiet, else the record
    itself (the same object from poll to poll while its source sends it unchanged)."""
    if trial.state in LIVE_STATES:
        stale = mark_stale(
            dataclasses.replace(trial, params=dict(trial.params), flags=list(trial.flags)),
            now,
            stale_after_s,
        )
        if stale.state == "stale":
            return stale
    return trial


def record_order(t: Trial) -> tuple[str, float, str]:
    """How sources order records: by sweep, then creation time, then run id."""
    return (t.sweep, t.created_at or 0.0, t.run_id)


def diff_trials(previous: Mapping[str, Trial], current: Sequence[Trial]) -> set[str]:
    """Run ids that are new or whose record differs from the previous poll."""
    return {
        t.run_id for t in current if previous.get(t.run_id) is not t and previous.get(t.run_id) != t
    }


# The largest magnitude a trial's number may have: 2**53, beyond which a float no longer holds
# every whole number (and W&B's web app, JavaScript numbers, shows it rounded). No real score,
# cost, agent step count, runtime or SPS comes near (9.0e15 agent steps are 285 years at a
# million steps per second); a value beyond is an overflow or a logging bug (1.7e308, an int
# beyond 2**63), which as a score became the best and as SPS dominated the throughput fit.
NUMBER_LIMIT = float(2**53)


def finite_number(value: Any) -> float | None:
    """``value`` as a finite float within ±``NUMBER_LIMIT``, else None (bools, strings, NaN and
    inf are not numbers here, nor a whole number too large for a float: JSON's ``10**400``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) and abs(f) <= NUMBER_LIMIT else None


def params_without_oversized_ints(params: dict[str, Any], label: str, flags: list[str]) -> None:
    """Set to None (and flag) each hyperparameter that is a whole number too large for a float
    (JSON's ``10**400``): kept, a ``trainer.batch_size`` of 401 digits ended ``analyze`` with
    an OverflowError. Other values are kept as they came (a 64-bit seed is a hyperparameter)."""
    for key, value in params.items():
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                float(value)
            except OverflowError:
                digits = len(str(abs(value)))
                flags.append(
                    f"{label}.{key} is a {digits}-digit whole number, too large for a float"
                )
                params[key] = None


NEGATIVE_FLAG = "is negative: {} (a cost, step count, runtime or SPS is 0 or more)"


def negative_flag(name: str, value: float) -> str:
    """The flag of a cost, step count, runtime or SPS below 0: no such quantity is (it was shown
    as "-100.00" dollars or "-50s"); a score may be negative."""
    return f"{name} {NEGATIVE_FLAG.format(f'{value:.3g}')}"


def number_flag(name: str, value: Any) -> str:
    """The flag of a value of ``name`` that :func:`finite_number` refused: out of range for a
    number beyond ``NUMBER_LIMIT``, else not a finite number (NaN, inf, a string, a dict)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            f = float(value)
        except OverflowError:
            shown = f"a {len(str(abs(int(value))))}-digit whole number"
        else:
            shown = f"{f:.3g}" if math.isfinite(f) else ""
        if shown:
            return f"{name} is out of range: {shown} (a trial's numbers are within ±2**53, 9.0e15)"
    if isinstance(value, Mapping):  # its text cut at 40 characters said little
        kind = value.get("_type")
        if isinstance(kind, str) and kind:  # what W&B keeps of a logged object
            return f"{name} is not a finite number: a W&B {kind[:40]}"
        keys = ", ".join(repr(str(k)[:20]) for k in list(value)[:3])
        more = ", ..." if len(value) > 3 else ""
        shown = f"a dict (keys {keys}{more})" if keys else "an empty dict"
        return f"{name} is not a finite number: {shown}"
    return f"{name} is not a finite number: {str(value)[:40]!r}"


@dataclass
class RequestCounter:
    """Counts requests; sources read ``total`` before and after a poll."""

    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.total += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
