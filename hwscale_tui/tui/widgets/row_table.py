"""A row-cursor table whose ``home`` / ``end`` go to the first / last row, as in a pager."""

from __future__ import annotations

from textual.widgets import DataTable


class RowTable(DataTable):
    """Textual's DataTable scrolls a row-cursor table to its leftmost / rightmost column on
    ``home`` / ``end``, which for a table that fits its width does nothing; here they go to the
    first / last row (the launch and trials tables, as the help says)."""

    def action_scroll_home(self) -> None:
        self.action_scroll_top()

    def action_scroll_end(self) -> None:
        self.action_scroll_bottom()
