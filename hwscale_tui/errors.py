"""Errors that become one clear sentence and exit code 2 at the CLI boundary."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one sentence, exit code 2, nothing written."""

    exit_code = 2


class ConfigError(UsageError):
    """A bad value in an experiment file or in flags, naming the file, the key and what is accepted."""

    def __init__(self, source: str, key: str, problem: str, accepted: str):
        self.source, self.key, self.problem, self.accepted = source, key, problem, accepted
        # a key like "<file>" or "<syntax>" says the problem is the whole file's: not printed
        # ("x.toml: <file>: the file does not exist" read as a template never filled in)
        where = "" if key.startswith("<") else f"{key}: "
        super().__init__(f"{source}: {where}{problem}; accepted: {accepted}.")


class StoreError(Exception):
    """The store cannot be used: one sentence naming the file, what is wrong and what to do.

    Exit code 1 at the CLI boundary (the input was fine; the state is not)."""

    exit_code = 1


class SourceError(Exception):
    """A remote trial source (W&B) could not be read: one sentence with the reason. Exit code
    1 at the CLI boundary, as ``trials`` gives (the input was fine; the source was not)."""

    exit_code = 1


def store_error_sentence(path: object, exc: BaseException) -> str:
    """One sentence for an SQLite (or OS) failure on the store at ``path``: what is wrong and
    what to do about it."""
    import errno
    import os

    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if os.path.isdir(str(path)):
        # SQLite says 'disk I/O error' of a folder where the file should be: it read 'check the
        # disk and free space', and doctor --repair failed on it ('Is a directory')
        what = "it is a folder, not the store file"
        todo = "move that folder away (a new store is made in its place on the next write)"
    elif (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "disk is full" in low:
        what, todo = (
            "the disk is full",
            "free space, then retry (hwscale-tui launch --resume resumes a launch)",
        )
    elif "not a database" in low or "malformed" in low or "corrupt" in low:
        what = f"the file is damaged ({text})"
        todo = "run hwscale-tui doctor --repair (it backs the file up first) or restore a backup"
    elif "locked" in low or "busy" in low:
        what = "another process holds its lock for longer than the wait allows"
        # not doctor: a WAL writer's lock does not stop its reads, so it finds nothing wrong
        todo = f"retry in a moment (fuser {path} names the process that holds it)"
    elif "readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low:
        what = f"it cannot be opened for this ({text})"
        todo = "check that the state location is writable and yours, or set HWSCALE_HOME to one"
    elif "no such table" in low or "no such column" in low or "schema" in low:
        what = f"its schema is not one this version knows ({text})"
        todo = "run hwscale-tui doctor, or upgrade hwscale-tui if a newer version wrote it"
    elif "disk i/o" in low or isinstance(exc, OSError):
        what = f"reading or writing it failed ({text})"
        todo = "check the disk and free space, then run hwscale-tui doctor"
    else:
        what, todo = f"SQLite reported: {text}", "run hwscale-tui doctor"
    return f"the store {path}: {what}; {todo}."
