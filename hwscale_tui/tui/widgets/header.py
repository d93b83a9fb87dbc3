"""The header line: app, experiment, trial source, read-only flag and a clock."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

SCREEN_TABS = (("grid", "Grid"), ("launch", "Launch"), ("trials", "Trials"), ("analysis", "Analysis"))


class ExperimentHeader(Static):
    """``hwscale-tui  1 Grid  2 Launch  3 Trials  4 Analysis | experiment | source [| read-only]  HH:MM:SS``.

    The screen tabs double as the key hints for switching screens; the current one is reversed.
    """

    def __init__(self, screen_title: str) -> None:
        super().__init__()
        self.screen_title = screen_title

    def on_mount(self) -> None:
        self.refresh_header()
        self.set_interval(1.0, self.refresh_header)

    def refresh_header(self) -> None:
        app = self.app
        session = app.session  # type: ignore[attr-defined]
        now = app.services.clock()  # type: ignore[attr-defined]
        line = Text(no_wrap=True, overflow="ellipsis")
        wide = self.size.width >= 100
        if wide:
            line.append(" hwscale-tui ", style="bold")
        for number, (screen_id, title) in enumerate(SCREEN_TABS, start=1):
            current = title == self.screen_title
            line.append(f" {number} {title} ", style="bold reverse" if current else "")
        line.append(" | experiment: " if wide else "| ")
        line.append(session.name + ("*" if session.dirty else ""), style="bold")
        line.append(" | source: " if wide else " | ")
        line.append(session.source_label, style="bold")
        if session.read_only:
            line.append(" | read-only", style="bold yellow")
        clock = time.strftime("%H:%M:%S", time.localtime(now))
        pad = self.size.width - line.cell_len - len(clock) - 1
        if pad > 0:
            line.append(" " * pad)
            line.append(clock)
        self.update(line)

    def on_resize(self) -> None:
        self.refresh_header()
