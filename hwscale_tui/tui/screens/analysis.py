"""Analysis pane: target selector, scaling-law plots with fit and CI band, FOM table, recommendations."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Select, Static

from ...errors import UsageError
from ...records import states_text
from ...sources.base import SourceUnavailable
from ..analysis_view import PLOT_KEYS, AnalysisView, build_view, caption_lines, target_choices
from ..formatting import plural
from ..source_cache import SourceCache
from ..widgets.header import ExperimentHeader
from .base import HwFooter, HwScreen, focus_now


def _pairs_running(app: Any) -> bool:
    """Some pair of the open experiment runs, as the app's watch last saw it."""
    status = getattr(app, "pair_status_seen", None)
    return any(getattr(p, "alive", False) for p in getattr(status, "pairs", ()))


# what a note on the screen names a key for, and what the exported report says instead (it was
# "10 trials of other generations left out (...; g picks another)" in a Markdown file)
APP_WORDS_IN_NOTES = (
    ("g picks another", "hwscale-tui analyze --generation N analyzes another"),
    ("R analyzes again.", "hwscale-tui analyze reads them again."),
)


def report_notes(notes: list[str]) -> list[str]:
    """The analysis notes as the exported report gives them: the command line's words."""
    out = []
    for note in notes:
        for app_words, command_words in APP_WORDS_IN_NOTES:
            note = note.replace(app_words, command_words)
        out.append(note)
    return out


def select_trials(
    cfg: Any, trials: list[Any], generation: int | None = None
) -> tuple[list[Any], list[str]]:
    """One generation's trials (the newest unless ``generation``) and, in local mode, only pairs
    that fit the cores: the choice ``hwscale-tui analyze`` makes (analysis/selection.py)."""
    from ...analysis.selection import (
        generation_note,
        local_mode,
        newest_without_trials_note,
        other_experiments_trials,
        pick_generation,
        progress_note,
        stopped_short,
        stopped_short_note,
        transfer_note,
    )

    if not trials:
        return trials, []
    every = len(trials)
    chosen = pick_generation(cfg.name, trials, generation)
    notes = [
        f"Trials analyzed: {generation_note(cfg.name, chosen, every, another='g picks another')}."
    ]
    newest = newest_without_trials_note(cfg, chosen, generation)
    if newest:
        notes.append(newest)
    more: list[str] = []
    if getattr(cfg, "local_ranks", False):
        # other experiments' trials that ran at the same time count as analyze counts them
        chosen, more = local_mode(cfg, chosen, False, beside=other_experiments_trials(cfg.name))
    from ...launch.supervisor import ended_pair_tags, pair_status

    progress = progress_note(cfg, chosen, ended=ended_pair_tags(cfg.name))
    # a pair killed or cancelled part way rests on fewer trials: said, as analyze says it
    short = stopped_short_note(cfg.name, stopped_short(cfg, chosen, pair_status))
    notes += [note for note in (progress, short) if note] + more
    transfer = transfer_note(chosen)
    if transfer:
        notes.append(transfer)
    return chosen, notes


class PlotCaption:
    """The shown plots' notes, laid out for the width they are drawn at (``caption_lines``):
    one line when they fit, else a line or two per plot; re-laid out on every resize."""

    def __init__(self, notes: list[str], max_lines: int):
        self.notes = notes
        self.max_lines = max_lines

    def __rich_console__(self, console: Any, options: Any) -> Any:
        lines = caption_lines(self.notes, options.max_width, self.max_lines)
        yield Text("\n".join(lines), no_wrap=True, overflow="ellipsis")


