"""A pytest plugin: shortly before a test hits its pytest-timeout, dump the product's child stacks.

pytest-timeout shows the stack of the pytest process only. When the hang is in a child
``hwscale-tui`` process (a deadlocked sweep runner, say), that stack just says "waiting for the
child". So, a margin before each test's timeout (:func:`fire_after`), this plugin finds every
Python process of the product that the test started -- its descendants, and orphans that
carry the test's token in their environment (``launch`` detaches its supervisor, whose parent
then exits) -- and asks each for all of its threads' stacks:

* SIGABRT when it has faulthandler enabled (the plugin sets ``PYTHONFAULTHANDLER=1`` for the
  session, and children inherit it): every thread's traceback goes to its stderr, then it dies
  (rc -6), so a test waiting in ``subprocess.run`` gets it back with the dump in its stderr;
* else SIGUSR1 when it catches that (``hwscale-tui sweep`` registers faulthandler on it): the
  dump goes to its stderr and it keeps running;
* else nothing: it has no way to dump, and is left alone.

One line per process goes to this process's stderr, so into the failing test's captured
output; what a process wrote to a regular file (a pair log) while dying is copied there too.
Only Python processes whose command line runs the product count (:func:`is_product_cmdline`):
slurmctld, munged, tmux, wandb servers and any other child are never signalled. Passing tests
pay one idle timer thread each: nothing polls.

Loaded from ``tests/conftest.py``; it rides on pytest-timeout's ``pytest_timeout_set_timer`` /
``pytest_timeout_cancel_timer`` hooks, so it sees the effective timeout of each test (marker,
``--timeout``, ini, ``PYTEST_TIMEOUT``; ``func_only``) and does nothing when that is 0 or off.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shlex
import signal
import stat
import sys
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, BinaryIO

import psutil
import pytest

TOKEN_VAR = "PYTEST_HWSCALE_STACKDUMP"  # per test: "<pytest pid>-<n>", inherited by children
MAX_MARGIN_S = 20.0
MIN_MARGIN_S = 3.0
DIE_WAIT_S = 5.0  # how long to wait for the SIGABRTed processes to finish writing and die
COPY_LIMIT = 64 * 1024  # bytes of a log file's new tail copied into the report
PREFIX = "hwscale stackdump:"

_tokens = itertools.count(1)
_set_faulthandler = False


def fire_after(timeout: float) -> float:
    """Seconds after the timeout's start at which to dump: 10% of it before, 3 to 20 s, and
    never before half of it."""
    margin = max(MIN_MARGIN_S, min(MAX_MARGIN_S, 0.1 * timeout))
    return max(timeout - margin, timeout / 2)


def is_product_cmdline(cmdline: Sequence[str]) -> bool:
    """Whether a Python command line runs hwscale-tui: ``-m hwscale_tui[.x]``, the
    ``hwscale-tui`` script, ``-c`` code naming ``hwscale_tui``, or a ``.py`` file in the package.

    Tokens, not substrings: a checkout named ``hwscale-tui`` puts that in every interpreter's
    path (argv[0], skipped), and a test's tmp path may hold ``hwscale_tui`` too.
    """
    args = list(cmdline[1:])
    for i, arg in enumerate(args):
        prev = args[i - 1] if i else ""
        module = arg[2:] if arg.startswith("-m") and len(arg) > 2 else arg if prev == "-m" else ""
        if module == "hwscale_tui" or module.startswith("hwscale_tui."):
            return True
        if prev == "-c" and "hwscale_tui" in arg:
            return True
        path = PurePath(arg)
        if path.name in ("hwscale-tui", "hwscale_tui") or (
            arg.endswith(".py") and "hwscale_tui" in path.parts
        ):
            return True
    return False


def _is_python(exe: str | None, cmdline: Sequence[str]) -> bool:
    name = PurePath(exe or (cmdline[0] if cmdline else "")).name
    return name.startswith("python")


def _caught_signals(pid: int) -> int:
    """The process's caught-signal mask (bit n-1 for signal n), 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            m = re.search(r"^SigCgt:\s*([0-9a-fA-F]+)", fh.read(), re.M)
    except OSError:
        return 0
    return int(m.group(1), 16) if m else 0


def _catches(mask: int, signum: int) -> bool:
    return bool(mask >> (signum - 1) & 1)


