"""The header line: screen tabs, experiment, trial source, read-only flag and a clock."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

SCREEN_TABS = (
    ("grid", "Grid"),
    ("launch", "Launch"),
    ("trials", "Trials"),
    ("analysis", "Analysis"),
)


class ExperimentHeader(Horizontal):
    """``hwscale-tui  1 Grid  2 Launch  3 Trials  4 Analysis | experiment | source [| read-only]   HH:MM:SS``.

    The screen tabs double as the key hints for switching screens; the current one is reversed.
    """

    def __init__(self, screen_title: str) -> None:
        super().__init__()
        self.screen_title = screen_title
        self._shown: tuple[str, bool, int] | None = None  # (name, dirty, width) last drawn

    def compose(self) -> ComposeResult:
        yield Static(id="header-left")
        yield Static(id="header-clock")

    def on_mount(self) -> None:
        self.refresh_header()
        self.set_interval(1.0, self.refresh_clock)

    def refresh_header(self) -> None:
        session = self.app.session  # type: ignore[attr-defined]
        self._shown = (session.name, session.dirty, self.app.size.width)
        wide = self.app.size.width >= 100
        line = Text(no_wrap=True, overflow="ellipsis")
        if wide:
            line.append(" hwscale-tui ", style="bold")
        for number, (_, title) in enumerate(SCREEN_TABS, start=1):
            line.append(
                f" {number} {title} ", style="bold reverse" if title == self.screen_title else ""
            )
        line.append(" | experiment: " if wide else "| ")
        line.append(session.name + ("*" if session.dirty else ""), style="bold")
        line.append(" | source: " if wide else " | ")
        line.append(session.source_label, style="bold")
        if session.read_only:
            line.append(" | read-only", style="bold yellow")
        self.query_one("#header-left", Static).update(line)
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
        self.query_one("#header-clock", Static).update(
            time.strftime(" %H:%M:%S ", time.localtime(now))
        )

    def on_resize(self) -> None:
        self.refresh_header()
