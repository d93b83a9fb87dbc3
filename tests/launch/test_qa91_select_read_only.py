"""``experiments select`` that cannot remember the choice says so instead of claiming it.

Found by hand (session 43, helper 91): on a read-only state location (a read-only bind
mount), ``hwscale-tui experiments select exB`` printed 'current experiment: exB' and exited 0,
but nothing was written: ``status`` went on showing the experiment current before. The write
failure is swallowed on purpose for reading commands given ``--experiment-name``; ``select``,
whose whole point it is, now ends with one sentence naming the file (exit 1) and nothing
changed.
"""

from __future__ import annotations

import errno

from hwscale_tui import cli
from hwscale_tui.launch import experiments as ex


def test_select_on_a_read_only_state_location_fails_in_one_sentence(monkeypatch, capsys):
    assert cli.main(["experiments", "new", "first"]) == 0
    assert cli.main(["experiments", "new", "second"]) == 0
    assert ex.current_name() == "second"
    capsys.readouterr()

    def refuse(path, text, **kw):
        raise PermissionError(errno.EROFS, "Read-only file system", str(path))

    with monkeypatch.context() as m:
        m.setattr(ex, "write_private_text", refuse)
        assert cli.main(["experiments", "select", "first"]) == 1
    out = capsys.readouterr()
    assert "current experiment: first" not in out.out
    assert "first could not be made the current experiment: " in out.err
    assert "current-experiment.json cannot be written" in out.err
    assert out.err.count("\n") == 1
    assert ex.current_name() == "second"

    # a reading command naming an experiment still works there, unremembered
    ex.set_current("first")  # writable again: fine
    assert ex.current_name() == "first"
