"""What every main screen shares: header, footer, focus keys with ids, and a poll loop.

The poll loop follows Dolphie: the next poll is scheduled only after the current one has
finished (never overlapping, so a slow source slows the loop down by itself), and nothing is
polled while the screen is hidden. A dialog (a yes/no question, the help) leaves the screen in
view around it, so its polls go on: its countdowns and statuses stay live, not frozen until the
dialog closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual._context import NoActiveAppError
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import Worker

from ..widgets.header import ExperimentHeader

if TYPE_CHECKING:
    from textual import getters

    from ..app import HwscaleApp

FIRST_POLL_DELAY_S = 0.3
PALETTE_IN_FOOTER_AT = 120  # columns from which the footer also shows ^p Palette


# Textual's ``key_to_character`` has no character for these key names (8.2), so its footer
# kept their bindings while a field took them as text (the trials filter's "/ Filter")
KEY_CHARACTERS = {
    "slash": "/",
    "plus": "+",
    "minus": "-",
    "at": "@",
    "backslash": "\\",
    "underscore": "_",
}


def typed_character(key: str) -> str | None:
    """The character a printable key types (``slash`` -> ``/``), else None."""
    from textual.keys import key_to_character

    return key_to_character(key) or KEY_CHARACTERS.get(key)


def focus_now(widget: Widget) -> None:
    """Move the cursor to ``widget`` before the next key is handled. Textual's ``focus()``
    moves it only after the messages already queued, so keys typed together with the one that
    asked (typeahead over SSH: ``/g2n`` in one burst) went to the widget that had the cursor
    before: the 2 switched to the launch screen instead of being typed into the filter."""
    widget.screen.set_focus(widget)


class FooterItem(NamedTuple):
    """One key the footer shows, and the columns it takes on the footer's line."""

    key: str  # the binding's key (what a click presses)
    key_display: str
    description: str
    enabled: bool
    tooltip: str
    start: int
    end: int


