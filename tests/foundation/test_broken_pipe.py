"""A reader that stops reading (``hwscale-tui experiments | head -1``) ends every command the
same way: quietly, exit 0. The commands that print through rich exited 1 (rich's own reaction
to a broken pipe) while those that print plainly exited 0."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.cli import cli_env, hwscale_cmd


def _with_closed_stdout(*argv: str) -> tuple[int, str]:
    """(exit code, stderr) of ``hwscale-tui ARGV`` whose stdout's read end is closed before it
    writes anything: every write of it fails (EPIPE), whatever the pipe's buffer and timing."""
    proc = subprocess.Popen(
        hwscale_cmd(*argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(COLUMNS="120"),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=60), err


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
    code, err = _with_closed_stdout(*argv)
    assert code == 0, err
    assert err == "", err


def test_a_closed_pipe_still_makes_the_named_experiment_current(tmp_path):
    """``plan -e FILE | head -1`` exited 0 without making the experiment of FILE current, as the same
    command does unpiped (the broken pipe skipped the selection)."""
    from hwscale_tui import config as cfgmod
    from hwscale_tui.launch.experiments import read_current

    exp = tmp_path / "piped.toml"
    cfgmod.save(cfgmod.apply_overrides(cfgmod.default_config(), {"experiment.name": "piped"}), exp)
    code, err = _with_closed_stdout("plan", "-e", str(exp))
    assert code == 0, err
    current = read_current()
    assert current is not None and current.name == "piped", current
