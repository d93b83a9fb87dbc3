"""State location and the hardware grid."""

from __future__ import annotations

import os
import stat

from hwscale_tui.hardware import HardwarePair, pair_from_sweep_name, parse_pair, plan_grid
from hwscale_tui.paths import app_paths


def test_hwscale_home_holds_all_four_dirs_created_0700(tmp_path):
    p = app_paths({"HWSCALE_HOME": str(tmp_path / "hh")})
    assert [d.name for d in (p.config, p.data, p.state, p.logs)] == [
        "config",
        "data",
        "state",
        "logs",
    ]
    assert all(d.parent == tmp_path / "hh" for d in (p.config, p.data, p.state, p.logs))
    assert not p.config.exists()  # nothing until first use
    p.ensure()
    for d in (p.config, p.data, p.state, p.logs, tmp_path / "hh"):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700


def test_platformdirs_locations_when_unset(tmp_path):
    p = app_paths({"HOME": str(tmp_path)})
    for d in (p.config, p.data, p.state, p.logs):
        assert "hwscale-tui" in str(d)
    assert p.store.name == "hwscale.sqlite" and p.store.parent == p.data


def test_grid_pairs_totals_names_and_skips():
    pairs, skipped = plan_grid([1, 2, 4, 8, 8], [1, 2], 8, exclude=["g2n2"])
    assert [p.tag for p in pairs] == ["g1n1", "g1n2", "g2n1", "g4n1", "g4n2", "g8n1", "g8n2"]
    assert [p.total_gpus for p in pairs] == [1, 2, 2, 4, 8, 8, 16]
    assert HardwarePair(4, 1).sweep_name("hardware_scaling") == "hardware_scaling.g4n1"
    assert [(s.gpus, s.nodes, s.reason) for s in skipped] == [
        (2, 2, "switched off in grid.exclude")
    ]
    _, skipped = plan_grid([1, 16], [1], 8)
    assert skipped[0].gpus == 16 and "more than max_gpus_per_node = 8" in skipped[0].reason
    # an experiment's [grid] section, as every command plans it
    from hwscale_tui.config import apply_overrides, default_config
    from hwscale_tui.hardware import plan_of

    grid = apply_overrides(
        default_config(env={}),
        {"grid.gpu_counts": [1, 2, 4, 8, 8], "grid.node_counts": [1, 2], "grid.exclude": ["g2n2"]},
    ).grid
    assert grid.max_gpus_per_node == 8
    assert plan_of(grid) == plan_grid([1, 2, 4, 8, 8], [1, 2], 8, exclude=["g2n2"])


def test_pair_parsing():
    assert parse_pair("g4n2") == HardwarePair(4, 2)
    assert parse_pair("4x2") == HardwarePair(4, 2)
    assert parse_pair("hardware_scaling.g8n1") == HardwarePair(8, 1)
    assert pair_from_sweep_name("my.sweep.g2n2") == HardwarePair(2, 2)
    assert pair_from_sweep_name("no-hardware") is None


def test_experiment_doc_matches_the_schema():
    import importlib.util

    from tests.support.cli import REPO

    spec = importlib.util.spec_from_file_location(
        "gen_doc", REPO / "scripts" / "gen_experiment_doc.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (REPO / "docs" / "experiment.md").read_text() == mod.render(), (
        "run scripts/gen_experiment_doc.py"
    )