class HwFooter(Widget, can_focus=False):
    """The screen's keys on one line (``key description``), as Textual's compact footer shows
    them; below PALETTE_IN_FOOTER_AT columns it leaves out ``^p Palette`` so that ``? Help``
    always fits (the palette stays on ctrl+p and is listed in the help).

    One widget draws every key: Textual's footer is a container with a widget per key (nine on
    the grid screen, about a third of the widgets a screen's first frame composes, styles and
    lays out), which it recomposes after every change of the bindings. Here a change of the
    bindings redraws the line. A click on a key presses it (a disabled key rings the bell), the
    key under the mouse is highlighted and shows its tooltip, as with Textual's footer.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "footer-key--key",
        "footer-key--description",
        "footer-key--item",
        "footer-key--hover",
        "footer-key--palette",
    }
    DEFAULT_CSS = """
    HwFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        text-overflow: clip;
        & > .footer-key--item { background: $footer-item-background; }
        & > .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .footer-key--hover { color: $footer-key-foreground; background: $block-hover-background; }
        & > .footer-key--palette { color: $foreground 20%; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.items: tuple[FooterItem, ...] = ()
        self._hover: int | None = None  # index in items of the key under the mouse
        self._short_widths: set[int] = set()  # widths that need the screen's short words

    @property
    def show_command_palette(self) -> bool:
        return self.app.size.width >= PALETTE_IN_FOOTER_AT and self.app.ENABLE_COMMAND_PALETTE

    def shown_keys(self) -> list[tuple[str, str]]:
        """(key display, description) of every key the footer shows, left to right."""
        return [(i.key_display, i.description) for i in self.items]

    @property
    def keys_screen(self) -> Screen:
        """The screen whose keys the footer shows: a dialog open over this screen (a yes/no
        question, a prompt, the help, the experiment switcher) takes the keys, so the footer
        says what works in it; it showed this screen's keys (L Launch all, c Cancel...), which
        the dialog cuts off."""
        top = self.app.screen
        if top is not self.screen and top.is_modal and self.screen in self.app.screen_stack:
            return top
        return self.screen

    def _layout(self) -> tuple[FooterItem, ...]:
        """The keys as Textual's footer lays them out: one per action (the first binding shown
        for it), in the screen's order, a column apart; the palette at the right end. The
        screen's words for a key (``binding_words``) replace its description, and its shorter
        ones (``footer_short_words``) where the line would not fit otherwise."""
        screen = self.keys_screen
        words = screen.binding_words(screen.app) if isinstance(screen, HwScreen) else {}
        items = self._layout_with(words)
        short = screen.footer_short_words() if isinstance(screen, HwScreen) else {}
        width = self.size.width  # 0 until laid out: nothing is decided before
        if short and width:
            palette = [i for i in items if i.key == self.app.COMMAND_PALETTE_BINDING]
            room = palette[0].start - 1 if palette else width
            if any(i.end > room for i in items if i not in palette):
                self._short_widths.add(width)
            # once a width needed them, they stay at that width: a shorter line (a form field
            # has the cursor) does not switch the words back and forth as the focus moves
            if width in self._short_widths:
                items = self._layout_with({**words, **short})
        return self._fit(items, width) if width else items

    def _fit(self, items: tuple[FooterItem, ...], width: int) -> tuple[FooterItem, ...]:
        """Below 80 columns (60 over a narrow SSH window) the line ran past the edge and cut
        ``? Help`` off: the keys before it give way from the right until it fits (every key
        stays in the help and the palette)."""
        palette = [i for i in items if i.key == self.app.COMMAND_PALETTE_BINDING]
        keys = [i for i in items if i not in palette]
        room = palette[0].start - 1 if palette else width
        if not keys or keys[-1].end <= room:
            return items
        while len(keys) > 1 and keys[-1].end > room:
            del keys[-2]
            x, placed = 0, []
            for item in keys:
                placed.append(item._replace(start=x, end=x + item.end - item.start))
                x = placed[-1].end + 1
            keys = placed
        return (*keys, *palette)

    def _layout_with(self, words: dict[str, str]) -> tuple[FooterItem, ...]:
        screen = self.keys_screen
        active = screen.active_bindings
        items: list[FooterItem] = []
        seen: set[str] = set()
        x = 0
        focused = screen.focused
        refused: frozenset[str] = frozenset()
        if getattr(getattr(self.app, "session", None), "read_only", False):
            refused = getattr(screen, "READ_ONLY_REFUSED", frozenset())
        for _, binding, enabled, tooltip in active.values():
            if not binding.show or binding.action in seen or binding.id in refused:
                continue
            if focused is not None and focused.check_consume_key(
                binding.key, typed_character(binding.key)
            ):  # typed into the focused field (the trials filter's "/"), not this key's action
                continue
            seen.add(binding.action)
            display = self.app.get_key_display(binding)
            description = words.get(binding.id or "", binding.description)
            width = len(display) + (1 + len(description) if description else 0)
            items.append(
                FooterItem(binding.key, display, description, enabled, tooltip, x, x + width)
            )
            x += width + 1  # each key's margin
        if self.show_command_palette and self.app.COMMAND_PALETTE_BINDING in active:
            _, binding, enabled, tooltip = active[self.app.COMMAND_PALETTE_BINDING]
            display = self.app.get_key_display(binding)
            width = 1 + len(display) + 1 + len(binding.description)  # with its border
            end = self.size.width - 1  # its margin
            items.append(
                FooterItem(
                    binding.key,
                    display,
                    binding.description,
                    enabled,
                    binding.tooltip or binding.description,
                    end - width,
                    end,
                )
            )
        return tuple(items)

    def render(self) -> Text:
        self.items = self._layout()
        base = self.rich_style
        item_style = base + self.get_component_rich_style("footer-key--item")
        key_style = self.get_component_rich_style("footer-key--key")
        description_style = self.get_component_rich_style("footer-key--description")
        hover_style = self.get_component_rich_style("footer-key--hover")
        line = Text(no_wrap=True, overflow="crop", style=base, end="")
        palette = self.show_command_palette and self.app.COMMAND_PALETTE_BINDING in (
            self.keys_screen.active_bindings
        )
        for index, item in enumerate(self.items):
            style = item_style
            if not item.enabled:
                style += Style(dim=True)
            # the margins: a column between keys, the palette at its own place on the right
            line.append(" " * (item.start - line.cell_len), base)
            if palette and index == len(self.items) - 1:
                line.append("▏", style + self.get_component_rich_style("footer-key--palette"))
            piece = Text.assemble(
                (item.key_display, key_style),
                *([(" " + item.description, description_style)] if item.description else []),
            )
            piece.stylize_before(style)
            if index == self._hover:  # over the key's and description's own backgrounds
                piece.stylize(Style(bgcolor=hover_style.bgcolor))
            line.append_text(piece)
        return line

    def _item_at(self, x: int) -> int | None:
        for index, item in enumerate(self.items):
            if item.start <= x < item.end:
                return index
        return None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        # a dialog opened or closed over this screen: the keys shown are the dialog's or its own
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)
        self.app.screen_change_signal.unsubscribe(self)

    def _screen_changed(self, screen: Screen) -> None:
        if self.screen in self.app.screen_stack:
            self.refresh()

    def bindings_changed(self, screen: Screen) -> None:
        """Redraw when what the footer shows changed (focus moves, enabled actions)."""
        if screen is self.screen and self.items != self._layout():
            self.refresh()

    def on_resize(self) -> None:
        self.refresh()  # the palette comes or goes at PALETTE_IN_FOOTER_AT

    def on_mouse_move(self, event: events.MouseMove) -> None:
        hover = self._item_at(event.x)
        if hover != self._hover:
            self._hover = hover
            self.tooltip = self.items[hover].tooltip or None if hover is not None else None
            self.refresh()

    def on_leave(self) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        index = self._item_at(event.x)
        if index is None:
            return
        if self.items[index].enabled:
            self.app.simulate_key(self.items[index].key)
        else:
            self.app.bell()


