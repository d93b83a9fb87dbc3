"""The live trial table: updated in place by row key (run id), sortable, filterable.

A poll never clears the table: changed trials get ``update_cell``, new ones ``add_row``, gone
ones ``remove_row``, so the cursor and the scroll position stay where the user left them.
Only a new filter query rebuilds the visible rows (the user asked for a different set).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, cast

from rich.text import Text
from textual.widgets.data_table import CellDoesNotExist, ColumnKey

from ...hardware import pair_tag_of
from ...launch.progress import trial_progress
from ...records import Trial
from ..formatting import STATE_STYLES, fmt_duration, fmt_money, fmt_number, fmt_steps
from .row_table import RowTable

# (key, label, width): fixed widths, so an update never shifts the columns (and 80 columns fit)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("best", " ", 1),
    ("pair", "pair", 6),
    ("trial", "trial", 5),
    ("state", "state", 8),
    ("score", "score", 6),
    ("steps", "steps", 6),
    ("time", "time", 6),
    ("sps", "sps", 6),
    ("left", "left", 6),
    ("cost", "cost", 7),
)
# Columns that take a share of the spare width on wide terminals (each up to MAX_GROW more).
GROW = ("pair", "trial", "state", "score", "steps", "time", "sps", "left", "cost")
MAX_GROW = 8
STATE_LABELS = {"awaiting_eval": "eval due"}  # trained, not scored yet: fits the 8-wide column
SORT_COLUMNS = ("trial", "pair", "state", "score", "steps", "time", "sps", "left", "cost")


class RunLabel(str):
    """A cell string that remembers its run id (so sorting can look the trial up)."""

    run_id: str

    def __new__(cls, text: str, run_id: str) -> RunLabel:
        obj = super().__new__(cls, text)
        obj.run_id = run_id
        return obj


def trial_number(run_id: str) -> str:
    """``#0003`` from ``<sweep>_trial_0003_ab12cd``; the run id's tail otherwise (a W&B run
    id), as the table shows it: a character that is not printable as ``repr`` writes it and
    ``[`` escaped, since the table reads a text cell as markup (an id ending in
    ``日本語\x1b[31mX`` showed as "本語X": the escape dropped, ``[31m`` taken for a style)."""
    parts = run_id.rsplit("_trial_", 1)
    if len(parts) == 2:
        return "#" + parts[1].split("_", 1)[0]
    from rich.markup import escape

    tail = run_id[-8:]
    if not tail.isprintable():
        tail = "".join(c if c.isprintable() else repr(c)[1:-1] for c in tail)
    return escape(tail)


def pair_tag(t: Trial) -> str:
    if t.gpus and t.nodes:
        return f"g{t.gpus}n{t.nodes}"
    return pair_tag_of(t.sweep)


def pair_label(t: Trial) -> str:
    """The pair column's cell: ``g1n1``, and ``g1n1.2`` for a trial of generation 2 (a
    relaunched experiment's trials are kept apart: its sweeps are ``<exp>.g1n1.gen2``)."""
    tag = pair_tag(t)
    return tag if t.generation <= 1 else f"{tag}.{t.generation}"


def _num(x: float | None, missing: float) -> float:
    return x if x is not None and math.isfinite(x) else missing


def sort_key(column: str, budget: float | None = None) -> Callable[[Trial], Any]:
    keys: dict[str, Callable[[Trial], Any]] = {
        "trial": lambda t: (t.created_at or 0.0, t.run_id),
        "pair": lambda t: (t.total_gpus or 0, t.gpus or 0, t.generation, t.run_id),
        "state": lambda t: (t.state, t.run_id),
        "score": lambda t: (_num(t.score, -math.inf), t.run_id),
        "steps": lambda t: (_num(t.agent_steps, -1.0), t.run_id),
        "time": lambda t: (_num(t.runtime_s, -1.0), t.run_id),
        "sps": lambda t: (_num(t.sps, -1.0), t.run_id),
        "left": lambda t: (_num(trial_progress(t, budget).eta_s, math.inf), t.run_id),
        "cost": lambda t: (_num(t.cost_usd, -1.0), t.run_id),
    }
    return keys[column]


def matches(t: Trial, terms: list[str]) -> bool:
    if not terms:
        return True
    # "gen2" selects generation 2's trials (the filter is how the trials screen shows them apart)
    hay = f"{pair_tag(t)} {t.sweep} {t.run_id} {t.state} {t.source} gen{t.generation}".lower()
    return all(term in hay for term in terms)


class TrialTable(RowTable):
    """Trials keyed by run id; call :meth:`apply` with each poll's records."""

    def __init__(
        self,
        *,
        goal: str = "maximize",
        ascii_only: bool = False,
        budget_steps: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.goal = goal
        self.budget_steps = budget_steps  # sweep.total_timesteps: a running trial's 100 %
        self.ascii_only = ascii_only
        self.trials: dict[str, Trial] = {}
        self.runs_by_sweep: dict[str, set[str]] = {}
        self.best_by_sweep: dict[str, str] = {}
        self.filter_terms: list[str] = []
        self.sort_column: str | None = None
        self.sort_reverse = False

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        self.fit_width(self.size.width)

    def fit_width(self, width: int) -> None:
        """Stretch the columns to use a wide table's room (in place: no row is rebuilt)."""
        base = sum(w + 2 for _, _, w in COLUMNS) + 2  # cell padding, scrollbar
        share = min(MAX_GROW, max(0, width - base) // len(GROW))
        changed = False
        for key, _, w in COLUMNS:
            column = self.columns.get(ColumnKey(key))
            new = w + (share if key in GROW else 0)
            if column is not None and column.width != new:
                column.width = new
                changed = True
        if changed:
            self._clear_caches()
            self._require_update_dimensions = True
            self.refresh()

    # -- cells --------------------------------------------------------------------------------
    def _cells(self, t: Trial) -> list[Any]:
        best = self.best_by_sweep.get(t.sweep) == t.run_id
        mark = ("*" if self.ascii_only else "★") if best else ""
        progress = trial_progress(t, self.budget_steps)
        state = STATE_LABELS.get(t.state, t.state)
        if t.state == "running" and progress.fraction is not None:
            state = f"run {progress.percent_text}"  # agent steps as a share of the budget
        return [
            Text(mark, style="bold yellow"),
            pair_label(t),
            RunLabel(trial_number(t.run_id), t.run_id),
            Text(state, style=STATE_STYLES.get(t.state, "")),
            Text(fmt_number(t.score), style="bold" if best else ""),
            fmt_steps(t.agent_steps),
            fmt_duration(t.runtime_s),
            fmt_steps(t.sps),
            fmt_duration(progress.eta_s),
            fmt_money(t.cost_usd),
        ]

    def _better(self, a: Trial, b: Trial | None) -> bool:
        """Only finished trials compete: a running trial's interim score never takes the star."""
        if a.state != "finished" or a.score is None or not math.isfinite(a.score):
            return False
        if b is None or b.score is None:
            return True
        if a.score == b.score:  # a tie: the earlier trial keeps it, whatever order they came in
            return (a.created_at or 0.0, a.run_id) < (b.created_at or 0.0, b.run_id)
        return a.score > b.score if self.goal == "maximize" else a.score < b.score

    def _update_best(self, changed: set[str], gone: set[str], gone_sweeps: set[str]) -> set[str]:
        """Keep the best run per sweep current; returns run ids whose mark changed.

        A changed trial that beats its sweep's best takes the mark; a sweep is rescanned only
        when its best trial itself changed or disappeared (O(changes) for a typical poll).
        """
        rescan = {s for s in gone_sweeps if self.best_by_sweep.get(s) in gone}
        touched: set[str] = set()
        for rid in changed:
            t = self.trials[rid]
            best_id = self.best_by_sweep.get(t.sweep)
            if best_id == rid:
                rescan.add(t.sweep)
            elif self._better(t, self.trials.get(best_id) if best_id else None):
                self.best_by_sweep[t.sweep] = rid
                touched.update(x for x in (best_id, rid) if x)
        for sweep in rescan:
            old = self.best_by_sweep.pop(sweep, None)
            best: Trial | None = None
            for rid in self.runs_by_sweep.get(sweep, ()):
                if self._better(self.trials[rid], best):
                    best = self.trials[rid]
            if best is not None:
                self.best_by_sweep[sweep] = best.run_id
            if old != (best.run_id if best else None):
                touched.update(x for x in (old, best.run_id if best else None) if x)
        return touched - gone

    # -- updates ------------------------------------------------------------------------------
    def apply(self, trials: Iterable[Trial], changed: Iterable[str] | None = None) -> int:
        """Merge one poll's records. ``changed`` (run ids) limits the work when the source knows it.

        Returns the number of rows touched.
        """
        incoming = {t.run_id: t for t in trials}
        gone = self.trials.keys() - incoming.keys()
        todo = (
            set(incoming)
            if changed is None
            else (set(changed) & incoming.keys()) | (incoming.keys() - self.trials.keys())
        )
        gone_sweeps = set()
        for rid in gone:
            t = self.trials.pop(rid)
            gone_sweeps.add(t.sweep)
            self.runs_by_sweep[t.sweep].discard(rid)
            if rid in self.rows:
                self.remove_row(rid)
        # in the source's order (``todo`` is a set): ``trials`` keeps the order the rows were
        # added in, which a new filter rebuilds them in
        for rid in (r for r in incoming if r in todo):
            t = incoming[rid]
            old = self.trials.get(rid)
            if old is not None and old.sweep != t.sweep:
                self.runs_by_sweep[old.sweep].discard(rid)
                gone_sweeps.add(old.sweep)
            self.trials[rid] = t
            self.runs_by_sweep.setdefault(t.sweep, set()).add(rid)
        touched = todo | self._update_best(
            todo, gone, gone_sweeps
        )  # marks are known before any row is drawn
        for rid in incoming:  # the source's order, so new rows arrive sorted by sweep and index
            if rid in touched:
                self._show(rid)
        if self.sort_column and touched:
            self._resort()
        return len(touched) + len(gone)

    def set_budget(self, budget_steps: float | None) -> None:
        """A new step budget (the launched ``sweep.total_timesteps``): running trials' share
        and time left are redrawn with it."""
        if budget_steps == self.budget_steps:
            return
        self.budget_steps = budget_steps
        for rid, t in self.trials.items():
            if t.state == "running":
                self._show(rid)
        if self.sort_column == "left":
            self._resort()

    def set_ascii(self, ascii_only: bool) -> None:
        """The app's ASCII setting changed (``a`` on the analysis screen): the best trials'
        marks are redrawn (``*`` / ``★``); the rows added after it kept the old mark."""
        if ascii_only == self.ascii_only:
            return
        self.ascii_only = ascii_only
        for rid in set(self.best_by_sweep.values()):
            self._show(rid)

    def _show(self, rid: str) -> None:
        t = self.trials.get(rid)
        visible = t is not None and matches(t, self.filter_terms)
        if rid in self.rows:
            if not visible:
                self.remove_row(rid)
                return
            assert t is not None  # visible
            for (key, _, _), old, new in zip(COLUMNS, self.get_row(rid), self._cells(t)):
                if old != new:  # only the cells that changed (each update costs a refresh)
                    self.update_cell(rid, key, new)
        elif visible:
            assert t is not None
            self.add_row(*self._cells(t), key=rid)

    def set_filter(self, query: str) -> None:
        """Show only trials whose pair, sweep, run id, state or source contains every word."""
        self.filter_terms = query.lower().split()
        keep = self.cursor_run_id()
        self.clear()
        for rid, t in self.trials.items():
            if matches(t, self.filter_terms):
                self.add_row(*self._cells(t), key=rid)
        if self.sort_column:
            self._resort()
        self.select_run(keep)

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        if column not in SORT_COLUMNS:
            raise ValueError(f"cannot sort by {column!r}; accepted: {', '.join(SORT_COLUMNS)}")
        if reverse is None:
            reverse = (
                (not self.sort_reverse)
                if column == self.sort_column
                else column in ("score", "sps", "steps")
            )
        self.sort_column, self.sort_reverse = column, reverse
        self._resort()

    def _resort(self) -> None:
        keep = self.cursor_run_id()
        assert self.sort_column is not None  # only called with a sort column set
        key = sort_key(self.sort_column, self.budget_steps)
        self.sort(
            "trial", key=lambda cell: key(self.trials[cell.run_id]), reverse=self.sort_reverse
        )
        self.select_run(keep)

    # -- cursor -------------------------------------------------------------------------------
    def cursor_run_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:  # the cursor sits past the last row after a removal
            return None

    def selected_trial(self) -> Trial | None:
        rid = self.cursor_run_id()
        return self.trials.get(rid) if rid else None

    def select_run(self, run_id: str | None) -> None:
        if run_id is not None and run_id in self.rows:
            self.move_cursor(row=self.get_row_index(run_id), animate=False, scroll=False)

    def visible_run_ids(self) -> list[str]:
        return [cast(str, row.key.value) for row in self.ordered_rows]  # rows are keyed by run id
