"""``plan --save FILE`` on a store that cannot take the save (locked past the wait, read-only)
says the file was saved before the store's error (helper 73's QA pass): it printed the store's
sentence alone, exit 1, while FILE was written -- read as if nothing had been saved."""

from __future__ import annotations

from hwscale_tui.cli import main
from hwscale_tui.errors import StoreError
from hwscale_tui.launch import experiments


def test_the_saved_line_comes_before_the_store_error(tmp_path, capsys, monkeypatch):
    def locked(*_a, **_k):
        raise StoreError("the store X: another process holds its lock; retry in a moment.")

    monkeypatch.setattr(experiments, "remember", locked)
    out = tmp_path / "exp.toml"
    assert main(["plan", "--save", str(out), "--json"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"saved {out}",
        "hwscale-tui: error: the store X: another process holds its lock; retry in a moment.",
    ]
    assert out.is_file()
