"""Rows of the launch screen: the plan's pairs overlaid with the supervisor's status (no Textual)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .formatting import ACTIVE_PAIR_STATUSES, fmt_duration, fmt_number, progress_bar


@dataclass(frozen=True)
class LaunchRow:
    sweep_name: str
    tag: str
    total_gpus: int
    status: str  # "not launched" or the supervisor's status
    exit_code: int | None
    countdown: str
    pid: str
    elapsed: str
    trials: str
    best: str
    log_path: str | None
    never_started: bool = False  # scheduled, but the supervisor that would start it is gone

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_PAIR_STATUSES

    @property
    def keeps_running(self) -> bool:
        """Running, or due to start under a live supervisor: goes on after the app quits."""
        return self.active and not self.never_started

    @property
    def failed(self) -> bool:
        return self.status == "failed_to_start" or (
            self.status == "exited" and (self.exit_code or 0) != 0
        )

    @property
    def status_text(self) -> str:
        if self.never_started:
            return "not started"
        if self.status == "exited":
            return f"exited {self.exit_code}" if self.exit_code is not None else "exited"
        if self.status == "failed_to_start":
            return "start failed"
        return self.status.replace("_", " ")


def launch_rows(
    plan_pairs: Iterable[Any],
    status: Any | None,
    now: float,
    max_trials: int,
    ascii_only: bool = False,
) -> list[LaunchRow]:
    """One row per planned pair, plus recorded pairs no longer in the plan (so nothing running hides)."""
    recorded = {p.sweep_name: p for p in (getattr(status, "pairs", None) or [])}
    rows: list[LaunchRow] = []
    seen: set[str] = set()
    for pp in plan_pairs:
        seen.add(pp.sweep_name)
        rows.append(
            _row(
                pp.sweep_name,
                pp.pair.tag,
                pp.pair.total_gpus,
                recorded.get(pp.sweep_name),
                now,
                max_trials,
                ascii_only,
            )
        )
    for name, ps in recorded.items():
        if name not in seen:
            tag = f"g{ps.gpus}n{ps.nodes}"
            rows.append(
                _row(name, tag, (ps.gpus or 0) * (ps.nodes or 0), ps, now, max_trials, ascii_only)
            )
    return rows


def _row(
    name: str,
    tag: str,
    total_gpus: int,
    ps: Any | None,
    now: float,
    max_trials: int,
    ascii_only: bool,
) -> LaunchRow:
    if ps is None:
        return LaunchRow(
            name,
            tag,
            total_gpus,
            "not launched",
            None,
            "-",
            "-",
            "-",
            progress_bar(0, max_trials, width=5, ascii_only=ascii_only),
            "-",
            None,
        )
    status = ps.status
    never_started = bool(getattr(ps, "never_started", False))
    countdown = "-"
    if status == "scheduled" and ps.planned_start is not None and not never_started:
        countdown = f"in {fmt_duration(ps.planned_start - now)}"
    elapsed = "-"
    if ps.started_at is not None:
        elapsed = fmt_duration((ps.ended_at or now) - ps.started_at)
    done = int(getattr(ps, "trials_done", 0) or 0)
    total = getattr(ps, "max_trials", None) or max_trials
    best = getattr(ps, "best_score", None)
    return LaunchRow(
        sweep_name=name,
        tag=tag,
        total_gpus=total_gpus,
        status=status,
        exit_code=ps.exit_code,
        countdown=countdown,
        pid=str(ps.pid) if ps.pid else "-",
        elapsed=elapsed,
        trials=progress_bar(done, total, width=5, ascii_only=ascii_only),
        best=fmt_number(best),
        log_path=ps.log_path,
        never_started=never_started,
    )
