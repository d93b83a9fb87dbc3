"""Poller: scheduling after completion, no overlap, backoff with RateLimit-Reset, stale and recovery."""

from __future__ import annotations

import threading

import pytest

from hwscale_tui.errors import UsageError
from hwscale_tui.sources import Poller, PollResult, SourceUnavailable


class FakeClock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class ScriptedSource:
    """Each poll takes ``duration`` seconds of fake time and returns or raises the next scripted item."""

    kind = "fake"
    sweeps = ["e.g1n1"]

    def __init__(self, clock: FakeClock, script: list, duration: float = 0.0):
        self.clock, self.script, self.duration = clock, list(script), duration
        self.polls = 0

    def poll(self) -> PollResult:
        self.polls += 1
        self.clock.t += self.duration
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def histories(self, run_ids, metric=None):
        return {}


def result(n: int) -> PollResult:
    return PollResult(trials=[], changed=set(), flagged=0, requests=n, fetched_at=float(n))


def make(script, duration=0.0, interval=5.0, **kw):
    clock = FakeClock()
    wall = FakeClock(1_000_000.0)
    src = ScriptedSource(clock, script, duration)
    return Poller(src, interval_s=interval, clock=clock, wall_clock=wall, **kw), src, clock, wall


def test_next_poll_is_scheduled_from_when_the_previous_one_finished():
    poller, src, clock, _ = make([result(1), result(2)], duration=3.0)
    assert poller.poll_once() is not None
    assert clock.t == 103.0 and poller.state.next_due == 108.0  # finished at 103, + 5 s
    clock.t = 107.9
    assert poller.poll_once() is None and src.polls == 1
    clock.t = 108.0
    assert poller.poll_once().requests == 2


def test_force_polls_before_due_and_a_running_poll_is_never_overlapped():
    gate = threading.Event()
    started = threading.Event()

    class Blocking(ScriptedSource):
        def poll(self):
            started.set()
            gate.wait(timeout=60)
            return super().poll()

    clock = FakeClock()
    src = Blocking(clock, [result(1), result(2)])
    poller = Poller(src, interval_s=5.0, clock=clock)
    worker = threading.Thread(target=poller.poll_once)
    worker.start()
    assert started.wait(timeout=60)
    assert poller.poll_once(force=True) is None  # busy: no second poll at the same time
    gate.set()
    worker.join(timeout=60)
    assert src.polls == 1
    assert poller.poll_once(force=True).requests == 2 and src.polls == 2


def test_errors_back_off_exponentially_keep_last_data_and_recover():
    good = result(1)
    errors = [SourceUnavailable("cannot reach W&B") for _ in range(3)]
    poller, _src, clock, wall = make([good, *errors, result(9)], max_backoff_s=30.0)
    poller.poll_once()
    waits = []
    for _ in range(3):
        clock.t = poller.state.next_due
        wall.t += 1.0
        assert poller.poll_once() is None
        waits.append(poller.state.backoff_s)
        assert poller.state.next_due == clock.t + poller.state.backoff_s
    assert waits == [10.0, 20.0, 30.0]  # 5 s interval doubled per failure, capped
    st = poller.state
    assert st.stale and st.stale_since == 1_000_001.0 and st.reason == "cannot reach W&B"
    assert st.last_result is good and st.consecutive_errors == 3 and st.failures == 3
    assert "stale since" in st.describe(wall.t) and "cannot reach W&B" in st.describe(wall.t)
    clock.t = st.next_due
    assert poller.poll_once().requests == 9
    assert (st.stale, st.reason, st.backoff_s, st.consecutive_errors) == (False, None, 0.0, 0)
    assert st.next_due == clock.t + 5.0 and st.last_ok == wall.t


def test_rate_limit_reset_longer_than_the_backoff_is_honoured():
    poller, _, clock, _ = make([SourceUnavailable("rate limited", retry_after_s=120.0)])
    poller.poll_once()
    assert poller.state.backoff_s == 120.0 and poller.state.next_due == clock.t + 120.0


def test_an_unexpected_exception_is_reported_not_raised():
    poller, _, _, _ = make([KeyError("boom")])
    assert poller.poll_once() is None
    assert "unexpected error: KeyError" in poller.state.reason


def test_set_interval_replans_from_the_last_finish_and_rejects_bad_values():
    poller, _, clock, _ = make([result(1)])
    poller.poll_once()
    poller.set_interval(30.0)
    assert poller.state.next_due == clock.t + 30.0
    for bad in (0, -1, float("nan"), "5", True):
        with pytest.raises(UsageError):
            poller.set_interval(bad)
    with pytest.raises(UsageError):
        Poller(ScriptedSource(clock, []), interval_s=0)


def test_describe_before_and_after_polls():
    poller, _, _, wall = make([result(1)])
    assert poller.state.describe(wall.t) == "not polled yet"
    poller.poll_once()
    assert poller.state.describe(wall.t + 4) == "updated 4 s ago"
    assert poller.seconds_until_due() == 5.0 and not poller.due()


def test_a_long_outage_keeps_backing_off_at_the_cap_and_never_raises():
    """``interval * 2 ** errors`` stopped being a float after ~1,000 failures in a row (3.5 days
    of a W&B outage at the 300 s cap): OverflowError came out of poll_once, which never raises,
    and the poller's state stopped moving (the app's status line froze on the last reason)."""
    failures = 1100
    poller, _src, clock, _ = make(
        [SourceUnavailable(f"outage {i}") for i in range(failures)] + [result(1)]
    )
    for i in range(failures):
        assert poller.poll_once(force=True) is None
        assert poller.state.reason == f"outage {i}"
        assert poller.state.backoff_s == (300.0 if i >= 5 else 5.0 * 2 ** (i + 1))
    assert poller.state.failures == poller.state.consecutive_errors == failures
    assert clock.t + 300.0 == poller.state.next_due
    assert poller.poll_once(force=True) is not None and not poller.state.stale
