"""The hwscale-tui Textual app and its factory.

One factory (:func:`create_app`) builds the app for the CLI, the tests, the screenshot script
and the benchmark; tests pass fake :class:`~hwscale_tui.tui.services.Services`. Worker errors
from every screen end up in one handler (:meth:`HwscaleApp.on_worker_state_changed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ..errors import UsageError
from ..paths import app_paths, write_private_text
from ..records import plural, states_text
from .formatting import short_paths
from .screens.base import HwScreen
from .services import Services, real_services
from .session import ExperimentSession
from .watch import PairWatch, best_per_priority

if TYPE_CHECKING:
    from textual.driver import Driver
    from textual.timer import Timer

    from .screens.grid import GridScreen
    from .screens.launch import LaunchScreen

# screen id -> (title, "module:class"); a screen's module is imported when it is first shown,
# so the first frame pays only for the screen it shows.
SCREENS: dict[str, tuple[str, str]] = {
    "grid": ("Grid", "grid:GridScreen"),
    "launch": ("Launch", "launch:LaunchScreen"),
    "trials": ("Trials", "trials:TrialsScreen"),
    "analysis": ("Analysis", "analysis:AnalysisScreen"),
}
UI_STATE_FILE = "tui.json"
WATCH_FIRST_DELAY_S = 1.0  # after the first frame
WATCH_EVERY_S = 2.0
# the longest keys typed behind a text field's enter wait for it to be acted on (a field whose
# enter is never answered, say): then they go on as they are
HOLD_KEYS_AT_MOST_S = 0.5
QUIT_IN_TURN_AT_MOST_S = 0.5  # see HwscaleApp.action_quit


class QuitInTurn(Message):
    """ctrl+q, sent on behind the keys typed before it (see ``HwscaleApp.action_quit``)."""

    def __init__(self, turn: object) -> None:
        super().__init__()
        self.turn = turn


def esc_digit(character: str | None) -> str | None:
    """The digit (or ``-``, ``=``) of an esc-digit pair Textual read as one key (its character
    for the escape sequence ``\\x1b<digit>``: "™" for esc 2, "–" for esc -), else None."""
    if not character or character.isascii():
        return None
    from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

    for sequence, key in ANSI_SEQUENCES_KEYS.items():
        if (
            key == character
            and len(sequence) == 2
            and sequence[0] == "\x1b"
            and (sequence[1].isdigit() or sequence[1] in "-=")
        ):
            return sequence[1]
    return None


def esc_then(event: events.Key) -> str | None:
    """The key typed right after an esc that Textual read together with it as one key, else
    None: an esc-digit pair ("™" for esc 2, :func:`esc_digit`), or esc and a printable
    character, which it reads as ``alt+<key>`` with the bare character (esc then ``s`` on the
    trials filter typed "s" into it and left it open). A terminal's Alt+key sends the same
    two bytes; the app binds no alt key."""
    digit = esc_digit(event.character)
    if digit:
        return digit
    character = event.character
    if (
        event.key.startswith("alt+")
        and character is not None
        and len(character) == 1
        and character.isprintable()
    ):
        return character
    return None


def binding_ids(load_all: bool = True) -> set[str]:
    """Every binding id of the app's screens, dialogs and widgets (and Textual's own that
    they inherit): what ``keymap.toml`` can remap. ``load_all`` imports every screen and
    dialog first; without it, the ids of the classes loaded so far."""
    from textual.dom import DOMNode

    if load_all:
        from . import experiment_switcher  # noqa: F401  (its bindings)
        from .screens import modals  # noqa: F401
        from .widgets import choice  # noqa: F401

        for screen_id in SCREENS:
            screen_class(screen_id)
    classes: set[type] = set()
    stack: list[type] = [DOMNode]
    while stack:
        cls = stack.pop()
        classes.add(cls)
        subclasses: list[type] = cls.__subclasses__()
        stack.extend(c for c in subclasses if c not in classes)
    return {
        b.id
        for cls in classes
        for b in getattr(cls, "BINDINGS", ())
        if isinstance(b, Binding) and b.id
    }


def screen_class(screen_id: str) -> type[HwScreen]:
    import importlib

    module, cls = SCREENS[screen_id][1].split(":")
    return getattr(importlib.import_module(f"hwscale_tui.tui.screens.{module}"), cls)


KEYMAP_FILE = "keymap.toml"
KEYMAP_NOTICE_S = 15  # how long each notice about keymap.toml stays
DONE_TITLE = "Experiment done"  # the title of the notices that the experiment ended


class HwscaleApp(App[str | None], inherit_bindings=False):
    """Keyboard-first client of the core: it reads files, the store and sources; it owns no sweep."""

    CSS_PATH = "app.tcss"
    TITLE = "hwscale-tui"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        screen_id: partial(lambda sid: screen_class(sid)(), screen_id) for screen_id in SCREENS
    }
    BINDINGS = [
        # The header's screen tabs show 1-4, so the footer keeps its room for the screen's own keys.
        Binding("1", "show('grid')", "Grid screen", show=False, id="app.grid"),
        Binding("2", "show('launch')", "Launch screen", show=False, id="app.launch"),
        Binding("3", "show('trials')", "Trials screen", show=False, id="app.trials"),
        Binding("4", "show('analysis')", "Analysis screen", show=False, id="app.analysis"),
        # f1 too: in a form field ? is typed, so the footer shows f1 Help there (help stays a key away)
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("E", "experiments", "Experiments", show=False, id="app.experiments"),
        Binding("escape", "back", "Back", show=False, id="app.back"),
        Binding(
            "ctrl+p",
            "command_palette",
            "Palette",
            show=False,
            priority=True,
            id="app.command_palette",
        ),
        # a priority key (dialogs see no other app key), read at once: it quits in its turn
        # behind the keys typed before it (action_quit)
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
        Binding("ctrl+c", "help_quit", show=False, system=True, id="app.help_quit"),
    ]

    def __init__(
        self,
        session: ExperimentSession,
        services: Services,
        *,
        start: str = "grid",
        ascii_only: bool = False,
        ansi_theme: bool = False,
        remember_state: bool = True,
        bell: bool | None = None,
    ) -> None:
        # The app starts in the start screen's mode (Textual's DEFAULT_MODE, per app): no blank
        # default screen is built first and then switched away from.
        self.DEFAULT_MODE = start  # type: ignore[misc]  # the class default, set per app
        super().__init__()
        self._css_current_at = self._css_update_count  # the stylesheet is as current as it gets
        self.use_ansi_theme = ansi_theme
        self.session = session
        self.services = services
        self.start_screen = start
        self.ascii_only = ascii_only
        self.remember_state = remember_state
        self.ui_state: dict[str, Any] = self._load_ui_state() if remember_state else {}
        if remember_state:
            self._forget_gone_experiments()
        self.history: list[str] = []
        self.exit_message: str | None = None
        # a terminal bell with each notice of a pair or experiment ending: off unless asked
        self.bell_on = bool(self.ui_state.get("bell", False)) if bell is None else bell
        self.pair_watch = PairWatch()
        self._launches_here = 0  # launches from this app: a look read before one is dropped
        # the open experiment's pairs as the watch last read them (None: not read yet): the
        # grid says which pairs a launch would leave out as having run their trials
        self.pair_status_seen: Any = None
        self.done_banner: str | None = None  # "experiment done" with the best pair per priority
        self.switch_to: str | None = None  # set by the experiment switcher: reopen on it
        self._replayed_keys: asyncio.Task[None] | None = None  # see on_event
        # keys typed behind an enter that a text field has not acted on yet (see on_event)
        self._held_keys: list[events.Key] | None = None
        self._held_keys_timer: Timer | None = None
        self._keys_read = 0
        self._last_sent_to: MessagePump | None = None
        self._sent_before: MessagePump | None = None
        self._quitting: object | None = None  # see action_quit

    async def on_event(self, event: events.Event) -> None:
        """Textual reads an esc followed within its ESCDELAY (100 ms: fast typing, or keys an
        SSH link delivers together) by a digit as one key, a macOS Option+digit character
        (WezTerm's ``\\x1b2`` is "™"): esc then 2 typed "™" into a form field, or did nothing
        elsewhere; by another printable key as ``alt+<key>``, which typed the key into a field
        (the esc lost). The two keys are pressed here instead, in order, each handled before
        the next (as Pilot presses keys).

        Keys typed behind an enter in a text field wait until the field's answer was acted on
        (:meth:`hold_keys`)."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._keys_read += 1
            event._read_as = self._keys_read  # type: ignore[attr-defined]  # see _release_keys
            if self._held_keys is not None:
                self.hold_key(event)
                return
        if isinstance(event, events.Key) and (then := esc_then(event)):
            event.stop()
            self._replayed_keys = asyncio.create_task(self._press_keys(["escape", then]))
            return
        if isinstance(event, events.Key) and not event.is_forwarded:
            event._sent_to = self.focused  # type: ignore[attr-defined]  # see _on_key
            # where the key before this one went (action_quit sends ctrl+q on behind it)
            self._sent_before, self._last_sent_to = self._last_sent_to, self.focused or self.screen
        await super().on_event(event)

    def hold_keys(self) -> None:
        """A text field (``OrderedInput``) is about to act on its enter: the keys typed behind
        it wait until its answer was acted on (:meth:`on_input_submitted`), then go where the
        cursor is, in the order they were typed. Textual had sent them to the field before its
        enter closed a prompt or the trials filter: ``n3``, enter, ``n5``, enter on the grid
        typed ``n5`` into the closed prompt (5 was never added), an ``s`` behind the filter's
        enter did not sort."""
        if self._held_keys is None:
            self._held_keys = []
            self._held_keys_timer = self.set_timer(HOLD_KEYS_AT_MOST_S, self._release_keys)

    @property
    def holding_keys(self) -> bool:
        return self._held_keys is not None

    def hold_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if self._held_keys is not None:
            self._held_keys.append(event)

    def on_input_submitted(self) -> None:
        """A text field's enter was acted on (by its screen, before it bubbled up here)."""
        self._release_keys()

    def _release_keys(self) -> None:
        held, self._held_keys = self._held_keys or [], None
        if self._held_keys_timer is not None:
            self._held_keys_timer.stop()
            self._held_keys_timer = None
        # in the order read: one sent to another widget first may come back later than keys
        # read after it (see _on_key); read again, as they were typed
        held.sort(key=lambda e: getattr(e, "_read_as", 0))
        for key in held:
            self.post_message(events.Key(key.key, key.character))

    async def _on_key(self, event: events.Key) -> None:
        """A key no widget took, come back up to the app. Keys that arrive together (typeahead
        over SSH: ``/g2n`` on the trials screen) are all sent to the widget that has the cursor
        when they arrive, before the first one's action moves it (``/`` opens the filter box):
        the g, 2 and n came back here, the box by then had the cursor and takes printable
        keys, so they were dropped (and before the box took the cursor at once, the 2 opened
        the launch screen). A key sent to a widget that has since lost the cursor goes to the
        one that has it now, behind the keys sent there before it: an enter typed after them
        submits what they typed (a key that widget does not take comes back up as any key)."""
        sent_to, focused = getattr(event, "_sent_to", None), self.focused
        if sent_to is not None and focused is not None and focused is not sent_to:
            event.stop()
            event.prevent_default()  # not App._on_key's bindings: Textual runs each class's
            # as Textual forwards a key: marked forwarded, so that, unhandled there, it comes
            # back up here as any key does (posted plainly, it was read as a new key at the
            # app and forwarded again with its propagation stopped: a down after an esc that
            # left a form field was lost)
            again = events.Key(event.key, event.character)
            again._read_as = getattr(event, "_read_as", 0)  # type: ignore[attr-defined]
            # come back up again (that widget does not take it, and the cursor moved on: the
            # n of E n in one burst opened a prompt), it goes on to where the cursor is then
            again._sent_to = focused  # type: ignore[attr-defined]
            focused._forward_event(again)

    # -- start-up -----------------------------------------------------------------------------
    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal, reading an esc typed right before a space,
        enter, punctuation mark or ctrl key as its own key (``tui/parser.py``)."""
        from .parser import keep_esc

        driver_class = super().get_driver_class()
        keep_esc(driver_class)
        return driver_class

    def on_mount(self) -> None:
        if self.use_ansi_theme:
            self.theme = "ansi-dark"
        keymap = self._load_keymap()
        if keymap:
            self.set_keymap(keymap)
        # after the start-up batch (messages wait for it): the first frame, painted once in full
        self.call_later(lambda: self.screen.refresh())
        self.call_after_refresh(gc.enable)  # paused by the command for the start (commands/tui)
        self.set_timer(WATCH_FIRST_DELAY_S, self._watch_tick)

    def refresh_css(self, animate: bool = True) -> None:
        """Re-style every node only when the theme or CSS variables changed since the last time.

        Textual calls this whenever a mode's screen is first shown; a new screen is styled as it
        is registered, so with nothing changed the full re-parse and re-style (twice per new
        screen, the first frame's largest cost) is skipped and the screens are marked current.
        """
        if self._css_update_count != self._css_current_at:
            super().refresh_css(animate)
            self._css_current_at = self._css_update_count
            return
        # The app node and the screens not styled since the last change (a screen just made:
        # its widgets are composed, and styled, after this) -- not every widget of every screen.
        fresh = [
            screen
            for stack in self._screen_stacks.values()
            for screen in stack
            if screen._css_update_count != self._css_update_count
        ]
        self.stylesheet.update_nodes([self, *fresh], animate=animate)
        for screen in fresh:
            screen._css_update_count = self._css_update_count

    # -- notices: pairs that ended, the experiment done (whatever screen is shown) --------------
    def _watch_tick(self) -> None:
        self._watch_worker(self.session.name, self._launches_here)

    @work(thread=True, group="app-watch", exclusive=True, exit_on_error=False)
    def _watch_worker(self, experiment: str, launches: int = 0) -> None:
        try:
            status = self.services.supervisor.pair_status(experiment)
        except Exception as e:  # a busy store or a gone file: look again at the next tick
            self.log.warning(f"pair watch: {type(e).__name__}: {e}")
            status = None
        if status is not None:
            self.call_from_thread(self.apply_watch, experiment, status, launches)
        self.call_from_thread(self.set_timer, WATCH_EVERY_S, self._watch_tick)

    def apply_watch(self, experiment: str, status: Any, launches: int | None = None) -> None:
        if experiment != self.session.name:
            return
        if launches is not None and launches != self._launches_here:
            # read before a launch from here: its pairs' old ends are no news (the next look
            # reads them as launched)
            return
        self.follow_generation(getattr(status, "generation", None))
        self.pair_status_seen = status
        if isinstance(self.screen, HwScreen):
            self.screen.pairs_seen()
        if experiment != self.pair_watch.experiment:
            self.done_banner = None  # another experiment's (a rename)
        notices = self.pair_watch.look(experiment, status)
        if self.pair_watch.was_active:
            self.done_banner = None  # launched again: the last "done" no longer holds
            self._drop_done_notices()
        for n in notices:
            if n.done:
                # reopened on an experiment that had ended: the same banner (the launch
                # screen's summary keeps it), without the toasts and bell of news
                self.done_banner = n.message
                if not n.reopened:
                    self.notify(n.message, title=DONE_TITLE, timeout=30, markup=False)
                self._best_worker(experiment, n.message, toast=not n.reopened)
            else:
                self.notify(n.message, severity=n.severity, timeout=10, markup=False)
        if any(not n.reopened for n in notices) and self.bell_on:
            self.bell()

    def pairs_launched(self, sweeps: list[str] | None = None) -> None:
        """This app launched or relaunched pairs (``sweeps``): the "done" line and toast no
        longer hold. The watch's next look (up to 2 s on) would drop them too, but until then
        they said every pair had ended over the pair just started. Their end is news to the
        watch, even when its next look finds them ended already."""
        self.done_banner = None
        self._drop_done_notices()
        if sweeps:
            self._launches_here += 1
            self.pair_watch.launched(sweeps)

    def _drop_done_notices(self) -> None:
        """The "Experiment done" toasts (shown 30 s) go when pairs run again: over a new launch
        they said every pair had ended."""
        for notification in list(self._notifications):
            if notification.title == DONE_TITLE:
                self._unnotify(notification)

    def follow_generation(self, generation: int | None) -> None:
        """The store's newest generation (a status's ``generation``; None: not told) is the
        session's: after a launch that started one, here or from the CLI, the plan, the launch
        rows and every screen's trial source name the new generation's sweeps."""
        if generation is None or not self.session.follow_generation(int(generation)):
            return
        self.done_banner = None  # about the previous generation
        screen = self.screen
        if isinstance(screen, HwScreen) and screen.is_current:
            screen.generation_changed()

    @work(thread=True, group="app-best", exclusive=True, exit_on_error=False)
    def _best_worker(self, experiment: str, done: str, toast: bool = True) -> None:
        """The banner's best pair per priority, from the analysis the analysis screen makes of
        the generation that ended: its trials only (generations never mix) and, in local mode,
        only the pairs that fit the cores. No trial of it (every pair failed): no best pair."""
        from .screens.analysis import select_trials
        from .source_cache import SourceCache

        session, services = self.session, self.services
        source, _ = SourceCache().get(services.sources, session.cfg, session.source_label)
        generation = getattr(session.cfg, "generation", 1)
        trials = [t for t in source.poll().trials if t.generation == generation]
        if not trials:
            return
        if not any(t.state == "finished" for t in trials):
            # "every pair has ended" over exit-0 sweeps whose every trial failed read as a run
            # that went well: say that none finished, and where the reason is
            banner = (
                f"{done} No trial finished ({states_text(trials)}): o on the launch screen "
                "shows a pair's log."
            )
            if experiment == self.session.name:
                self.call_from_thread(self._done_toast, banner, toast, done)
            return
        trials, _ = select_trials(session.cfg, trials, generation)
        if not trials:
            return
        histories = source.histories([t.run_id for t in trials], session.cfg.analysis.curve_metric)
        result = services.analysis.analyze(
            trials, histories, services.analysis.settings_from_config(session.cfg)
        )
        best = best_per_priority(getattr(result, "recommendations", None) or [])
        if best and experiment == self.session.name:
            banner = f"{done} Best pair per priority: {best}."
            self.call_from_thread(self._done_toast, banner, toast, done)

    def _done_toast(self, banner: str, toast: bool = True, done: str | None = None) -> None:
        """The banner becomes the whole "done" line, best pairs included, and with ``toast`` so
        does the toast: one toast, not a second one stacked over half an 80x24 screen for 30 s.
        Both in one call on the UI thread, so nothing sees the new banner with the old toast.

        Not once the ``done`` banner it was made for is gone (pairs launched again while the
        analysis ran): "every pair has ended" then came back over running pairs."""
        if done is not None and self.done_banner != done:
            return
        self.done_banner = banner
        if toast:
            self._drop_done_notices()
            self.notify(banner, title=DONE_TITLE, timeout=30, markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers (the pair watch, the banner) report like the screens' do."""
        self.worker_state_changed(event)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """The palette's Screenshot: saved where the reports go (0600, like every file the app
        writes); Textual's default, the downloads folder, is missing on most servers ("Failed to
        save screenshot")."""
        if path is None:
            from ..paths import app_paths, ensure_private_dir

            path = str(ensure_private_dir(app_paths().state / "reports" / self.session.name))
        return super().deliver_screenshot(filename, path, time_format)

    def toggle_bell(self) -> None:
        self.bell_on = not self.bell_on
        self.remember("bell", self.bell_on)
        self.notify(f"Bell on notices {'on' if self.bell_on else 'off'}.", timeout=3, markup=False)

    def _load_ui_state(self) -> dict[str, Any]:
        path = app_paths().state / UI_STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _forget_gone_experiments(self) -> None:
        """Drop the saved state (trials filters) of experiments deleted since it was saved, in
        the app or with ``hwscale-tui experiments delete``; all of it stays when the store
        cannot be read."""
        filters = self.ui_state.get("trials_filters")
        if not isinstance(filters, dict) or not filters:
            return
        import sqlite3

        from ..errors import StoreError
        from ..launch.experiments import _open_store_readonly, known_names

        try:
            store = _open_store_readonly()
            if store is None:
                return
            try:
                names = set(known_names(store))
            finally:
                store.close()
        except (StoreError, sqlite3.Error, OSError):
            return
        self.forget_experiments([k for k in filters if k not in names and k != self.session.name])

    def forget_experiments(self, names: list[str]) -> None:
        """Drop what the app saved for experiments that no longer exist."""
        filters = self.ui_state.get("trials_filters")
        if isinstance(filters, dict) and any(n in filters for n in names):
            self.remember("trials_filters", {k: v for k, v in filters.items() if k not in names})

    def remember(self, key: str, value: Any) -> None:
        """Keep a UI preference (e.g. the trials filter) for the next session."""
        self.ui_state[key] = value
        if not self.remember_state:
            return
        paths = app_paths().ensure()
        write_private_text(
            paths.state / UI_STATE_FILE, json.dumps(self.ui_state, indent=1, sort_keys=True)
        )

    def _load_keymap(self) -> dict[str, str]:
        """``keymap.toml`` in the config dir: ``binding.id = "key"`` lines remap keys."""
        path = app_paths().config / KEYMAP_FILE
        accepted = 'accepted: lines like "launch.all" = "A" or "trials.filter" = "f,slash".'
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            # the keymap's notices stay as long as each other (a start-up notice of 5 s, the
            # default, went before a slow SSH link had shown much else), and say what is taken
            self.notify(
                f"{path} cannot be read ({e}), so no key is remapped; {accepted}",
                severity="warning",
                timeout=KEYMAP_NOTICE_S,
                markup=False,
            )
            return {}
        import tomllib  # only with a keymap file

        try:
            data = tomllib.loads(text)
        except ValueError as e:
            self.notify(
                f"{path} is not TOML ({e}), so no key is remapped; {accepted}",
                severity="warning",
                timeout=KEYMAP_NOTICE_S,
                markup=False,
            )
            return {}
        flat: dict[str, str] = {}
        not_keys: list[str] = []

        def walk(prefix: str, node: Any) -> None:
            for k, v in node.items():
                key = f"{prefix}.{k}" if prefix else k
                if isinstance(v, dict):
                    walk(key, v)
                elif isinstance(v, str):
                    flat[key] = v
                else:
                    not_keys.append(f"{key} = {v!r}")

        walk("", data)
        if not_keys:  # a number or a list was dropped without a word
            self.notify(
                f"{path}: {', '.join(not_keys)} ignored; accepted: keys as a string, like "
                '"launch.all" = "A" or "trials.filter" = "f,slash".',
                severity="warning",
                timeout=KEYMAP_NOTICE_S,
                markup=False,
            )
        if flat:  # the ids are checked once the first frame is out (it imports every screen)
            self.call_after_refresh(self._check_keymap_ids, path, list(flat))
            self.call_after_refresh(self._check_keymap_clashes, path, flat)
        return flat

    def _check_keymap_clashes(self, path: Path, keymap: dict[str, str]) -> None:
        """Say which remapped key now does two things where both are bound (``"launch.all" =
        "l"`` on the launch screen, where l launches the highlighted pair): one of them shadowed
        the other without a word, and the help listed both on l."""
        from .experiment_switcher import ExperimentSwitcher
        from .screens.modals import ConfirmScreen, HelpScreen, PromptScreen

        def keys(binding: Binding) -> set[str]:
            given = keymap.get(binding.id or "", binding.key)
            return {k.strip() for k in given.split(",") if k.strip()}

        def own(cls: type) -> list[Binding]:
            return [b for b in getattr(cls, "BINDINGS", ()) if isinstance(b, Binding) and b.id]

        scopes: list[tuple[str, list[Binding]]] = [
            (f"the {title.lower()} screen", own(type(self)) + own(screen_class(sid)))
            for sid, (title, _) in SCREENS.items()
        ]
        for dialog, where in (
            (ExperimentSwitcher, "the experiment switcher"),
            (ConfirmScreen, "a yes/no question"),
            (PromptScreen, "a prompt"),
            (HelpScreen, "the help"),
        ):
            scopes.append((where, own(dialog)))
        clashes: list[str] = []
        for where, bindings in scopes:
            owners: dict[str, list[str]] = {}
            for b in bindings:
                for key in keys(b):
                    if b.id not in owners.setdefault(key, []):
                        owners[key].append(b.id or "")
            for key, ids in owners.items():
                if len(ids) > 1 and any(i in keymap for i in ids):
                    clashes.append(f"{key!r} is {' and '.join(ids)} on {where}")
        if clashes:
            self.notify(
                f"{path}: {'; '.join(dict.fromkeys(clashes))}: only one of them runs; accepted: "
                "a key nothing else on that screen uses.",
                severity="warning",
                timeout=KEYMAP_NOTICE_S,
                markup=False,
            )

    def _check_keymap_ids(self, path: Path, ids: list[str]) -> None:
        """Say which ``keymap.toml`` ids no binding has (a typo remapped nothing, silently)."""
        loaded = binding_ids(load_all=False)
        if all(i in loaded for i in ids):  # no screen imported for it
            return
        known = binding_ids()  # one walk over every screen's classes, not one per id
        unknown = [i for i in ids if i not in known]
        if not unknown:
            return
        import difflib

        everything = sorted(known)
        named = []
        for i in unknown:
            close = difflib.get_close_matches(i, everything, n=1)
            named.append(f"{i!r}" + (f" (did you mean {close[0]}?)" if close else ""))
        self.notify(
            f"{path}: no key binding has the id {', '.join(named)}, so it remaps nothing; "
            "accepted: an id the help (?) lists.",
            severity="warning",
            timeout=KEYMAP_NOTICE_S,
            markup=False,
        )

    # -- navigation ---------------------------------------------------------------------------
    def action_show(self, screen_id: str) -> None:
        if screen_id == self.current_mode:
            return
        self.history.append(self.current_mode)
        self.switch_mode(screen_id)

    def action_back(self) -> None:  # type: ignore[override]  # Textual dispatches sync actions too
        screen = self.screen
        if not isinstance(screen, HwScreen):  # a modal: close it
            screen.dismiss(None)
            return
        back = getattr(screen, "back", None)
        if back is not None and back():
            return
        if self.history:
            self.switch_mode(self.history.pop())

    def action_experiments(self) -> None:
        from .experiment_switcher import ExperimentSwitcher

        if not isinstance(self.screen, ExperimentSwitcher):
            self.push_screen(ExperimentSwitcher())

    def action_help(self) -> None:
        from .screens.modals import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for screen_id, (title, _) in SCREENS.items():
            yield SystemCommand(
                f"Go to {title}",
                f"Show the {title.lower()} screen",
                lambda sid=screen_id: self.action_show(sid),
            )
        seen: set[str] = set()
        words = screen.binding_words(self) if isinstance(screen, HwScreen) else {}
        # --read-only: what it refuses is not offered, as the footers and the help leave it out
        refused: frozenset[str] = frozenset()
        if self.session.read_only:
            refused = getattr(screen, "READ_ONLY_REFUSED", frozenset())
        for active in screen.active_bindings.values():
            b = active.binding
            if (
                b.system
                or not b.description
                or b.id in seen
                or b.id is None
                or b.id.startswith(("app.", "screen."))
                or b.id in refused
            ):
                continue
            seen.add(b.id)
            node = active.node
            yield SystemCommand(
                words.get(b.id, b.description),
                f"{self.get_key_display(b)} on this screen ({b.id})",
                lambda node=node, action=b.action: self.call_later(node.run_action, action),
            )
        yield SystemCommand(
            "Help", "The app's keys by screen, this one first in view (? or f1)", self.action_help
        )
        yield SystemCommand(
            f"Bell on notices: turn {'off' if self.bell_on else 'on'}",
            "Ring the terminal bell when a pair or the experiment ends (remembered)",
            self.toggle_bell,
        )
        yield SystemCommand(
            "Switch experiment",
            "E: list experiments; switch"
            + (" (read-only)" if self.session.read_only else ", new from one, archive, delete"),
            self.action_experiments,
        )
        # Textual's "Keys" opens its own keys panel: a second, partial help (this screen's keys
        # only, no ids or remaps) that esc does not close; Help above is the app's
        for command in super().get_system_commands(screen):
            if command.title != "Keys":
                yield command

    # -- quitting -----------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """ctrl+q, a priority key, is acted on when the app reads it, maybe before keys typed
        just before it were: y to a launch question and ctrl+q in one burst (typeahead over
        SSH) quit with the question still open, nothing launched and nothing said. It is sent
        on behind the last of them, along the widgets they go through, and the app quits when
        it comes back up (at the latest after QUIT_IN_TURN_AT_MOST_S, should that widget go
        before it is read)."""
        turn = self._quitting = object()
        target = self._sent_before
        if target is None or not target.is_attached:
            self.call_next(self._quit_in_turn, turn)
            return
        target.post_message(QuitInTurn(turn))
        self.set_timer(QUIT_IN_TURN_AT_MOST_S, partial(self._quit_in_turn, turn))

    async def on_quit_in_turn(self, message: QuitInTurn) -> None:
        message.stop()
        await self._quit_in_turn(message.turn)

    async def _quit_in_turn(self, turn: object) -> None:
        if turn is not self._quitting:  # already quit (or asked) for this ctrl+q
            return
        self._quitting = None
        from .screens.modals import ConfirmScreen

        await self._launch_actions_done()
        # a value typed in the grid form that shows an error is not in force (the experiment
        # is not "dirty" for it), yet it is an edit: quitting dropped it without a word
        typed = None if self.session.read_only else self.grid_form_error()
        if (self.session.dirty or typed) and not self.session.read_only:
            if isinstance(self.screen, ConfirmScreen):
                return
            name, file = self.session.name, short_paths(str(self.session.path))
            if not self.session.dirty:
                question = (
                    f"{name}'s grid form shows a value that is neither in force nor saved "
                    f"({typed}) Quit and discard it? (n stays)"
                )
            elif self.session.launched_unsaved():
                question = (
                    f"{name}'s grid edits were launched but are not saved to {file}. Quit "
                    "without saving them? (the launch keeps its own copy; n stays; ctrl+s on "
                    "the grid screen saves)"
                )
            else:
                question = (
                    f"{name} has unsaved grid edits. Quit and discard them? (n stays; ctrl+s "
                    "on the grid screen saves)"
                )
            self.push_screen(
                ConfirmScreen(question),
                lambda yes: self._quit() if yes else None,
            )
            return
        self._quit()

    async def _launch_actions_done(self) -> None:
        """A launch, relaunch or cancel the launch screen has begun (a background worker) ends
        before the app quits: quit while a launch was being started, it was launched or not
        at random, and the app said nothing of it."""
        launch = self._launch_screen()
        if launch is not None and launch.is_running:  # an answer's callback starts it there
            started = asyncio.Event()
            launch.call_next(started.set)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(started.wait(), QUIT_IN_TURN_AT_MOST_S)
        for worker in list(self.workers):
            if worker.group == "launch-action" and not worker.is_finished:
                # its error is handled as any worker's (a notice)
                with contextlib.suppress(Exception):
                    await worker.wait()

    def _quit(self) -> None:
        # the pairs as `status` reads them now: the launch screen's rows are refreshed only
        # while it is shown (left while pairs ran, they still said so after every pair ended,
        # and the note said they kept running); its rows only if the store cannot be read
        rows = self._pair_rows_now()
        launch = self._launch_screen()
        if not rows and launch is not None:
            rows = list(launch.rows.values())
        going = [r for r in rows if r.keeps_running]
        running = [r.tag for r in going if r.status != "scheduled"]
        # due to start: the supervisor (which outlives the app) starts them on schedule
        scheduled = [f"{r.tag} {r.countdown}".strip() for r in going if r.status == "scheduled"]
        orphaned = [r.tag for r in rows if r.never_started]
        if going or orphaned:
            lines = []
            if going:
                parts = []
                if running:
                    parts.append(
                        f"{plural(len(running), 'pair')} of {self.session.name} "
                        f"{'keeps' if len(running) == 1 else 'keep'} running in the "
                        f"background ({', '.join(running)})"
                    )
                if scheduled:
                    parts.append(
                        f"{plural(len(scheduled), 'pair')} of {self.session.name} "
                        f"{'starts' if len(scheduled) == 1 else 'start'} on schedule "
                        f"({', '.join(scheduled)}): their supervisor keeps running"
                    )
                them = "it" if len(going) == 1 else "them"
                lines.append(
                    self._fill("; ".join(parts) + f". Re-attach, check or stop {them} with:")
                )
                lines += [
                    "  hwscale-tui",
                    f"  hwscale-tui status --experiment-name {self.session.name}",
                    f"  hwscale-tui cancel --experiment-name {self.session.name} --all",
                ]
            if orphaned:
                lines.append(
                    self._fill(
                        f"{plural(len(orphaned), 'pair')} of {self.session.name} never started: "
                        f"their supervisor is gone ({', '.join(orphaned)}). Start "
                        f"{'it' if len(orphaned) == 1 else 'them'} with:"
                    )
                )
                lines.append(f"  hwscale-tui launch --experiment-name {self.session.name} --resume")
            self.exit_message = "\n".join(lines)
        elif self.session.dirty or self.grid_form_error():
            self.exit_message = self._fill(
                f"Unsaved grid edits were discarded (ctrl+s saves to {self.session.path})."
            )
        self.exit(self.exit_message)

    def _fill(self, text: str) -> str:
        """``text`` folded at spaces to the terminal's width: the note is printed after the app
        has left the screen, where the terminal broke its long line inside words (``har`` /
        ``dware_scaling`` at 80 columns). Commands go on lines of their own, to be copied."""
        import textwrap

        width = max(40, self.size.width or 80)
        return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)

    def _pair_rows_now(self) -> list[Any]:
        """The experiment's recorded pairs as launch rows (status, countdown, never started)."""
        import time

        from .launch_rows import launch_rows

        try:
            status = self.services.supervisor.pair_status(self.session.name)
        except Exception as e:  # a busy store: quit without the note rather than not at all
            self.log.warning(f"quit: pair status: {type(e).__name__}: {e}")
            return []
        return launch_rows([], status, time.time(), self.session.cfg.sweep.max_trials)

    def grid_form_error(self) -> str | None:
        """The first error the grid form shows (``max trials: got 'abc'; ...``), if the grid
        screen was built: its typed value is not in force."""
        for stack in self._screen_stacks.values():
            for screen in stack:
                if getattr(screen, "SCREEN_ID", None) == "grid":
                    return cast("GridScreen", screen).form_error()
        return None

    def _launch_screen(self) -> LaunchScreen | None:
        for stack in self._screen_stacks.values():
            for screen in stack:
                if getattr(screen, "SCREEN_ID", None) == "launch":
                    return cast("LaunchScreen", screen)
        return None

    # -- one place for worker errors ---------------------------------------------------------
    def worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors end up: a UsageError is its sentence, anything else names the worker."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, UsageError):
            self.notify(str(error), severity="error", timeout=8, markup=False)
        else:
            self.notify(
                f"{event.worker.group}: {type(error).__name__}: {error}",
                severity="error",
                timeout=8,
                markup=False,
            )
            self.log.error(f"worker {event.worker.name} failed", error)


def create_app(
    services: Services | None = None,
    *,
    experiment_file: str | os.PathLike[str] | None = None,
    session: ExperimentSession | None = None,
    source: str | None = None,
    read_only: bool = False,
    start: str | None = None,
    ascii_only: bool | None = None,
    ansi_theme: bool = False,
    remember_state: bool = True,
    bell: bool | None = None,
) -> HwscaleApp:
    """The app on an experiment: ``session`` if given, else the file, else the current experiment."""
    if session is None:
        session = ExperimentSession.open(experiment_file, source_kind=source, read_only=read_only)
    if start is None:
        start = "launch" if _was_launched(session.name) else "grid"
    if start not in HwscaleApp.MODES:
        raise UsageError(f"screen {start!r} is unknown; accepted: {', '.join(HwscaleApp.MODES)}.")
    if ascii_only is None:
        ascii_only = os.environ.get("HWSCALE_ASCII", "") not in ("", "0")
    return HwscaleApp(
        session,
        services or real_services(),
        start=start,
        ascii_only=ascii_only,
        ansi_theme=ansi_theme,
        remember_state=remember_state,
        bell=bell,
    )


def _was_launched(experiment: str) -> bool:
    from ..paths import snapshot_path

    return Path(snapshot_path(experiment)).is_file()
