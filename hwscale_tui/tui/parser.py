"""The terminal's input parser, keeping an esc typed right before a key that is no letter.

Textual reads an esc followed within its ESCDELAY (100 ms: fast typing, or keys an SSH link
delivers together) by another key as one key: with a letter as ``alt+<letter>`` (the app then
presses the two keys, ``app.esc_then``), but with a space, ``enter``, a punctuation mark or a
ctrl key as that key alone, the esc dropped (``XTermParser._sequence_to_key_events`` adds
``alt+`` only to a one-character key name). esc then space in a grid form field typed a space
into it instead of leaving the form and toggling the pair, esc then ``?`` typed ``?`` instead of
opening the help, esc then ctrl+c left the help open. :class:`EscKeepingParser` reads the esc as
its own key, then the key. Not after ``[``, ``]``, ``_``, ``^`` or ``\\``: an esc and one of
them starts a terminal's escape sequence (a key, a mouse event, a report), and one Textual does
not know is better typed as it was than read as an esc that closes a dialog.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import events
from textual._xterm_parser import XTermParser

# after an esc, these start a terminal's control sequence (CSI, OSC, APC, PM, ST)
SEQUENCE_STARTS = frozenset("[]_^\\")


class EscKeepingParser(XTermParser):
    def _sequence_to_key_events(self, sequence: str, alt: bool = False) -> Iterable[events.Key]:
        keys = list(super()._sequence_to_key_events(sequence, alt))
        if (
            alt  # the key right after an esc that formed no sequence Textual knows
            and len(sequence) == 1
            and sequence not in SEQUENCE_STARTS
            and keys
            and not any(key.key.startswith("alt+") for key in keys)
        ):
            yield events.Key("escape", "\x1b")
        yield from keys


def keep_esc(driver_class: type) -> None:
    """Make ``driver_class`` (Textual's Linux drivers) read keys with :class:`EscKeepingParser`:
    they build their parser from their module's ``XTermParser`` when they start reading."""
    import sys

    module = sys.modules.get(driver_class.__module__)
    if module is not None and getattr(module, "XTermParser", None) is XTermParser:
        module.XTermParser = EscKeepingParser  # type: ignore[attr-defined]
