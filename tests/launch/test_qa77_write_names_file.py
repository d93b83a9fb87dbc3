"""A full disk while an experiment file is written names that file.

Found by hand: ``write_private_text`` (paths.py) let the OSError of a write that failed
(ENOSPC) out as it came, with no file name, so ``hwscale-tui experiments new X`` said
``a file: the disk is full; free space, then retry.``. The error names the file it was
writing now, and the half-written temp file is still removed.
"""

from __future__ import annotations

import errno
import os

import pytest

from hwscale_tui.cli import main
from hwscale_tui.paths import write_private_text


def _disk_full(_fd: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a write to a full disk: no name


def test_a_full_disk_names_the_file_and_leaves_no_temp_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(os, "fsync", _disk_full)
    target = tmp_path / "x.toml"
    with pytest.raises(OSError) as raised:
        write_private_text(target, "a = 1\n")
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_experiments_new_says_which_file_the_full_disk_stopped(monkeypatch, capsys) -> None:
    monkeypatch.setattr(os, "fsync", _disk_full)
    assert main(["experiments", "new", "other"]) == 1
    err = capsys.readouterr().err
    assert "a file:" not in err, err
    assert "other.toml: the disk is full; free space, then retry." in err, err
