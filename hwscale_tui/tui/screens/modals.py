"""Modal screens: key help, confirmation, and a one-line prompt."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, Static


class HelpScreen(ModalScreen[None]):
    """Every binding active on the screen below it: key, what it does, and its id (for keymaps)."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, target: Screen) -> None:
        super().__init__()
        self.target = target

    def binding_rows(self) -> list[tuple[str, str, str]]:
        rows: dict[str, tuple[str, str, str]] = {}
        for key, active in self.target.active_bindings.items():
            b = active.binding
            if b.system or b.action in ("app.focus_next", "app.focus_previous"):
                continue
            label = b.description or b.action
            ident = b.id or ""
            display = self.app.get_key_display(b)
            rows.setdefault(ident or f"{key}:{b.action}", (display, label, ident))
        return sorted(
            rows.values(), key=lambda r: (r[2] == "", r[2].split(".")[0] == "app", r[1].lower())
        )

    def compose(self) -> ComposeResult:
        title = getattr(self.target, "SCREEN_TITLE", "") or "this screen"
        text = Text()
        for display, label, ident in self.binding_rows():
            text.append(f"{display:>12}  ", style="bold")
            text.append(f"{label:<30}")
            text.append(f" {ident}\n", style="dim")
        with Vertical(id="help-box"):
            yield Label(f"Keys: {title}", id="help-title")
            with VerticalScroll():
                yield Static(text, id="help-keys")
            yield Label(
                "esc closes.  Remap keys by id in keymap.toml (see docs/tui.md).", id="help-hint"
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Yes/no. ``y`` / enter on Yes confirms, ``n`` / esc cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label(self.question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text; enter submits, esc cancels (returns None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, question: str, placeholder: str = "") -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Label(self.question)
            yield Input(placeholder=self.placeholder, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
