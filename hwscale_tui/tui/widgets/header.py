"""The header line: screen tabs, experiment, trial source, read-only flag and a clock."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widget import Widget

SCREEN_TABS = (
    ("grid", "Grid"),
    ("launch", "Launch"),
    ("trials", "Trials"),
    ("analysis", "Analysis"),
)


CLOCK_WIDTH = 10


def header_line(current: str, name: str, source: str, read_only: bool, room: int) -> Text:
    """The header's left part in ``room`` columns: labels shorten before anything is dropped.

    From the longest form down: the app's title goes first, then the "experiment:" and
    "source:" labels, then the other screens' names (their numbers stay); only then is the
    experiment name shortened in the middle. The source and the read-only mark always stay.
    """

    def build(title: bool, long_labels: bool, full_tabs: bool, shown_name: str) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        if title:
            line.append(" hwscale-tui ", style="bold")
        for number, (_, tab) in enumerate(SCREEN_TABS, start=1):
            here = tab == current
            line.append(
                f" {number} {tab} " if here or full_tabs else f" {number} ",
                style="bold reverse" if here else "",
            )
        line.append(" | experiment: " if long_labels else "| ")
        line.append(shown_name, style="bold")
        line.append(" | source: " if long_labels else " | ")
        line.append(source, style="bold")
        if read_only:
            line.append(" | read-only", style="bold yellow")
        return line

    for title, long_labels, full_tabs in (
        (True, True, True),
        (False, True, True),
        (False, False, True),
        (False, False, False),
    ):
        line = build(title, long_labels, full_tabs, name)
        if line.cell_len <= room:
            return line
    over = line.cell_len - room
    keep = max(3, len(name) - over - 1)
    head = (keep + 1) // 2
    short = name[:head] + "…" + name[len(name) - (keep - head) :] if keep < len(name) else name
    return build(False, False, False, short)


class ExperimentHeader(Widget):
    """``hwscale-tui  1 Grid  2 Launch  3 Trials  4 Analysis | experiment | source [| read-only]   HH:MM:SS``.

    The screen tabs double as the key hints for switching screens; the current one is reversed.
    One widget draws the line (the left part in all but the clock's columns, the clock on the
    right): a container with a widget per part cost a screen's first frame more than it draws.
    """

    def __init__(self, screen_title: str) -> None:
        super().__init__()
        self.screen_title = screen_title
        self._shown: tuple[str, bool, int] | None = None  # (name, dirty, width) last drawn
        self.left = Text()  # the line without the clock
        self.clock = ""

    def render(self) -> Text:
        width = self.size.width or self.app.size.width
        line = self.left.copy()
        line.truncate(max(0, width - len(self.clock)), overflow="ellipsis", pad=True)
        line.append(self.clock)
        return line

    def on_mount(self) -> None:
        self.refresh_header()
        self.set_interval(1.0, self.refresh_clock)

    def refresh_header(self) -> None:
        session = self.app.session  # type: ignore[attr-defined]
        width = self.app.size.width
        self._shown = (session.name, session.dirty, width)
        self.left = header_line(
            self.screen_title,
            session.name + ("*" if session.dirty else ""),
            session.source_label,
            session.read_only,
            width - CLOCK_WIDTH,
        )
        self.refresh_clock()

    def refresh_clock(self) -> None:
        session = self.app.session  # type: ignore[attr-defined]
        if self._shown is not None and self._shown != (
            session.name,
            session.dirty,
            self.app.size.width,
        ):  # renamed or edited on another screen: every screen's header follows within a second
            self.refresh_header()
            return
        now = self.app.services.clock()  # type: ignore[attr-defined]
        self.clock = time.strftime(" %H:%M:%S ", time.localtime(now))
        self.refresh()

    def on_resize(self) -> None:
        self.refresh_header()