class HwScreen(Screen, inherit_bindings=False):
    """A main screen. Subclasses set ``SCREEN_ID``/``SCREEN_TITLE`` and may implement ``poll``."""

    SCREEN_ID: ClassVar[str] = ""
    SCREEN_TITLE: ClassVar[str] = ""
    # binding ids whose actions ``--read-only`` refuses: the footer leaves them out there (the
    # key still says why it does nothing)
    READ_ONLY_REFUSED: ClassVar[frozenset[str]] = frozenset()
    # priority: the focus moves when the app reads the key, so what is typed after a tab goes
    # to the next field even while the field before is still busy with the keys before it (a
    # fast typist's or a paste's "3<tab>1" put "31" in the first field and nothing in the next)
    BINDINGS = [
        Binding(
            "tab",
            "app.focus_next",
            "Focus next",
            show=False,
            priority=True,
            id="screen.focus_next",
        ),
        Binding(
            "shift+tab",
            "app.focus_previous",
            "Focus previous",
            show=False,
            priority=True,
            id="screen.focus_previous",
        ),
    ]

    @classmethod
    def binding_words(cls, app: HwscaleApp) -> dict[str, str]:
        """Descriptions of this screen's keys, by binding id, that replace the bindings' own in
        the footer, the help and the palette (the grid's ``+ranks`` in local mode)."""
        return {}

    def footer_short_words(self) -> dict[str, str]:
        """Shorter descriptions, by binding id, for a footer line that would not fit its width
        with ``binding_words`` (so it keeps ``? Help`` at 80 columns)."""
        return {}

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
        # hidden (another screen, or an opaque one on top): skip; showing it again polls.
        # Textual's ``is_current`` holds too under a dialog, which lets the screen show
        # through: its polls go on
        if not self.is_current:
            return
        if self._polling:
            return
        self._polling = True
        self.poll()

    def poll_now(self) -> None:
        self._schedule_poll(0)

    def pairs_seen(self) -> None:
        """The app's watch has read the open experiment's pairs again (``app.pair_status_seen``);
        a screen that shows something of them says it anew. Nothing by default."""

    def generation_changed(self) -> None:
        """The experiment's newest generation changed while this screen is shown (the session
        already names its sweeps): look again now."""
        self.poll_now()

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
        # would compete with the first paint for the GIL); later returns poll at once, except
        # from under a dialog, where the polls went on (the next is due, or running)
        if not self._shown_before:
            self._schedule_poll(FIRST_POLL_DELAY_S)
        elif self._poll_timer is None and not self._polling:
            self._schedule_poll(0.01)
        self._shown_before = True

    def open_in_pager(self, path: str) -> None:
        """``$PAGER`` (default ``less``) on ``path``; the app steps aside until the pager exits."""
        import os
        import shlex
        import shutil
        import subprocess

        from textual.app import SuspendNotSupported

        pager = os.environ.get("PAGER") or ""
        try:
            words = shlex.split(pager) or ["less"]
        except ValueError:  # an unbalanced quote
            words = []
        if not words or shutil.which(words[0]) is None:
            self.notify(
                f"Pager {(words[0] if words else pager)!r} not found; set $PAGER. The log is "
                + path,
                severity="error",
                markup=False,
            )
            return
        failed: OSError | None = None
        try:
            with self.app.suspend():
                # an exception out of this block would leave the app suspended for good (the
                # terminal handed over, no input read): Textual resumes only when it ends normally
                try:
                    subprocess.run([*words, path], check=False)
                except OSError as e:
                    failed = e
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot hand over to a pager; the log is " + path,
                severity="warning",
                markup=False,
            )
        if failed is not None:
            self.notify(
                f"Pager {words[0]!r} could not run ({failed}); set $PAGER.",
                severity="error",
                markup=False,
            )
        self.refresh()

    def on_screen_suspend(self) -> None:
        """Hidden: no more polls until it shows again. Under a dialog the screen is still in
        view (Textual's ``is_current``, already true of the new stack), and its polls go on:
        the launch screen's countdowns and statuses, the trials' ``retry in 27s``, froze
        while a question was open."""
        if self.is_current:
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
