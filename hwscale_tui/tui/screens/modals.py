"""Modal screens: key help, confirmation, and a one-line prompt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, Static

from ..widgets.ordered_input import OrderedInput

# One line stands for the tables' and lists' own movement keys (DataTable's many bindings).
TABLE_KEYS_LINE = (
    "arrows pgup pgdn home end",
    "move in tables and lists; enter selects; click a column header to sort",
)
KEYS_WIDTH = 16  # the help's keys column (right-aligned; longer keys wrap within it)
HIDDEN_ACTIONS = ("app.focus_next", "app.focus_previous")
# Textual's system keys the help lists anyway, in words of what they do here: ctrl+c quits
# nothing, and a user presses it to quit (Textual's own binding: a selection, in a text field or
# made with the mouse, is copied first; in a dialog only that, the app's keys being cut off)
SYSTEM_KEYS_SHOWN = {
    "app.help_quit": "does not quit: copies the selected text (in a text field, or selected "
    "with the mouse); with none, a notice names the key that quits (in a dialog, nothing)",
}
# The dialogs' rules (not scoped: the experiment switcher shares the confirm box), parsed when
# a dialog is first opened rather than with the app's first frame.
DIALOG_CSS = """
HelpScreen, ConfirmScreen, PromptScreen, ExperimentSwitcher { align: center middle; }
#help-box { width: 90%; max-width: 100; height: 90%; border: round $accent; padding: 0 1; background: $surface; }
#help-title { text-style: bold; height: 1; }
#help-hint { color: $text-muted; height: 1; }
#confirm-box, #prompt-box { width: 70%; max-width: 70; height: auto; max-height: 100%; border: round $warning; padding: 1 2; background: $surface; }
#confirm-box Label, #prompt-box Label { width: 100%; }  /* wrap long questions instead of clipping them */
/* a question taller than the screen (a new generation's changes at 80x24) scrolls; the buttons
   stay in view under it (docked), not pushed off the bottom */
#confirm-scroll { height: auto; max-height: 100%; }
#confirm-buttons { height: auto; margin-top: 1; dock: bottom; }
#prompt-error { display: none; color: $error; height: auto; }
#prompt-error.shown { display: block; }
#confirm-buttons Button { margin-right: 2; }
"""


def binding_keys(app: Any, binding: Binding) -> str:
    """The keys of ``binding`` as the user types them, after ``keymap.toml`` remaps."""
    keys = getattr(app, "_keymap", {}).get(binding.id or "", binding.key)
    shown = []
    for key in keys.split(","):
        key = key.strip()
        if key:
            shown.append(app.get_key_display(replace(binding, key=key)))
    return " / ".join(dict.fromkeys(shown))


def dialog_help(ident: str) -> Binding:
    """A dialog's own ``?`` / ``f1``: a modal dialog cuts the app's keys off, so ``?`` did
    nothing there. It opens the help with the dialog's keys first (in a text field ``?`` is
    typed, and ``f1`` opens it). The footer under the dialog shows it, as it shows ``? Help``
    on every screen."""
    return Binding("question_mark,f1", "app.help", "Help", id=ident)


def help_sections(
    app: Any, current: str | None, dialog: Screen | None = None
) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(title, [(keys, what, id)]) for everywhere, then each screen in screen order; with an
    open ``dialog`` (a modal screen the help was asked for in), its keys come first.

    Only the app's own bindings with ids: Textual's internal ones (DataTable paging, the
    command palette's "Show menu") are folded into one table-navigation line.
    """
    from ..app import SCREENS, screen_class

    def rows(
        bindings: list[Any],
        also: dict[str, str] | None = None,
        words: dict[str, str] | None = None,
        refused: frozenset[str] = frozenset(),
    ) -> list[tuple[str, str, str]]:
        out = []
        for b in bindings:
            shown_system = b.id in SYSTEM_KEYS_SHOWN
            if (b.system and not shown_system) or not b.id or b.action in HIDDEN_ACTIONS:
                continue
            if b.id in refused:
                continue
            keys = binding_keys(app, b)
            if also and b.id in also:  # a widget's own key that does the same (the matrix's enter)
                keys = f"{keys} / {also[b.id]}"
            out.append((keys, (words or {}).get(b.id, b.description) or b.action, b.id))
        return out

    read_only = bool(getattr(getattr(app, "session", None), "read_only", False))
    everywhere = rows(list(type(app).BINDINGS), words=SYSTEM_KEYS_SHOWN)
    everywhere.append(
        ("tab / shift+tab", "next / previous field", "screen.focus_next screen.focus_previous")
    )
    everywhere.append((*TABLE_KEYS_LINE, ""))
    sections = [("Everywhere", everywhere)]
    if dialog is not None:
        title = getattr(dialog, "HELP_TITLE", "This dialog")
        refused: frozenset[str] = (
            getattr(dialog, "READ_ONLY_REFUSED", frozenset()) if read_only else frozenset()
        )
        sections.insert(
            0, (f"{title} (this screen)", rows(list(type(dialog).BINDINGS), refused=refused))
        )
    for number, (screen_id, (title, _)) in enumerate(SCREENS.items(), start=1):
        label = f"{number} {title}" + (" (this screen)" if screen_id == current else "")
        cls = screen_class(screen_id)
        # --read-only: the keys it refuses are left out, as the footers leave them out (the
        # help listed Toggle, Save, Launch all, Cancel, Stop... that only said "read-only");
        # the form's choice keys too, its fields taking no edits
        refused = cls.READ_ONLY_REFUSED if read_only else frozenset()
        helpers = () if read_only else getattr(cls, "HELP_WIDGETS", ())
        widgets = [b for w in helpers for b in w.BINDINGS]
        sections.append(
            (
                label,
                rows(
                    list(cls.BINDINGS),
                    getattr(cls, "HELP_ALSO_KEYS", None),
                    cls.binding_words(app),
                    refused,
                )
                + rows(widgets),
            )
        )
    return sections


