"""SignalSafeEvent: the event the sweep runner and the supervisor set from signal handlers.

A signal handler runs in the main thread between two bytecodes of whatever it interrupted. The
tests below call ``set`` at every bytecode of ``wait`` / ``clear`` (a trace hook with opcode
events stands in for the handler), which is where a ``threading.Event`` deadlocks: its ``wait``
holds the lock that ``set`` needs. A CI run once hung a whole sweep that way (SIGCHLD arriving
while the runner's loop was inside ``Event.wait``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from hwscale_tui.processes import SignalSafeEvent

# Runs in a child. For each bytecode position k of a call (wait, then clear), a fresh event is
# set by the "handler" at exactly that position. A set() before wait reaches its sleep must end
# the sleep (wait has no timeout here, so a lost wake-up hangs); a set() anywhere must return.
# Prints how many positions each call went through.
HARNESS = textwrap.dedent(
    """
    import select, sys, threading, types
    import hwscale_tui.processes as processes

    make = {"safe": processes.SignalSafeEvent, "threading": threading.Event}[sys.argv[1]]
    asleep = False

    def spy_select(*args):
        global asleep
        asleep = True  # from here on wait sleeps: only a byte already in the pipe wakes it
        return select.select(*args)

    processes.select = types.SimpleNamespace(select=spy_select)

    def run(fire_at, call):
        global asleep
        asleep = False
        ev = make()
        count = 0

        def tracer(frame, event, arg):
            nonlocal count
            frame.f_trace_opcodes = True
            if event == "opcode" and not asleep:
                count += 1
                if count == fire_at:
                    ev.set()  # what a signal handler does, at this very bytecode
            return tracer

        sys.settrace(tracer)
        try:
            result = call(ev)
        finally:
            sys.settrace(None)
        return count, result

    timeout = None

    def wait(ev):
        return ev.wait(timeout)

    def clear(ev):
        ev.clear()

    counts = []
    for call in (wait, clear):
        timeout = 0.001  # counting, nothing fires: a short sleep; the same bytecodes as None
        total, _ = run(0, call)
        timeout = None
        for k in range(1, total + 1):
            _, result = run(k, call)
            assert call is clear or result is True, k
        counts.append(total)
    print(*counts)
    """
)


def _harness(kind: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HARNESS, kind], capture_output=True, text=True, timeout=timeout
    )


def test_set_at_any_bytecode_of_wait_or_clear_returns():
    r = _harness("safe", timeout=120)
    assert r.returncode == 0, r.stderr
    in_wait, in_clear = map(int, r.stdout.split())
    assert in_wait > 10 and in_clear > 5  # it really stepped through wait's and clear's code


def test_the_same_harness_deadlocks_a_threading_event():
    """The control: the harness finds the hang this class exists to avoid."""
    with pytest.raises(subprocess.TimeoutExpired):
        _harness("threading", timeout=5)


def test_a_real_signal_handler_wakes_a_blocking_wait():
    ev = SignalSafeEvent()
    previous = signal.signal(signal.SIGALRM, lambda _s, _f: ev.set())
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        assert ev.wait() is True  # no timeout: only the handler can end this wait
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        ev.close()


def test_another_thread_wakes_a_blocking_wait():
    ev = SignalSafeEvent()
    threading.Timer(0.05, ev.set).start()
    assert ev.wait() is True
    ev.close()


def test_wait_times_out_unset_and_clear_resets():
    ev = SignalSafeEvent()
    assert ev.wait(0.01) is False and not ev.is_set()
    ev.set()
    ev.set()  # twice: one wait, one clear undo both
    assert ev.is_set() and ev.wait(0.01) is True
    ev.clear()
    assert not ev.is_set() and ev.wait(0.01) is False
    ev.close()


def test_set_after_close_writes_nowhere():
    """A handler may outlive the event it sets: after close, set must not write to whatever
    file now has the pipe's old descriptor number."""
    ev = SignalSafeEvent()
    ev.close()
    r, w = os.pipe()  # likely reuses the closed descriptors
    try:
        ev.set()
        os.set_blocking(r, False)
        with pytest.raises(BlockingIOError):
            os.read(r, 1)
        assert ev.wait(0.01) is True  # the flag still tells a late reader it was set
    finally:
        os.close(r)
        os.close(w)


def test_a_pipe_full_of_wakeups_never_blocks_set():
    ev = SignalSafeEvent()
    for _ in range(200_000):  # far more than a pipe holds (64 KiB on Linux)
        ev.set()
    assert ev.wait(0) is True
    ev.clear()
    assert ev.wait(0) is False
    ev.close()
