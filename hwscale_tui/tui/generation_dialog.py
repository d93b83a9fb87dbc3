"""The question `L` asks when settings that decide comparability changed since the experiment's
newest generation ran: start a new generation (earlier trials kept apart), or cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .screens.modals import ConfirmScreen


def question(comparison: Any) -> str:
    c = comparison
    return (
        f"Settings that decide comparability changed since generation {c.generation} of "
        f"{c.experiment} ran: {c.describe()}. Start generation {c.generation + 1}? Generation "
        f"{c.generation}'s trials are kept and shown apart, never mixed. (No: nothing is launched; "
        "put the settings back to continue the current generation.)"
    )


def ask_new_generation(app: Any, comparison: Any, start: Callable[[], object]) -> None:
    """Push the question; ``start`` runs only on yes."""
    app.push_screen(ConfirmScreen(question(comparison)), lambda yes: start() if yes else None)
