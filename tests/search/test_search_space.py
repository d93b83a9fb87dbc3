"""The search space round-trips exactly, rounds pow2 values and respects its bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwscale_tui.hardware import HardwarePair
from hwscale_tui.search.presets import builtin_preset, metta_preset
from hwscale_tui.search.space import Param, SearchSpace

SPACES = {
    "builtin_g1n1": builtin_preset(HardwarePair(1, 1)).space,
    "metta_g4n2": metta_preset(HardwarePair(4, 2)).space,
    "mixed": SearchSpace(
        (
            Param("p", "logit_normal", 0.001, 0.999, 0.5),
            Param("u", "uniform", -1e-3, 5e3, 0.0),
            Param("i", "int_uniform", 1, 100, 7),
        )
    ),
}


@pytest.mark.parametrize("name", sorted(SPACES))
def test_values_the_space_produces_round_trip_exactly(name):
    space = SPACES[name]
    rng = np.random.default_rng(0)
    for coords in rng.uniform(-1.2, 1.2, (3000, len(space))):
        values = space.unnormalize(coords)
        assert space.unnormalize(space.normalize(values)) == values


@pytest.mark.parametrize("name", sorted(SPACES))
def test_center_and_bounds_round_trip_exactly(name):
    space = SPACES[name]
    assert space.unnormalize(space.normalize(space.center())) == space.center()
    for p in space.params:
        assert p.round_trip_value(p.min) == p.min and p.round_trip_value(p.max) == p.max


def test_pow2_values_are_powers_of_two_within_bounds_and_coords_are_clipped():
    space = SPACES["metta_g4n2"]
    rng = np.random.default_rng(1)
    for coords in rng.uniform(-3, 3, (500, len(space))):
        values = space.unnormalize(coords)
        for p in space.params:
            v = values[p.key]
            assert p.min <= v <= p.max, (p.key, v)
            if p.distribution == "uniform_pow2":
                assert isinstance(v, int) and v == 2 ** round(math.log2(v))
    lowest = space.unnormalize([-5.0] * len(space))
    assert lowest == {p.key: p.min for p in space.params}
