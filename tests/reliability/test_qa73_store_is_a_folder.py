"""A folder where the store file should be (helper 73's QA pass): every command said 'reading
or writing it failed (disk I/O error); check the disk and free space, then run hwscale-tui
doctor', doctor offered --repair ('backs it up and rebuilds it from every readable row'), and
--repair then failed, exit 1, '...hwscale.sqlite: Is a directory; check that the path exists'.
Now the sentence says what it is, and doctor names it without offering a repair."""

from __future__ import annotations

import json

from hwscale_tui.cli import main
from hwscale_tui.paths import app_paths


def test_a_folder_as_the_store_is_named_as_such(capsys):
    store = app_paths().store
    store.mkdir(parents=True)
    assert main(["trials"]) == 1
    assert capsys.readouterr().err == (
        f"hwscale-tui: error: the store {store}: it is a folder, not the store file; move that "
        "folder away (a new store is made in its place on the next write).\n"
    )
    assert main(["doctor", "--repair", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    findings = out["findings"] if isinstance(out, dict) else out
    found = [f for f in findings if f.get("check") == "store"]
    assert len(found) == 1 and not found[0]["ok"], found
    assert (
        "is not a file" in found[0]["detail"]
        and "--repair leaves it as it is" in found[0]["detail"]
    )
    assert store.is_dir() and not (store.parent / "backups").exists()
