"""Launch screen: one row per pair (status, countdown, pid, elapsed, trials, best), log tail, actions.

Everything goes through the supervisor; the app never owns a sweep process. Sweeps keep
running when the app quits, and opening the app again re-attaches from the store.
"""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static

from ...hardware import pair_tag_of
from ..formatting import STATE_STYLES, display_paths, plural
from ..launch_rows import LaunchRow, covering_config, launch_rows
from ..launched import LaunchedConfig
from ..source_cache import SourceCache
from ..widgets.header import ExperimentHeader
from ..widgets.row_table import RowTable
from .base import HwFooter, HwScreen

# (key, label, width): fixed widths, so status updates never shift the columns (and 80 columns fit)
COLUMNS = (
    ("pair", "pair", 5),
    ("gpus", "GPUs", 4),
    ("status", "status", 12),
    ("starts", "starts", 8),
    ("pid", "pid", 7),
    ("elapsed", "elapsed", 7),
    ("trials", "trials", 12),
    ("eta", "ETA", 8),
    ("cost", "cost", 7),
    ("best", "best", 6),
)
NARROW_HIDDEN = ("gpus", "pid", "elapsed")  # below WIDE_AT columns: the rest fits 80 columns
# below 80 columns (a narrow SSH window) these give way too, first to last, until the rest fits:
# the line under the table still says the highlighted pair's ETA and cost. A countdown to a
# pair's start outlasts the ETA while a pair counts down.
NARROWER_DROPPED = ("cost", "starts", "eta")
WIDE_AT = 100
LOG_LINES = 200
# A W&B source is asked for the trials behind the progress at most this often (a local store
# is read on every poll: it is cheap).
REMOTE_PROGRESS_EVERY_S = 15.0
HISTORY_EVERY_S = 30.0


class LogScroll(VerticalScroll):
    """The log pane: keeps the newest line in view unless the user scrolled up to read, also
    when a resize re-wraps the lines (a log that fit a wide pane overflows a narrow one)."""

    follow = True  # the view is at the end (it stays there as lines arrive or re-wrap)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.follow = new_value >= self.max_scroll_y - 1

    def on_resize(self) -> None:
        if self.follow:
            self.call_after_refresh(self.scroll_end, animate=False)


def supervisor_note(status: Any | None, active: int) -> str | None:
    """What the summary says about the latest launch's supervisor (``ExperimentStatus.supervisor_state``)."""
    if status is None or getattr(status, "launch_id", None) is None:
        return None  # never launched
    state = status.supervisor_state
    if state in ("running", "finished"):
        return f"supervisor {state}"
    note = f"supervisor {state}"  # stopped, or gone (it died)
    if active:
        name = getattr(status, "experiment", "")
        note += (
            " (running sweeps continue; "
            f"`hwscale-tui launch --experiment-name {name} --resume` starts the rest)"
        )
    return note