def product_processes(token: str | None) -> list[psutil.Process]:
    """This process's descendants, and same-user processes carrying ``token`` in their
    environment, that are Python running hwscale-tui; plus multiprocessing workers they spawned
    (``--multiprocessing-fork``, e.g. the trainer's ranks)."""
    me = psutil.Process()
    spared = {me.pid} | {p.pid for p in me.parents()}
    try:
        mine = {p.pid for p in me.children(recursive=True)}
    except psutil.Error:
        mine = set()
    uid = os.getuid()
    product: dict[int, psutil.Process] = {}
    workers: list[tuple[psutil.Process, int]] = []
    for p in psutil.process_iter(["ppid", "uids", "cmdline", "exe", "status"]):
        info = p.info
        cmd = info["cmdline"] or []
        if (
            p.pid in spared
            or info["uids"] is None
            or info["uids"].real != uid
            or info["status"] == psutil.STATUS_ZOMBIE
            or not _is_python(info["exe"], cmd)
        ):
            continue
        worker = "--multiprocessing-fork" in cmd
        if not (worker or is_product_cmdline(cmd)):
            continue
        if p.pid not in mine:
            try:
                if token is None or p.environ().get(TOKEN_VAR) != token:
                    continue
            except psutil.Error:
                continue
        if worker:
            workers.append((p, info["ppid"]))
        else:
            product[p.pid] = p
    for p, ppid in workers:
        if ppid in product:
            product[p.pid] = p
    return sorted(product.values(), key=lambda p: p.pid)


@dataclass
class _Stderr:
    """Where a process's stderr goes, and for a regular file, a reader at its current end."""

    where: str
    key: tuple[int, int] | None = None
    reader: BinaryIO | None = None


def _stderr_of(pid: int) -> _Stderr:
    fd2 = f"/proc/{pid}/fd/2"
    try:
        st = os.stat(fd2)
        target = os.readlink(fd2)
    except OSError:
        return _Stderr("unknown: not readable")
    try:
        own = os.fstat(2)
        if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
            return _Stderr("shared with pytest: in this test's captured stderr")
    except OSError:
        pass
    if stat.S_ISFIFO(st.st_mode):
        return _Stderr(f"{target}: whoever started it reads it")
    if stat.S_ISREG(st.st_mode):
        try:
            reader = open(fd2, "rb")  # read once the process is gone
            reader.seek(0, os.SEEK_END)
        except OSError:
            return _Stderr(target)
        return _Stderr(target + ", copied below", (st.st_dev, st.st_ino), reader)
    return _Stderr(target)


def _describe(cmdline: Sequence[str]) -> str:
    text = shlex.join(cmdline).replace("\n", "\\n")
    return text if len(text) <= 240 else text[:237] + "..."


def dump_product_stacks(token: str | None, write: Any) -> list[int]:
    """Signal every product process (see the module docstring) and report each with ``write``
    (one line each), then copy what they wrote to regular files. Returns the signalled pids."""
    procs = product_processes(token)
    if not procs:
        write(f"{PREFIX} no hwscale-tui process of this test is running\n")
        return []
    signalled: list[int] = []
    aborted: list[psutil.Process] = []
    files: dict[tuple[int, int], _Stderr] = {}
    for p in procs:
        try:
            cmd = _describe(p.cmdline())
        except psutil.Error:
            continue
        mask = _caught_signals(p.pid)
        if _catches(mask, signal.SIGABRT):
            signum, after = signal.SIGABRT, "it dies (rc -6)"
        elif _catches(mask, signal.SIGUSR1):
            signum, after = signal.SIGUSR1, "it keeps running"
        else:
            write(
                f"{PREFIX} pid {p.pid} [{cmd}]: no faulthandler in it (started without "
                "PYTHONFAULTHANDLER?), so no stack; left alone\n"
            )
            continue
        err = _stderr_of(p.pid)
        if signum == signal.SIGABRT:
            with contextlib.suppress(psutil.Error, OSError, AttributeError):  # no core file
                p.rlimit(psutil.RLIMIT_CORE, (0, p.rlimit(psutil.RLIMIT_CORE)[1]))
        # The line first: a dump into pytest's own stderr then follows it.
        write(
            f"{PREFIX} pid {p.pid} [{cmd}]: {signal.Signals(signum).name}, stack dumped to its "
            f"stderr ({err.where}); {after}\n"
        )
        try:
            p.send_signal(signum)
        except psutil.Error as e:
            write(f"{PREFIX} pid {p.pid}: could not signal it after all ({e!r})\n")
            if err.reader:
                err.reader.close()
            continue
        signalled.append(p.pid)
        if signum == signal.SIGABRT:
            aborted.append(p)
        if err.key is not None and err.key not in files:
            files[err.key] = err
        elif err.reader:
            err.reader.close()
    deadline = time.monotonic() + DIE_WAIT_S
    while time.monotonic() < deadline and any(_alive(p) for p in aborted):
        time.sleep(0.05)
    if files and len(aborted) < len(signalled):
        time.sleep(0.5)  # SIGUSR1: the dump is written by a C handler at once, but not waited for
    for err in files.values():
        assert err.reader is not None
        with err.reader as fh:
            data = fh.read()
        if data:
            cut = data[-COPY_LIMIT:]
            write(f"{PREFIX} --- new in {err.where.removesuffix(', copied below')} ---\n")
            write(cut.decode(errors="replace") + ("" if cut.endswith(b"\n") else "\n"))
            write(f"{PREFIX} --- end ---\n")
    return signalled


