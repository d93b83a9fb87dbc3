"""Grid editor: the GPUs-per-node x nodes matrix, per-pair details, and the experiment form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Label, Static

if TYPE_CHECKING:
    from textual.widget import AwaitMount
    from textual.widgets import Input

from ... import config as cfgmod
from ...errors import ConfigError
from ...hardware import HardwarePair, oversubscribed, usable_cores
from ..session import GridCell, equivalent_command, format_field_value, parse_field_text
from ..widgets.choice import ChoiceField
from ..widgets.header import ExperimentHeader
from .base import HwFooter, HwScreen, focus_now


@dataclass(frozen=True)
class FormField:
    dotted: str
    label: str
    kind: str = "input"  # input | select (a ChoiceField of the config's choices) | bool
    # the label in local mode, where pairs are CPU ranks (``max rank/node``), if it differs
    local_label: str = ""

    @property
    def widget_id(self) -> str:
        return "field-" + self.dotted.replace(".", "--")

    @property
    def label_id(self) -> str:
        return "label-" + self.dotted.replace(".", "--")

    def label_for(self, local_ranks: bool) -> str:
        """The label as the rest of the screen names things: CPU ranks in local mode."""
        return (self.local_label or self.label) if local_ranks else self.label

    @property
    def error_id(self) -> str:
        return "error-" + self.dotted.replace(".", "--")

    def choices(self) -> tuple[str, ...]:
        section, key = self.dotted.split(".", 1)
        return tuple(cfgmod.field_specs(section)[key].metadata.get("choices", ()))


FORM_SECTIONS: tuple[tuple[str, tuple[FormField, ...]], ...] = (
    (
        "Experiment",
        (
            FormField("experiment.name", "name"),
            FormField("experiment.runner", "runner", "select"),
            FormField("experiment.dispatcher", "dispatcher", "select"),
            FormField("grid.max_gpus_per_node", "max GPUs/node", local_label="max rank/node"),
            FormField("grid.cpus_per_node", "CPUs/node"),
        ),
    ),
    (
        "Sweep",
        (
            FormField("sweep.max_trials", "max trials"),
            FormField("sweep.batch_size", "batch size"),
            FormField("sweep.max_parallel_jobs", "parallel jobs"),
            FormField("sweep.total_timesteps", "timesteps"),
            FormField("sweep.metric", "metric"),
            FormField("sweep.goal", "goal", "select"),
            FormField("sweep.env", "environment", "select"),
            FormField("sweep.seed", "seed"),
            FormField("sweep.acquisition_fn", "acquisition", "select"),
            FormField("sweep.max_suggestion_cost", "cost cap (s)"),
            FormField("sweep.transfer", "transfer", "bool"),
            FormField("sweep.lr_batch_exponent", "lr ~ batch^"),
        ),
    ),
    (
        "Launch",
        (
            FormField("launch.delay_s", "delay (s)"),
            FormField("launch.sequential", "sequential", "bool"),
            FormField("launch.command", "command"),
        ),
    ),
    (
        "W&B",
        (
            FormField("wandb.entity", "entity"),
            FormField("wandb.project", "project"),
            FormField("wandb.mode", "mode", "select"),
        ),
    ),
    (
        "Metta",
        (
            FormField("metta.repo", "repo"),
            FormField("metta.recipe_module", "recipe"),
            FormField("metta.train_entrypoint", "train"),
            FormField("metta.eval_entrypoint", "eval"),
            FormField("metta.profile", "profile", "select"),
        ),
    ),
    (
        "Cost & analysis",
        (
            FormField("cost.gpu_type", "GPU type"),
            FormField("cost.price_per_gpu_hour", "$/GPU-hour", local_label="$/rank-hour"),
            FormField("cost.spot", "spot", "bool"),
            FormField("analysis.target", "target"),
        ),
    ),
)
FORM_FIELDS: dict[str, FormField] = {f.dotted: f for _, fields in FORM_SECTIONS for f in fields}
CELL_STYLE = {"on": "bold green", "off": "dim", "invalid": "red"}
# The first frame shows the matrix; the pair's details and then the form follow right after.
DETAILS_FIRST_DELAY_S = 0.1
MATRIX_CELL_WIDTH = 10
FORM_FIRST_DELAY_S = 0.25
FORM_NEXT_DELAY_S = 0.02


DIST_SHORT = {
    "uniform_pow2": "pow2",
    "log_normal": "log",
    "uniform": "lin",
    "int_uniform": "int",
    "logit_normal": "logit",
}


def short_error(e: ConfigError) -> str:
    """The CLI's sentence without the file path (the form shows which file it edits)."""
    return f"{e.problem}; accepted: {e.accepted}."


def example_count(counts: list[int] | tuple[int, ...], top: int) -> str:
    """The add-count prompt's placeholder: a count the grid would take (twice the largest when
    that fits, else the largest free one); ``e.g. 16`` was refused with the default max of 8."""
    largest = max(counts, default=0)
    if 0 < 2 * largest <= top:
        return f"e.g. {2 * largest}"
    free = [c for c in range(top, 0, -1) if c not in counts][:1]
    return f"e.g. {free[0]}" if free else ""


