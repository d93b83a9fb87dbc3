"""Trials screen: every trial of every sweep, live; details and learning curve of the selected one."""

from __future__ import annotations

import io
import math
import time
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from ...launch.progress import trial_progress
from ..formatting import (
    STATE_STYLES,
    fmt_duration,
    fmt_money,
    fmt_number,
    fmt_steps,
    plural,
    short_paths,
    sparkline_text,
    trial_reason,
)
from ..launched import LaunchedConfig
from ..source_cache import SourceCache
from ..widgets.header import ExperimentHeader
from ..widgets.ordered_input import OrderedInput
from ..widgets.trial_table import SORT_COLUMNS, TrialTable, pair_label, trial_number
from .base import HwFooter, HwScreen, focus_now
from .modals import ConfirmScreen

POLL_INTERVALS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def _param_names(params: dict[str, Any]) -> list[tuple[str, Any]]:
    """The trial's hyperparameters by the names the grid and the logs use (the key's last
    component, e.g. ``learning_rate``); full keys when two would share a name."""
    short = [(k.rsplit(".", 1)[-1], v) for k, v in params.items()]
    if len({name for name, _ in short}) == len(short):
        return short
    return list(params.items())


class TrialsScreen(HwScreen):
    SCREEN_ID = "trials"
    SCREEN_TITLE = "Trials"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    DEFAULT_CSS = """
    /* the screen's own rules, parsed when it is first shown (app.tcss holds the first screen's) */
    #trials-main { height: 1fr; }
    #trial-table { width: 2fr; }
    #trial-details-scroll { width: 1fr; padding: 0 1; border-left: vkey $primary-darken-2; }
    TrialsScreen.-narrow #trials-main { layout: vertical; }
    TrialsScreen.-narrow #trial-table { width: 1fr; height: 2fr; }
    TrialsScreen.-narrow #trial-details-scroll { width: 1fr; height: 1fr; border-left: none; border-top: hkey $primary-darken-2; }
    #poll-status { height: 1; width: 1fr; color: $text-muted; }
    #filter-input { display: none; }
    #filter-input.shown { display: block; }
    """
    READ_ONLY_REFUSED = frozenset({"trials.stop"})
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="trials.filter"),
        Binding("s", "sort_next", "Sort", id="trials.sort"),
        Binding("S", "sort_reverse", "Reverse", show=False, id="trials.sort_reverse"),
        Binding(
            "plus,equals_sign", "interval(1)", "Poll slower", show=False, id="trials.interval_up"
        ),
        Binding("minus", "interval(-1)", "Poll faster", show=False, id="trials.interval_down"),
        Binding("R", "refresh_now", "Poll now", show=False, id="trials.refresh"),
        Binding("o", "open_log", "Log", id="trials.open_log"),
        Binding("k", "stop_trial", "Stop", id="trials.stop"),
        Binding("x", "export_csv", "CSV", id="trials.export_csv"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sources = (
            SourceCache()
        )  # this screen's own: its poller tracks what changed since its last poll
        self.source: Any | None = None
        self.poller: Any | None = None
        self.poll_state: Any | None = None
        self.curve_cache: dict[str, list[Any]] = {}
        self.poll_interval_s = 2.0
        self.next_poll_at: float | None = None  # services.clock() when the next poll is due
        self.launched = LaunchedConfig()  # the snapshot the latest launch froze
        self.stopped_here: set[str] = set()  # run ids stopped with k in this app

    def compose(self) -> ComposeResult:
        yield ExperimentHeader(self.SCREEN_TITLE)
        with Horizontal(id="trials-main"):
            yield TrialTable(
                goal=self.app.session.cfg.sweep.goal,
                ascii_only=self.app.ascii_only,
                budget_steps=float(self.app.session.cfg.sweep.total_timesteps),
                id="trial-table",
            )
            with VerticalScroll(id="trial-details-scroll"):
                yield Static("", id="trial-details")
        yield Label("", id="poll-status")
        yield OrderedInput(
            # fits 80 columns whole (it was cut after "enter applies,")
            placeholder="filter: words that all must appear (pair, run id, state, gen2); "
            "esc cancels",
            id="filter-input",
            compact=True,
        )
        yield HwFooter()

    def on_mount(self) -> None:
        table = self.query_one(TrialTable)
        remembered = self.remembered_filters().get(self.app.session.name, "")
        if remembered:
            table.filter_terms = remembered.lower().split()
        table.focus()
        self.show_details()  # the side pane says the trials are being read (it was blank)
        self.set_interval(1.0, self.update_status_line)

    def on_screen_resume(self) -> None:
        # the app's ASCII setting may have changed while this screen was hidden (the analysis
        # screen's a); HwScreen.on_screen_resume follows: Textual calls each class's handler
        self.query_one(TrialTable).set_ascii(self.app.ascii_only)

    # -- polling ------------------------------------------------------------------------------
    def poll(self) -> None:
        self._poll_worker()

    @work(thread=True, group="trials-poll", exit_on_error=False)
    def _poll_worker(self) -> None:
        try:
            session = self.app.session
            sources = self.app.services.sources
            source, fresh = self.sources.get(sources, session.cfg, session.source_label)
            if fresh:
                self.source = source
                self.poller = sources.Poller(source, interval_s=self.poll_interval_s)
            poller = self.poller
            assert poller is not None  # made with the first source
            result = poller.poll_once(force=True)  # this screen schedules polls itself
            state = poller.state
            # a running trial's 100 %: what the launched sweeps run with (the snapshot the
            # latest launch froze), not the value the screen was first drawn with nor an
            # unsaved edit
            launched = self.launched.get(session.name) or session.cfg
            self.app.call_from_thread(self.set_budget, float(launched.sweep.total_timesteps))
            if result is not None:
                self.app.call_from_thread(self.apply_poll, result, state)
            else:
                self.app.call_from_thread(self.set_poll_state, state)
        finally:
            self.app.call_from_thread(self.poll_finished)

    def set_budget(self, budget_steps: float) -> None:
        self.query_one(TrialTable).set_budget(budget_steps)

    def poll_finished(self) -> None:
        backoff = getattr(self.poll_state, "backoff_s", 0) or 0
        self._polling = False
        self._schedule_poll(max(self.poll_interval_s, backoff))
        if getattr(self.poll_state, "stale_since", None):  # "retrying now" -> "retry in 30s"
            self.update_status_line()

    def _schedule_poll(self, delay: float) -> None:
        super()._schedule_poll(delay)
        # on the app's clock, which the status line counts down with (its 1 s timer redraws it)
        self.next_poll_at = self.app.services.clock() + max(delay, 0.01)

    def retry_text(self, now: float) -> str:
        """When the next poll goes out: ``retry in 27s``, counted down from the poll that failed
        (the seconds left until the poll timer fires, not the backoff it was set with)."""
        if self._polling:
            return "retrying now"
        if self._poll_timer is None or self.next_poll_at is None:
            return "retry paused"  # the screen is hidden: no poll until it is shown again
        left = self.next_poll_at - now
        return f"retry in {fmt_duration(math.ceil(left))}" if left > 0 else "retrying now"

    def apply_poll(self, result: Any, state: Any) -> None:
        table = self.query_one(TrialTable)
        table.apply(result.trials, result.changed)
        for rid in result.changed:
            self.curve_cache.pop(rid, None)
        self.set_poll_state(state)
        self.show_details()

    def set_poll_state(self, state: Any) -> None:
        self.poll_state = state
        self.update_status_line()
        if not self.query_one(TrialTable).trials:  # the pane says why there is none
            self.show_details()

    def update_status_line(self) -> None:
        table = self.query_one(TrialTable)
        now = self.app.services.clock()
        st = self.poll_state
        parts = []
        if table.filter_terms:  # first, so a narrow terminal never cuts it off
            parts.append(f"filter: {' '.join(table.filter_terms)}")
        n = len(table.trials)
        running = sum(t.state == "running" for t in table.trials.values())
        shown = table.row_count
        parts.append(
            f"{plural(n, 'trial')}, {running} running" + (f", {shown} shown" if shown != n else "")
        )
        if st is not None and getattr(st, "stale_since", None):
            # the retry before the reason: a source's reason is a long sentence, and the line
            # is cut at its end ("retry in" never showed at 80-120 columns); "NO DATA" when no
            # poll has ever succeeded (it said "STALE since" with nothing on the table)
            since = time.strftime("%H:%M:%S", time.localtime(st.stale_since))
            what = f"STALE since {since}" if getattr(st, "last_ok", None) else "NO DATA"
            parts.append(f"{what} ({self.retry_text(now)}): {st.reason or 'error'}")
        if table.sort_column:  # before the poll's timing, so an 80-column line keeps it
            parts.append(f"sort: {table.sort_column} {'desc' if table.sort_reverse else 'asc'}")
        if st is not None and getattr(st, "last_ok", None):
            parts.append(f"updated {fmt_duration(now - st.last_ok)} ago")
        elif st is None:
            parts.append("waiting for the first poll")
        parts.append(f"every {self.poll_interval_s:g}s (+/-)")
        text = Text("  |  ".join(parts), no_wrap=True, overflow="ellipsis")
        if st is not None and getattr(st, "stale_since", None):
            text.stylize("bold red")
        self.query_one("#poll-status", Label).update(text)

    # -- details ------------------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#trial-table")
    def _highlight(self) -> None:
        self.show_details()

    def no_trial_shown(self) -> tuple[str, str]:
        """Why no trial is shown, and its style: a filter that hides every trial, the first
        poll not answered yet, a source that never answered, or no trials yet."""
        table = self.query_one(TrialTable)
        if table.trials and table.filter_terms:
            return (
                f"No trial matches the filter {' '.join(table.filter_terms)!r} "
                f"({plural(len(table.trials), 'trial')} in all; / changes it).",
                "dim",
            )
        if table.trials:
            return "", "dim"
        if getattr(self.poll_state, "stale_since", None):
            # no poll has succeeded: the source's reason in full (the status line cuts it at
            # 80 columns: "WANDB_API_KEY is not set; the")
            reason = (getattr(self.poll_state, "reason", "") or "error").rstrip(".")
            return (
                f"No trials read: the trial source ({self.app.session.source_label}) failed: "
                f"{reason}. It is polled again on its own; R polls now.",
                "red",
            )
        if self.poll_state is None:  # "No trials yet" read as if none ran (3 then x at once)
            return (
                f"The trials are being read (the trial source, {self.app.session.source_label}, "
                "has not answered yet).",
                "dim",
            )
        return "No trials yet. Launch pairs on the launch screen (2).", "dim"

    def show_details(self) -> None:
        t = self.query_one(TrialTable).selected_trial()
        box = self.query_one("#trial-details", Static)
        if t is None:
            box.update(Text(*self.no_trial_shown()))
            return
        head = Table.grid(padding=(0, 1))
        head.add_column(style="bold")
        # a value too long for the pane (a long experiment's run id) folds onto the next line:
        # the run id's tail is what tells trials apart
        head.add_column(overflow="fold")
        head.add_row("run", Text(t.run_id))
        head.add_row("state", Text(t.state, style=STATE_STYLES.get(t.state, "")))
        if t.error and t.state in ("failed", "killed"):  # why, as `hwscale-tui trials` says
            # a stop reads as one ("stopped by you (SIGTERM, exit code 143)"), not as an exit
            reason = trial_reason(t.state, t.error, stopped_here=t.run_id in self.stopped_here)
            head.add_row("reason", Text(_one_line(reason)))
        if t.flags:
            head.add_row("flags", Text("; ".join(t.flags)))
        head.add_row("score", fmt_number(t.score))
        head.add_row("steps", fmt_steps(t.agent_steps))
        table = self.query_one(TrialTable)
        if t.state == "running":
            progress = trial_progress(t, table.budget_steps)
            head.add_row(
                "progress",
                f"{progress.percent_text} of {fmt_steps(table.budget_steps)} steps, "
                f"{fmt_steps(progress.sps)} steps/s, ETA {fmt_duration(progress.eta_s)} (est.)",
            )
        head.add_row("time", fmt_duration(t.runtime_s))
        head.add_row("cost", fmt_money(t.cost_usd))
        params = Table.grid(padding=(0, 1))
        params.add_column(style="cyan")
        params.add_column()
        for name, v in sorted(_param_names(t.params)):
            params.add_row(Text(name), Text(fmt_number(v) if isinstance(v, float) else str(v)))
        parts: list[Any] = [head, Text("hyperparameters", style="bold"), params]
        curve = self.curve_cache.get(t.run_id)
        if curve is None:
            parts.append(Text("learning curve: loading...", style="dim"))
            self._load_curve(t.run_id)
        elif curve:
            width = max(10, (box.size.width or 30) - 2)
            scores = [p.score for p in curve]
            parts.append(
                Text(
                    f"learning curve ({len(curve)} points, {fmt_steps(curve[-1].agent_step)} steps)",
                    style="bold",
                )
            )
            parts.append(Text(sparkline_text(scores, width, self.app.ascii_only), style="green"))
            parts.append(
                Text(
                    f"min {fmt_number(min(scores))}  max {fmt_number(max(scores))}  last {fmt_number(scores[-1])}",
                    style="dim",
                )
            )
        else:
            parts.append(Text("learning curve: no history yet", style="dim"))
        box.update(Group(*parts))

    @work(thread=True, group="trials-curve", exclusive=True, exit_on_error=False)
    def _load_curve(self, run_id: str) -> None:
        if self.source is None:
            return
        curves = self.source.histories([run_id], self.app.session.cfg.analysis.curve_metric)
        self.curve_cache[run_id] = list(curves.get(run_id, []))
        self.app.call_from_thread(self.show_details)

    # -- actions ------------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#filter-input", Input)
        box.value = " ".join(self.query_one(TrialTable).filter_terms)
        box.add_class("shown")
        focus_now(box)

    @on(Input.Submitted, "#filter-input")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        table = self.query_one(TrialTable)
        table.set_filter(event.value)
        filters = self.remembered_filters()
        filters[self.app.session.name] = " ".join(table.filter_terms)
        self.app.ui_state.pop("trials_filter", None)  # one filter for every experiment, before
        self.app.remember("trials_filters", {k: v for k, v in filters.items() if v})
        self._close_filter()
        self.update_status_line()
        self.show_details()

    def remembered_filters(self) -> dict[str, str]:
        """Each experiment's own filter (``state/tui.json``): one set on an experiment is not
        applied to the next one the switcher opens, and is there again back on it."""
        filters = self.app.ui_state.get("trials_filters")
        if not isinstance(filters, dict):
            return {}
        return {k: v for k, v in filters.items() if isinstance(k, str) and isinstance(v, str)}

    def _close_filter(self) -> None:
        box = self.query_one("#filter-input", Input)
        box.remove_class("shown")
        focus_now(self.query_one(TrialTable))

    @on(events.DescendantFocus)
    def _focus_left_the_filter(self, event: events.DescendantFocus) -> None:
        """tab (or a click) moved the cursor out of the filter box: it closes, as esc closes it
        (what was typed and not applied with enter is dropped). It stayed open, its text
        still there but typed into no more, and the footer's keys back as if it were gone."""
        box = self.query_one("#filter-input", Input)
        if box.has_class("shown") and event.widget is not box:
            box.remove_class("shown")

    def back(self) -> bool:
        """esc: close the filter box if open (the app's back action asks first)."""
        box = self.query_one("#filter-input", Input)
        if box.has_class("shown"):
            self._close_filter()
            return True
        return False

    def action_sort_next(self) -> None:
        table = self.query_one(TrialTable)
        i = SORT_COLUMNS.index(table.sort_column) + 1 if table.sort_column in SORT_COLUMNS else 0
        table.sort_by(SORT_COLUMNS[i % len(SORT_COLUMNS)])
        self.update_status_line()

    def action_sort_reverse(self) -> None:
        table = self.query_one(TrialTable)
        table.sort_by(table.sort_column or "score", reverse=not table.sort_reverse)
        self.update_status_line()

    @on(DataTable.HeaderSelected, "#trial-table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value in SORT_COLUMNS:
            self.query_one(TrialTable).sort_by(event.column_key.value)
            self.update_status_line()

    def action_interval(self, step: int) -> None:
        i = min(
            range(len(POLL_INTERVALS)), key=lambda k: abs(POLL_INTERVALS[k] - self.poll_interval_s)
        )
        self.poll_interval_s = POLL_INTERVALS[max(0, min(len(POLL_INTERVALS) - 1, i + step))]
        if self.poller is not None:
            self.poller.set_interval(self.poll_interval_s)
        self.update_status_line()

    def action_refresh_now(self) -> None:
        self.poll_now()

    # -- one trial: its log, stopping it; the table as CSV -------------------------------------
    def _none_selected(self) -> None:
        """``o`` or ``k`` with no trial under the cursor: say why -- a filter that matches no
        trial (it said "No trial selected." with the filter out of mind), or no trials yet."""
        table = self.query_one(TrialTable)
        if table.trials and table.filter_terms:
            message = (
                f"No trial matches the filter {' '.join(table.filter_terms)!r} "
                f"({plural(len(table.trials), 'trial')} in all), so none is highlighted: / then "
                "backspace and enter clears it."
            )
        elif self._trials_unread():
            message = self.no_trial_shown()[0]
        else:
            message = "No trials yet: launch pairs on the launch screen (2)."
        self.notify(message, severity="warning", markup=False)

    def _trials_unread(self) -> bool:
        """No trial is shown since none was read yet: the first poll has not answered, or the
        source has failed every poll (not: there are none)."""
        return not self.query_one(TrialTable).trials and (
            self.poll_state is None or bool(getattr(self.poll_state, "stale_since", None))
        )

    def action_open_log(self) -> None:
        t = self.query_one(TrialTable).selected_trial()
        if t is None:
            self._none_selected()
            return
        self._log_worker(t.run_id)

    @work(thread=True, group="trials-log", exclusive=True, exit_on_error=False)
    def _log_worker(self, run_id: str) -> None:
        import os

        path = self.app.services.trial_control.trial_log_path(run_id)
        if not path or not os.path.exists(path):
            self.app.call_from_thread(
                self.notify,
                f"Trial {trial_number(run_id)} has no log on this machine.",
                severity="warning",
                markup=False,
            )
            return
        self.app.call_from_thread(self.open_in_pager, path)

    def action_stop_trial(self) -> None:
        if self.app.session.read_only:
            self.notify("Read-only mode: stopping trials is off.", severity="warning", markup=False)
            return
        t = self.query_one(TrialTable).selected_trial()
        if t is None:
            self._none_selected()
            return
        if t.state != "running":
            self.notify(
                f"Trial {trial_number(t.run_id)} is {t.state}; nothing to stop.",
                severity="warning",
                markup=False,
            )
            return
        self.app.push_screen(
            ConfirmScreen(
                f"Stop trial {trial_number(t.run_id)} of {pair_label(t)}? Its processes get SIGTERM; "
                "the sweep records it as killed and starts a new suggestion in its place."
            ),
            lambda yes: self._stop_if(bool(yes), t.run_id),
        )

    def _stop_if(self, yes: bool, run_id: str) -> None:
        if yes:
            self._stop_worker(run_id)

    @work(thread=True, group="trials-stop", exit_on_error=False)
    def _stop_worker(self, run_id: str) -> None:
        from ...errors import UsageError

        try:
            message = self.app.services.trial_control.stop_trial(run_id)
        except UsageError as e:
            # it ended while the question was open (before the next poll showed it): the
            # CLI's "trial <run id> is finished; accepted: a running trial." read as a mistake
            prefix = f"trial {run_id} is "
            if not str(e).startswith(prefix):
                raise
            state = str(e)[len(prefix) :].split(";")[0]
            self.app.call_from_thread(
                self.notify,
                f"Trial {trial_number(run_id)} ended ({state}) before it was stopped; "
                "nothing to stop.",
                severity="warning",
                markup=False,
            )
            self.app.call_from_thread(self.poll_now)
            return
        self.stopped_here.add(run_id)  # only once signalled (a refusal raises)
        self.app.call_from_thread(
            self.notify, message[0].upper() + message[1:] + ".", timeout=6, markup=False
        )
        self.app.call_from_thread(self.poll_now)

    def action_export_csv(self) -> None:
        """The rows shown (filter and sort as on screen) to ``state/reports/<experiment>/trials.csv``."""
        table = self.query_one(TrialTable)
        trials = [table.trials[rid] for rid in table.visible_run_ids() if rid in table.trials]
        if not trials:
            terms = " ".join(table.filter_terms)
            self.notify(  # with a filter hiding every trial, "No trials" read as if none ran
                f"No trial matches the filter {terms!r}; nothing exported (/ changes it)."
                if terms and table.trials
                else f"Nothing exported. {self.no_trial_shown()[0]}"
                if self._trials_unread()
                else "No trials to export.",
                severity="warning",
                markup=False,
            )
            return
        self._export_worker(trials)

    @work(thread=True, group="trials-export", exit_on_error=False)
    def _export_worker(self, trials: list[Any]) -> None:
        from ...commands.trials import write_csv
        from ...paths import app_paths, ensure_private_dir, write_private_text

        out = ensure_private_dir(app_paths().state / "reports" / self.app.session.name)
        buffer = io.StringIO()
        write_csv(trials, buffer)
        path = out / "trials.csv"
        write_private_text(path, buffer.getvalue())
        self.app.call_from_thread(
            self.notify,
            f"{plural(len(trials), 'trial')} written to {short_paths(str(path))}",
            timeout=6,
            markup=False,
        )


def _one_line(text: str, limit: int = 300) -> str:
    """A trial's error on one line (a traceback's lines joined), cut at ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
