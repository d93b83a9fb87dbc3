"""What every main screen shares: header, footer, focus keys with ids, and a poll loop.

The poll loop follows Dolphie: the next poll is scheduled only after the current one has
finished (never overlapping, so a slow source slows the loop down by itself), and nothing is
polled while the screen is hidden or a modal covers it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual._context import NoActiveAppError
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer
from textual.worker import Worker

from ..widgets.header import ExperimentHeader

if TYPE_CHECKING:
    from textual import getters

    from ..app import HwscaleApp

FIRST_POLL_DELAY_S = 0.3
PALETTE_IN_FOOTER_AT = 120  # columns from which the footer also shows ^p Palette


class HwFooter(Footer):
    """The footer; below PALETTE_IN_FOOTER_AT columns it leaves out ``^p Palette`` so that
    ``? Help`` always fits (the palette stays on ctrl+p and is listed in the help).

    Its keys are in the screen's first frame: Textual's footer composes empty and adds its keys
    only after the first refresh of the bindings (one more composition and frame later, after
    whatever else the screen's timers started).
    """

    def __init__(self) -> None:
        try:
            palette = self.app.size.width >= PALETTE_IN_FOOTER_AT
        except NoActiveAppError:
            palette = False
        super().__init__(compact=True, show_command_palette=palette)
        self.set_reactive(Footer._bindings_ready, True)
        self._composed_for: tuple | None = None

    def _shown_bindings(self) -> tuple:
        """What the footer shows: the screen's shown bindings (key, text, enabled) and the palette."""
        return (
            self.show_command_palette,
            *(
                (b.key, b.description, enabled, tooltip)
                for (_, b, enabled, tooltip) in self.screen.active_bindings.values()
                if b.show
            ),
        )

    def compose(self) -> ComposeResult:
        self._composed_for = self._shown_bindings()
        for widget in super().compose():
            # the keys' compact class, which Textual's data binding would add once each key is
            # mounted (re-styling every key one by one)
            widget.set_class(self.compact, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen) -> None:
        """Recompose only when what the footer shows changed: Textual recomposes it after every
        refresh of the bindings (focus moves, mounts), which at start-up is several times."""
        if screen is self.screen and self._composed_for == self._shown_bindings():
            return
        super().bindings_changed(screen)

    def on_mount(self) -> None:
        self.show_command_palette = self.app.size.width >= PALETTE_IN_FOOTER_AT

    def on_resize(self) -> None:
        self.show_command_palette = self.app.size.width >= PALETTE_IN_FOOTER_AT


class HwScreen(Screen, inherit_bindings=False):
    """A main screen. Subclasses set ``SCREEN_ID``/``SCREEN_TITLE`` and may implement ``poll``."""

    SCREEN_ID: ClassVar[str] = ""
    SCREEN_TITLE: ClassVar[str] = ""
    BINDINGS = [
        Binding("tab", "app.focus_next", "Focus next", show=False, id="screen.focus_next"),
        Binding(
            "shift+tab",
            "app.focus_previous",
            "Focus previous",
            show=False,
            id="screen.focus_previous",
        ),
    ]

    poll_interval_s: float = 1.0
    _poll_timer: Timer | None = None
    _polling: bool = False
    _shown_before: bool = False

    if TYPE_CHECKING:  # the running app, typed for every screen (Textual's own idiom)
        app = getters.app(HwscaleApp)

    def __init__(self) -> None:
        super().__init__()
        self._presize_breakpoints()

    def _presize_breakpoints(self) -> None:
        """Give the screen its breakpoint classes (``-narrow``, ...) for the app's size before its
        widgets are styled. Textual adds them at the screen's first resize, which re-styles every
        widget of the screen a second time (most of a first frame's styling); with the classes
        already right that resize changes nothing. Later resizes work as before."""
        try:
            width, height = self.app.size
        except NoActiveAppError:  # built outside a running app: the first resize sets them
            return
        classes: dict[str, bool] = {}
        for breakpoints, dimension in (  # the screen's own, else the app's (as Textual does)
            (self.HORIZONTAL_BREAKPOINTS or self.app.HORIZONTAL_BREAKPOINTS, width),
            (self.VERTICAL_BREAKPOINTS or self.app.VERTICAL_BREAKPOINTS, height),
        ):
            if not breakpoints:
                continue
            shown = self._get_breakpoint_classes(dimension, breakpoints)
            classes.update({name: name in shown for _, name in breakpoints})
        if classes:
            self.update_classes(classes, update=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Worker messages do not bubble; every screen hands them to the app's one error handler."""
        self.app.worker_state_changed(event)

    # -- polling -----------------------------------------------------------------------------
    def poll(self) -> None:
        """Start one poll (a thread worker) that calls :meth:`poll_finished` when done."""

    def poll_finished(self) -> None:
        """Schedule the next poll, after the current one, unless the screen is hidden."""
        self._polling = False
        self._schedule_poll(self.poll_interval_s)

    def _schedule_poll(self, delay: float) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._poll_timer = self.set_timer(
            max(delay, 0.01), self._poll_due
        )  # textual timers reject 0

    def _poll_due(self) -> None:
        self._poll_timer = None
        if not self.is_current:  # hidden screen or a modal on top: skip, look again later
            return
        if self._polling:
            return
        self._polling = True
        self.poll()

    def poll_now(self) -> None:
        self._schedule_poll(0)

    def _compositor_refresh(self) -> None:
        """Paint, except during the app's start-up batch: Textual renders that frame in full and
        then drops it (nothing is written before the app runs), so the render is owed instead
        and the app's first refresh after the batch paints the whole screen (HwscaleApp.on_mount)."""
        app = self.app
        if self is app.screen and not app.is_inline and (app._batch_count or not app._running):
            self._repaint_required = True
            return
        super()._compositor_refresh()

    @on(events.ScreenResume)
    def _styled_as_mounted(self, event: events.ScreenResume) -> None:
        """First shown: every widget was styled as it mounted, so Textual's re-style of the
        whole screen on resume would only repeat the work (runs before Textual's handler)."""
        if not self._shown_before:
            event.refresh_styles = False

    def on_screen_resume(self) -> None:
        # (Textual calls this for every screen class; subclasses' own handlers must not call it)
        if self._shown_before:  # the header drew itself when it was mounted
            for header in self.query(ExperimentHeader):  # a rename or edit made on another screen
                header.refresh_header()
        # The first poll waits for the first frame: its worker imports the core (a thread that
        # would compete with the first paint for the GIL); later returns poll at once.
        self._schedule_poll(0.01 if self._shown_before else FIRST_POLL_DELAY_S)
        self._shown_before = True

    def open_in_pager(self, path: str) -> None:
        """``$PAGER`` (default ``less``) on ``path``; the app steps aside until the pager exits."""
        import os
        import shlex
        import subprocess

        from textual.app import SuspendNotSupported

        argv = [*shlex.split(os.environ.get("PAGER") or "less"), path]
        try:
            with self.app.suspend():
                subprocess.run(argv, check=False)
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot hand over to a pager; the log is " + path,
                severity="warning",
            )
        except FileNotFoundError:
            self.notify(f"Pager {argv[0]!r} not found; set $PAGER.", severity="error")
        self.refresh()

    def on_screen_suspend(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
