"""The ``hwscale-tui`` entry point: the app with no arguments, else a subcommand.

Nothing heavy is imported here; each subcommand imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO, cast

from . import __version__
from .errors import SourceError, StoreError, UsageError, store_error_sentence

# name -> module under hwscale_tui.commands (each has HELP, add_arguments, run)
COMMANDS = (
    "tui",
    "experiments",
    "plan",
    "launch",
    "status",
    "cancel",
    "sweep",
    "train",
    "trials",
    "analyze",
    "metta",
    "doctor",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse's own code)
        message = " ".join(message.split())  # argparse may wrap or quote a value over lines
        if len(message) > 300:
            message = message[:300] + "..."
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help.\n")


def _load(name: str):
    try:
        return importlib.import_module(f"hwscale_tui.commands.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"hwscale_tui.commands.{name}":
            return None
        raise


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``only``) one with just that subcommand: running a command never
    pays for importing and describing every other one (the app's first frame starts sooner)."""
    parser = _Parser(
        prog="hwscale-tui",
        description="Run hardware scaling experiments: one Bayesian sweep per (GPUs per node x nodes) pair, "
        "live trials, scaling laws and recommendations. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"hwscale-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS if only is None else (only,):
        mod = _load(name)
        if mod is None:
            continue
        p = sub.add_parser(
            name, help=mod.HELP, description=mod.HELP[:1].upper() + mod.HELP[1:] + "."
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _skip_teardown=getattr(mod, "SKIP_TEARDOWN", False), _parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Everything this process and its children write (W&B offline runs, report plots, trial
    # files, third-party trainers' output) is private: files 0600, directories 0700.
    previous = os.umask(0o077)
    try:
        return _main(argv)
    finally:
        os.umask(previous)  # for callers in the same process (tests, the app's own calls)


def _exit_without_teardown(code: int) -> int:
    """End the process now, as the interpreter's exit would, minus freeing every object.

    After ``hwscale-tui analyze`` the interpreter's own exit frees what the analysis loaded
    (numpy, scipy, pandas: about 1,200 modules) object by object: about 0.4 s of a command
    whose output is already written. Here the exit handlers run (``atexit``, which flushes
    logging) and stdout/stderr are flushed, as at a normal exit; then the process ends. When a
    thread that is not a daemon still runs, or flushing fails (a closed pipe), this returns
    and the normal exit follows.
    """
    import atexit
    import threading

    if any(
        t.is_alive() and not t.daemon and t is not threading.main_thread()
        for t in threading.enumerate()
    ):
        return code
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return code
    os._exit(code)


def _main(argv: Sequence[str] | None) -> int:
    own_process = argv is None  # the process's own command line (not a test's or the app's call)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["tui", *argv]
    parser = build_parser(only=argv[0] if argv[0] in COMMANDS else None)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # worded by the subcommand's parser, so the hint names its own --help
        sub = getattr(args, "_parser", parser)
        if sub is parser:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        # A positional after an option (experiments delete --yes NAME) is left over by
        # parse_known_args; intermixed parsing takes it, and words a real leftover the same way.
        try:
            args = sub.parse_intermixed_args(argv[1:], argparse.Namespace(command=argv[0]))
        except TypeError:  # a subcommand with its own subcommands: not supported intermixed
            sub.error(f"unrecognized arguments: {' '.join(unknown)}")
    args._argv = argv  # the command line as given (hints print it back, pasteable)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 2
    code = _run(run, args)
    if own_process and getattr(args, "_skip_teardown", False):
        return _exit_without_teardown(code)
    return code


class StdoutWriteError(OSError):
    """Writing the command's standard output failed (``> /dev/full``, a full disk, an I/O
    error): not a file of its own. A write or flush to stdout raises an ``OSError`` without a
    file name, as a full disk's write to an output file does, so the error said "a file: the
    disk is full" and which one could not be told apart afterwards (a probe flush at the error
    found stdout's buffer already handed over); stdout's writes are tagged instead."""


class _TaggedStdout:
    """``sys.stdout`` while a command runs: an ``OSError`` of a write or flush to it (a closed
    pipe aside, which ends the command quietly) is raised as :class:`StdoutWriteError`; all
    else is the stream's own."""

    def __init__(self, stream: Any):
        self._stream = stream
        # bound once: ``trials --json`` makes ~100 writes per trial, each through here
        self._write = stream.write

    def write(self, text: str) -> int:
        try:
            return self._write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise StdoutWriteError(e.errno, e.strerror or str(e)) from e

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise StdoutWriteError(e.errno, e.strerror or str(e)) from e

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _drop_stdout() -> None:
    """What is still buffered for a stdout that failed goes nowhere at exit (the interpreter's
    own flush failed again: "Exception ignored ... OSError", exit 120)."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return  # not a real file (a test's capture): nothing flushes it at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _run(run: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    real = sys.stdout
    tagged = real is not None and getattr(args, "command", "") != "tui"  # the app draws itself
    if tagged:
        sys.stdout = cast(TextIO, _TaggedStdout(real))
    try:
        return _run_tagged(run, args)
    finally:
        if tagged and isinstance(sys.stdout, _TaggedStdout):
            sys.stdout = real


def _run_tagged(run: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    from .commands.common import commit_selection

    try:
        code = int(run(args) or 0)
        sys.stdout.flush()  # what is still buffered fails here, tagged, not at the exit
        if code != 2:  # an experiment named by -e/--experiment-name becomes current (not refused)
            commit_selection(args)
        return code
    except (UsageError, StoreError, SourceError) as e:
        print(f"hwscale-tui: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        commit_selection(args)
        return 130
    except BrokenPipeError:  # the reader stopped reading (| head): the command did its work
        commit_selection(args)
        return 0
    except Exception as e:  # the store or the disk failed: one sentence, exit 1
        if not (isinstance(e, OSError) or _is_sqlite_error(e)):
            raise
        if isinstance(e, StdoutWriteError):
            _drop_stdout()
        sentence = _failure_sentence(e, getattr(args, "command", "") or "")
        print(f"hwscale-tui: error: {sentence}", file=sys.stderr)
        return 1


def _is_sqlite_error(exc: BaseException) -> bool:
    """An error of the store's database (sqlite3 is imported by whatever opened it: a command
    that never did, the app's first frame on a new machine among them, does not load it)."""
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(exc, sqlite3.Error)


def _failure_sentence(exc: BaseException, command: str = "") -> str:
    import errno

    from .paths import app_paths

    if _is_sqlite_error(exc):
        return store_error_sentence(app_paths().store, exc)
    assert isinstance(exc, OSError)
    if isinstance(exc, StdoutWriteError):
        why = (
            "the disk or device it goes to is full"
            if exc.errno == errno.ENOSPC
            else (exc.strerror or str(exc))
        )
        return (
            f"standard output could not be written ({why}), so the output is incomplete; "
            "retry with it going somewhere with room (a file on another disk, a pipe, the "
            "terminal)."
        )
    where = exc.filename or "a file"
    if exc.errno == errno.ENOSPC:
        # the resume hint only where a launch can have been cut short (plan, analyze: retry)
        resume = (
            " (hwscale-tui launch --resume resumes a launch)"
            if command in ("launch", "sweep", "tui")
            else ""
        )
        return f"{where}: the disk is full; free space, then retry{resume}."
    return f"{where}: {exc.strerror or exc}; check that the path exists and is yours and writable."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
