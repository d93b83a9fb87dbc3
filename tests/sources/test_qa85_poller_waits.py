"""QA 85: the poller and a wait W&B (or a proxy in front of it) asks for that is absurd.

A ``RateLimit-Reset`` sent as an epoch in milliseconds (1.7e12, read as seconds: 54,000 years
from now), ``Retry-After: inf`` or an HTTP date in the year 9999 was honoured as it came: the
poller's next poll was due never, the app's trials screen kept "retrying after 1.79e+12 s" and
polled no more until it was restarted. A wait the server asks for is now honoured up to
``MAX_SERVER_WAIT_S`` (an hour), and a non-finite header is not read as a wait."""

from __future__ import annotations

import math

import pytest

from hwscale_tui.sources import Poller, PollResult, SourceUnavailable
from hwscale_tui.sources.poller import MAX_SERVER_WAIT_S
from hwscale_tui.sources.wandb_source import retry_after_seconds

NOW = 1_750_000_000.0


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Source:
    kind = "fake"
    sweeps = ["e.g1n1"]

    def __init__(self, script: list) -> None:
        self.script, self.polls = list(script), 0

    def poll(self) -> PollResult:
        self.polls += 1
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def histories(self, run_ids, metric=None):
        return {}


OK = PollResult(trials=[], changed=set(), flagged=0, requests=1, fetched_at=NOW)


@pytest.mark.parametrize("asked", [1.7e12, math.inf, 10 * 365 * 86400.0])
def test_a_wait_the_server_asks_for_is_honoured_up_to_an_hour(asked):
    clock = Clock(100.0)
    src = Source([SourceUnavailable("rate limited", retry_after_s=asked, status=429), OK])
    poller = Poller(src, interval_s=5.0, clock=clock, wall_clock=Clock(NOW))
    assert poller.poll_once() is None
    assert poller.state.backoff_s == MAX_SERVER_WAIT_S == 3600.0
    assert poller.state.describe(NOW).endswith("retrying after 3600 s")
    clock.t = 100.0 + 3600.0
    assert poller.poll_once() is OK and src.polls == 2


def test_a_shorter_wait_is_honoured_as_asked():
    clock = Clock(100.0)
    src = Source([SourceUnavailable("rate limited", retry_after_s=900.0, status=429), OK])
    poller = Poller(src, interval_s=5.0, clock=clock, wall_clock=Clock(NOW))
    assert poller.poll_once() is None and poller.state.backoff_s == 900.0


@pytest.mark.parametrize(
    "headers",
    [{"RateLimit-Reset": "inf"}, {"Retry-After": "Infinity"}, {"RateLimit-Reset": "nan"}],
)
def test_a_header_that_is_no_finite_number_is_no_wait(headers):
    assert retry_after_seconds(headers, NOW) is None


def test_a_header_that_is_no_finite_number_leaves_the_next_one_to_be_read():
    assert retry_after_seconds({"RateLimit-Reset": "inf", "Retry-After": "30"}, NOW) == 30.0
