"""QA 60: a command whose standard output cannot be written (``> /dev/full``) says that, not
"a file: the disk is full" (which file?), and an output file's failure still names the file."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys

import pytest

from hwscale_tui.cli import main
from tests.support.cli import cli_env, hwscale_cmd


class _FullStream(io.StringIO):
    """A stdout on a full device: every write fails as ``> /dev/full`` does."""

    def write(self, s: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_stdout_is_named_as_standard_output_in_process(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _FullStream())
    assert main(["plan", "--json"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "standard output could not be written" in err and "full" in err, err
    assert "a file:" not in err, err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_real_process_writing_to_dev_full_says_standard_output_and_exits_1():
    with open("/dev/full", "w") as full:
        res = subprocess.run(
            hwscale_cmd("experiments"),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    # one sentence, and no second failure at the interpreter's exit ("Exception ignored")
    assert len(lines) == 1 and lines[0].startswith("hwscale-tui: error: standard output"), lines


def test_an_output_files_full_disk_still_names_the_file(monkeypatch, capsys, tmp_path):
    """The tag is stdout's alone: ``plan --save`` on a full disk names the file it wrote."""
    import hwscale_tui.paths as paths

    def full(path, text, **_kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(paths, "write_private_text", full)
    out = tmp_path / "exp.toml"
    assert main(["plan", "--save", str(out)]) == 1
    err = capsys.readouterr().err
    assert "standard output" not in err and "the disk is full" in err, err
