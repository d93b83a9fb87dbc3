"""A one-line choice field: ``< value >``, cycled with left/right or space (lighter than a Select)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class ChoiceField(Widget, can_focus=True):
    BINDINGS = [
        # shown in the footer: nothing else on the screen says how a ``< value >`` changes
        Binding("right,space,enter", "cycle(1)", "Choice", id="choice.next"),
        Binding("left", "cycle(-1)", "Previous choice", show=False, id="choice.previous"),
    ]

    value: reactive[Any] = reactive(None)

    class Changed(Message):
        def __init__(self, field: ChoiceField, value: Any) -> None:
            super().__init__()
            self.field = field
            self.value = value

        @property
        def control(self) -> ChoiceField:
            return self.field

    def __init__(self, choices: list[tuple[str, Any]], value: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices
        self.set_reactive(ChoiceField.value, value)

    def render(self) -> Text:
        label = next((lab for lab, v in self.choices if v == self.value), str(self.value))
        return Text.assemble(("< ", "dim"), label, (" >", "dim"))

    def action_cycle(self, step: int) -> None:
        values = [v for _, v in self.choices]
        i = values.index(self.value) if self.value in values else -1
        self.value = values[(i + step) % len(values)]

    def watch_value(self, value: Any) -> None:
        self.post_message(self.Changed(self, value))

    def on_click(self) -> None:
        self.action_cycle(1)
