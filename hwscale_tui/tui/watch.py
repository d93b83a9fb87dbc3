"""What changed between two looks at an experiment's pairs, as notices (plain data, no Textual).

The app looks at the supervisor's pair status every few seconds, whatever screen is shown,
and turns each pair that ended since the last look into a notice: finished, failed or
cancelled from elsewhere (a cancel from this app already said so). When every pair has ended
and no supervisor is left, the experiment is done: one notice says so (the app then adds the
best pair per priority from the analysis). The first look at an experiment that had already
ended (the app reopened on it) gives the same notice, marked ``reopened``: it is no news.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["information", "warning", "error"]

ACTIVE = ("scheduled", "starting", "running")
ENDED = ("exited", "failed_to_start", "cancelled")


@dataclass(frozen=True)
class Notice:
    message: str
    severity: Severity
    done: bool = False  # the experiment is done
    reopened: bool = False  # it was done before the first look: no news, only the summary


def _tag(p: Any) -> str:
    return f"g{p.gpus}n{p.nodes}"


def _last_log_line(path: str | None) -> str:
    """A sweep's last log line (why it failed: "every trial failed: 3 failed", an error's
    last line), with its time stamp and event column squeezed; "" when there is none."""
    from ..launch.files import log_tail

    lines = [line for line in log_tail(path, 5) if line.strip()]
    return " ".join(lines[-1].split()) if lines else ""


def _ended_notice(p: Any, by_this_app: str) -> Notice | None:
    if p.status == "exited":
        if p.exit_code == 0:
            return Notice(f"{_tag(p)} finished (its sweep exited 0).", "information")
        if p.exit_code is None:  # no supervisor watched it end: not known to have failed
            return Notice(
                f"{_tag(p)} ended while no supervisor watched it (exit code unknown; "
                "hwscale-tui status says more).",
                "warning",
            )
        # in the words of `hwscale-tui status`: "exited -15 (SIGTERM)"
        from ..launch.status_view import status_text

        why = _last_log_line(getattr(p, "log_path", None))
        return Notice(
            f"{_tag(p)} failed: its sweep {status_text(p)}."
            + (f" Its log ends: {why}" if why else ""),
            "error",
        )
    if p.status == "failed_to_start":
        return Notice(f"{_tag(p)} failed to start (see its log: o on the launch screen).", "error")
    if p.status == "cancelled":
        by = getattr(p, "cancelled_by", None) or "someone"
        if by == by_this_app:
            return None  # this app cancelled it and said so already
        return Notice(f"{_tag(p)} was cancelled by {by}.", "warning")
    return None


def done_notice(experiment: str, status: Any | None, reopened: bool = False) -> Notice | None:
    """The "done" notice when every pair of the status (the newest generation's) has ended and
    no supervisor is left; None while one is active, or when nothing was launched."""
    pairs = list(getattr(status, "pairs", None) or [])
    if (
        not pairs
        or getattr(status, "launch_id", None) is None
        or getattr(status, "supervisor_alive", False)
        or any(p.status in ACTIVE for p in pairs)
    ):
        return None
    failed = sum(
        1
        for p in pairs
        if p.status == "failed_to_start" or (p.status == "exited" and p.exit_code not in (0, None))
    )
    unknown = sum(1 for p in pairs if p.status == "exited" and p.exit_code is None)
    cancelled = sum(1 for p in pairs if p.status == "cancelled")
    counts = [
        f"{n} {what}"
        for n, what in (
            (failed, "failed"),
            (cancelled, "cancelled"),
            (unknown, "with exit code unknown"),  # as the launch row: not counted failed
        )
        if n
    ]
    tail = f" ({', '.join(counts)})" if counts else ""
    return Notice(
        f"{experiment} is done: every pair has ended{tail}.", "information", True, reopened
    )


class PairWatch:
    """Remembers the last look at the pairs; :meth:`look` returns the notices for what changed."""

    def __init__(self, by_this_app: str = "tui") -> None:
        self.by_this_app = by_this_app
        self.seen: dict[str, str] | None = None  # sweep -> status at the last look
        self.experiment: str | None = None
        self.was_active = False

    def launched(self, sweeps: Iterable[str]) -> None:
        """This app (re)launched ``sweeps``: their end is news at the next look, also when that
        look finds them ended already. A sweep that fails at once (a trial command that cannot
        run) ended within the 2 s between looks, was never seen active, and went unsaid: no
        "failed" notice, no "Experiment done"."""
        if self.seen is None:  # before the first look: that look sees them as they are
            return
        for sweep in sweeps:
            self.seen[sweep] = "scheduled"
        self.was_active = True

    def look(self, experiment: str, status: Any | None) -> list[Notice]:
        pairs: Iterable[Any] = getattr(status, "pairs", None) or []
        now = {p.sweep_name: p.status for p in pairs}
        if experiment != self.experiment or self.seen is None:
            # first look (or another experiment): nothing is news yet, but an experiment that
            # had already ended is done as it would have been seen live
            self.experiment, self.seen = experiment, now
            self.was_active = any(s in ACTIVE for s in now.values())
            done = done_notice(experiment, status, reopened=True)
            return [done] if done is not None else []
        notices: list[Notice] = []
        for p in pairs:
            before = self.seen.get(p.sweep_name)
            if p.status in ENDED and before is not None and before not in ENDED:
                notice = _ended_notice(p, self.by_this_app)
                if notice is not None:
                    notices.append(notice)
        active = any(s in ACTIVE for s in now.values())
        done = done_notice(experiment, status) if self.was_active else None
        if done is not None:
            notices.append(done)
        # Seen running, the experiment stays "was active" until its done notice is given: a look
        # between the last pair's end and its supervisor's exit (a cancel of the last scheduled
        # pair) is not done yet, and forgetting the run there lost the notice.
        if active:
            self.was_active = True
        elif done is not None:
            self.was_active = False
        self.seen = now
        return notices


def best_per_priority(recommendations: Iterable[Any]) -> str:
    """``research: g4n1 | development: g8n2 | budget: g1n1 | balanced: g2n1``."""
    parts = []
    for rec in recommendations:
        parts.append(f"{rec.scenario}: {rec.config if rec.config is not None else 'none'}")
    return " | ".join(parts)
