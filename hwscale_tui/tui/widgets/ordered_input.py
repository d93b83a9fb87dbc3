"""An Input whose editing keys keep their place among typed characters.

Textual 8.2 inserts a typed character in ``Input._on_key`` at once, but a bound key
(backspace, delete, home, end, ctrl+u, ...) bubbles up to the app, which runs its binding
later: keys arriving in one burst (fast typing, typeahead over SSH) are applied out of order.
"8", backspace, "1", "0" left "81" instead of "10", and the wrong value could be saved.
Reported upstream as Textualize/textual#6605 (an open fix, #6631, runs the widget's own
bindings inline the same way). The input's own non-priority bindings are run here, in its key
handler, before the next key is read; which binding runs does not change (the focused widget's
bindings come first in the app's chain, and priority bindings are checked before the key
reaches the widget).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    async def _on_key(self, event: events.Key) -> None:
        app = self.app
        if getattr(app, "holding_keys", False):  # typed behind an enter: see app.hold_keys
            app.hold_key(event)  # type: ignore[attr-defined]
            return
        if event.key == "enter" and hasattr(app, "hold_keys"):
            app.hold_keys()
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    self._restart_blink()
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)

    def on_blur(self, event: events.Blur) -> None:
        """Left, a value wider than the field shows from its start: focusing scrolled it to its
        end (the cursor's place), and the field kept ``valuate_in_sweep`` on screen."""
        # not when only the terminal lost the focus: Textual gives it back to this field, with
        # the cursor where it was (and so in view)
        if getattr(self.app, "_last_focused_on_app_blur", None) is not self:
            self.scroll_to(x=0, animate=False, immediate=True)
