"""``train`` when its metrics file would be a folder or a named pipe (helper 86's QA pass).

Found by hand: with a folder at the run's default ``<state>/runs/<run>/metrics.jsonl`` the run
started and failed, exit 1, "IsADirectoryError: [Errno 21] Is a directory: ..."; with a named
pipe there, or ``metrics_file=`` a named pipe no process reads, it waited for a reader for good
and SIGTERM did not stop it (the open is retried after the handler). Now the first two are
refused before anything starts (exit 2, one sentence), and a pipe no process reads too; a
pipe a process reads is written as before.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest

from hwscale_tui.paths import app_paths
from tests.support.cli import cli_env, hwscale_cmd


def train(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        hwscale_cmd("train", "-q", "trainer.total_timesteps=64", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:  # it waits on the pipe: never leave it running
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("train hung on its metrics file") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize(
    "kind, said",
    [
        ("folder", "is a folder, not a file"),
        ("pipe", "is not a regular file (a named pipe, a socket or a device)"),
    ],
)
def test_a_default_metrics_path_that_is_no_file_is_refused(kind, said):
    paths = app_paths()
    metrics = paths.runs / "r86" / "metrics.jsonl"
    metrics.parent.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        metrics.mkdir()
    else:
        os.mkfifo(metrics)
    r = train("run=r86")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""  # no result line: nothing started
    assert r.stderr == (
        f"hwscale-tui: error: run r86's metrics file {metrics} {said}; move it away (or set "
        "metrics_file=PATH to write elsewhere).\n"
    )
    assert metrics.exists() and not metrics.is_file()  # left as it was


def test_a_metrics_file_that_is_a_pipe_no_process_reads_is_refused(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    r = train("run=r86p", f"metrics_file={pipe}")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith(f"hwscale-tui: error: metrics_file={pipe} is a named pipe that no")
    assert "accepted:" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


def test_a_metrics_file_that_is_a_pipe_a_process_reads_is_written(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got: list[bytes] = []
    opened = threading.Event()

    def read() -> None:
        # opened before the writer comes (non-blocking, so this returns at once); until a
        # writer has come and gone a read of the empty pipe says end of file: read on until
        # the final line is in
        fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
        opened.set()
        deadline = time.monotonic() + 60
        try:
            while b'"final": true' not in b"".join(got) and time.monotonic() < deadline:
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    chunk = b""
                if chunk:
                    got.append(chunk)
                else:
                    time.sleep(0.02)
        finally:
            os.close(fd)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(10)
    r = train("run=r86q", f"metrics_file={pipe}")
    reader.join(30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert b'"final": true' in b"".join(got)


def test_with_store_a_pipe_no_process_reads_is_refused_before_the_row_is_made(tmp_path):
    """store=true makes the trial's row first; the pipe was found only after it, so the run
    ended exit 1 with a failed row saying 'StoreRefused: ...'."""
    from hwscale_tui.store import Store

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    r = train("run=r86s", "store=true", f"metrics_file={pipe}")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith(f"hwscale-tui: error: metrics_file={pipe} is a named pipe"), r.stderr
    store = app_paths().store
    if store.exists():
        with Store(store, readonly=True) as s:
            assert s.get_trial_row("r86s") is None


def test_a_metrics_file_whose_first_line_is_nested_too_deep_is_refused(tmp_path):
    """Its first line is checked to be a JSON object; one nested past Python's recursion
    limit ended train in a RecursionError traceback."""
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 200_000 + "]" * 200_000 + "\n")
    r = train("run=r86d", f"metrics_file={deep}")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "is an existing file that is not a metrics file" in r.stderr, r.stderr
    assert deep.read_text().startswith("[[[")  # left as it was
