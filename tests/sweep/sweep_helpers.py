"""Shared pieces of the sweep tests: the stub trial, experiment files, polling, fakes."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from hwscale_tui.sweep.outcome import TrialExit
from hwscale_tui.sweep.trial_command import TrialSpec

STUB = Path(__file__).resolve().parent / "sweep_trial_stub.py"
RUN_ID_RE = r"^{sweep}_trial_(\d{{4}})_[0-9a-f]{{6}}$"


def stub_command() -> list[str]:
    return [sys.executable, str(STUB), "{run_id}", "{metrics_file}", "{params}"]


def write_experiment(path: Path, name: str = "swt", **sweep: Any) -> Path:
    data = {
        "experiment": {"name": name},
        "sweep": {
            "max_trials": 3,
            "batch_size": 1,
            "max_parallel_jobs": 1,
            "trial_command": stub_command(),
            **sweep,
        },
    }
    path.write_text(tomli_w.dumps(data))
    return path


def wait_for(predicate: Callable[[], Any], timeout: float = 90.0, what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy (generous timeout: the machine may be loaded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@dataclass
class FakeHandle:
    spec: TrialSpec
    polls: int = 0


@dataclass
class ScriptedDispatcher:
    """An in-memory dispatcher: each trial ends after ``polls_to_finish`` polls with ``exit_for(spec)``."""

    exit_for: Callable[[TrialSpec], TrialExit]
    polls_to_finish: int = 2
    fail_start: Callable[[TrialSpec], bool] = lambda spec: False
    kind: str = "local"
    started: list[TrialSpec] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    max_concurrent: int = 0
    cancelled: list[str] = field(default_factory=list)
    unconfirmed: set[str] = field(default_factory=set)  # cancels it says it could not confirm

    def start(self, spec: TrialSpec):
        if self.fail_start(spec):
            raise FileNotFoundError(f"no such program: {spec.argv[0]}")
        self.started.append(spec)
        self.running.add(spec.run_id)
        self.max_concurrent = max(self.max_concurrent, len(self.running))
        return FakeHandle(spec), {"pid": 1000 + spec.idx}

    def attach(self, row):
        return None

    def poll(self, trials: Sequence) -> dict[str, TrialExit]:
        exits = {}
        for t in trials:
            t.handle.polls += 1
            if t.handle.polls >= self.polls_to_finish:
                exits[t.run_id] = self.exit_for(t.handle.spec)
                self.running.discard(t.run_id)
        return exits

    def cancel(self, trials: Sequence, grace_s: float) -> set[str]:
        for t in trials:
            self.cancelled.append(t.run_id)
            self.running.discard(t.run_id)
        return set(self.unconfirmed)


def finished_exit(score: float = 1.0) -> TrialExit:
    return TrialExit(
        0,
        None,
        {
            "sweep/score": score,
            "sweep/cost": 0.01,
            "metric/total_time": 2.0,
            "metric/agent_step": 1000,
            "final": True,
            "state": "finished",
        },
    )


class SpyOptimizer:
    """Records what the runner asks the real optimizer, and forwards every call to it."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[tuple[int, list[dict]]] = []
        self.observed: list[tuple[dict, float | None, bool]] = []

    @property
    def last_info(self):
        return self.inner.last_info

    def suggest(self, n=1, pending=()):
        self.calls.append((n, [dict(p) for p in pending]))
        return self.inner.suggest(n, pending=pending)

    def observe(self, params, score, cost, failed=False):
        self.observed.append((dict(params), score, failed))
        self.inner.observe(params, score, cost, failed=failed)