class AnalysisScreen(HwScreen):
    SCREEN_ID = "analysis"
    SCREEN_TITLE = "Analysis"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (130, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    DEFAULT_CSS = """
    /* the screen's own rules, parsed when it is first shown (app.tcss holds the first screen's) */
    #analysis-bar { height: 1; }
    .bar-label { width: auto; }
    #target-select { width: 20; }
    #analysis-status { width: 1fr; }
    #analysis-main { height: 1fr; }
    #plot-area { width: 2fr; }
    #plot-tabs { height: 1; }
    #plot-note { height: auto; width: 1fr; }
    #plots { height: 1fr; }
    #analysis-side { width: 1fr; padding: 0 1; border-left: vkey $primary-darken-2; }
    /* a third of 130-155 columns clipped the FOM table's headers ("resear…", "devel…") */
    AnalysisScreen.-wide #analysis-side { min-width: 54; }
    AnalysisScreen.-narrow #analysis-main { layout: vertical; }
    AnalysisScreen.-narrow #plot-area { width: 1fr; height: 1fr; }
    AnalysisScreen.-narrow #plot-b { display: none; }
    AnalysisScreen.-narrow #analysis-side { width: 1fr; height: 9; border-left: none; border-top: hkey $primary-darken-2; }
    /* 24 rows: the side pane shrinks (it scrolls) so the one plot keeps >= 10 rows */
    AnalysisScreen.-narrow.-short #analysis-side { height: 6; }
    """
    BINDINGS = [
        Binding("right_square_bracket,right", "plot(1)", "Next plot", id="analysis.next_plot"),
        Binding("left_square_bracket,left", "plot(-1)", "Prev", id="analysis.prev_plot"),
        Binding("t", "focus_target", "Target", id="analysis.target"),
        Binding("x", "export", "Export", id="analysis.export"),
        Binding("a", "toggle_ascii", "ASCII", id="analysis.ascii"),
        Binding("R", "recompute", "Redo", id="analysis.recompute"),
        Binding("g", "next_generation", "Generation", id="analysis.generation"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: AnalysisView | None = None
        self.result: Any | None = None
        self.plot_index = 0
        self.target: tuple[str, float] | None = None  # (target_kind, target); None = the file's
        self._computing = False
        self._again = False  # asked again while computing (g, R, a target): run once it ends
        self.generation: int | None = None  # None: the newest (g cycles through the others)
        # the last analysis was made while pairs ran: once none runs, it is made again
        self._ran_mid_run = False
        self._shown_wide = False  # whether the plots were last laid out two side by side
        self.nothing: str | None = None  # why there is no analysis to show ("no trials yet")
        # Reused by every compute (the mode's screen lives as long as the app): a W&B source
        # checks the login and fetches runs and curves only the first time.
        self.sources = SourceCache()

    def compose(self) -> ComposeResult:
        from ..widgets.plots import FitPlot  # plotext is imported only when this screen is built

        cfg = self.app.session.cfg
        yield ExperimentHeader(self.SCREEN_TITLE)
        with Horizontal(id="analysis-bar"):
            yield Label("target ", classes="bar-label")
            yield Select(
                target_choices(cfg),
                value=(cfg.analysis.target_kind, float(cfg.analysis.target)),
                allow_blank=False,
                id="target-select",
                compact=True,
            )
            yield Label("", id="analysis-status")
        with Horizontal(id="analysis-main"):
            with Vertical(id="plot-area"):
                yield Label("", id="plot-tabs")
                with Horizontal(id="plots"):
                    yield FitPlot(ascii_only=self.app.ascii_only, id="plot-a")
                    yield FitPlot(ascii_only=self.app.ascii_only, id="plot-b")
                yield Label("", id="plot-note")
            with VerticalScroll(id="analysis-side"):
                yield Static("", id="analysis-tables")
        yield HwFooter()

    def on_screen_resume(self) -> None:
        # analysis is on demand: when the pane is opened, on R, or a new target. Opening it
        # resumes it twice (the mode's screen installed, then shown): one analysis, not two
        if not self._computing:
            self.compute()

    # -- computation --------------------------------------------------------------------------
    def compute(self) -> None:
        if self._computing:  # what was asked meanwhile (another generation, a target) is not lost
            self._again = True
            return
        self._computing = True
        self._ran_mid_run = _pairs_running(self.app)
        self.query_one("#analysis-status", Label).update(Text("  computing...", style="yellow"))
        self._compute_worker(self.target)

    @work(thread=True, group="analysis", exclusive=True, exit_on_error=False)
    def _compute_worker(self, target: tuple[str, float] | None) -> None:
        try:
            session = self.app.session
            services = self.app.services
            source, _ = self.sources.get(services.sources, session.cfg, session.source_label)
            every = source.poll().trials
            wanted = self.generation
            if wanted is not None and every and not any(t.generation == wanted for t in every):
                # a generation picked with g whose pairs never ran a trial (they failed at
                # once): say so in the app's words, not the CLI's --generation
                ran = sorted({t.generation for t in every})
                self.app.call_from_thread(
                    self.show_nothing,
                    f"generation {wanted}: no trials",
                    f"Generation {wanted} has no trials (its pairs never ran one); generations "
                    f"with trials: {', '.join(map(str, ran))} (g steps to the previous one).",
                )
                return
            from ...analysis.selection import AllOversubscribed

            try:
                trials, notes = select_trials(session.cfg, every, wanted)
            except AllOversubscribed as e:
                # a state of the experiment, said in the app's words (the command line's
                # refusal named a flag the app has no place for)
                self.app.call_from_thread(
                    self.show_nothing,
                    "oversubscribed pairs only",
                    f"Every pair with trials ({', '.join(e.pairs)}) has more CPU ranks than the "
                    f"{e.cores} usable core{'' if e.cores == 1 else 's'}, so its times measure contention, not scaling: the "
                    "analysis leaves such pairs out (hwscale-tui analyze --allow-oversubscribed "
                    "analyzes them anyway).",
                )
                return
            if not trials:  # nothing to analyze is a state, not an error
                self.app.call_from_thread(
                    self.show_nothing,
                    "no trials yet",
                    "No trials yet: launch the pairs on the launch screen (2); the analysis "
                    "reads their finished trials.",
                )
                return
            metric = session.cfg.analysis.curve_metric
            histories = source.histories([t.run_id for t in trials], metric) if trials else {}
            history_error = getattr(source, "history_error", None)
            if history_error and not any(histories.get(t.run_id) for t in trials):
                # the source answered the trials but gave none of their curves (W&B failing
                # every history request): that, not "no learning curves yet"
                self.app.call_from_thread(
                    self.show_nothing,
                    "no learning curves read",
                    f"The trial source gave no learning curve ({history_error.rstrip('.')}). "
                    "R analyzes again.",
                )
                return
            if not any(histories.get(t.run_id) for t in trials):
                # every trial failed (or none has reported yet): a state, said in the app's
                # words, not the CLI's refusal ("accepted: trials with history ...") as an error
                said = states_text(trials)
                why = (
                    " A failed trial's reason is in its log (o on the trials screen, 3)."
                    if any(t.state == "failed" for t in trials)
                    else ""
                )
                self.app.call_from_thread(
                    self.show_nothing,
                    "no learning curves yet",
                    f"No trial has a learning curve to analyze yet ({plural(len(trials), 'trial')}"
                    f": {said}).{why}",
                )
                return
            changes = {"target_kind": target[0], "target": target[1]} if target is not None else {}
            settings = services.analysis.settings_from_config(session.cfg, **changes)
            from ...analysis.core import FractionNeedsPositiveBest

            try:
                result = services.analysis.analyze(trials, histories, settings)
            except FractionNeedsPositiveBest as e:
                # a state of the data, in the app's words (the command line's refusal named
                # --target-kind, which the app has no place for)
                self.app.call_from_thread(
                    self.show_nothing,
                    "no fractional target",
                    f"The best smoothed score is {e.reference:g}: no fraction of it is a target "
                    "(a fraction needs a best score above 0). A score as the target analyzes "
                    "them: hwscale-tui analyze --target SCORE.",
                )
                return
            # some curves read, some not (failed W&B requests, docs/sources.md): the
            # analysis stands on fewer curves than it shows, said after the trials' note
            from ...analysis.selection import (
                count_unread_once,
                unread_curves,
                unread_curves_note,
            )

            unread = unread_curves(
                trials, histories, getattr(source, "history_unread", ()), history_error
            )
            if unread:
                notes.insert(1, unread_curves_note(unread, retry="R analyzes again."))
            result.notes[0:0] = notes
            # each such trial counted once: by that note, not "no learning curve yet" too
            count_unread_once(
                result.notes,
                getattr(result, "without_curve", ()),
                unread,
                getattr(result, "left_out", None),
            )
            view = build_view(result, settings, len(trials))
            if unread:  # the notes may be scrolled out of view: the bar says it too
                n = int(unread["trials"])
                view.summary += f", {n} curve{'s' if n != 1 else ''} unread (see the notes)"
            newest = getattr(session.cfg, "generation", 1)
            if newest > 1:  # which one is shown (g picks another), not only in a passing toast
                # the one analyzed: the newest with trials, when the newest has none yet
                view.summary = f"gen {trials[0].generation} of {newest}: {view.summary}"
            self.app.call_from_thread(self.show_view, result, view)
        except SourceUnavailable as e:
            # W&B down, rate limited or refusing the key: a state of the source, said in its
            # own words ("SourceUnavailable: W&B project ..." before), not a crash notice
            self.app.call_from_thread(
                self.show_nothing,
                "trial source unavailable",
                f"The trial source is unavailable: {e.reason.rstrip('.')}. R analyzes again.",
            )
        except Exception as e:
            # the app's handler shows it as a notice too; the screen keeps the reason, not
            # "computing..."
            reason = str(e) if isinstance(e, UsageError) else f"{type(e).__name__}: {e}"
            self.app.call_from_thread(self.show_nothing, "no analysis", reason)
            raise
        finally:
            self.app.call_from_thread(self._done)

    def action_next_generation(self) -> None:
        """Analyze the previous generation (wrapping to the newest): generations never mix."""
        newest = getattr(self.app.session.cfg, "generation", 1)
        current = self.generation or newest
        self.generation = None if current <= 1 else current - 1
        if newest == 1:  # never launched, it has none: "one generation" read as if it had
            self.notify(
                "Nothing to step to: no trials yet (launch the pairs on the launch screen, 2)."
                if self.nothing == "no trials yet"
                else "This experiment has one generation.",
                timeout=3,
                markup=False,
            )
            return
        shown = self.generation or newest
        self.notify(f"Analyzing generation {shown} of {newest}.", timeout=3, markup=False)
        self.compute()

    def pairs_seen(self) -> None:
        """Analyzed while trials ran, and now no pair runs: analyze the ended run (it stayed
        as it was until R)."""
        if self._ran_mid_run and self.is_current and not _pairs_running(self.app):
            self.compute()

    def generation_changed(self) -> None:
        """A new generation started: showing the newest, analyze it (an older one picked with
        ``g`` stays)."""
        if self.generation is None:
            self.compute()

    def _done(self) -> None:
        self._computing = False
        if self._again:
            self._again = False
            self.compute()

    def show_view(self, result: Any, view: AnalysisView) -> None:
        self.result, self.view = result, view
        self.nothing = None
        self.query_one("#analysis-status", Label).update(Text(f"  {view.summary}"))
        self.show_plots()
        self.query_one("#analysis-tables", Static).update(self.tables(view))

    def show_nothing(self, status: str, reason: str) -> None:
        """No analysis to show (no trials yet, or it failed): say why where the plots were, and
        drop an earlier result's plots and tables (another experiment's, or stale)."""
        from ..widgets.plots import FitPlot

        self.result = self.view = None
        self.nothing = status
        self.query_one("#analysis-status", Label).update(Text(f"  {status}", style="yellow"))
        self.query_one("#plot-tabs", Label).update("")
        for plot in self.query(FitPlot):
            plot.show(None)
        self.query_one("#plot-note", Label).update(Text(reason))
        self.query_one("#analysis-tables", Static).update("")

    def on_resize(self) -> None:
        """Across the 130-column breakpoint one plot becomes two (or two one): the notes under
        them follow (they named a plot no longer shown, or left out the one that came)."""
        if self.view is not None and self.has_class("-wide") != self._shown_wide:
            self.show_plots()

    def show_plots(self) -> None:
        from ..widgets.plots import FitPlot

        self._shown_wide = self.has_class("-wide")
        view = self.view
        key = PLOT_KEYS[self.plot_index % len(PLOT_KEYS)]
        other = PLOT_KEYS[(self.plot_index + 1) % len(PLOT_KEYS)]
        tabs = Text()
        for k in PLOT_KEYS:
            tabs.append(f" {k} ", style="bold reverse" if k == key else "dim")
        tabs.append("  keys [ ] switch plots", style="dim")
        self.query_one("#plot-tabs", Label).update(tabs)
        if view is None:
            return
        self.query_one("#plot-a", FitPlot).show(view.plots.get(key))
        self.query_one("#plot-b", FitPlot).show(view.plots.get(other))
        shown = (key, other) if self.has_class("-wide") else (key,)
        notes = [view.plots[k].note for k in shown if k in view.plots and view.plots[k].note]
        # up to two lines per plot shown (a long note no longer hides the other plot's)
        self.query_one("#plot-note", Label).update(PlotCaption(notes, 2 * len(shown)))

    def tables(self, view: AnalysisView) -> Group:
        fom = Table(
            title="Figure of merit (1.0 = best on every measure)",
            title_style="bold",
            box=None,
            header_style="bold",
            padding=(0, 1),
        )
        for col in view.fom_columns:
            fom.add_column(col, justify="right" if col != "config" else "left")
        for row in view.fom_rows:
            fom.add_row(*(Text(c) if isinstance(c, str) else c for c in row))
        parts: list[Any] = [fom, Text("")]
        parts.append(Text("Recommendations", style="bold"))
        for line in view.recommendations or ["none yet: no configuration reached the target"]:
            parts.append(Text(f"- {line}"))
        if view.notes:
            parts.append(Text(""))
            for note in view.notes:
                parts.append(Text(note, style="dim"))
        return Group(*parts)

    # -- actions ------------------------------------------------------------------------------
    def action_plot(self, step: int) -> None:
        self.plot_index = (self.plot_index + step) % len(PLOT_KEYS)
        self.show_plots()

    def action_focus_target(self) -> None:
        focus_now(self.query_one("#target-select", Select))

    @on(Select.Changed, "#target-select")
    def _target_changed(self, event: Select.Changed) -> None:
        cfg = self.app.session.cfg
        current = self.target or (cfg.analysis.target_kind, float(cfg.analysis.target))
        if isinstance(event.value, tuple) and event.value != current:
            self.target = event.value
            self.compute()

    def action_toggle_ascii(self) -> None:
        from ..widgets.plots import FitPlot

        self.app.ascii_only = not self.app.ascii_only
        for plot in self.query(FitPlot):
            plot.set_ascii(self.app.ascii_only)
        # the app's setting, as --ascii: the grid's marks and the bars change too, which
        # "Plots in ASCII." left unexplained (the grid's check marks turned into "+")
        self.notify(
            "ASCII plots, bars and marks on every screen, as --ascii (a switches back)."
            if self.app.ascii_only
            else "Braille plots, block bars and marks again (a: ASCII).",
            timeout=4,
            markup=False,
        )

    def action_recompute(self) -> None:
        self.compute()

    def action_export(self) -> None:
        if self.result is None:  # it said only "yet": why there is none, as the bar says
            why = "the analysis is being computed" if self._computing else self.nothing
            self.notify(
                f"Nothing to export: {why or 'no analysis yet'}.",
                severity="warning",
                markup=False,
            )
            return
        self._export_worker(self.result)

    @work(thread=True, group="analysis-export", exit_on_error=False)
    def _export_worker(self, result: Any) -> None:
        from ...paths import app_paths, ensure_private_dir

        out = ensure_private_dir(app_paths().state / "reports" / self.app.session.name)
        # a report is read away from the app: its notes name the command, not the screen's keys
        result = replace(result, notes=report_notes(result.notes))
        path = self.app.services.analysis.write_report(result, out / "report.md", out)
        from ..formatting import short_paths

        self.app.call_from_thread(
            self.notify, f"Report written: {short_paths(str(path))}", timeout=6, markup=False
        )
