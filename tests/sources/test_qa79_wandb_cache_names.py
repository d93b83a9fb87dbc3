"""QA 79: the learning curve of a run whose id quotes to a file name too long to create.

The cache file is ``<quoted run id>--<quoted metric>.json``; a non-ASCII run id quotes to 9
bytes per CJK character, so a run id of 40 of them made a name past 255 bytes: writing it failed
("File name too long", logged as if the whole cache could not be written) and every new process
(each ``trials --history``, ``analyze``, app start) fetched that run's curve again."""

from __future__ import annotations

from hwscale_tui import config as cfgmod
from hwscale_tui.sources import SourceSettings, make_source
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, make_run


def test_a_long_non_ascii_run_id_is_cached_like_any_other(tmp_path, monkeypatch):
    long_id = make_run("hardware_scaling.g1n1", 1, history_points=12)
    long_id.name = "実験" * 20 + "_trial_0001"
    short_id = make_run("hardware_scaling.g1n1", 2, history_points=12)
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta"),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [1], "grid.node_counts": [1]},
    )
    settings = SourceSettings(retry_sleep_s=0.01, stale_after_s=1e9)
    with WandbLoopback([long_id, short_id]) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)

        def curves():  # a new process: a new source on the same cache directory
            src = make_source(cfg, "wandb", settings=settings, cache_dir=tmp_path / "cache")
            ids = [t.run_id for t in src.poll().trials]
            server.reset_counts()
            return src, src.histories(ids)

        first, got = curves()
        assert server.counts["RunSampledHistory"] == 2 and len(got[long_id.name]) == 12
        assert first._cache.write_error is None
        _, again = curves()
        assert server.counts["RunSampledHistory"] == 0  # both curves came from the disk
        assert again == got
        assert len(list((tmp_path / "cache").rglob("*.json"))) == 2