def _alive(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@dataclass
class _Watch:
    token: str
    timer: threading.Timer | None = None
    done: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    previous_token: str | None = None


_WATCH = pytest.StashKey[_Watch]()


def _fire(item: pytest.Item, settings: Any, watch: _Watch) -> None:
    watch.started = True
    try:
        plugin = item.config.pluginmanager.getplugin("timeout")
        is_debugging = getattr(plugin, "is_debugging", None)
        if not getattr(settings, "disable_debugger_detection", False) and (
            is_debugging is not None and is_debugging()
        ):
            return  # pytest-timeout leaves a debugging session alone; so do we

        def write(text: str) -> None:
            sys.stderr.write(text)
            sys.stderr.flush()

        write(
            f"{PREFIX} {item.nodeid} is near its {settings.timeout:g} s pytest-timeout; "
            "the stacks of its hwscale-tui processes:\n"
        )
        dump_product_stacks(watch.token, write)
    except Exception as e:  # never let the dump itself hide the test's failure
        sys.stderr.write(f"{PREFIX} failed: {e!r}\n")
    finally:
        watch.done.set()


def pytest_configure(config: pytest.Config) -> None:
    global _set_faulthandler
    if not os.environ.get("PYTHONFAULTHANDLER"):
        os.environ["PYTHONFAULTHANDLER"] = "1"  # child Pythons dump every thread on SIGABRT
        _set_faulthandler = True


def pytest_unconfigure(config: pytest.Config) -> None:
    global _set_faulthandler
    if _set_faulthandler:
        os.environ.pop("PYTHONFAULTHANDLER", None)
        _set_faulthandler = False


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    """pytest-timeout starts a test's timer (returning None lets it go on to do so)."""
    timeout = float(settings.timeout or 0)
    if timeout <= 0:
        return None
    watch = _Watch(token=f"{os.getpid()}-{next(_tokens)}")
    watch.previous_token = os.environ.get(TOKEN_VAR)
    os.environ[TOKEN_VAR] = watch.token
    watch.timer = threading.Timer(fire_after(timeout), _fire, (item, settings, watch))
    watch.timer.daemon = True
    watch.timer.name = f"hwscale-stackdump {item.nodeid}"
    item.stash[_WATCH] = watch
    watch.timer.start()
    return None


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    watch = item.stash.get(_WATCH, None)
    if watch is None:
        return None
    del item.stash[_WATCH]
    assert watch.timer is not None
    watch.timer.cancel()
    watch.timer.join(DIE_WAIT_S + 5)  # at once, unless a dump is under way: then it ends first
    if watch.previous_token is None:
        os.environ.pop(TOKEN_VAR, None)
    else:
        os.environ[TOKEN_VAR] = watch.previous_token
    return None


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A dump under way when the test's call ends (the SIGABRT freed it) finishes first, so all
    of it lands in the call's captured stderr."""
    try:
        return (yield)
    finally:
        watch = item.stash.get(_WATCH, None)
        if watch is not None and watch.started:
            watch.done.wait(DIE_WAIT_S + 5)
