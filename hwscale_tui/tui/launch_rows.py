"""Rows of the launch screen: the plan's pairs overlaid with the supervisor's status (no Textual)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .formatting import ACTIVE_PAIR_STATUSES, fmt_duration, fmt_money, fmt_number, progress_bar


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
    eta: str = "-"  # estimated time left (``~3m05s``, ``<=10m00s`` for a settings bound)
    cost: str = "-"  # dollars so far
    detail: str = ""  # trial counts, ETA and cost with what the estimate is based on
    # the status in the words of ``hwscale-tui status`` (``launch/status_view.status_text``):
    # ``exited (code unknown)``, ``never started``, ``failed to start``, ``exited -15 (SIGTERM)``
    label: str = ""

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
        return self.label or self.status.replace("_", " ")


def eta_text(pp: Any | None) -> str:
    """A pair's (or trial's) estimated time left: ``~3m05s``, ``<=10m00s`` for a settings bound."""
    if pp is None or getattr(pp, "ended", False) or pp.eta_s is None:
        return "-"
    return ("<=" if getattr(pp, "basis", "") == "settings" else "~") + fmt_duration(pp.eta_s)


def pair_detail(pp: Any | None) -> str:
    """``3/8 done, 1 running; ETA ~3m05s; $0.12 so far, est. $0.40 in all (measured)``."""
    if pp is None:
        return ""
    parts = [pp.counts_text()]
    if not pp.ended:
        parts.append(f"ETA {eta_text(pp)}")
    cost = f"{fmt_money(pp.cost_so_far_usd)} so far"
    if not pp.ended and pp.cost_projected_usd is not None:
        bound = "at most" if pp.basis == "settings" else "est."
        cost += f", {bound} {fmt_money(pp.cost_projected_usd)} in all ({pp.basis})"
    parts.append(cost)
    return "; ".join(parts)


def launch_rows(
    plan_pairs: Iterable[Any],
    status: Any | None,
    now: float,
    max_trials: int,
    ascii_only: bool = False,
    progress: Any | None = None,
) -> list[LaunchRow]:
    """One row per planned pair, plus recorded pairs no longer in the plan (so nothing running hides).

    ``progress`` (an ``ExperimentProgress``) adds each pair's ETA, cost and trial counts.
    """
    by_sweep = {pp.sweep: pp for pp in (getattr(progress, "pairs", None) or [])}
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
                by_sweep.get(pp.sweep_name),
            )
        )
    for name, ps in recorded.items():
        if name not in seen:
            tag = f"g{ps.gpus}n{ps.nodes}"
            rows.append(
                _row(
                    name,
                    tag,
                    (ps.gpus or 0) * (ps.nodes or 0),
                    ps,
                    now,
                    max_trials,
                    ascii_only,
                    by_sweep.get(name),
                )
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
    pp: Any | None = None,
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
    # here, not at the top: status_view imports the store, which the first frame never needs
    # (a row with a status was read from the store already)
    from ..launch.status_view import status_text

    status = ps.status
    never_started = bool(getattr(ps, "never_started", False))
    countdown = "-"
    if status == "scheduled" and ps.planned_start is not None and not never_started:
        countdown = f"in {fmt_duration(ps.planned_start - now)}"
    elif status == "scheduled" and not never_started:  # sequential: no time until the pair
        countdown = "in turn"  # before it exits (`status` says "after previous"; 8 columns)
    elapsed = "-"
    if ps.started_at is not None:
        elapsed = fmt_duration((ps.ended_at or now) - ps.started_at)
    done = int(getattr(ps, "trials_done", 0) or 0)
    if pp is not None:
        done = pp.done
    # what the pair's sweep runs to: its own record, else the launched settings (``pp``), else
    # the config on screen
    total = getattr(ps, "max_trials", None) or getattr(pp, "max_trials", None) or max_trials
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
        # a pair its gone supervisor never started runs only after launch --resume
        eta=eta_text(pp) if status in ACTIVE_PAIR_STATUSES and not never_started else "-",
        cost=fmt_money(pp.cost_so_far_usd) if pp is not None else "-",
        detail=pair_detail(pp),
        label=status_text(ps),
    )


def covering_config(cfg: Any, pairs: Iterable[Any]) -> Any:
    """``cfg`` with its grid widened to every recorded pair (``gpus``/``nodes``), so a trial
    source made from it reads their sweeps too: a pair launched with other counts than the
    file's (``launch --gpu-counts``) or removed from the grid since is still counted as
    ``hwscale-tui status`` counts it. ``cfg`` itself when its grid has them all already."""
    from dataclasses import replace

    from ..hardware import plan_of

    have = {p.tag for p in plan_of(cfg.grid)[0]}
    extra = [
        (p.gpus, p.nodes)
        for p in pairs
        if p.gpus and p.nodes and f"g{p.gpus}n{p.nodes}" not in have
    ]
    if not extra:
        return cfg
    g = cfg.grid
    grid = replace(
        g,
        gpu_counts=list(dict.fromkeys([*g.gpu_counts, *(x for x, _ in extra)])),
        node_counts=list(dict.fromkeys([*g.node_counts, *(y for _, y in extra)])),
        max_gpus_per_node=max(g.max_gpus_per_node, *(x for x, _ in extra)),
        exclude=[t for t in g.exclude if t not in {f"g{x}n{y}" for x, y in extra}],
    )
    return replace(cfg, grid=grid)
