"""Default settings solve CartPole-v1: mean return 475 (last 20 episodes) within the step budget, 4 of 5 seeds.

The issue allows at most 200k steps; this test gives each seed 120k (stricter, and it keeps the
test short). Measured on seeds 0-7 at the defaults: 475 first reached after 53k-94k steps.
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from hwscale_tui.train import parse_overrides, run_training

pytestmark = pytest.mark.slow

TARGET = 475.0
BUDGET = 120_000  # <= the 200k the issue allows
SEEDS = (0, 1, 2, 3, 4)


def steps_to_target(metrics_file) -> int | None:
    """Agent steps at the first update whose score (mean of the last 20 episodes) reached the target."""
    for line in metrics_file.read_text().splitlines():
        row = json.loads(line)
        if row.get("final"):
            break
        if row["score"] is not None and row["score"] >= TARGET:
            return row["metric/agent_step"]
    return None


def _solve(seed: int) -> tuple[str, int, int | None]:
    """One seed at the defaults, full budget, no early stop (in its own process)."""
    cfg = parse_overrides(
        [f"run=cartpole_s{seed}", f"seed={seed}", f"trainer.total_timesteps={BUDGET}"]
    )
    result = run_training(cfg)
    return result.state, result.agent_steps, steps_to_target(result.metrics_file)


def test_defaults_solve_cartpole_on_at_least_4_of_5_seeds():
    # one rank per seed, two seeds at a time (this machine's 2 cores): the seeds are independent
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = dict(zip(SEEDS, pool.map(_solve, SEEDS), strict=True))
    for state, steps, _ in results.values():
        assert state == "finished" and steps >= BUDGET
    reached = {seed: r[2] for seed, r in results.items()}
    solved = [s for s, steps in reached.items() if steps is not None and steps <= BUDGET]
    assert len(solved) >= 4, f"steps to {TARGET} per seed: {reached}"
