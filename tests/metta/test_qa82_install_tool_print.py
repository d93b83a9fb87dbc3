"""``hwscale-tui metta install-tool --print`` (what plan points to: "install-tool --repo PATH
writes (`--print` shows it)") exited 2 with "the following arguments are required: --repo",
though printing the module needs no checkout; ``--repo`` is needed only to write it."""

from __future__ import annotations

import subprocess

from hwscale_tui.metta.install import TOOL_SOURCE
from tests.support.cli import cli_env, hwscale_cmd


def _run(*args):
    return subprocess.run(
        hwscale_cmd("metta", "install-tool", *args), capture_output=True, text=True, env=cli_env()
    )


def test_print_needs_no_repo_and_writes_nothing(tmp_path):
    r = _run("--print")
    assert r.returncode == 0, r.stderr
    assert r.stdout == TOOL_SOURCE and r.stderr == ""


def test_writing_without_repo_is_one_sentence_exit_2():
    r = _run()
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (
        "hwscale-tui: error: install-tool writes the main profile's tool maker into a Metta "
        "checkout, and no --repo was given; accepted: --repo PATH (a Metta main checkout), or "
        "--print to show the module.\n"
    )
