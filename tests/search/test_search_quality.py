"""Optimizer quality in CI: on seeded problems the optimizer must beat seeded random search by a
clear margin. This fails when the acquisition ranking is replaced by a random order (checked by
``test_a_random_ranking_fails_the_same_check``, which does exactly that with monkeypatch).

Small on purpose (a few seeds of 16 trials); the full comparison with Optuna's samplers is
``benchmarks/optimizer.py`` and BENCHMARKS.md.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from hwscale_tui.search import protein
from hwscale_tui.search.presets import PROTEIN_SETTINGS
from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.space import Param, SearchSpace

TRIALS = 16
SEEDS = (0, 1, 2)
# ours must reach at most this fraction of random search's median regret, on every problem
MARGIN = 0.25  # measured: ours 0.025-0.09, random ranking 0.49-1.0


@dataclass(frozen=True)
class Case:
    name: str
    space: SearchSpace
    value: Callable[[dict[str, Any]], float]  # maximized; optimum 0
    cost: Callable[[dict[str, Any]], float]


def _shifted_bowl(p: dict[str, Any]) -> float:
    """4-d, optimum 0 at (0.62, -0.35, 0.2, -0.7): off the center, one flat-ish direction."""
    target = (0.62, -0.35, 0.2, -0.7)
    widths = (0.5, 0.5, 0.8, 1.5)
    return -sum(((p[f"x{i}"] - t) / w) ** 2 for i, (t, w) in enumerate(zip(target, widths)))


def _log_lr(p: dict[str, Any]) -> float:
    """3-d mixed: a log-scale learning rate, a power-of-two batch, an integer epoch count."""
    llr = math.log10(p["lr"])
    lb = math.log2(p["batch"])
    best_llr = -3.6 + 0.2 * (lb - 6)
    return -(((llr - best_llr) / 0.5) ** 2) - ((lb - 8) / 2.0) ** 2 - ((p["epochs"] - 3) / 3.0) ** 2


CASES = (
    Case(
        "shifted_bowl",
        SearchSpace(
            tuple(Param(f"x{i}", "uniform", -1.0, 1.0, 0.0) for i in range(4)), PROTEIN_SETTINGS
        ),
        _shifted_bowl,
        lambda p: 60.0,
    ),
    Case(
        "log_lr",
        SearchSpace(
            (
                Param("lr", "log_normal", 1e-5, 1e-1, 1e-3),
                Param("batch", "uniform_pow2", 16, 1024, 128),
                Param("epochs", "int_uniform", 1, 10, 5),
            ),
            PROTEIN_SETTINGS,
        ),
        _log_lr,
        lambda p: 10.0 * p["batch"] ** 0.5 * p["epochs"],
    ),
)


def _ours(case: Case, seed: int) -> float:
    opt = ProteinOptimizer(case.space, seed=seed)
    best = -math.inf
    for _ in range(TRIALS):
        p = opt.suggest()[0]
        v = case.value(p)
        opt.observe(p, v, case.cost(p))
        best = max(best, v)
    return -best


def _random(case: Case, seed: int) -> float:
    rng = np.random.default_rng(seed)
    points = [case.space.center()] + [
        case.space.unnormalize(rng.uniform(-1, 1, len(case.space))) for _ in range(TRIALS - 1)
    ]
    return -max(case.value(p) for p in points)


def _regrets(case: Case) -> tuple[float, float]:
    ours = statistics.median(_ours(case, s) for s in SEEDS)
    rand = statistics.median(_random(case, s) for s in SEEDS)
    return ours, rand


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_optimizer_beats_random_search_by_a_clear_margin(case):
    ours, rand = _regrets(case)
    assert rand > 0
    assert ours <= MARGIN * rand, f"median regret ours {ours:.4g} vs random {rand:.4g}"


def test_a_random_ranking_fails_the_same_check(monkeypatch):
    """The check above has teeth: rank the candidates at random and it no longer passes."""

    def random_ranking(mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0):
        return np.random.default_rng(len(mean) + int(1e6 * abs(float(best)))).random(len(mean))

    monkeypatch.setattr(protein, "log_expected_improvement", random_ranking)
    for case in CASES:
        ours, rand = _regrets(case)
        assert ours > MARGIN * rand, (
            f"{case.name}: random ranking still passes ({ours:.4g} vs {rand:.4g})"
        )
