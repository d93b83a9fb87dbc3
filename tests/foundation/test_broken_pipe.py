"""A reader that stops reading (``hwscale-tui experiments | head -1``) ends every command the
same way: quietly, exit 0. The commands that print through rich exited 1 (rich's own reaction
to a broken pipe) while those that print plainly exited 0."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.cli import cli_env, hwscale_cmd


@pytest.mark.parametrize(
    "argv",
    [
        ["experiments"],  # a rich table
        ["plan"],  # rich tables and plain lines
        ["status"],  # plain lines
        ["plan", "--json"],
    ],
)
def test_a_closed_pipe_ends_the_command_quietly_with_exit_0(argv):
    # the read end is closed before the child writes anything: every write of it fails
    # (EPIPE), whatever the pipe's buffer and the timing
    proc = subprocess.Popen(
        hwscale_cmd(*argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(COLUMNS="120"),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert err == "", err
