"""How ``status`` shows an experiment: plain strings per cell (also used by tests) and a rich
renderable (table plus what needs attention: a gone supervisor, failures, cancels)."""

from __future__ import annotations

import signal
from datetime import datetime
from typing import Any

from .progress import fmt_duration
from .state import (
    CANCELLED,
    EXITED,
    FAILED_TO_START,
    RUNNING,
    SCHEDULED,
    STARTING,
    ExperimentStatus,
    PairStatus,
)

STATUS_STYLE = {
    SCHEDULED: "cyan",
    STARTING: "yellow",
    RUNNING: "green",
    EXITED: "bold",
    FAILED_TO_START: "red",
    CANCELLED: "magenta",
}
WIDE_AT = 100
ACTIVE = (SCHEDULED, STARTING, RUNNING)  # a pair that runs or is still to start
COLUMNS = ("pair", "status", "elapsed", "next start", "trials", "ETA", "cost", "best", "pid")


def format_duration(seconds: float) -> str:
    """``45s``, ``3m05s``, ``2h07m``, ``1d03h``."""
    return fmt_duration(seconds)


def status_text(p: PairStatus) -> str:
    if p.status == EXITED:
        if p.exit_code is None:
            return "exited (code unknown)"
        if p.exit_code < 0:
            try:
                return f"exited {p.exit_code} ({signal.Signals(-p.exit_code).name})"
            except ValueError:
                return f"exited {p.exit_code}"
        return f"exited {p.exit_code}"
    if p.status == FAILED_TO_START:
        return "failed to start"
    if p.status == SCHEDULED and p.never_started:
        return "never started"
    if p.status == CANCELLED and p.alive:
        return "cancelled (stopping)"
    return p.status


def elapsed_text(p: PairStatus, now: float) -> str:
    if p.started_at is None:
        return "-"
    end = (
        p.ended_at if p.ended_at is not None else (now if p.alive or p.status == RUNNING else None)
    )
    return format_duration(end - p.started_at) if end is not None else "-"


def next_start_text(p: PairStatus, now: float) -> str:
    if p.status not in (SCHEDULED, STARTING):
        return "-"
    if p.never_started:
        return "never (supervisor gone)"
    if p.planned_start is None:
        # the first pair of its launch (a relaunch, a resume) waits for the experiment's
        # pairs of other launches, not for a pair before it in the grid
        return "after the others" if p.position == 0 else "after previous"
    left = p.planned_start - now
    return f"in {format_duration(left)}" if left > 0.5 else "now"


def trials_text(p: PairStatus) -> str:
    if p.trials_done is None:
        return "-"
    return f"{p.trials_done}/{p.max_trials}" if p.max_trials else str(p.trials_done)


def eta_text(pp: Any | None) -> str:
    """A pair's estimated time left (``~3m05s``); ``-`` when ended or unknown."""
    if pp is None or pp.ended or pp.eta_s is None:
        return "-"
    from .progress import BASIS_SETTINGS, fmt_duration

    return ("<=" if pp.basis == BASIS_SETTINGS else "~") + fmt_duration(pp.eta_s)


def cost_text(pp: Any | None) -> str:
    """Cost so far (``$0.04``); the estimated totals are on the progress line and in --json."""
    if pp is None:
        return "-"
    return f"${pp.cost_so_far_usd:,.2f}"


def row_cells(
    p: PairStatus, now: float, progress: Any | None = None, generation: int | None = None
) -> dict[str, str]:
    """A pair's cells; ``generation``: the one shown, so a pair of another (an earlier
    generation's sweep still running) is marked ``g1n1 (gen 1)``."""
    pp = None
    if progress is not None:
        pp = next((x for x in progress.pairs if x.sweep == p.sweep_name), None)
    other = generation is not None and p.generation != generation
    return {
        # a pair its gone supervisor never started runs only after ``launch --resume``
        "ETA": "-" if p.never_started else eta_text(pp),
        "cost": cost_text(pp),
        "pair": f"{p.tag} (gen {p.generation})" if other else p.tag,
        "status": status_text(p),
        "elapsed": elapsed_text(p, now),
        "next start": next_start_text(p, now),
        "trials": trials_text(p),
        "best": "-" if p.best_score is None else f"{p.best_score:.4g}",
        "pid": "-" if p.pid is None else str(p.pid),
    }


def earlier_generations_line(status: ExperimentStatus) -> str | None:
    """Where the earlier generations' pairs are shown (the table has the newest one's)."""
    if status.generation <= 1:
        return None
    gen = "1" if status.generation == 2 else f"N (1 to {status.generation - 1})"
    return (
        f"earlier generations' pairs and trials: hwscale-tui status --experiment-name "
        f"{status.experiment} --generation {gen}"
    )


def _log_end(path: str | None, n: int = 5) -> list[str]:
    """The last ``n`` non-blank lines of a pair's log, [] when it cannot be read."""
    from .files import log_tail

    return [line for line in log_tail(path, 3 * n) if line.strip()][-n:]