class LaunchScreen(HwScreen):
    SCREEN_ID = "launch"
    SCREEN_TITLE = "Launch"
    DEFAULT_CSS = """
    /* the screen's own rules, parsed when it is first shown (app.tcss holds the shared ones) */
    #launch-main { height: 1fr; }
    #launch-table { height: auto; max-height: 60%; }
    #launch-summary { height: auto; max-height: 6; width: 1fr; color: $text-muted; }
    #log-title { height: 1; }
    #log-scroll { height: 1fr; }
    #log-tail { height: auto; color: $text-muted; }
    """
    READ_ONLY_REFUSED = frozenset(
        {
            "launch.all",
            "launch.selected",
            "launch.cancel_selected",
            "launch.cancel_all",
            "launch.relaunch_failed",
        }
    )
    BINDINGS = [
        Binding("L", "launch_all", "Launch all", id="launch.all"),
        Binding("l", "launch_selected", "Launch", id="launch.selected"),
        Binding("c", "cancel_selected", "Cancel", id="launch.cancel_selected"),
        Binding("C", "cancel_all", "Cancel all", id="launch.cancel_all"),
        Binding("r", "relaunch_failed", "Relaunch", id="launch.relaunch_failed"),
        Binding("o", "open_log", "Log", id="launch.open_log"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, LaunchRow] = {}
        self.status: Any | None = None
        self.status_for: str | None = None  # the experiment name ``status`` belongs to
        # the experiment whose pairs' status was read (a poll, or the app's last look at them):
        # until then every row says "not launched", whatever runs
        self.status_read_for: str | None = None
        self.plan: Any | None = None
        self.progress: Any | None = None  # ExperimentProgress of the latest poll
        self.sources = SourceCache()
        self._trials: list[Any] = []
        self._trials_at = -1e18
        self._history: tuple[float, str, dict[Any, float]] | None = None
        self._launched = LaunchedConfig()  # the snapshot the latest launch froze
        # why the trial source failed at the latest read of the trials behind the estimates
        self.source_error: str | None = None
        self._trials_read = False  # the source has answered once
        self.shown_columns: tuple[Any, ...] = ()
        self.table_columns: tuple[tuple[str, str, int], ...] = COLUMNS
        # the row whose log the pane shows: a rebuild of the columns (a resize, a longer status)
        # highlights it again, which must not blank its log until the next poll
        self._highlighted: str | None = None

    def compose(self) -> ComposeResult:
        yield ExperimentHeader(self.SCREEN_TITLE)
        with Vertical(id="launch-main"):
            yield RowTable(id="launch-table", cursor_type="row")
            yield Label("", id="launch-summary", markup=False)
            yield Label("log", id="log-title", classes="section-title", markup=False)
            with LogScroll(id="log-scroll"):
                yield Static("", id="log-tail")
        yield HwFooter()

    def on_mount(self) -> None:
        self.set_columns()
        self.query_one("#launch-table", DataTable).focus()

    def columns_for(self, width: int) -> tuple[tuple[str, str, int], ...]:
        """The columns that fit ``width``: at 80 columns GPUs, pid and elapsed give way. In local
        mode (built-in trainer, local dispatcher) the GPUs column is "ranks": they are CPU
        processes, not GPUs. The status column widens to its rows' longest status."""
        columns = list(COLUMNS)
        if self.app.session.cfg.local_ranks:
            columns = [
                ("gpus", "ranks", 5) if k == "gpus" else (k, lbl, w) for k, lbl, w in columns
            ]
        full = sum(w + 2 for _, _, w in columns) + 4  # cell padding, scrollbar
        cols = [c for c in columns if width >= max(WIDE_AT, full) or c[0] not in NARROW_HIDDEN]

        def spare_of(cols: list[tuple[str, str, int]]) -> int:
            return width - 4 - sum(w + 2 for _, _, w in cols)  # cell padding, scrollbar

        # the status column fits the longest status of its rows, in the words of `hwscale-tui
        # status` (``exited (code unknown)``, 21 columns): from the spare width, else, while no
        # row counts down to its start, from the starts column
        need = max((len(r.status_text) for r in self.rows.values()), default=0)
        status_w = next(w for k, _, w in cols if k == "status")
        if need > status_w:
            if spare_of(cols) < need - status_w and all(
                r.countdown == "-" for r in self.rows.values()
            ):
                cols = [c for c in cols if c[0] != "starts"]
            grown = status_w + max(0, min(need - status_w, spare_of(cols)))
            cols = [(k, lbl, grown if k == "status" else w) for k, lbl, w in cols]
        if spare_of(cols) < 0:  # below 80 columns: pair, status, trials and best stay whole
            # (the table cut its last columns, best first, at 60 columns)
            counting = any(r.countdown != "-" for r in self.rows.values())
            order = ("cost", "eta", "starts") if counting else NARROWER_DROPPED
            shown_w = next(w for k, _, w in cols if k == "status")
            for key in order:
                if spare_of(cols) >= max(0, need - shown_w):  # the status whole too
                    break
                cols = [c for c in cols if c[0] != key]
            if need > shown_w:  # the room the dropped columns left
                grown = shown_w + max(0, min(need - shown_w, spare_of(cols)))
                cols = [(k, lbl, grown if k == "status" else w) for k, lbl, w in cols]
        spare = spare_of(cols)
        if spare > 0 and width >= 140:  # wide terminals: status, trials and cost grow
            grow = {"status": 0.3, "trials": 0.4, "cost": 0.3}
            cols = [(k, lbl, w + int(spare * grow.get(k, 0))) for k, lbl, w in cols]
        return tuple(cols)

    def set_columns(self) -> None:
        """(Re)build the columns for the screen width; rows are re-added from ``self.rows``."""
        cols = self.columns_for(self.app.size.width)
        if tuple(k for k, _, _ in cols) + tuple(w for _, _, w in cols) == self.shown_columns:
            return
        self.shown_columns = tuple(k for k, _, _ in cols) + tuple(w for _, _, w in cols)
        table = self.query_one("#launch-table", DataTable)
        keep = self.selected_row()
        table.clear(columns=True)
        self.table_columns = cols
        for key, label, width in cols:
            table.add_column(label, key=key, width=width)
        for r in self.rows.values():
            table.add_row(*self.cells(r), key=r.sweep_name)
        if keep is not None and keep.sweep_name in self.rows:
            table.move_cursor(row=table.get_row_index(keep.sweep_name), animate=False)

    def on_resize(self) -> None:
        self.set_columns()

    def on_screen_resume(self) -> None:
        self.plan = (
            self.app.session.plan()
        )  # the grid may have changed while this screen was hidden
        if (
            self.status_for != self.app.session.name
        ):  # renamed: the old experiment's rows and log go
            self.status, self.status_for = None, self.app.session.name
            self.query_one("#log-tail", Static).update("")
        name = self.app.session.name
        if (
            self.status_read_for != name
            and self.app.pair_status_seen is not None
            and self.app.pair_watch.experiment == name
        ):  # the app's last look at the pairs (every 2 s), until this screen's first poll
            self.status, self.status_read_for = self.app.pair_status_seen, name
        self.apply_status(self.status, None)
        # HwScreen.on_screen_resume follows: Textual calls each class's handler in turn

    # -- polling ------------------------------------------------------------------------------
    def poll(self) -> None:
        row = self.selected_row()
        self._poll_worker(
            self.app.session.name,
            row.log_path if row else None,
            row.sweep_name if row else None,
        )

    @work(thread=True, group="launch-poll", exit_on_error=False)
    def _poll_worker(self, experiment: str, log_path: str | None, sweep: str | None = None) -> None:
        try:
            status = self.app.services.supervisor.pair_status(experiment)
            if log_path is None and sweep is not None:
                # the row was drawn before the status was known (the first poll after opening
                # the app): its log is the status's, not "(no log yet)"
                log_path = next((p.log_path for p in status.pairs if p.sweep_name == sweep), None)
            tail = (
                self.app.services.supervisor.log_tail(log_path, LOG_LINES)
                if log_path and os.path.exists(log_path)
                else []
            )
            progress = self._progress(status)
            self.app.call_from_thread(self.apply_status, status, tail, experiment, progress)
        finally:
            self.app.call_from_thread(self.poll_finished)

    def _progress(self, status: Any | None) -> Any | None:
        """Trial counts, ETA and cost of the launched pairs (core: ``launch/progress.py``)."""
        if status is None or getattr(status, "launch_id", None) is None:
            return None
        session, services = self.app.session, self.app.services
        now = services.clock()
        remote = session.source_label != "local"
        if not remote or now - self._trials_at >= REMOTE_PROGRESS_EVERY_S:
            # every recorded pair's sweep, also one the grid on screen no longer has (its row
            # stays, counted as `hwscale-tui status` counts it)
            cfg = covering_config(session.cfg, status.pairs)
            from ...sources.base import SourceUnavailable

            try:
                source, _ = self.sources.get(services.sources, cfg, session.source_label)
                self._trials = list(source.poll().trials)
                self.source_error, self._trials_read = None, True
            except SourceUnavailable as e:
                # W&B down, rate limited or refusing the key: the rows still come from the
                # supervisor's status (they all read "not launched", with a crash notice every
                # second); the estimates go on from the trials last read, and the summary says
                # why. Asked again at the same pace as when it answers.
                self.source_error = e.reason
            self._trials_at = now
        if self.source_error and not self._trials_read:
            return None  # no trial read yet: the rows count as `hwscale-tui status` does
        # what the launched sweeps run with, not the editor's unsaved values: each pair's own
        # max_trials as its sweep recorded it (what the row shows), the rest from the snapshot
        # the launch froze (what `hwscale-tui status` estimates with)
        launched = self._launched_config(session.name) or session.cfg
        return services.progress.experiment_progress(
            [services.progress.PairPlan.of(p) for p in status.pairs],
            self._trials,
            services.progress.ProgressSettings.from_config(launched),
            now,
            history_sps=self._history_sps(launched.experiment.runner, session.name, now),
        )

    def _launched_config(self, experiment: str) -> Any | None:
        """The experiment snapshot the latest launch froze (the file its sweeps read)."""
        return self._launched.get(experiment)

    def _history_sps(self, runner: str, experiment: str, now: float) -> dict[Any, float]:
        """Steps/s of this experiment's earlier runs in the store (its earlier generations'),
        re-read every HISTORY_EVERY_S. Naming the experiment is what reads any: the core
        gives none without it (another experiment's may train something else)."""
        key = f"{runner}:{experiment}"
        if (
            self._history is None
            or self._history[1] != key
            or now - self._history[0] > HISTORY_EVERY_S
        ):
            measured = self.app.services.progress.measured_throughput(runner, experiment=experiment)
            self._history = (now, key, measured)
        return self._history[2]

    def apply_status(
        self,
        status: Any | None,
        tail: list[str] | None,
        experiment: str | None = None,
        progress: Any | None = None,
    ) -> None:
        """Update the table in place by sweep name (rows are added/removed, never cleared).

        ``tail`` None keeps the log pane as it is; a poll started before a rename
        (``experiment`` is the old name) is dropped.
        """
        if experiment is not None:
            if experiment != self.app.session.name:
                return
            self.status_for = self.status_read_for = experiment
            self.progress = progress
            # a launch from here or the CLI started a new generation: its sweeps are the rows
            self.app.follow_generation(getattr(status, "generation", None))
        self.status = status
        self.plan = self.app.session.plan()  # cached by the session per config and generation
        cfg = self.app.session.cfg
        rows = launch_rows(
            self.plan.pairs,
            status,
            self.app.services.clock(),
            cfg.sweep.max_trials,
            self.app.ascii_only,
            self.progress if status is not None else None,
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
                    for (key, _, _), value in zip(self.table_columns, cells):
                        table.update_cell(r.sweep_name, key, value)
            else:
                table.add_row(*cells, key=r.sweep_name)
            self.rows[r.sweep_name] = r
        self.set_columns()  # a longer status (``exited (code unknown)``) widens its column
        self.update_summary()
        if tail is not None:
            scroll = self.query_one("#log-scroll", LogScroll)
            # long lines wrap (never cut); the pane keeps the newest line in view unless the
            # user scrolled up to read
            self.query_one("#log-tail", Static).update(
                Text(display_paths("\n".join(tail))) if tail else Text("(no log yet)", style="dim")
            )
            if scroll.follow:
                scroll.call_after_refresh(scroll.scroll_end, animate=False)

    def cells(self, r: LaunchRow) -> list[Any]:
        style = STATE_STYLES.get(r.status, "")
        if r.failed:
            style = STATE_STYLES["failed"]
        values = {
            "pair": r.tag,
            "gpus": str(r.total_gpus),
            "status": Text(r.status_text, style=style),
            "starts": r.countdown,
            "pid": r.pid,
            "elapsed": r.elapsed,
            "trials": r.trials,
            "eta": r.eta,
            "cost": r.cost,
            "best": r.best,
        }
        return [values[key] for key, _, _ in self.table_columns]

    def update_summary(self) -> None:
        active = sum(r.active for r in self.rows.values())
        parts = [f"{plural(len(self.rows), 'pair')}, {active} active"]
        generations = getattr(self.status, "generations", 1)
        if self.status is not None and generations > 1:  # whose rows these are (as `status`)
            parts.insert(0, f"generation {self.status.generation} of {generations}")
        note = supervisor_note(self.status, active)
        if note:
            parts.append(note)
        if any(r.keeps_running for r in self.rows.values()):  # not a pair that never starts
            parts.append("sweeps keep running when you quit")
        lines = ["  |  ".join(parts)]
        if self.progress is not None and self.status is not None:
            lines.append(f"experiment: {self.progress.summary(short=True)}")
        if self.source_error and getattr(self.status, "launch_id", None) is not None:
            lines.append(
                f"trial source ({self.app.session.source_label}) failed: "
                f"{self.source_error.rstrip('.')}; "
                + (
                    "ETAs and costs are from the trials read before."
                    if self.progress is not None
                    else "no ETA or cost until it answers."
                )
            )
        if self.app.done_banner and getattr(self.status, "launch_id", None) is not None:
            lines.append(self.app.done_banner)
        row = self.selected_row()
        if row is not None and row.detail:
            lines.append(f"{row.tag}: {row.detail}")
        self.query_one("#launch-summary", Label).update("\n".join(lines))
        title = "log"
        if row is not None:
            head, hint = f"log of {row.tag}: ", "  (o: full log)"
            name = os.path.basename(row.log_path) if row.log_path else "(none yet)"
            # a long experiment's file name is shortened in the middle: the key hint stays
            over = len(head) + len(name) + len(hint) - (self.size.width or self.app.size.width)
            if over > 0:
                keep = max(8, len(name) - over - 1)
                name = name[: keep // 2] + "…" + name[len(name) - (keep - keep // 2) :]
            title = head + name + hint
        self.query_one("#log-title", Label).update(title)

    # -- selection ----------------------------------------------------------------------------
    def selected_row(self) -> LaunchRow | None:
        table = self.query_one("#launch-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(key) if key is not None else None

    @on(DataTable.RowHighlighted, "#launch-table")
    def _row_changed(self) -> None:
        row = self.selected_row()
        sweep = row.sweep_name if row is not None else None
        if sweep == self._highlighted:  # the columns were rebuilt around the same row
            return
        self._highlighted = sweep
        self.query_one("#log-tail", Static).update("")
        self.update_summary()
        self.poll_now()

    # -- actions (each a thread worker; errors reach the app's single handler) ----------------
    def _writable(self) -> bool:
        if self.app.session.read_only:
            self.notify(
                "Read-only mode: launching and cancelling are off.",
                severity="warning",
                markup=False,
            )
            return False
        return True

    def _status_read(self) -> bool:
        """Whether the rows hold the pairs' status: ``2c`` in one burst (typeahead over SSH)
        said of a running pair "g1n1 is not scheduled or running (not launched); nothing to
        cancel", the rows drawn before the status was read."""
        if self.status_read_for == self.app.session.name:
            return True
        self.notify(
            "The pairs' status is being read (the screen has just opened); press the key again "
            "in a moment.",
            severity="warning",
            markup=False,
        )
        return False

    def _form_in_force(self) -> bool:
        """A launch runs the experiment's values in force; a grid field that shows an error
        holds a typed value that is not (save refuses it too): say so rather than launch
        something other than what the form shows."""
        error = self.app.grid_form_error()
        if error:
            self.notify(
                f"Not launched: the grid form (1) shows an error, {error} Fix it first: a "
                "launch runs the last valid values, not what the form shows.",
                severity="error",
                timeout=10,
                markup=False,
            )
            return False
        return True

    def action_launch_all(self) -> None:
        """Ask first, with the plan's summary: pairs, trials, ranks, estimated time and cost."""
        if self._writable() and self._form_in_force():
            self._estimate_worker()

    @work(thread=True, group="launch-estimate", exclusive=True, exit_on_error=False)
    def _estimate_worker(self) -> None:
        from ...launch.generations import compare
        from ...launch.state import budget_spent
        from ...store import Store
        from ..generation_dialog import question as generation_question

        session, progress = self.app.session, self.app.services.progress
        plan = session.plan()
        if plan.blockers:  # what `hwscale-tui launch` refuses (exit 2): said now, nothing asked
            self.app.call_from_thread(
                self.notify, plan.blockers[0] + ".", severity="error", timeout=15, markup=False
            )
            return
        with Store.open_default() as store:  # comparability settings changed: one question for both
            comparison, _ = compare(store, session.cfg)
            new_generation = comparison.recorded and bool(comparison.changes)
            # continuing the generation, each pair runs only its trials left: so does the estimate
            ran = [] if new_generation else store.trials([pp.sweep_name for pp in plan.pairs])
        status = self.app.services.supervisor.pair_status(session.name)
        # pairs whose sweep already ran its trials: the launch leaves them out, so does the
        # estimate (a new generation starts every pair afresh)
        sweeps = [pp.sweep_name for pp in plan.pairs]
        spent = [] if new_generation else budget_spent(session.cfg, status, sweeps)
        # every pair ran its max trials: a launch would start none, so what `hwscale-tui
        # launch --new-generation` does is offered instead (asked first), every pair afresh
        fresh: list[str] = []
        if comparison.recorded and sweeps and set(sweeps) <= set(spent):
            fresh, spent, ran = [pair_tag_of(s) for s in spent], [], []
        pairs = [
            progress.PairPlan(pp.sweep_name, pp.pair.gpus, pp.pair.nodes)
            for pp in plan.pairs
            if pp.sweep_name not in spent
        ]
        if pairs and getattr(status, "supervisor_alive", False):
            # the supervisor would refuse it: say so now, not after a question about its plan
            pid = getattr(status, "supervisor_pid", None)
            self.app.call_from_thread(
                self.notify,
                f"{session.name} is already running"
                f"{f' (supervisor pid {pid})' if pid else ''}: L launches again once every pair "
                "has ended. l launches a pair that is not running; C cancels them all.",
                severity="warning",
                markup=False,
            )
            return
        estimate = progress.estimate_plan(
            pairs,
            progress.ProgressSettings.from_config(session.cfg),
            history_sps=progress.measured_throughput(
                session.cfg.experiment.runner, experiment=session.name
            ),
            trials=ran,
        )
        changed = generation_question(comparison) if new_generation else None
        # what `hwscale-tui launch` warns about these pairs: more CPU ranks than cores, alone
        oversubscribed = [
            f"warning: {pair_tag_of(pp.sweep_name)}: {w}"
            for pp in plan.pairs
            if pp.sweep_name not in spent
            for w in pp.warnings
            if w.startswith("OVERSUBSCRIBED")
        ] + [  # and pairs that run at once sharing the cores (local mode)
            f"warning: {w}" for w in plan.warnings if w.startswith("local mode: ")
        ]
        self.app.call_from_thread(
            self._confirm_launch,
            estimate,
            changed,
            [pair_tag_of(s) for s in spent],
            bool(ran),
            oversubscribed,
            (comparison.generation, fresh) if fresh else None,
        )

    def _fresh_generation_question(self, generation: int, spent: list[str]) -> str:
        """What `L` asks when every pair ran its max trials (`launch --new-generation`)."""
        session = self.app.session
        trials = plural(session.cfg.sweep.max_trials, "trial")
        failed = [
            r.tag for r in self.rows.values() if r.tag in spent and r.failed and r.best == "-"
        ]
        lines = [
            f"Every pair of {session.name} already ran {trials} (max trials) in generation "
            f"{generation}. Start generation {generation + 1}, running every pair afresh? "
            f"Generation {generation}'s trials are kept and shown apart, never mixed. (No: "
            f"nothing is launched; a higher max trials on the grid (1) runs more in generation "
            f"{generation}.)"
        ]
        if failed:  # the same settings fail the same way: the cause comes first
            lines.append(
                f"No trial of {', '.join(failed)} finished: fix the cause first (o shows the "
                "log), or the new generation's trials fail the same way."
            )
        return "\n".join(lines)

    def _confirm_launch(
        self,
        estimate: Any,
        generation_change: str | None = None,
        spent: list[str] | None = None,
        continuing: bool = False,
        warnings: list[str] | None = None,
        fresh: tuple[int, list[str]] | None = None,
    ) -> None:
        """``fresh``: every pair ran its max trials in that generation, so the question is
        whether to start the next one (what `hwscale-tui launch --new-generation` does)."""
        cfg = self.app.session.cfg
        if fresh is not None:
            generation_change = self._fresh_generation_question(*fresh)
        ran = f"already ran {plural(cfg.sweep.max_trials, 'trial')}" if spent else ""
        if not estimate.pairs:
            why = f"every pair {ran} (raise max trials on the grid to run more)" if spent else ""
            hint = self._none_finished_hint(
                [s for s in self.rows if pair_tag_of(s) in (spent or [])]
            )
            self.notify(
                f"No pair to launch: {why or 'every pair is switched off'}.{hint}",
                severity="warning",
                timeout=12 if hint else 5,
                markup=False,
            )
            return
        head = generation_change or (
            f"Launch the pairs of {self.app.session.name} with trials left? "
            f"{', '.join(spent)} {ran}: left out."
            if spent
            else f"Launch all pairs of {self.app.session.name}?"
        )
        lines = [head]
        if continuing and generation_change is None:  # "4 trials in all" after 8 of 10 ran
            lines.append(
                f"Generation {getattr(cfg, 'generation', 1)} continues: the trials its pairs ran "
                f"count toward max trials ({cfg.sweep.max_trials} per pair); below, those left."
            )
        lines += estimate.lines()
        if cfg.local_ranks:  # what `hwscale-tui status` says: the dollars are no bill
            lines.append(f"local mode: pairs are CPU ranks; cost at {cfg.price_label}")
        lines += warnings or []
        question = "\n".join(lines)
        new_generation = generation_change is not None

        def answered(yes: bool | None) -> None:
            if yes:
                self._launch(None, new_generation)

        from .modals import ConfirmScreen  # dialogs are imported when first asked for

        self.app.push_screen(ConfirmScreen(question), answered)

    def action_launch_selected(self) -> None:
        row = self.selected_row()
        if row is None or not self._writable() or not self._status_read():
            return
        if row.keeps_running:  # a pair its gone supervisor never started is started here
            self.notify(
                f"{row.tag} is already {row.status_text}.", severity="warning", markup=False
            )
            return
        if not self._form_in_force():
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
        self._preflight(only)
        extra = {"new_generation": True} if new_generation else {}
        try:
            # a copy: the supervisor sets the generation it launches on the config it is given;
            # the session takes it below, on the UI thread, so plan and sources follow it
            info = self.app.services.supervisor.launch(session.cfg.copy(), only=only, **extra)
        except GenerationChangeRequired as e:
            self.app.call_from_thread(
                ask_new_generation, self.app, e.comparison, lambda: self._launch(only, True)
            )
            return
        self.app.call_from_thread(self.app.follow_generation, getattr(info, "generation", None))
        self.app.call_from_thread(self.app.pairs_launched, list(getattr(info, "sweeps", [])))
        spent = [pair_tag_of(s) for s in getattr(info, "spent", [])]
        what = (
            "all pairs"
            if only is None and not spent
            else ", ".join(pair_tag_of(s) for s in getattr(info, "sweeps", only or []))
        )
        left_out = (
            f"; {', '.join(spent)} already ran {plural(session.cfg.sweep.max_trials, 'trial')}, "
            "not started "
            "again"
            if spent
            else ""
        )
        if getattr(info, "new_generation", False):  # which rows and trials are theirs
            what += f" as generation {info.generation}"
        waits = getattr(info, "waits_text", "")
        self.app.call_from_thread(
            self.notify,
            f"Launched {what} (supervisor pid {getattr(info, 'supervisor_pid', '?')}){left_out}"
            + (f"; {waits}." if waits else "."),
            **({"timeout": 10} if waits else {}),
            markup=False,
        )
        # what `hwscale-tui launch` warns about that the question before did not show (other
        # experiments' pairs sharing this machine's cores): the app said nothing of it
        for w in launch_only_warnings(getattr(info, "warnings", []), session.plan()):
            self.app.call_from_thread(
                self.notify, f"warning: {w}", severity="warning", timeout=15, markup=False
            )
        self.app.call_from_thread(self.poll_now)

    def _preflight(self, only: list[str] | None) -> None:
        """The checks ``hwscale-tui launch`` makes before anything runs (a ``[launch] command``
        whose program this machine cannot run, settings every sweep or trial would reject, more
        ranks than the trainer runs, jobs Slurm would not take): a UsageError here is shown as
        its sentence and nothing is launched."""
        from ...paths import app_paths
        from ...sweep.preflight import check_launch_program, check_pairs, check_slurm

        session = self.app.session
        # every pair would fail to start, one stagger after another (the CLI refused it; the
        # app launched it)
        check_launch_program(session.cfg)
        chosen = [pp for pp in session.plan().pairs if only is None or pp.sweep_name in only]
        check_pairs(session.cfg, [pp.pair for pp in chosen], [], app_paths().runs)
        check_slurm(session.cfg, chosen, app_paths().runs)

    @work(thread=True, group="launch-action", exit_on_error=False)
    def _relaunch(self, sweeps: list[str]) -> None:
        from ...launch.state import budget_spent

        session, supervisor = self.app.session, self.app.services.supervisor
        status = supervisor.pair_status(session.name)
        spent = budget_spent(session.cfg, status, sweeps)
        if spent:  # the sweep would resume, find its trials all done, and end at once
            hint = self._none_finished_hint(spent)
            self.app.call_from_thread(
                self.notify,
                f"{', '.join(pair_tag_of(s) for s in spent)} already ran "
                f"{plural(session.cfg.sweep.max_trials, 'trial')} (max trials): not relaunched. Raise max "
                "trials on the grid (1) to run more." + hint,
                severity="warning",
                timeout=12 if hint else 5,
                markup=False,
            )
        todo = [s for s in sweeps if s not in spent]
        if not todo:
            return
        if self._edited_since_launch():
            # a relaunch runs the settings its launch froze: after max trials went up on the
            # grid the sweep resumed, found its old max done and ended at once. Launch the
            # pairs with the settings on screen, as L does (asking first about a new generation
            # when they change what a trial measures).
            self.app.call_from_thread(self._launch, todo)
            return
        self._check_relaunch_program(status, todo)
        info = supervisor.relaunch(session.name, todo)
        self.app.call_from_thread(self.app.pairs_launched, todo)
        # the pairs as the rows and the other notices name them (it said "fail.g1n1")
        tags = ", ".join(pair_tag_of(s) for s in todo)
        # sequential: it waits for the pair still running (it started beside it, sharing
        # the cores, and said nothing)
        waits = getattr(info, "waits_text", "")
        self.app.call_from_thread(
            self.notify,
            f"Relaunched {tags}" + (f"; {waits}." if waits else "."),
            **({"timeout": 10} if waits else {}),
            markup=False,
        )
        self.app.call_from_thread(self.poll_now)

    def _check_relaunch_program(self, status: Any, sweeps: list[str]) -> None:
        """``_preflight``'s ``[launch] command`` check for a relaunch: ``supervisor.relaunch``
        runs each pair's recorded command (the argv its launch made of the frozen ``[launch]
        command``), so a program gone since made the pairs fail to start, one stagger after
        another, where L and ``hwscale-tui launch --only`` refuse. The same check and sentence,
        on the program the relaunch would run; a UsageError here is shown as its sentence and
        nothing is relaunched. Without a ``[launch] command`` the pairs run the runner's own
        command, which this check is not about; a program named by a placeholder is not
        checked, as at launch."""
        from ...sweep.preflight import check_launch_program

        launched = self._launched_config(self.app.session.name)
        if launched is None:
            return  # no snapshot: supervisor.relaunch refuses, saying so
        command = list(launched.launch.command)
        if not command or "{" in command[0]:
            return
        recorded = {
            p.sweep_name: list(getattr(p, "argv", None) or []) for p in getattr(status, "pairs", [])
        }
        # each pair's own recorded command (an earlier launch's may differ from the snapshot's);
        # the snapshot's where none is recorded
        programs = {(argv := recorded.get(s) or command)[0]: argv for s in sweeps}
        for argv in programs.values():
            cfg = launched.copy()
            cfg.launch.command = argv
            check_launch_program(cfg)

    def _none_finished_hint(self, sweeps: list[str]) -> str:
        """For spent pairs that failed without a finished trial (a trial command that cannot
        run): more trials of the same settings fail too, so "raise max trials" alone pointed
        the wrong way. What does run them again, once the cause is fixed."""
        failed = [
            s
            for s in sweeps
            if (row := self.rows.get(s)) is not None and row.failed and row.best == "-"
        ]
        if not failed:
            return ""
        name = self.app.session.name
        return (
            f" No trial of {', '.join(pair_tag_of(s) for s in failed)} finished: fix the cause "
            "(o shows the log), then `hwscale-tui launch --new-generation --experiment-name "
            f"{name}` runs {'it' if len(failed) == 1 else 'them'} again."
        )

    def _edited_since_launch(self) -> bool:
        """Whether the experiment on screen differs from the copy its last launch froze (none:
        never launched here, or the copy is gone: nothing to differ from)."""
        launched = self._launched.get(self.app.session.name)
        return launched is not None and bool(launched != self.app.session.cfg)

    @work(thread=True, group="launch-action", exit_on_error=False)
    def _cancel(self, sweeps: list[str] | None) -> None:
        done = self.app.services.supervisor.cancel(self.app.session.name, sweeps, by="tui")
        self.app.call_from_thread(
            self.notify,
            f"Cancelled {', '.join(pair_tag_of(s) for s in done) if done else 'nothing running'}.",
            markup=False,
        )
        self.app.call_from_thread(self.poll_now)

    def action_cancel_selected(self) -> None:
        row = self.selected_row()
        if row is None or not self._writable() or not self._status_read():
            return
        if not row.active:
            self.notify(  # "g1n1 is start failed" read badly
                f"{row.tag} is not scheduled or running ({row.status_text}); nothing to cancel.",
                severity="warning",
                markup=False,
            )
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._cancel([row.sweep_name])

        from .modals import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen(
                f"Cancel {row.sweep_name} ({row.status_text})? "
                + (
                    "Its supervisor is gone: it is recorded cancelled, and launch --resume "
                    "leaves it out."
                    if row.never_started
                    else "It never starts (its supervisor skips it)."
                    if row.status == "scheduled"
                    else "Its sweep and trials get SIGTERM."
                )
            ),
            confirmed,
        )

    def action_cancel_all(self) -> None:
        if not self._writable() or not self._status_read():
            return
        active = [r for r in self.rows.values() if r.active]
        if not active:
            self.notify("No pair is scheduled or running.", severity="warning", markup=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._cancel(None)

        from .modals import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen(
                f"Cancel all {plural(len(active), 'active pair')} of {self.app.session.name}?"
            ),
            confirmed,
        )

    def action_relaunch_failed(self) -> None:
        if not self._writable() or not self._status_read():
            return
        row = self.selected_row()
        failed = (
            [row.sweep_name]
            if row and row.failed
            else [r.sweep_name for r in self.rows.values() if r.failed]
        )
        if not failed:
            self.notify("No failed pair to relaunch.", severity="warning", markup=False)
            return
        if self._form_in_force():
            self._relaunch(failed)

    def action_open_log(self) -> None:
        row = self.selected_row()
        if row is None or not row.log_path or not os.path.exists(row.log_path):
            self.notify("This pair has no log yet.", severity="warning", markup=False)
            return
        self.open_in_pager(row.log_path)


def launch_only_warnings(warnings: list[str], plan: Any) -> list[str]:
    """The launch's warnings the app's launch question did not already show: not the plan's
    (nor its pairs', as ``launch`` prefixes them), not the pairs left out as spent and not the
    new generation's note (the launch toast says both)."""
    known = set(plan.warnings) | {
        f"{pp.pair.tag}: {w}" for pp in plan.pairs for w in getattr(pp, "warnings", [])
    }
    return [
        w
        for w in warnings
        if w not in known and " already ran " not in w and not w.startswith("generation ")
    ]
