"""The Textual app (the only package that imports textual). Entry point: :func:`create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .app import HwscaleApp


def create_app(*args: Any, **kwargs: Any) -> HwscaleApp:
    """Build the app (see :func:`hwscale_tui.tui.app.create_app`)."""
    from .app import create_app as _create

    return _create(*args, **kwargs)
