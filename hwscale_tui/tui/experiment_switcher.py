"""The experiment switcher (``E`` or the palette's *Switch experiment*): pick the current
experiment, make a new one from the highlighted one, archive or delete one (with confirmation;
a running experiment is refused with the CLI's sentence). Switching reopens the app on it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ..errors import UsageError
from .screens.modals import DIALOG_CSS, ConfirmScreen, PromptScreen, dialog_help


def _label(s: Any) -> str:
    mark = "* " if s.current else "  "
    counts = ", ".join(
        f"{n} {word}{'' if n == 1 else 's'}"
        for n, word in ((s.generations, "generation"), (s.pairs, "pair"), (s.trials, "trial"))
    )
    return f"{mark}{s.name}  {s.state}, {counts}"


class ExperimentSwitcher(ModalScreen[None]):
    """enter switches, n new from the highlighted one, a archives, d deletes, esc closes."""

    # its box is the confirm box, wider: at 80 columns an experiment's line fits on one line
    DEFAULT_CSS = DIALOG_CSS + "ExperimentSwitcher #confirm-box { width: 94%; max-width: 100; }\n"
    SCOPED_CSS = False
    BINDINGS = [
        Binding("enter", "switch", "Switch to it", id="experiments.switch"),
        Binding("n", "new", "New from this one", id="experiments.new"),
        Binding("a", "archive", "Archive", id="experiments.archive"),
        Binding("d", "delete", "Delete", id="experiments.delete"),
        Binding("escape", "close", "Close", id="experiments.close"),
        dialog_help("experiments.help"),
    ]
    HELP_TITLE = "Experiments"
    # --read-only refuses them: the help leaves them out, as the title does
    READ_ONLY_REFUSED = frozenset({"experiments.new", "experiments.archive", "experiments.delete"})

    def compose(self) -> ComposeResult:
        app: Any = self.app
        keys = (
            "enter switches, esc closes (read-only: no new, archive or delete)"
            if app.session.read_only  # n, a and d are refused: not offered
            else "enter switches, n new from it, a archive, d delete, esc closes"
        )
        with Vertical(id="confirm-box"):
            yield Label(f"Experiments (* current): {keys}", id="switcher-title")
            yield OptionList(id="switcher-list")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        from ..launch.experiments import summaries

        self.rows = summaries()
        box = self.query_one(OptionList)
        box.clear_options()
        box.add_options([Option(Text(_label(s)), id=s.name) for s in self.rows])
        current = next((i for i, s in enumerate(self.rows) if s.current), 0)
        if self.rows:
            box.highlighted = current
        box.focus()

    def selected(self) -> str | None:
        box = self.query_one(OptionList)
        if box.highlighted is None or not self.rows:
            return None
        return self.rows[box.highlighted].name

    def _writable(self) -> bool:
        """--read-only: new, archive and delete are refused, as saving and launching are."""
        app: Any = self.app  # the HwscaleApp (this module imports no app class)
        if app.session.read_only:
            app.notify(
                "Read-only mode: new, archive and delete are off.", severity="warning", markup=False
            )
            return False
        return True

    def _run(self, fn: Any, *args: Any) -> bool:
        try:
            fn(*args)
        except UsageError as e:
            self.app.notify(str(e), severity="error", timeout=8, markup=False)
            return False
        return True

    def _then_leave(self, going_to: str, then: Any) -> None:
        """Run ``then`` (it leaves the open experiment); with unsaved grid edits, only after a
        yes to discarding them, as quitting asks (switching dropped them without a word)."""
        app: Any = self.app
        # a value the grid form refused (shown with its error, not in force) is an edit too
        typed = None if app.session.dirty else app.grid_form_error()
        if (
            going_to == app.session.name
            or not (app.session.dirty or typed)
            or app.session.read_only
        ):
            then()
            return
        edits = (
            "unsaved grid edits."
            if app.session.dirty
            else f"a grid form value that is neither in force nor saved ({typed})"
        )
        app.push_screen(
            ConfirmScreen(
                f"{app.session.name} has {edits} Leave it for {going_to} and discard "
                f"{'them' if app.session.dirty else 'it'}? (n stays; ctrl+s on the grid "
                "screen saves)"
            ),
            lambda yes: then() if yes else None,
        )

    def action_switch(self) -> None:
        name = self.selected()
        if name is not None:
            self._then_leave(name, lambda: switch_to(self.app, name))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_switch()

    def action_new(self) -> None:
        source = self.selected()
        if source is None or not self._writable():
            return
        self._then_leave("a new experiment", lambda: self._ask_new(source))

    def _ask_new(self, source: str) -> None:

        def make(text: str) -> str | None:
            """Copy it; a name refused (taken, not a name) keeps the prompt open with why."""
            from ..launch.experiments import new_from

            try:
                new_from(source, text.strip())
            except UsageError as e:
                return str(e)
            return None

        def made(new_name: str | None) -> None:
            if new_name and new_name.strip():
                switch_to(self.app, new_name.strip())

        self.app.push_screen(
            PromptScreen(f"Name of the new experiment (a copy of {source}):", check=make), made
        )

    def action_archive(self) -> None:
        from ..launch.experiments import archive

        name = self.selected()
        if name is None or not self._writable() or not self._run(archive, name):
            return
        if not reopen_if_open(self.app, name):
            self.app.notify(
                f"Archived {name} (hwscale-tui experiments unarchive {name}).", markup=False
            )
            self.reload()

    def action_delete(self) -> None:
        from ..launch.experiments import delete

        name = self.selected()
        if name is None or not self._writable():
            return

        def answer(yes: bool | None) -> None:
            if not (yes and self._run(delete, name)):
                return
            app: Any = self.app  # the HwscaleApp
            app.forget_experiments([name])  # its saved trials filter
            if not reopen_if_open(app, name):
                self.app.notify(f"Deleted {name}.", markup=False)
                self.reload()

        self.app.push_screen(
            ConfirmScreen(f"Delete {name}: its trials, launches, snapshot and logs?"), answer
        )

    def action_close(self) -> None:
        self.dismiss(None)


def reopen_if_open(app: Any, name: str) -> bool:
    """``name`` was archived or deleted: when it is the experiment the app shows, reopen the
    app on the one now current (it showed the gone experiment, and saving or launching would
    have brought it back). True when the app reopens."""
    from ..launch.experiments import current_name

    if name != app.session.name:
        return False
    app.switch_to = current_name()
    app.exit(None)
    return True


def switch_to(app: Any, name: str) -> None:
    """Make ``name`` current and reopen the app on it (``hwscale-tui`` runs the app again)."""
    from ..launch.experiments import load_named, set_current

    try:
        _, file = load_named(name)
    except UsageError as e:
        app.notify(str(e), severity="error", timeout=8, markup=False)
        return
    set_current(name, file)
    if name == app.session.name:
        app.pop_screen()
        return
    app.switch_to = name
    app.exit(None)