class HelpScreen(ModalScreen[None]):
    """The app's keys grouped by screen (the current one marked), with their ids for keymaps."""

    DEFAULT_CSS = DIALOG_CSS
    SCOPED_CSS = False

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, target: Screen) -> None:
        super().__init__()
        self.target = target
        self.scroll_target = 0

    def sections(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        current = getattr(self.target, "SCREEN_ID", None)
        dialog = self.target if current is None and self.target.is_modal else None
        return help_sections(self.app, current, dialog)

    def binding_rows(self) -> list[tuple[str, str, str]]:
        """Every row of every section, in the order shown."""
        return [row for _, rows in self.sections() for row in rows]

    def compose(self) -> ComposeResult:
        from rich.console import Group
        from rich.table import Table

        parts: list[Any] = []
        for title, rows in self.sections():
            if parts:
                parts.append(Text(""))
            parts.append(Text(title, style="bold reverse" if "(this screen)" in title else "bold"))
            # two columns, so a row that wraps goes on under its own text, not at column 0
            table = Table.grid(padding=(0, 0, 0, 2))
            table.add_column(justify="right", width=KEYS_WIDTH, style="bold")
            table.add_column(ratio=1)
            for keys, label, ident in rows:
                what = Text(label)
                if ident:
                    what.append(f"  {ident}", style="dim")
                table.add_row(Text(keys), what)
            parts.append(table)
        with Vertical(id="help-box"):
            yield Label("Keys", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(Group(*parts), id="help-keys")
            read_only = getattr(getattr(self.app, "session", None), "read_only", False)
            yield Label(
                "esc closes.  Remap keys by id in keymap.toml (see docs/tui.md)."
                + (
                    "  Read-only: keys that edit, launch or stop are left out." if read_only else ""
                ),
                id="help-hint",
            )

    def on_mount(self) -> None:
        """Scroll the current screen's section into view."""
        line = 0
        for title, rows in self.sections():
            if "(this screen)" in title:
                break
            line += len(rows) + 2
        self.scroll_target = max(0, line - 1)
        self.call_after_refresh(self._scroll_to_target)

    def _scroll_to_target(self) -> None:
        """Scroll so the current screen's title is the second line shown (a blank line above
        it). Its line is found in the text as drawn: long rows wrap (more at 80 columns), so
        counting rows put the title lower, under the end of the section before it."""
        from textual.geometry import Region

        keys = self.query_one("#help-keys", Static)
        if keys.size.width and keys.size.height:
            lines = keys.render_lines(Region(0, 0, keys.size.width, keys.size.height))
            title = next(
                (i for i, strip in enumerate(lines) if "(this screen)" in strip.text), None
            )
            if title is not None:
                self.scroll_target = max(0, title - 1)
        scroll = self.query_one("#help-scroll", VerticalScroll)
        scroll.scroll_to(y=self.scroll_target, animate=False, immediate=True)

    @property
    def scrolled(self) -> bool:
        """Whether the current screen's section is scrolled into view (as far as it goes)."""
        scroll = self.query_one("#help-scroll", VerticalScroll)
        return (
            scroll.max_scroll_y > 0
            and scroll.scroll_y == min(self.scroll_target, scroll.max_scroll_y)
        ) or (scroll.max_scroll_y == 0 and scroll.virtual_size.height > 0)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Yes/no. ``y`` / enter on Yes confirms, ``n`` / esc cancels."""

    DEFAULT_CSS = DIALOG_CSS
    SCOPED_CSS = False

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
        # a question taller than its box (the launch's at 80x24, its local-mode warnings last)
        # scrolls with these while a button has the cursor: they did nothing, and only tab
        # into the text, which no key hint names, scrolled it
        Binding(
            "down,pagedown,end",
            "scroll_question(1)",
            "Scroll down",
            show=False,
            id="confirm.scroll_down",
        ),
        Binding(
            "up,pageup,home", "scroll_question(-1)", "Scroll up", show=False, id="confirm.scroll_up"
        ),
        dialog_help("confirm.help"),
    ]
    HELP_TITLE = "Question"

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            with VerticalScroll(id="confirm-scroll"):
                yield Label(self.question, id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        self._leave_header_and_footer(self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._leave_header_and_footer(event.size.height)

    def _leave_header_and_footer(self, height: int) -> None:
        """A question as tall as the screen (the launch's at 80x24) covered the header and the
        footer, whose line shows the dialog's keys and ``? Help``: it keeps a row above and
        below (CSS has no ``100% - 2``; the screen's padding would blank the rows instead)."""
        self.query_one("#confirm-box").styles.max_height = max(8, height - 2)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_scroll_question(self, direction: int) -> None:
        """A page of the question's text down (1) or up (-1)."""
        scroll = self.query_one("#confirm-scroll", VerticalScroll)
        if direction > 0:
            scroll.scroll_page_down(animate=False)
        else:
            scroll.scroll_page_up(animate=False)


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text; enter submits, esc cancels (returns None).

    ``check(text)`` (optional) applies the answer and returns None, or returns a short
    sentence saying what was wrong: the prompt then stays open with that sentence under the
    field, so the user can correct it. ``empty`` (optional): the sentence shown the same way
    for enter on an empty field, which then keeps the prompt open (without it, the prompt
    closes with "").
    """

    DEFAULT_CSS = DIALOG_CSS
    SCOPED_CSS = False
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
        dialog_help("prompt.help"),
    ]
    HELP_TITLE = "Prompt (enter submits)"

    def __init__(
        self,
        question: str,
        placeholder: str = "",
        check: Callable[[str], str | None] | None = None,
        empty: str | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder
        self.check = check
        self.empty = empty

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Label(self.question, markup=False)
            yield OrderedInput(placeholder=self.placeholder, id="prompt-input")
            yield Label("", id="prompt-error", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            error = self.empty
        else:
            error = self.check(event.value) if self.check is not None else None
        if error:
            label = self.query_one("#prompt-error", Label)
            label.update(error)
            label.add_class("shown")
            return
        self.dismiss(event.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#prompt-error", Label).remove_class("shown")

    def action_cancel(self) -> None:
        self.dismiss(None)
