"""Launch screen: one row per pair (status, countdown, pid, elapsed, trials, best), log tail, actions.

Everything goes through the supervisor; the app never owns a sweep process. Sweeps keep
running when the app quits, and opening the app again re-attaches from the store.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Label, Static

from ..formatting import STATE_STYLES, plural
from ..launch_rows import LaunchRow, launch_rows
from ..widgets.header import ExperimentHeader
from .base import HwScreen
from .modals import ConfirmScreen

# (key, label, width): fixed widths, so status updates never shift the columns (and 80 columns fit)
COLUMNS = (
    ("pair", "pair", 5),
    ("gpus", "GPUs", 4),
    ("status", "status", 12),
    ("starts", "starts", 8),
    ("pid", "pid", 7),
    ("elapsed", "elapsed", 7),
    ("trials", "trials", 12),
    ("best", "best", 6),
)
LOG_LINES = 200


def supervisor_note(status: Any | None, active: int) -> str | None:
    """What the summary says about the latest launch's supervisor (``ExperimentStatus.supervisor_state``)."""
    if status is None or getattr(status, "launch_id", None) is None:
        return None  # never launched
    state = status.supervisor_state
    if state in ("running", "finished"):
        return f"supervisor {state}"
    note = f"supervisor {state}"  # stopped, or gone (it died)
    if active:
        note += " (running sweeps continue; `hwscale-tui launch --resume` starts the rest)"
    return note


