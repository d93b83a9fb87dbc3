"""QA 85: the local source polled while the store changes under it (the app's trials screen
open meanwhile).

The source kept its connection to the store file it first opened: once that file was replaced
(``hwscale-tui doctor --repair`` rebuilds the store and renames the new one over it; a store
removed and made again), every later poll read the old file, so the trials screen showed the
old trials as "updated 0 s ago" and never the trials written since. It now reopens the store
when the file at its path is another one, and a store removed shows no trials."""

from __future__ import annotations

import os

from hwscale_tui import config as cfgmod
from hwscale_tui.paths import app_paths
from hwscale_tui.sources import make_source
from hwscale_tui.store import Store

SWEEP = "hardware_scaling.g1n1"


def config():
    return cfgmod.apply_overrides(
        cfgmod.default_config(), {"grid.gpu_counts": [1], "grid.node_counts": [1]}
    )


def add(store: Store, i: int, **fields) -> str:
    run_id = f"{SWEEP}_trial_{i:04d}_aaaaaa"
    store.insert_trial(run_id, SWEEP, idx=i, state="finished", score=0.1 * i, **fields)
    return run_id


def test_a_store_file_replaced_under_the_source_is_read_anew():
    path = app_paths().ensure().store
    with Store(path) as store:
        old = [add(store, i) for i in (1, 2)]
    src = make_source(config(), "local")
    assert [t.run_id for t in src.poll().trials] == old
    # what doctor --repair does: a new store next to it, renamed over it
    new_path = path.with_name("rebuilt.sqlite")
    with Store(new_path) as store:
        new = [add(store, i) for i in (1, 3)]
    os.replace(new_path, path)
    result = src.poll()
    assert [t.run_id for t in result.trials] == new
    assert new[1] in result.changed
    src.histories(new)
    assert src.history_error is None


def test_a_store_removed_under_the_source_shows_no_trials():
    path = app_paths().ensure().store
    with Store(path) as store:
        add(store, 1)
    src = make_source(config(), "local")
    assert len(src.poll().trials) == 1
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    assert src.poll().trials == []


def test_trials_deleted_from_the_store_leave_a_polling_source():
    """``hwscale-tui experiments delete NAME --yes`` while the app showed its trials: later polls read
    only rows updated since the last one, so the deleted trials stayed on the trials screen for
    as long as it was open (and next to the new ones of an experiment made again under the
    name). Every ``local_full_read_s`` (60 s) a poll now reads every row, and those gone leave."""
    from hwscale_tui.sources import SourceSettings

    path = app_paths().ensure().store
    t0 = 1_750_000_000.0
    with Store(path) as store:
        ids = [add(store, i, experiment="hardware_scaling", updated_at=t0) for i in (1, 2, 3)]
    clock = [t0 + 100]
    src = make_source(config(), "local", clock=lambda: clock[0], settings=SourceSettings())
    assert [t.run_id for t in src.poll().trials] == ids
    with Store(path) as store:
        store.conn.execute("DELETE FROM trials WHERE run_id = ?", (ids[1],))
        store.conn.commit()
    clock[0] = t0 + 100 + SourceSettings().local_full_read_s
    result = src.poll()
    assert [t.run_id for t in result.trials] == [ids[0], ids[2]]
    assert result.changed == set() and result.requests == 1
    with Store(path) as store:
        assert store.delete_experiment("hardware_scaling") == 2
    clock[0] += SourceSettings().local_full_read_s
    assert src.poll().trials == []