def attention_lines(status: ExperimentStatus) -> list[str]:
    """What a user should know beyond the table, one line each."""
    out: list[str] = []
    never = status.never_started
    if status.launch_id is not None and not status.supervisor_alive and never:
        out.append(
            f"the supervisor is gone; never started: {', '.join(p.tag for p in never)} "
            f"-> hwscale-tui launch --experiment-name {status.experiment} --resume starts them "
            "(running sweeps are not duplicated)"
        )
    cancels: dict[tuple[str, str], list[str]] = {}
    for p in status.pairs:
        if p.status == CANCELLED and p.cancelled_by:
            when = (
                datetime.fromtimestamp(p.cancelled_at).strftime("%H:%M:%S")
                if p.cancelled_at
                else "?"
            )
            cancels.setdefault((p.cancelled_by, when), []).append(p.tag)
    out += [
        f"cancelled by {by} at {when}: {', '.join(tags)}" for (by, when), tags in cancels.items()
    ]
    for p in status.pairs:
        # why a sweep failed is where its log ends (its last line, a traceback's last lines),
        # not where it began: its first lines are its first trials' (read now; the recorded
        # first lines when the log is gone, and for a pair that failed to start)
        ends = _log_end(p.log_path) if p.status == EXITED and p.exit_code not in (0, None) else []
        if ends:
            out.append(f"{p.tag} {status_text(p)}; its log ends ({p.log_path}):")
            out.extend(f"    {line}" for line in ends)
        elif p.status in (FAILED_TO_START, EXITED) and p.first_log_lines and (p.exit_code != 0):
            shown = p.first_log_lines[:5]
            out.append(f"{p.tag} {status_text(p)}; first log lines ({p.log_path}):")
            out.extend(f"    {line}" for line in shown)
        if p.note and (
            p.status == EXITED
            or " still running without " in p.note  # trials whose sweep runner died
            # a cancelled pair's jobs a failed scancel left (a later cancel retries them)
            or "left in flight as cluster jobs" in p.note
            or p.note.startswith("paused:")
        ):
            out.append(f"{p.tag}: {p.note}")
    return out


# the columns that give way, in this order, when the table is wider than the console: at 60
# columns every cell was cut ("2…" trials, "46…" best); pair, status, trials and best stay
GIVE_WAY = ("pid", "elapsed", "cost", "next start", "ETA")


def fitted_columns(columns: list[str], rows: list[dict[str, str]], width: int | None) -> list[str]:
    """``columns`` less those that give way (GIVE_WAY order) until the table, each column as
    wide as its widest cell or header and 3 characters between columns, fits ``width``."""
    if width is None:
        return columns
    need = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in columns}
    kept = list(columns)
    for col in GIVE_WAY:
        if sum(need[c] for c in kept) + 3 * (len(kept) - 1) <= width:
            break
        if col in kept:
            kept.remove(col)
    return kept


def render(
    status: ExperimentStatus,
    now: float,
    progress: Any | None = None,
    width: int | None = None,
    startable: bool = True,
) -> Any:
    """A rich renderable of the whole status (with ``progress``: ETA, cost, estimates); for a
    console ``width`` below WIDE_AT the table leaves out the pid. ``startable`` False: a
    never-launched experiment that cannot be launched as it is (its file is gone), so no
    "hwscale-tui launch ... starts it" (a note says what to do)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    if status.launch_id is None:
        if not startable:
            return Text(f"experiment {status.experiment} has not been launched")
        return Text(
            f"experiment {status.experiment} has not been launched "
            f"(hwscale-tui launch --experiment-name {status.experiment} starts it)"
        )
    state = status.supervisor_state
    if state == "running":
        sup = Text.assemble(("supervisor running", "green"), f" (pid {status.supervisor_pid})")
    elif state == "finished":
        sup = Text("supervisor finished (every pair ended)", style="dim")
    elif state == "stopped" and any(p.status in ACTIVE for p in status.pairs):
        sup = Text.assemble(
            ("supervisor stopped", "yellow"),
            " (started sweeps keep running; hwscale-tui launch --experiment-name "
            f"{status.experiment} --resume starts the rest)",
        )
    elif state == "stopped":  # e.g. launch --foreground interrupted: it cancelled its pairs
        sup = Text.assemble(("supervisor stopped", "yellow"), " (every pair ended)")
    else:
        sup = Text.assemble(
            ("supervisor gone", "yellow"), f" (last pid {status.supervisor_pid} died)"
        )
    gen = f"generation {status.generation}"
    if status.generations > 1:
        gen += f" of {status.generations}"
    header = Text.assemble((status.experiment, "bold"), f"  {gen}  {status.launch_text}  ", sup)
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    # below WIDE_AT columns the pid gives way to the estimates (it stays in --json)
    columns = [c for c in COLUMNS if c != "pid" or width is None or width >= WIDE_AT]
    rows = [(p, row_cells(p, now, progress, status.generation)) for p in status.pairs]
    columns = fitted_columns(columns, [cells for _, cells in rows], width)
    for col in columns:
        # the pair and its status are never cut ("schedul..."): other columns give way first
        whole = col in ("pair", "status")
        table.add_column(
            col,
            justify="right"
            if col in ("elapsed", "trials", "ETA", "cost", "best", "pid")
            else "left",
            no_wrap=whole,
            min_width=max([len(col), *(len(c[col]) for _, c in rows)]) if whole else None,
        )
    for p, cells in rows:
        style = STATUS_STYLE.get(p.status, "")
        table.add_row(*[Text(cells[c], style=style if c == "status" else "") for c in columns])
    parts: list[Any] = [header, table]
    if progress is not None:
        parts.append(Text(f"progress: {progress.summary()}"))
        counts = [f"{pp.tag} {pp.counts_text()}" for pp in progress.pairs if pp.killed or pp.failed]
        if counts:
            parts.append(Text("trials: " + "; ".join(counts), style="dim"))
        parts += [Text(f"note: {n}", style="dim") for n in progress.notes]
    parts += [
        Text(line, style="yellow" if not line.startswith("    ") else "dim")
        for line in attention_lines(status)
    ]
    earlier = earlier_generations_line(status)
    if earlier:
        parts.append(Text(earlier, style="dim"))
    if status.supervisor_log:
        parts.append(Text(f"supervisor log: {status.supervisor_log}", style="dim"))
    return Group(*parts)