def unit(local_ranks: bool, n: int) -> str:
    """``GPU``/``GPUs``, or ``rank``/``ranks`` when pairs are local CPU ranks (docs/prices.md)."""
    word = "rank" if local_ranks else "GPU"
    return word + ("s" if n > 1 else "")


def cell_text(cell: GridCell, ascii_only: bool = False, local_ranks: bool = False) -> Text:
    if cell.state == "on":
        mark = "+" if ascii_only else "✓"
        n = cell.pair.total_gpus
        return Text(f"{mark} {n:>2} {unit(local_ranks, n):<5}".rstrip(), style=CELL_STYLE["on"])
    if cell.state == "off":
        return Text("- off", style=CELL_STYLE["off"])
    return Text("x invalid" if ascii_only else "✗ invalid", style=CELL_STYLE["invalid"])


class GridScreen(HwScreen):
    SCREEN_ID = "grid"
    SCREEN_TITLE = "Grid"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    DEFAULT_CSS = """
    /* the screen's own rules, parsed when it is first shown (app.tcss holds the shared ones) */
    #grid-main { height: 1fr; }
    #grid-left { width: 3fr; }
    #grid-form { width: 2fr; padding: 0 1; border-left: vkey $primary-darken-2; }
    #pair-matrix { height: auto; max-height: 12; }
    #matrix-more { display: none; height: 1; width: 1fr; color: $warning; }
    #matrix-more.shown { display: block; }
    #pair-details-scroll { height: 1fr; }
    .form-grid { grid-size: 2; grid-columns: 15 1fr; grid-rows: auto; height: auto; }
    .form-label { color: $text-muted; }
    .form-grid Input, .form-grid ChoiceField { width: 1fr; }
    .form-cell { height: auto; width: 1fr; }
    .form-error { color: $error; height: auto; width: 1fr; }
    /* 80 columns: the form gets half the width and narrower labels, so values are not cut */
    GridScreen.-narrow #grid-left { width: 5fr; }
    GridScreen.-narrow #grid-form { width: 4fr; }
    GridScreen.-narrow .form-grid { grid-columns: 14 1fr; }
    """
    # keys the help shows beside a binding's own: enter selects a matrix cell, which toggles it
    HELP_ALSO_KEYS: ClassVar[dict[str, str]] = {"grid.toggle": "enter"}
    HELP_WIDGETS: ClassVar[tuple[type, ...]] = (ChoiceField,)  # the form's own keys, in the help
    READ_ONLY_REFUSED = frozenset(
        {
            "grid.toggle",
            "grid.add_gpus",
            "grid.remove_gpus",
            "grid.add_nodes",
            "grid.remove_nodes",
            "grid.save",
        }
    )
    BINDINGS = [
        Binding("space", "toggle_pair", "Toggle", id="grid.toggle"),
        Binding("g", "add_count('gpus')", "+GPUs", id="grid.add_gpus"),
        Binding("G", "remove_count('gpus')", "-GPUs", id="grid.remove_gpus"),
        Binding("n", "add_count('nodes')", "+nodes", id="grid.add_nodes"),
        Binding("N", "remove_count('nodes')", "-nodes", id="grid.remove_nodes"),
        Binding("y", "copy_command", "Copy cmd", id="grid.copy_command"),
        Binding("e", "focus_form", "Form", id="grid.focus_form"),
        Binding("m", "focus_matrix", "Matrix", show=False, id="grid.focus_matrix"),
        Binding("ctrl+s", "save", "Save", id="grid.save", priority=True),
    ]

    # local mode: the rows are CPU ranks per node (as the matrix's title and rows say)
    LOCAL_WORDS: ClassVar[dict[str, str]] = {
        "grid.add_gpus": "+ranks",
        "grid.remove_gpus": "-ranks",
    }
    # ... and at 80 columns, where "+ranks -ranks" would push "? Help" off the footer
    LOCAL_SHORT_WORDS: ClassVar[dict[str, str]] = {
        "grid.add_gpus": "+rank",
        "grid.remove_gpus": "-rank",
    }

    @classmethod
    def binding_words(cls, app: Any) -> dict[str, str]:
        return dict(cls.LOCAL_WORDS) if app.session.cfg.local_ranks else {}

    def footer_short_words(self) -> dict[str, str]:
        return dict(self.LOCAL_SHORT_WORDS) if self.app.session.cfg.local_ranks else {}

    def __init__(self) -> None:
        super().__init__()
        self.field_errors: dict[str, str] = {}
        self._form_sections = 0  # how many of FORM_SECTIONS are mounted
        self._drawn_ascii: bool | None = None  # the marks the matrix was drawn with
        # typed (or chosen) values not in force because the form does not validate with them:
        # dotted -> ("text", typed text) | ("value", a choice); retried with every change
        self.pending: dict[str, tuple[str, Any]] = {}
        self._details_for: (
            tuple[int, GridCell | None, bool, bool, tuple[str, str, bool] | None] | None
        ) = None

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ExperimentHeader(self.SCREEN_TITLE)
        with Horizontal(id="grid-main"):
            with Vertical(id="grid-left"):
                yield Label(
                    f"{self.per_node()} (rows) x nodes (columns)",
                    classes="section-title",
                )
                yield DataTable(id="pair-matrix", cursor_type="cell", zebra_stripes=False)
                yield Label("", id="matrix-more")
                with VerticalScroll(id="pair-details-scroll"):
                    yield Static(id="pair-details")
            yield VerticalScroll(id="grid-form")
        yield HwFooter()

    def _field_widget(self, f: FormField):
        value = self.app.session.cfg.get(f.dotted)
        disabled = self.app.session.read_only
        if f.kind == "select":
            return ChoiceField(
                [(c, c) for c in f.choices()], value, id=f.widget_id, disabled=disabled
            )
        if f.kind == "bool":
            return ChoiceField(
                [("false", False), ("true", True)], bool(value), id=f.widget_id, disabled=disabled
            )
        # the form follows the first frame, and so does Input
        from ..widgets.ordered_input import OrderedInput

        return OrderedInput(
            format_field_value(value),
            id=f.widget_id,
            compact=True,
            disabled=disabled,
            placeholder=self._placeholder(f.dotted),
        )

    def _placeholder(self, dotted: str) -> str:
        if dotted == "cost.price_per_gpu_hour":
            from ...prices import price_per_gpu_hour

            cfg = self.app.session.cfg
            return f"table: {price_per_gpu_hour(cfg.cost.gpu_type, cfg.cost.spot).price:g}"
        if dotted == "wandb.project":
            return "hardware-scaling"
        if dotted == "launch.command":
            return "runner's default"  # whole in the field at 80 columns
        return ""

    def on_mount(self) -> None:
        self.rebuild_matrix(details=False)
        matrix = self.query_one("#pair-matrix", DataTable)
        matrix.focus()
        # node columns out of view are named under the matrix, as it scrolls or is resized
        self.watch(matrix, "scroll_x", self._show_out_of_view, init=False)
        self.watch(matrix, "virtual_size", self._show_out_of_view, init=False)
        # The first frame shows the header, the matrix and the footer; once it is painted the
        # pair's details follow, then the form's ~30 fields, one section per tick.
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        self.set_timer(DETAILS_FIRST_DELAY_S, self.show_details)
        self.set_timer(FORM_FIRST_DELAY_S, lambda: self.mount_form_section(0))

    def mount_form_section(self, index: int) -> AwaitMount | None:
        """Mount the form's section ``index`` (once: ``e`` may have mounted it before its
        timer), then schedule the next; the awaitable of the mount, or None if it was done."""
        if index != self._form_sections:
            return None
        self._form_sections = index + 1
        title, fields = FORM_SECTIONS[index]
        cells = []
        local = self.app.session.cfg.local_ranks
        for f in fields:
            # the field and (while its value is bad) its error share one cell: the error wraps
            # under the field at the cell's width and leaves no gap
            cells += [
                Label(f.label_for(local), id=f.label_id, classes="form-label"),
                Vertical(self._field_widget(f), classes="form-cell"),
            ]
        mounted = self.query_one("#grid-form", VerticalScroll).mount_all(
            [Label(title, classes="section-title"), Grid(*cells, classes="form-grid")]
        )
        if index + 1 < len(FORM_SECTIONS):
            self.set_timer(FORM_NEXT_DELAY_S, lambda: self.mount_form_section(index + 1))
        return mounted

    # -- matrix -------------------------------------------------------------------------------
    def rebuild_matrix(self, keep: HardwarePair | None = None, details: bool = True) -> None:
        """Redraw the matrix; the cursor stays on ``keep``, else on the same row and column (clamped)."""
        table = self.query_one("#pair-matrix", DataTable)
        old_row, old_col = table.cursor_coordinate
        # the rows' unit follows a runner or dispatcher change (CPU ranks only in local mode)
        self.query_one("#grid-left .section-title", Label).update(
            f"{self.per_node()} (rows) x nodes (columns)"
        )
        cells = self.app.session.grid_cells()
        table.clear(columns=True)
        if not cells:
            return
        nodes = [c.pair.nodes for c in cells[0]]
        for n in nodes:
            table.add_column(
                f"{n} node{'s' if n > 1 else ''}", key=f"n{n}", width=MATRIX_CELL_WIDTH
            )
        local = self.app.session.cfg.local_ranks
        self._drawn_ascii = self.app.ascii_only
        for row in cells:
            g = row[0].pair.gpus
            table.add_row(
                *(cell_text(c, self.app.ascii_only, local) for c in row),
                key=f"g{g}",
                label=Text(f"{g} {unit(local, g)}", style="bold"),
            )
        gpus = [r[0].pair.gpus for r in cells]
        if keep is not None and keep.gpus in gpus and keep.nodes in nodes:
            table.move_cursor(
                row=gpus.index(keep.gpus), column=nodes.index(keep.nodes), animate=False
            )
        else:
            table.move_cursor(
                row=min(old_row, len(gpus) - 1), column=min(old_col, len(nodes) - 1), animate=False
            )
        if details:
            self.show_details()

    def _show_out_of_view(self) -> None:
        """Name the node columns the matrix has out of view, with the keys that scroll there: at
        80 columns a grid of 4 node counts is wider than its pane, and its 4th column was
        hidden, with nothing saying so, until the cursor reached it."""
        table = self.query_one("#pair-matrix", DataTable)
        line = self.query_one("#matrix-more", Label)
        widths = [(str(c.label), c.get_render_width(table)) for c in table.ordered_columns]
        view = table.scrollable_content_region.width
        # the row labels stay put as the columns scroll: the columns share what is left
        x = table.virtual_size.width - sum(w for _, w in widths)
        first, last = x + int(table.scroll_x), int(table.scroll_x) + view
        pad = table.cell_padding  # a column cut in its padding only is in view
        left, right = [], []
        for label, width in widths:
            if x + pad < first:
                left.append(label)
            elif x + width - pad > last:
                right.append(label)
            x += width
        if not (left or right) or not view:
            line.remove_class("shown")
            return
        # the arrows point where they are and are the keys that scroll there
        parts = ([f"← {', '.join(left)}"] if left else []) + (
            [f"{', '.join(right)} →"] if right else []
        )
        line.update(Text(f"out of view: {' | '.join(parts)}", no_wrap=True, overflow="ellipsis"))
        line.add_class("shown")

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_out_of_view)

    def current_cell(self) -> GridCell | None:
        table = self.query_one("#pair-matrix", DataTable)
        cells = self.app.session.grid_cells()
        r, c = table.cursor_coordinate
        if not cells or r >= len(cells) or c >= len(cells[0]):
            return None
        return cells[r][c]

    @on(DataTable.CellHighlighted, "#pair-matrix")
    def _highlighted(self) -> None:
        if self._details_for is not None:  # before that, the first details are on their way
            self.show_details()

    @on(DataTable.CellSelected, "#pair-matrix")
    def _selected(self) -> None:
        self.action_toggle_pair()

    def pair_command(self, pair: HardwarePair) -> str | None:
        plan = self.app.session.plan()
        for pp in plan.pairs:
            if pp.pair == pair:
                return equivalent_command(pp)
        return None

    def pairs_seen(self) -> None:
        if self.is_current:  # a pair that ran its trials since: its state line changes
            self.show_details()

    def on_screen_resume(self) -> None:
        # back from another screen: the pairs the watch saw meanwhile (launched, ended there)
        # are said at once, not at its next look (the state said "will run" for 2 s after a
        # launch). HwScreen.on_screen_resume follows: Textual calls each class's handler
        if self._details_for is not None:  # the first details come after the first frame
            self.show_details()
        if self._drawn_ascii != self.app.ascii_only:
            # a on the analysis screen switched the marks "on every screen": the matrix kept
            # its ✓ (the trials' ★ and the launch bars followed at once)
            keep = self.current_cell()
            self.rebuild_matrix(keep.pair if keep else None, details=False)

    def _status_seen(self) -> Any | None:
        """The open experiment's pair status as the app's watch last read it, when it is of the
        generation on screen (else None: not read yet, or another experiment's)."""
        cfg, status = self.app.session.cfg, getattr(self.app, "pair_status_seen", None)
        if getattr(status, "experiment", None) != cfg.name:
            return None
        if getattr(status, "generation", None) != cfg.generation:
            return None
        return status

    def _ran_its_trials(self, pair: HardwarePair) -> bool:
        """The pair's sweep of this generation has run ``max_trials`` trials, by the pair
        status the app's watch last read: a launch of every pair leaves it out."""
        from ...launch.state import budget_spent

        cfg, status = self.app.session.cfg, self._status_seen()
        if status is None:
            return False
        return bool(budget_spent(cfg, status, [pair.sweep_name(cfg.name, cfg.generation)]))

    def _every_pair_ran(self) -> bool:
        """Every pair that is on ran its ``max_trials`` trials: `L` then asks to start the next
        generation rather than leave them all out (screens/launch.py)."""
        from ...launch.state import budget_spent

        cfg, status = self.app.session.cfg, self._status_seen()
        if status is None:
            return False
        on = [
            c.pair.sweep_name(cfg.name, cfg.generation)
            for row in self.app.session.grid_cells()
            for c in row
            if c.state == "on"
        ]
        return bool(on) and len(budget_spent(cfg, status, on)) == len(on)

    def _launched_state(self, pair: HardwarePair) -> tuple[str, str, bool] | None:
        """(the pair's status in the words of ``hwscale-tui status``, its style, whether it is
        scheduled or running now) as the app's watch last read it; None when this generation
        never launched it. The state line said "will run" of a pair that was running."""
        status = self._status_seen()
        if status is None:
            return None
        cfg = self.app.session.cfg
        sweep = pair.sweep_name(cfg.name, cfg.generation)
        ps = next((p for p in getattr(status, "pairs", ()) if p.sweep_name == sweep), None)
        if ps is None:
            return None
        from ...launch.status_view import status_text
        from ..formatting import ACTIVE_PAIR_STATUSES, STATE_STYLES

        words = status_text(ps)
        active = ps.status in ACTIVE_PAIR_STATUSES or bool(getattr(ps, "alive", False))
        failed = ps.status == "failed_to_start" or (
            ps.status == "exited" and (ps.exit_code or 0) != 0
        )
        return words, STATE_STYLES.get("failed" if failed else ps.status, ""), active

    def show_details(self) -> None:
        cell = self.current_cell()
        spent = cell is not None and cell.state == "on" and self._ran_its_trials(cell.pair)
        every = spent and self._every_pair_ran()
        launched = self._launched_state(cell.pair) if cell is not None else None
        shown = (id(self.app.session.cfg), cell, spent, every, launched)
        if shown == self._details_for:  # the matrix rebuild and its highlight event both ask
            return
        self._details_for = shown
        details = self.query_one("#pair-details", Static)
        if cell is None:
            details.update("")
            return
        from rich.table import Table

        from ...search.presets import preset_for
        from ..formatting import short_paths

        cfg = self.app.session.cfg
        pair = cell.pair
        out = Table.grid(padding=(0, 1))
        out.add_column(style="bold")
        out.add_column()
        state = {"on": "will run", "off": "off", "invalid": "invalid"}[cell.state]
        out.add_row(
            "pair",
            f"{pair.tag}  ({pair.gpus} {unit(cfg.local_ranks, pair.gpus)}/node x {pair.nodes} "
            f"node{'s' if pair.nodes > 1 else ''})",
        )
        out.add_row(f"total {unit(cfg.local_ranks, 2)}", str(pair.total_gpus))
        if cfg.local_ranks:
            out.add_row("price", Text(cfg.price_label))
        state_text = Text(
            state + (f": {cell.reason}" if cell.reason else ""), style=CELL_STYLE[cell.state]
        )
        if launched is not None and launched[2]:
            # scheduled, starting or running now: "will run" read as if it had not started
            words, style, _ = launched
            state_text = Text(words, style=style)  # as the launch screen's row says it
            if cell.state == "off":
                state_text.append("; switched off: the next launch leaves it out", style="dim")
        elif spent:  # what L's question and `launch` say of it: left out, not run again
            n = cfg.sweep.max_trials
            ran = f"ran its {n} trial{'s' if n != 1 else ''}"
            state_text = Text(
                # as every pair did: L asks to run them all again as the next generation
                f"{ran}, as every pair did: L asks to start generation {cfg.generation + 1} "
                "(or raise max trials to run more)"
                if every
                else f"{ran}: L leaves it out (raise max trials to run more)",
                style="dim",
            )
        elif launched is not None and cell.state == "on":  # ended: L runs its trials left
            state_text.append(f" (its last launch: {launched[0]})", style="dim")
        cores = usable_cores() if cfg.local_ranks and cell.state == "on" else 0
        if cores and oversubscribed(pair, cores):  # what plan and launch warn about, said here
            state_text.append(
                f", OVERSUBSCRIBED: {pair.total_gpus} ranks on {cores} usable cores "
                "(warning below)",
                style="bold yellow",
            )
        out.add_row("state", state_text)
        out.add_row("sweep", Text(pair.sweep_name(cfg.name, cfg.generation)))
        parts: list = [out]
        if cell.state != "invalid":
            preset = preset_for(cfg, pair)
            c = preset.constraints
            out.add_row("batch", f"{c.min_batch:,}..{c.max_batch:,} (center {c.center_batch:,})")
            out.add_row(
                "minibatch",
                f"{c.min_minibatch:,}..{c.max_minibatch:,} (default {c.default_minibatch:,})",
            )
            header = ("parameter", "dist", "range", "center")
            rows = [
                (
                    key.rsplit(".", 1)[-1],
                    DIST_SHORT.get(p["distribution"], p["distribution"]),
                    _space_range(p["min"], p["max"]),
                    _space_number(p["mean"]),
                )
                for key, p in preset.space.as_dict().items()
            ]
            widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
            room = self.query_one("#pair-details").content_size.width
            # two spaces between columns, one when that is what keeps every value whole
            # (Metta's space in the 80-column pane)
            narrow = 0 < room < sum(widths) + 2 * (len(header) - 1)
            space = Table(
                box=None,
                show_header=True,
                header_style="bold",
                padding=(0, 1, 0, 0) if narrow else (0, 1),
                pad_edge=False,  # flush with the labels above, and 80 columns fit every value
                expand=False,
                title="search space",
                title_justify="left",
                title_style="bold",
            )
            for col in header:
                space.add_column(col, no_wrap=True)
            for row in rows:
                space.add_row(*(Text(cell) for cell in row))
            parts.append(space)
        plan = self.app.session.plan()
        pair_plan = next((pp for pp in plan.pairs if pp.pair == pair), None)
        if pair_plan is not None and pair_plan.space_note:
            parts.append(Text(f"read-only: {pair_plan.space_note}", style="dim"))
        command = equivalent_command(pair_plan) if pair_plan is not None else None
        if command:
            parts.append(Text("equivalent command (y copies it in full):", style="bold"))
            parts.append(Text(short_paths(command), style="cyan"))
        if pair_plan is not None and pair_plan.sbatch:
            parts.append(Text("each trial on Slurm (one job per trial):", style="bold"))
            parts.append(Text(short_paths(pair_plan.sbatch), style="cyan"))
        for w in [*plan.warnings, *(pair_plan.warnings if pair_plan is not None else [])]:
            parts.append(Text(f"warning: {w}", style="yellow"))
        from rich.console import Group

        details.update(Group(*parts))

    # -- actions ------------------------------------------------------------------------------
    def _guard_writable(self) -> bool:
        if self.app.session.read_only:
            self.notify(
                "Read-only mode: the experiment cannot be changed.",
                severity="warning",
                markup=False,
            )
            return False
        return True

    def _after_edit(self, keep: HardwarePair | None = None) -> None:
        self.rebuild_matrix(keep)
        self.sync_form()
        self.sync_labels()
        self.query_one(ExperimentHeader).refresh_header()
        self.query_one(HwFooter).refresh()  # +ranks / +GPUs follow a runner or dispatcher change

    def action_toggle_pair(self) -> None:
        cell = self.current_cell()
        if cell is None or not self._guard_writable():
            return
        try:
            on_now = self.app.session.toggle_pair(cell.pair)
        except ConfigError as e:  # the sentence, not the file's path, as the form's errors
            self.notify(short_error(e), severity="error", markup=False)
            return
        self.notify(f"{cell.pair.tag} {'on' if on_now else 'off'}", timeout=2, markup=False)
        self._after_edit(cell.pair)

    def per_node(self) -> str:
        """The matrix's rows, as its title names them: ``CPU ranks per node`` in local mode."""
        return f"{'CPU ranks' if self.app.session.cfg.local_ranks else 'GPUs'} per node"

    def action_add_count(self, axis: str) -> None:
        if not self._guard_writable():
            return
        what = self.per_node() if axis == "gpus" else "nodes"
        grid = self.app.session.cfg.grid
        # the most a count can be: the form's max GPUs/node for a row, the config's bound for
        # a column (the config's own sentence for 5000 nodes spoke of a list: "got [1, 5000]")
        top = grid.max_gpus_per_node if axis == "gpus" else cfgmod.MAX_NODES
        accepted = f"accepted: a whole number from 1 to {top}"

        def too_many(count: int) -> str:
            if axis == "gpus":  # the CLI's sentence, which the config says only up to 1024
                word = "ranks" if self.app.session.cfg.local_ranks else "GPUs"
                return (
                    f"{count} {word} is more than max_gpus_per_node = {top}; accepted: integers "
                    f"from 1 to {top}."
                )
            return f"{count} is more than {top}, the most nodes a pair can have; {accepted}."

        def check(text: str) -> str | None:
            """Apply the count, or say why not (the prompt stays open with the sentence)."""
            try:
                count = int(text)
            except ValueError:
                return f"{text.strip()!r} is not a count; {accepted}."
            if count < 1:
                return f"{count} is not a count; {accepted}."
            if count > top:
                return too_many(count)
            counts = list(getattr(self.app.session.cfg.grid, f"{axis[:-1]}_counts"))
            if count in counts:  # nothing would change: say so rather than close as if added
                listed = ", ".join(str(c) for c in counts)
                return f"{count} is already in the grid ({listed}); accepted: another count."
            try:
                self.app.session.add_count(axis, count)
            except ConfigError as e:
                return short_error(e)
            return None

        def added(text: str | None) -> None:
            if text is None or not text.strip():
                return
            keep = self.current_cell()
            self._after_edit(keep.pair if keep else None)

        from .modals import PromptScreen

        counts = grid.gpu_counts if axis == "gpus" else grid.node_counts
        example = example_count(counts, top)
        # enter on the empty field closed the prompt as if done, its "e.g. 4" taken for a
        # default that was never added: it stays open and says what it takes
        shown = f" ({example})" if example else ""
        empty = f"Type a count first{shown}; esc cancels."
        self.app.push_screen(
            PromptScreen(f"Add a count of {what}:", example, check, empty=empty), added
        )

    def action_remove_count(self, axis: str) -> None:
        cell = self.current_cell()
        if cell is None or not self._guard_writable():
            return
        count = cell.pair.gpus if axis == "gpus" else cell.pair.nodes
        if axis == "gpus":
            unit = "CPU rank" if self.app.session.cfg.local_ranks else "GPU"
            line = f"row of {count} {unit}{'s' if count != 1 else ''} per node"
        else:
            line = f"column of {count} node{'s' if count != 1 else ''}"
        counts = (
            self.app.session.cfg.grid.gpu_counts
            if axis == "gpus"
            else (self.app.session.cfg.grid.node_counts)
        )
        if list(counts) == [count]:  # the config's "the grid is empty" read as if it were now
            kind = "row" if axis == "gpus" else "column"
            self.notify(
                f"The {line} is not removed: it is the grid's only {kind} (accepted: a grid of "
                f"at least one {kind}; add another with {'g' if axis == 'gpus' else 'n'} first).",
                severity="error",
                markup=False,
            )
            return
        try:
            self.app.session.remove_count(axis, count)
        except ConfigError as e:  # the sentence, not the file's path
            self.notify(
                f"The {line} is not removed: {short_error(e)}", severity="error", markup=False
            )
            return
        self.notify(f"Removed the {line}.", timeout=2, markup=False)
        self._after_edit()

    def action_copy_command(self) -> None:
        cell = self.current_cell()
        command = self.pair_command(cell.pair) if cell and cell.state == "on" else None
        if not command:
            self.notify(
                "This pair does not run, so it has no command.", severity="warning", markup=False
            )
            return
        self.app.copy_to_clipboard(command)
        from ...commands.plan import snapshot_note

        # it reads the launch snapshot, which only a launch writes: pasted before one it said
        # 'the file does not exist' (plan says the same below its commands)
        note = snapshot_note(self.app.session.plan())
        self.notify(
            "Command copied to the clipboard (OSC 52)." + (f" Note: {note}." if note else ""),
            timeout=12 if note else 3,
            markup=False,
        )

    async def action_focus_form(self) -> None:
        if not self._form_sections:
            # e typed with the key that showed the grid ("1e" in one burst over SSH) came
            # before the form, which follows the first frame: it crashed on the missing field.
            # The first section is mounted now; the keys behind e wait for it, so they are
            # typed into the name field as they would have been a moment later
            mounting = self.mount_form_section(0)
            if mounting is not None:
                await mounting
        if self.app.session.read_only:  # its fields are disabled and take no focus: the form does
            focus_now(self.query_one("#grid-form"))
            self.notify(
                "Read-only mode: the form scrolls (arrows, page keys) but takes no edits.",
                markup=False,
            )
            return
        focus_now(self.query_one(f"#{FORM_FIELDS['experiment.name'].widget_id}"))

    def back(self) -> bool:
        """esc in the form returns to the matrix (the app's back action asks first)."""
        focused, form = self.app.focused, self.query_one("#grid-form")
        if focused is not None and (focused is form or form in focused.ancestors):
            self.action_focus_matrix()
            return True
        return False

    def action_focus_matrix(self) -> None:
        focus_now(self.query_one("#pair-matrix", DataTable))

    def action_save(self) -> None:
        if not self._guard_writable():
            return
        error = self.form_error()
        if error:
            self.notify(f"Not saved: {error}", severity="error", markup=False)
            return
        try:
            path = self.app.session.save()
        except ConfigError as e:
            self.notify(str(e), severity="error", markup=False)
            return
        from ..formatting import short_paths

        # $HWSCALE_HOME/... as the other notices write paths: the full path broke inside its
        # file name in the toast at 80 columns
        self.notify(f"Saved {short_paths(str(path))}", timeout=3, markup=False)
        self.query_one(ExperimentHeader).refresh_header()

    # -- form ---------------------------------------------------------------------------------
    def form_error(self) -> str | None:
        """The first error the form shows (``max trials: got 'abc'; ...``), if any: what is
        typed there is not in force, so a save or a launch would not run what the form shows."""
        if not self.field_errors:
            return None
        dotted, message = next(iter(self.field_errors.items()))
        return f"{FORM_FIELDS[dotted].label_for(self.app.session.cfg.local_ranks)}: {message}"

    def set_field_error(self, dotted: str, message: str | None) -> None:
        """Show ``message`` under the field: a label mounted with the field's first error, then
        shown or hidden. (Removed when the error went, a label still being removed took the next
        error's text when keys came together: "1.5" typed fast into target, after the 1 cleared
        the error of the empty field, showed no error while save refused it.)"""
        f = FORM_FIELDS[dotted]
        existing = self.query("#" + f.error_id)
        if message:
            self.field_errors[dotted] = message
            widget = self.query_one("#" + f.widget_id)
            if existing:
                label = existing.first(Label)
                label.update(message)
                label.display = True
            else:
                label = Label(message, id=f.error_id, classes="form-error", markup=False)
                cast(Widget, widget.parent).mount(label, after=widget)
            if widget.has_focus:
                # the error of the field being typed in is brought into view: under the
                # form's last field (target) it was below the form's bottom edge, unseen
                self.call_after_refresh(label.scroll_visible, animate=False)
        else:
            self.field_errors.pop(dotted, None)
            for shown in existing:
                shown.display = False

    def apply_field(self, dotted: str, text: str) -> None:
        self.edit_field(dotted, "text", text)

    def edit_field(self, dotted: str, kind: str, value: Any) -> None:
        """A field changed (``kind`` "text": typed text, "value": a choice): validate the whole
        form again with it, so every error reflects the values now on screen."""
        self.pending[dotted] = (kind, value)
        self.revalidate(dotted)

    def _differs(self, dotted: str, kind: str, value: Any) -> bool:
        current = self.app.session.cfg.get(dotted)
        if kind == "value":
            return bool(value != current)
        return not (
            parse_field_text(dotted, value) == current or (value.strip() == "" and current is None)
        )

    def _try(self, edits: dict[str, tuple[str, Any]]) -> ConfigError | None:
        """Put ``edits`` in force together, or return the validator's error (nothing changed)."""
        try:
            self.app.session.set_fields(
                texts={d: v for d, (k, v) in edits.items() if k == "text"},
                values={d: v for d, (k, v) in edits.items() if k == "value"},
            )
        except ConfigError as e:
            return e
        return None

    def revalidate(self, edited: str | None = None) -> None:
        """Put the pending values in force if the config validates with them; else show each
        error under the field the validator names (the CLI's key), e.g. ``batch size: 2 is
        more than max_trials = 1`` after max trials went to 1. The values that validate are
        put in force, the others stay pending (shown as typed) until a change makes them fit."""
        self.pending = {d: kv for d, kv in self.pending.items() if self._differs(d, *kv)}
        errors: dict[str, str] = {}
        attempt = dict(self.pending)
        applied = False
        while attempt:
            error = self._try(attempt)
            if error is None:
                applied = True
                for d in attempt:
                    self.pending.pop(d, None)
                break
            if error.key in FORM_FIELDS:
                where = error.key
            else:  # a key the form has no field for: under the field just edited
                where = edited if edited in attempt else next(iter(attempt))
            errors.setdefault(where, short_error(error))
            if where not in attempt:
                # a value in force conflicts with what is typed: the typed values that fit
                # on their own go in force, the rest wait for either field to change
                for d in list(attempt):
                    if self._try({d: attempt[d]}) is None:
                        applied = True
                        self.pending.pop(d, None)
                break
            del attempt[where]
        for dotted in list(self.field_errors):
            if dotted not in errors:
                self.set_field_error(dotted, None)
        for dotted, message in errors.items():
            if self.field_errors.get(dotted) != message:
                self.set_field_error(dotted, message)
        if applied:
            keep = self.current_cell()
            self._after_edit(keep.pair if keep else None)

    def sync_labels(self) -> None:
        """The labels that name GPUs follow a runner or dispatcher change: ``max rank/node``
        and ``$/rank-hour`` in local mode, where pairs are CPU ranks (as the matrix's rows, the
        footer's ``+ranks`` and the price line say); it said ``max GPUs/node`` there."""
        local = self.app.session.cfg.local_ranks
        for f in FORM_FIELDS.values():
            if not f.local_label:
                continue
            for label in self.query("#" + f.label_id).results(Label):
                label.update(f.label_for(local))

    def sync_form(self) -> None:
        """Show the config's values in the fields that have no pending error."""
        from textual.widgets import Input

        cfg = self.app.session.cfg
        for dotted, f in FORM_FIELDS.items():
            found = self.query("#" + f.widget_id)
            if dotted in self.field_errors or dotted in self.pending or not found:
                continue
            widget = found.first()
            value = cfg.get(dotted)
            if isinstance(widget, Input):
                if widget.has_focus:
                    continue
                text = format_field_value(value)
                if parse_field_text(dotted, widget.value) != value and widget.value != text:
                    widget.value = text
                if dotted == "cost.price_per_gpu_hour":
                    widget.placeholder = self._placeholder(dotted)
            elif isinstance(widget, ChoiceField) and widget.value != value:
                widget.value = value

    def on_input_changed(self, event: Input.Changed) -> None:
        """A form field was edited (the handler is named, not decorated: Input is imported
        only once the form is mounted, after the first frame)."""
        field_id = event.input.id or ""
        if not field_id.startswith("field-"):  # every form input has a field- id
            return
        self.apply_field(field_id.removeprefix("field-").replace("--", "."), event.value)

    @on(ChoiceField.Changed, ".form-grid ChoiceField")
    def _choice_changed(self, event: ChoiceField.Changed) -> None:
        dotted = cast(str, event.field.id).removeprefix("field-").replace("--", ".")
        if event.value == self.app.session.cfg.get(dotted) and dotted not in self.pending:
            return
        self.edit_field(dotted, "value", event.value)


def _space_number(v: float, digits: int = 3) -> str:
    """A search-space bound or center in few columns: a whole number in full (Metta's batch
    sizes, 524288), else 3 significant digits (0.00115, not 0.00115364) so 80 columns fit."""
    if float(v).is_integer() and abs(v) < 1e7:
        return str(int(v))
    return f"{v:.{digits}g}"


def _space_range(low: float, high: float) -> str:
    """``low..high``, at 2 significant digits when 3 make it wider than 15 columns (Metta's
    learning rate, 0.00058..0.0023): the table then fits the 80-column pane uncut."""
    text = f"{_space_number(low)}..{_space_number(high)}"
    return text if len(text) <= 15 else f"{_space_number(low, 2)}..{_space_number(high, 2)}"
