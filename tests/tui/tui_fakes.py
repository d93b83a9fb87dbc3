"""Fake core services with the real modules' names and shapes, for Pilot and snapshot tests.

Deterministic: a frozen clock and the seeded demo experiment (``tests.support.demo``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hwscale_tui.analysis.core import Recommendation
from hwscale_tui.analysis.fom import ParetoFront, ParetoPoint
from hwscale_tui.records import HistoryPoint, Trial
from hwscale_tui.tui.services import Services
from tests.support.demo import demo_data

FROZEN_NOW = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


class FrozenClock:
    def __init__(self, now: float = FROZEN_NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- supervisor -------------------------------------------------------------------------------
@dataclass
class FakePairStatus:
    sweep_name: str
    gpus: int
    nodes: int
    status: str
    pid: int | None = None
    pgid: int | None = None
    planned_start: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    log_path: str | None = None
    cancelled_by: str | None = None
    cancelled_at: float | None = None
    first_log_lines: list[str] = field(default_factory=list)
    trials_done: int = 0
    max_trials: int | None = None
    best_score: float | None = None
    never_started: bool = False

    @property
    def alive(self) -> bool:  # as the real PairStatus: its process runs now
        return self.status in ("starting", "running")


@dataclass
class FakeExperimentStatus:
    supervisor_alive: bool
    launch_id: int | None
    pairs: list[FakePairStatus]
    launch_status: str | None = None  # the latest launch's end: finished | stopped

    @property
    def supervisor_state(self) -> str:
        if self.supervisor_alive:
            return "running"
        return self.launch_status or "gone"


@dataclass
class FakeLaunchInfo:
    launch_id: int
    supervisor_pid: int


class FakeSupervisor:
    """Records calls; launched pairs run one after another, ``delay_s`` apart (from the config)."""

    def __init__(self, clock: FrozenClock, log_dir: Path):
        self.clock = clock
        self.log_dir = log_dir
        self.pairs: dict[str, FakePairStatus] = {}
        self.calls: list[tuple[str, Any]] = []
        self.state = (
            "running"  # the supervisor once launched: running | finished | stopped | gone (died)
        )

    def launch(self, cfg, *, extra_args=(), foreground=False, resume=False, only=None):
        from hwscale_tui.hardware import plan_grid

        self.calls.append(("launch", only))
        pairs, _ = plan_grid(
            cfg.grid.gpu_counts, cfg.grid.node_counts, cfg.grid.max_gpus_per_node, cfg.grid.exclude
        )
        now = self.clock()
        for i, pair in enumerate(
            p for p in pairs if only is None or p.sweep_name(cfg.name) in only
        ):
            name = pair.sweep_name(cfg.name)
            log = self.log_dir / f"{name}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("".join(f"{name}: line {k}\n" for k in range(1, 31)))
            start = now + i * cfg.launch.delay_s
            running = i == 0
            self.pairs[name] = FakePairStatus(
                name,
                pair.gpus,
                pair.nodes,
                "running" if running else "scheduled",
                pid=4000 + i if running else None,
                planned_start=start,
                started_at=now if running else None,
                log_path=str(log),
                max_trials=cfg.sweep.max_trials,
            )
        return FakeLaunchInfo(1, 999)

    def pair_status(self, experiment, store=None):
        mine = [p for p in self.pairs.values() if p.sweep_name.startswith(f"{experiment}.")]
        alive = bool(mine) and self.state == "running"
        ended = self.state if self.state in ("finished", "stopped") else None
        return FakeExperimentStatus(alive, 1 if mine else None, [replace(p) for p in mine], ended)

    def cancel(self, experiment, sweeps, *, by, grace_s=5.0, remote=False):
        self.calls.append(("cancel", sweeps))
        done = []
        for name, p in self.pairs.items():
            if (sweeps is None or name in sweeps) and p.status in (
                "scheduled",
                "starting",
                "running",
            ):
                p.status, p.cancelled_by, p.cancelled_at = "cancelled", by, self.clock()
                p.ended_at = self.clock() if p.started_at else None
                done.append(name)
        return done

    def relaunch(self, experiment, sweeps):
        self.calls.append(("relaunch", sweeps))
        for name in sweeps:
            p = self.pairs[name]
            p.status, p.exit_code, p.started_at, p.ended_at, p.pid = (
                "running",
                None,
                self.clock(),
                None,
                5000,
            )
        return FakeLaunchInfo(2, 999)

    def log_tail(self, path, n=50):
        return Path(path).read_text().splitlines()[-n:]


# -- sources ----------------------------------------------------------------------------------
@dataclass
class FakePollResult:
    trials: list[Trial]
    changed: set[str]
    flagged: int = 0
    requests: int = 0
    fetched_at: float = 0.0


@dataclass
class FakePollerState:
    last_ok: float | None = None
    stale_since: float | None = None
    reason: str | None = None
    backoff_s: float = 0.0
    next_due: float | None = None
    consecutive_errors: int = 0
    last_result: Any = None


class FakeSource:
    def __init__(
        self, trials: list[Trial], histories: dict[str, list[HistoryPoint]], clock: FrozenClock
    ):
        self.trials = {t.run_id: t for t in trials}
        self.histories_by_run = histories
        self.clock = clock
        self._seen: dict[str, Trial] = {}
        self.polls = 0
        self.fail_next: str | None = None
        self.retry_after_s: float | None = None  # what a failure asks to wait (HTTP 429's reset)

    def poll(self) -> FakePollResult:
        self.polls += 1
        if self.fail_next:
            reason, self.fail_next = self.fail_next, None
            raise ConnectionError(reason)
        trials = list(self.trials.values())
        changed = {t.run_id for t in trials if self._seen.get(t.run_id) != t}
        self._seen = {t.run_id: replace(t) for t in trials}
        return FakePollResult(trials, changed, fetched_at=self.clock())

    def histories(self, run_ids, metric=None):
        return {r: self.histories_by_run.get(r, []) for r in run_ids}


class FakePoller:
    def __init__(self, src: FakeSource, interval_s: float = 5.0, clock=None):
        self.src = src
        self.interval_s = interval_s
        self.state = FakePollerState()

    def poll_once(self, *, force: bool = False):
        try:
            result = self.src.poll()
        except ConnectionError as e:
            if self.state.stale_since is None:
                self.state.stale_since = self.src.clock()
            self.state.reason = str(e)
            self.state.consecutive_errors += 1
            backoff = min(60.0, 2.0**self.state.consecutive_errors)
            self.state.backoff_s = max(backoff, self.src.retry_after_s or 0.0)  # as Poller does
            return None
        self.state = FakePollerState(last_ok=self.src.clock(), last_result=result)
        return result

    def set_interval(self, s: float) -> None:
        self.interval_s = s


class FakeSources:
    def __init__(self, source: FakeSource):
        self.source = source
        self.made: list[tuple[str, str | None]] = []
        self.Poller = FakePoller

    def make_source(self, cfg, kind=None, **_: Any) -> FakeSource:
        self.made.append((cfg.name, kind))
        return self.source


# -- analysis ---------------------------------------------------------------------------------
@dataclass
class FakeFit:
    """A power law with a band, shaped like analysis.fits.PowerLawFit."""

    a: float
    b: float
    x: np.ndarray
    y: np.ndarray
    ci: dict[str, tuple[float, float]]
    note: str = ""

    def predict(self, x):
        return self.a * np.asarray(x, dtype=float) ** self.b

    def band(self, x, level=None):
        y = self.predict(x)
        return y * 0.8, y * 1.25


@dataclass
class FakeResult:
    target: float
    per_config: pd.DataFrame
    laws: dict[str, Any]
    fom: pd.DataFrame
    recommendations: list[Recommendation]
    pareto: ParetoFront
    notes: list[str] = field(default_factory=list)
    ranking_stable: bool = True


class FakeAnalysis:
    def __init__(self):
        self.reports: list[Path] = []
        self.targets: list[tuple[str, float]] = []

    def settings_from_config(self, cfg, **changes):
        from types import SimpleNamespace

        base = {"target": cfg.analysis.target, "target_kind": cfg.analysis.target_kind}
        base.update(changes)
        return SimpleNamespace(**base)

    def analyze(self, trials, histories, settings):
        self.targets.append((settings.target_kind, settings.target))
        gpus = np.array(sorted({t.total_gpus for t in trials if t.total_gpus}), dtype=float)
        if gpus.size == 0:
            empty = pd.DataFrame()
            return FakeResult(math.nan, empty, {}, empty, [], ParetoFront([], [], None, "no data"))
        samples = 60_000 * gpus**0.3
        time_s = 30.0 * gpus**-0.7
        cost = 6.88 * gpus * time_s / 3600 * 1000
        sps = 15000 * gpus / (1 + 0.05 * (gpus - 1))
        laws = {
            "samples_to_target": FakeFit(60_000, 0.3, gpus, samples, {"b": (0.2, 0.4)}),
            "time_to_target": FakeFit(30.0, -0.7, gpus, time_s, {"b": (-0.8, -0.6)}),
            "cost_to_target": FakeFit(cost[0], 0.3, gpus, cost, {"b": (0.2, 0.4)}),
            "throughput": FakeFit(15000, 0.9, gpus, sps, {"b": (0.85, 0.95)}),
        }
        labels = [f"g{int(g)}n1" for g in gpus]
        fom = pd.DataFrame(
            {
                "eff_sample": 1 / gpus**0.3,
                "research": 1 / gpus**0.3,
                "development": gpus / gpus.max(),
                "budget": 1 / gpus**0.2,
                "balanced": (1 / gpus**0.3 + gpus / gpus.max()) / 2,
            },
            index=labels,
        )
        recs = []
        for s in ("research", "development", "budget", "balanced"):
            i = int(fom[s].argmax())
            recs.append(
                Recommendation(
                    s,
                    {},
                    labels[i],
                    gpus=int(gpus[i]),
                    nodes=1,
                    total_gpus=int(gpus[i]),
                    expected_score=480.0,
                    time_to_target_s=float(time_s[i]),
                    cost_to_target_usd=float(cost[i]),
                    bootstrap_agreement=0.8,
                )
            )
        pts = [
            ParetoPoint(float(t), float(c), lab, k < 2)
            for k, (t, c, lab) in enumerate(zip(time_s, cost, labels))
        ]
        knee = labels[min(1, len(labels) - 1)]  # one config (one pair ran): its own knee
        pareto = ParetoFront(pts, [p for p in pts if p.on_front], knee, "")
        per_config = pd.DataFrame({"total_gpus": gpus}, index=labels)
        return FakeResult(
            float(settings.target) * 500,
            per_config,
            laws,
            fom,
            recs,
            pareto,
            ["fake analysis for tests"],
        )

    def write_report(self, result, md_path, png_dir=None):
        Path(md_path).write_text("# report\n")
        self.reports.append(Path(md_path))
        return Path(md_path)


@dataclass
class FakeWorld:
    services: Services
    supervisor: FakeSupervisor
    source: FakeSource
    sources: FakeSources
    analysis: FakeAnalysis
    clock: FrozenClock


def fake_world(cfg, tmp_path: Path, *, trials: bool = True, running_per_pair: int = 1) -> FakeWorld:
    clock = FrozenClock()
    data = (
        demo_data(cfg, clock(), trials_per_pair=4, running_per_pair=running_per_pair)
        if trials
        else None
    )
    source = FakeSource(data.trials if data else [], data.histories if data else {}, clock)
    sources = FakeSources(source)
    supervisor = FakeSupervisor(clock, tmp_path / "logs")
    analysis = FakeAnalysis()
    return FakeWorld(
        Services(supervisor, sources, analysis, clock), supervisor, source, sources, analysis, clock
    )


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
