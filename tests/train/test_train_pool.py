"""The coordinator's pooling: score over the last 20 episodes of all ranks, one line per update."""

from __future__ import annotations

import pytest

from hwscale_tui.train import parse_overrides
from hwscale_tui.train.runner import _Pool

STATS = [0.1, 2.0, 0.6, 0.01, 0.05]


def test_score_pools_the_last_20_episodes_of_all_ranks():
    cfg = parse_overrides(["hardware.gpus=2"], env={})
    pool = _Pool(cfg, t0=0.0)
    pool.add(0, (0, [10.0] * 15, STATS, "h"))
    assert list(pool.ready_lines()) == []  # rank 1 has not reported update 0 yet
    pool.add(1, (0, [30.0] * 10, STATS, "h"))
    (line,) = pool.ready_lines()
    # the newest 20 of [rank 0: 15 x 10.0, rank 1: 10 x 30.0] are 10 x 10.0 and 10 x 30.0
    assert line["score"] == pytest.approx((10 * 10.0 + 10 * 30.0) / 20)
    assert line["overview/reward"] == pytest.approx((15 * 10.0 + 10 * 30.0) / 25)
    assert line["metric/agent_step"] == cfg.batch_size and line["losses/value_loss"] == 2.0
    assert pool.in_sync


def test_an_update_without_episodes_keeps_the_score_and_has_no_reward():
    cfg = parse_overrides([], env={})
    pool = _Pool(cfg, t0=0.0)
    pool.add(0, (0, [], STATS, "a"))
    (line,) = pool.ready_lines()
    assert line["score"] is None and line["overview/reward"] is None
    pool.add(0, (1, [7.0, 9.0], STATS, "b"))
    pool.add(0, (2, [], STATS, "c"))
    lines = list(pool.ready_lines())
    assert [ln["score"] for ln in lines] == [8.0, 8.0] and lines[1]["overview/reward"] is None
    assert [ln["metric/agent_step"] for ln in lines] == [2 * cfg.batch_size, 3 * cfg.batch_size]


def test_differing_parameter_hashes_are_caught():
    pool = _Pool(parse_overrides(["hardware.gpus=2"], env={}), t0=0.0)
    pool.add(0, (0, [], STATS, "same"))
    pool.add(1, (0, [], STATS, "same"))
    list(pool.ready_lines())
    assert pool.in_sync
    pool.add(0, (1, [], STATS, "aaaa"))
    pool.add(1, (1, [], STATS, "bbbb"))
    list(pool.ready_lines())
    assert not pool.in_sync and pool.last_hashes == ["aaaa", "bbbb"]
