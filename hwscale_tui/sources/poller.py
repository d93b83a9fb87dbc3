"""Polling discipline for a trial source, with no threads inside.

The caller (a TUI thread worker, a CLI loop) calls :meth:`Poller.poll_once` whenever it likes;
a poll happens only when one is due, never two at once, and the next one is scheduled from
the moment the previous one *finished* (a slow network slows polling down by itself). On a
rate limit or a network error the poller keeps the last good result, reports "stale since T"
with the reason, backs off exponentially (at least as long as ``RateLimit-Reset`` asks) and
recovers by itself on the next good poll.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError
from .base import PollResult, SourceUnavailable, TrialSource

log = logging.getLogger(__name__)

# The longest wait a server's RateLimit-Reset or Retry-After is honoured for. As sent, an epoch
# in milliseconds (1.7e12, read as seconds), ``inf`` or an HTTP date in the year 9999 made the
# next poll due never: the app said "retrying after 1.79e+12 s" until it was restarted. W&B's
# own resets are seconds to a minute.
MAX_SERVER_WAIT_S = 3600.0


@dataclass
class PollerState:
    last_ok: float | None = None  # epoch of the last good poll
    stale_since: float | None = None  # epoch of the first failure since then (None: data is fresh)
    reason: str | None = None  # why the data is stale
    backoff_s: float = 0.0  # wait after the last failure (0 when healthy)
    next_due: float = 0.0  # poller clock value when the next poll is due
    consecutive_errors: int = 0
    last_result: PollResult | None = None  # the last good data, kept through failures
    polls: int = 0  # polls attempted
    failures: int = 0  # polls that failed

    @property
    def stale(self) -> bool:
        return self.stale_since is not None

    def describe(self, now: float) -> str:
        """One line for a status bar: "updated 4 s ago" or "stale since 12:03:07 (reason); retry in 20 s"."""
        if self.stale_since is not None:
            since = time.strftime("%H:%M:%S", time.localtime(self.stale_since))
            return f"stale since {since} ({self.reason}); retrying after {self.backoff_s:g} s"
        if self.last_ok is None:
            return "not polled yet"
        return f"updated {max(0.0, now - self.last_ok):.0f} s ago"


class Poller:
    def __init__(
        self,
        source: TrialSource,
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        wall_clock: Callable[[], float] = time.time,
        max_backoff_s: float = 300.0,
    ):
        self.source = source
        self.clock = clock
        self.wall_clock = wall_clock
        self.max_backoff_s = max_backoff_s
        self.interval_s = self._checked_interval(interval_s)
        self.state = PollerState(next_due=clock())
        self._busy = threading.Lock()
        self._finished_at: float | None = None

    @staticmethod
    def _checked_interval(seconds: float) -> float:
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not seconds > 0:
            raise UsageError(
                f"the poll interval must be a positive number of seconds, got {seconds!r}."
            )
        return float(seconds)

    def set_interval(self, seconds: float) -> None:
        """Change the interval; when healthy, the next poll is re-planned from the last one's end."""
        self.interval_s = self._checked_interval(seconds)
        if self.state.consecutive_errors == 0 and self._finished_at is not None:
            self.state.next_due = self._finished_at + self.interval_s

    def due(self) -> bool:
        return self.clock() >= self.state.next_due

    def seconds_until_due(self) -> float:
        return max(0.0, self.state.next_due - self.clock())

    def poll_once(self, *, force: bool = False) -> PollResult | None:
        """Poll if due (or ``force``) and no other poll is running.

        Returns the new result, or None when nothing was polled or the poll failed (then
        ``state`` says why and ``state.last_result`` still holds the last good data). Never
        raises for source errors.
        """
        if not force and not self.due():
            return None
        if not self._busy.acquire(blocking=False):
            return None
        try:
            self.state.polls += 1
            try:
                result = self.source.poll()
            except SourceUnavailable as e:
                self._failed(e.reason, e.retry_after_s)
                return None
            except Exception as e:  # a bug must not kill the caller's loop; it is logged and shown
                log.exception("trial source poll failed")
                self._failed(f"unexpected error: {type(e).__name__}: {e}", None)
                return None
            self._succeeded(result)
            return result
        finally:
            self._busy.release()

    def _succeeded(self, result: PollResult) -> None:
        s = self.state
        s.last_result = result
        s.last_ok = self.wall_clock()
        s.stale_since = s.reason = None
        s.consecutive_errors = 0
        s.backoff_s = 0.0
        self._finished_at = self.clock()
        s.next_due = self._finished_at + self.interval_s

    def _failed(self, reason: str, retry_after_s: float | None) -> None:
        s = self.state
        s.failures += 1
        s.consecutive_errors += 1
        if s.stale_since is None:
            s.stale_since = self.wall_clock()
        s.reason = reason
        # the exponent stops growing long after the cap is reached: 2 ** 1024 is no float, and
        # interval * 2 ** errors raised OverflowError out of poll_once after ~1,000 failures in a
        # row (3.5 days of a W&B outage at the 300 s cap)
        backoff = min(self.max_backoff_s, self.interval_s * 2.0 ** min(s.consecutive_errors, 64))
        asked = 0.0 if retry_after_s is None or math.isnan(retry_after_s) else retry_after_s
        s.backoff_s = max(backoff, min(asked, MAX_SERVER_WAIT_S))
        self._finished_at = self.clock()
        s.next_due = self._finished_at + s.backoff_s
