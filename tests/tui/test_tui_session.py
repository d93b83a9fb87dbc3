"""The grid editor's rules without a terminal: edits, validation messages, saving."""

from __future__ import annotations

import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import ConfigError
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.tui.session import ExperimentSession, equivalent_command, parse_field_text
from tests.support.cli import hwscale_cmd


def session_at(tmp_path, **kw) -> ExperimentSession:
    return ExperimentSession(cfgmod.default_config(env={}), tmp_path / "exp.toml", **kw)


def test_toggle_writes_grid_exclude_and_back(tmp_path):
    s = session_at(tmp_path)
    assert s.toggle_pair(HardwarePair(2, 1)) is False
    assert s.cfg.grid.exclude == ["g2n1"] and s.dirty
    cells = {c.pair.tag: c for row in s.grid_cells() for c in row}
    assert cells["g2n1"].state == "off" and cells["g2n2"].state == "on"
    assert s.toggle_pair(HardwarePair(2, 1)) is True
    assert s.cfg.grid.exclude == [] and not s.dirty  # toggled back: the file as it was


def test_add_and_remove_counts_keep_sorted_and_prune_exclude(tmp_path):
    s = session_at(tmp_path)
    s.add_count("nodes", 4)
    assert s.cfg.grid.node_counts == [1, 2, 4]
    s.toggle_pair(HardwarePair(8, 4))
    s.remove_count("nodes", 4)
    assert s.cfg.grid.node_counts == [1, 2] and s.cfg.grid.exclude == []
    with pytest.raises(ConfigError, match="more than max_gpus_per_node = 8"):
        s.add_count("gpus", 16)
    assert s.cfg.grid.gpu_counts == [1, 2, 4, 8]


def test_invalid_pairs_show_with_reason_and_cannot_be_toggled(tmp_path):
    s = session_at(tmp_path)
    s.add_count("gpus", 8)  # already there: no edit, so gpu_counts keep following the defaults
    assert not s.dirty
    s.set_field("grid.max_gpus_per_node", "4")
    cells = {c.pair.tag: c for row in s.grid_cells() for c in row}
    assert cells["g8n1"].state == "invalid" and "max_gpus_per_node = 4" in cells["g8n1"].reason
    with pytest.raises(ConfigError, match="not a valid pair"):
        s.toggle_pair(HardwarePair(8, 1))


def test_form_error_is_the_cli_message_for_the_same_file(tmp_path):
    """What the form says about a bad value is what `hwscale-tui plan` says about that file."""
    s = session_at(tmp_path)
    s.save()
    with pytest.raises(ConfigError) as form_error:
        s.set_field("sweep.max_trials", "0")
    text = s.path.read_text().replace("max_trials = 8", "max_trials = 0")
    s.path.write_text(text)
    cli = subprocess.run(
        hwscale_cmd("plan", "--experiment", str(s.path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"hwscale-tui: error: {form_error.value}"


def test_unparseable_text_is_rejected_like_a_string_in_the_file(tmp_path):
    s = session_at(tmp_path)
    assert parse_field_text("sweep.max_trials", "ten") == "ten"
    with pytest.raises(ConfigError, match=r"sweep\.max_trials: got 'ten'"):
        s.set_field("sweep.max_trials", "ten")
    assert s.cfg.sweep.max_trials == 8


def test_optional_fields_unset_with_empty_text(tmp_path):
    s = session_at(tmp_path)
    s.set_field("cost.price_per_gpu_hour", "2.5")
    assert s.cfg.price_per_gpu_hour == 2.5
    s.set_field("cost.price_per_gpu_hour", "")
    assert s.cfg.cost.price_per_gpu_hour is None and s.cfg.price_per_gpu_hour == 6.88


def test_save_round_trips_and_read_only_refuses(tmp_path):
    s = session_at(tmp_path)
    s.toggle_pair(HardwarePair(1, 2))
    s.set_field("launch.delay_s", "5")
    saved = s.save()
    again = cfgmod.load(saved)
    assert again.grid.exclude == ["g1n2"] and again.launch.delay_s == 5.0 and not s.dirty
    ro = ExperimentSession(again, saved, read_only=True)
    with pytest.raises(ConfigError, match="read-only"):
        ro.save()


def test_equivalent_command_matches_the_plan(tmp_path):
    s = session_at(tmp_path)
    pp = s.plan().pairs[0]
    cmd = equivalent_command(pp)
    assert cmd.endswith(
        "hwscale-tui sweep --experiment " + str(s.plan().experiment_file) + " --gpus 1 --nodes 1"
    )
    assert "WANDB_MODE=disabled" in cmd


def test_source_cache_reuses_a_source_per_kind_until_its_config_changes(tmp_path):
    from hwscale_tui.tui.source_cache import SourceCache

    class Sources:
        def __init__(self):
            self.made = []

        def make_source(self, cfg, kind):
            self.made.append(kind)
            return object()

    sources, cache, session = Sources(), SourceCache(), session_at(tmp_path)
    first, fresh = cache.get(sources, session.cfg, "local")
    assert fresh and cache.get(sources, session.cfg, "local") == (first, False)
    session.set_field("cost.price_per_gpu_hour", "3")  # not read by a source: kept
    assert cache.get(sources, session.cfg, "local") == (first, False)
    wandb_src, fresh = cache.get(sources, session.cfg, "wandb")
    assert fresh and wandb_src is not first
    session.toggle_pair(HardwarePair(1, 1))  # other sweeps: made again
    again, fresh = cache.get(sources, session.cfg, "local")
    assert fresh and again is not first
    assert cache.get(sources, session.cfg, "wandb")[1] and sources.made == [
        "local",
        "wandb",
        "local",
        "wandb",
    ]