class LaunchScreen(HwScreen):
    SCREEN_ID = "launch"
    SCREEN_TITLE = "Launch"
    BINDINGS = [
        Binding("L", "launch_all", "Launch all", id="launch.all"),
        Binding("l", "launch_selected", "Launch", id="launch.selected"),
        Binding("c", "cancel_selected", "Cancel", id="launch.cancel_selected"),
        Binding("C", "cancel_all", "Cancel all", id="launch.cancel_all"),
        Binding("r", "relaunch_failed", "Relaunch failed", id="launch.relaunch_failed"),
        Binding("o", "open_log", "Pager", id="launch.open_log"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, LaunchRow] = {}
        self.status: Any | None = None
        self.status_for: str | None = None  # the experiment name ``status`` belongs to
        self.plan: Any | None = None

    def compose(self) -> ComposeResult:
        yield ExperimentHeader(self.SCREEN_TITLE)
        with Vertical(id="launch-main"):
            yield DataTable(id="launch-table", cursor_type="row")
            yield Label("", id="launch-summary")
            yield Label("log", id="log-title", classes="section-title")
            yield Static("", id="log-tail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#launch-table", DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        table.focus()

    def on_screen_resume(self) -> None:
        self.plan = (
            self.app.session.plan()
        )  # the grid may have changed while this screen was hidden
        if (
            self.status_for != self.app.session.name
        ):  # renamed: the old experiment's rows and log go
            self.status, self.status_for = None, self.app.session.name
            self.query_one("#log-tail", Static).update("")
        self.apply_status(self.status, None)
        super().on_screen_resume()

    # -- polling ------------------------------------------------------------------------------
    def poll(self) -> None:
        self._poll_worker(self.app.session.name, self.selected_log_path())

    @work(thread=True, group="launch-poll", exit_on_error=False)
    def _poll_worker(self, experiment: str, log_path: str | None) -> None:
        try:
            status = self.app.services.supervisor.pair_status(experiment)
            tail = (
                self.app.services.supervisor.log_tail(log_path, LOG_LINES)
                if log_path and os.path.exists(log_path)
                else []
            )
            self.app.call_from_thread(self.apply_status, status, tail, experiment)
        finally:
            self.app.call_from_thread(self.poll_finished)

    def apply_status(
        self, status: Any | None, tail: list[str] | None, experiment: str | None = None
    ) -> None:
        """Update the table in place by sweep name (rows are added/removed, never cleared).

        ``tail`` None keeps the log pane as it is; a poll started before a rename
        (``experiment`` is the old name) is dropped.
        """
        if experiment is not None:
            if experiment != self.app.session.name:
                return
            self.status_for = experiment
        self.status = status
        if self.plan is None:
            self.plan = self.app.session.plan()
        cfg = self.app.session.cfg
        rows = launch_rows(
            self.plan.pairs,
            status,
            self.app.services.clock(),
            cfg.sweep.max_trials,
            self.app.ascii_only,
        )
        table = self.query_one("#launch-table", DataTable)
        new = {r.sweep_name: r for r in rows}
        for name in list(self.rows):
            if name not in new:
                table.remove_row(name)
                del self.rows[name]
        for r in rows:
            cells = self.cells(r)
            if r.sweep_name in self.rows:
                if self.rows[r.sweep_name] != r:
                    for (key, _, _), value in zip(COLUMNS, cells):
                        table.update_cell(r.sweep_name, key, value)
            else:
                table.add_row(*cells, key=r.sweep_name)
            self.rows[r.sweep_name] = r
        self.update_summary()
        if tail is not None:
            self.query_one("#log-tail", Static).update(
                Text("\n".join(tail[-self.log_height() :]), no_wrap=True, overflow="ellipsis")
                if tail
                else Text("(no log yet)", style="dim")
            )

    def cells(self, r: LaunchRow) -> list[Any]:
        style = STATE_STYLES.get(r.status, "")
        if r.failed:
            style = STATE_STYLES["failed"]
        return [
            r.tag,
            str(r.total_gpus),
            Text(r.status_text, style=style),
            r.countdown,
            r.pid,
            r.elapsed,
            r.trials,
            r.best,
        ]

    def log_height(self) -> int:
        return max(3, self.query_one("#log-tail", Static).size.height or 10)

    def update_summary(self) -> None:
        active = sum(r.active for r in self.rows.values())
        parts = [f"{plural(len(self.rows), 'pair')}, {active} active"]
        note = supervisor_note(self.status, active)
        if note:
            parts.append(note)
        parts.append("sweeps keep running when you quit")
        self.query_one("#launch-summary", Label).update("  |  ".join(parts))
        row = self.selected_row()
        title = (
            f"log of {row.tag}: {os.path.basename(row.log_path) if row.log_path else '(none yet)'}  (o: full log)"
            if row
            else "log"
        )
        self.query_one("#log-title", Label).update(title)

    # -- selection ----------------------------------------------------------------------------
    def selected_row(self) -> LaunchRow | None:
        table = self.query_one("#launch-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(key) if key is not None else None

    def selected_log_path(self) -> str | None:
        row = self.selected_row()
        return row.log_path if row else None

    @on(DataTable.RowHighlighted, "#launch-table")
    def _row_changed(self) -> None:
        self.query_one("#log-tail", Static).update("")
        self.update_summary()
        self.poll_now()

    # -- actions (each a thread worker; errors reach the app's single handler) ----------------
    def _writable(self) -> bool:
        if self.app.session.read_only:
            self.notify("Read-only mode: launching and cancelling are off.", severity="warning")
            return False
        return True

    def action_launch_all(self) -> None:
        if self._writable():
            self._launch(None)

    def action_launch_selected(self) -> None:
        row = self.selected_row()
        if row is None or not self._writable():
            return
        if row.active:
            self.notify(f"{row.tag} is already {row.status_text}.", severity="warning")
            return
        if row.status == "not launched":
            self._launch([row.sweep_name])
        else:
            self._relaunch([row.sweep_name])

    @work(thread=True, group="launch-action", exit_on_error=False)
    def _launch(self, only: list[str] | None, new_generation: bool = False) -> None:
        from ...launch.generations import GenerationChangeRequired
        from ..generation_dialog import ask_new_generation

        session = self.app.session
        extra = {"new_generation": True} if new_generation else {}
        try:
            info = self.app.services.supervisor.launch(session.cfg, only=only, **extra)
        except GenerationChangeRequired as e:
            self.app.call_from_thread(
                ask_new_generation, self.app, e.comparison, lambda: self._launch(only, True)
            )
            return
        session.cfg.generation = getattr(info, "generation", session.cfg.generation)
        what = "all pairs" if only is None else ", ".join(only)
        self.app.call_from_thread(
            self.notify, f"Launched {what} (supervisor pid {getattr(info, 'supervisor_pid', '?')})."
        )
        self.app.call_from_thread(self.poll_now)

    @work(thread=True, group="launch-action", exit_on_error=False)
    def _relaunch(self, sweeps: list[str]) -> None:
        self.app.services.supervisor.relaunch(self.app.session.name, sweeps)
        self.app.call_from_thread(self.notify, f"Relaunched {', '.join(sweeps)}.")
        self.app.call_from_thread(self.poll_now)

    @work(thread=True, group="launch-action", exit_on_error=False)
    def _cancel(self, sweeps: list[str] | None) -> None:
        done = self.app.services.supervisor.cancel(self.app.session.name, sweeps, by="tui")
        self.app.call_from_thread(
            self.notify, f"Cancelled {', '.join(done) if done else 'nothing running'}."
        )
        self.app.call_from_thread(self.poll_now)

    def action_cancel_selected(self) -> None:
        row = self.selected_row()
        if row is None or not self._writable():
            return
        if not row.active:
            self.notify(f"{row.tag} is {row.status_text}; nothing to cancel.", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._cancel([row.sweep_name])

        self.app.push_screen(
            ConfirmScreen(
                f"Cancel {row.sweep_name} ({row.status_text})? Its sweep and trials get SIGTERM."
            ),
            confirmed,
        )

    def action_cancel_all(self) -> None:
        if not self._writable():
            return
        active = [r for r in self.rows.values() if r.active]
        if not active:
            self.notify("No pair is scheduled or running.", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._cancel(None)

        self.app.push_screen(
            ConfirmScreen(
                f"Cancel all {plural(len(active), 'active pair')} of {self.app.session.name}?"
            ),
            confirmed,
        )

    def action_relaunch_failed(self) -> None:
        if not self._writable():
            return
        row = self.selected_row()
        failed = (
            [row.sweep_name]
            if row and row.failed
            else [r.sweep_name for r in self.rows.values() if r.failed]
        )
        if not failed:
            self.notify("No failed pair to relaunch.", severity="warning")
            return
        self._relaunch(failed)

    def action_open_log(self) -> None:
        row = self.selected_row()
        if row is None or not row.log_path or not os.path.exists(row.log_path):
            self.notify("This pair has no log yet.", severity="warning")
            return
        argv = [*shlex.split(os.environ.get("PAGER") or "less"), row.log_path]
        from textual.app import SuspendNotSupported

        try:
            with self.app.suspend():
                subprocess.run(argv, check=False)
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot hand over to a pager; see the log tail below.",
                severity="warning",
            )
        except FileNotFoundError:
            self.notify(f"Pager {argv[0]!r} not found; set $PAGER.", severity="error")
        self.refresh()
