"""Scheduling policy (Metta's async_capped, docs/upstream.md section 4, with ``batch_size`` made meaningful).

Keep up to ``max_parallel_jobs`` trials in flight; each scheduling round asks the optimizer for
at most ``batch_size`` suggestions at once (in-flight trials as fantasies); never create more
than ``max_trials`` counted trials. Finished and failed trials count; killed ones do not (they
ended without a result because someone stopped them, so a new suggestion takes their place,
announced as such). Nothing is retried.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduleLimits:
    max_trials: int
    batch_size: int
    max_parallel_jobs: int


@dataclass(frozen=True)
class SweepProgress:
    counted: int  # finished + failed
    in_flight: int  # queued + running

    @property
    def committed(self) -> int:
        return self.counted + self.in_flight


def suggestions_this_round(limits: ScheduleLimits, progress: SweepProgress) -> int:
    """How many new trials to suggest now (0 when slots are full or the budget is committed)."""
    free_slots = limits.max_parallel_jobs - progress.in_flight
    remaining = limits.max_trials - progress.committed
    return max(0, min(limits.batch_size, free_slots, remaining))


def sweep_done(limits: ScheduleLimits, progress: SweepProgress) -> bool:
    return progress.in_flight == 0 and progress.counted >= limits.max_trials
