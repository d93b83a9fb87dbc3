"""benchmarks/transfer_separable.py (issue 15's experiment): what its kernel and mixture promise.

Importing the module does not patch the optimizer (only its ``patch()`` does, which no test
calls); the full runs are in BENCHMARKS.md.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np

from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.surrogate import Surrogate
from tests.support.cli import REPO


def _module():
    spec = importlib.util.spec_from_file_location(
        "transfer_separable_bench", REPO / "benchmarks" / "transfer_separable.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


FLOORS = np.array([0.05, 0.05, 0.05, 0.05, 0.5])  # 4 parameters, then one context feature


def test_far_apart_pairs_correlate_through_the_shared_parameters_only():
    bench = _module()
    kernel = bench.separable_kernel(FLOORS, 4, 1, (2, 3)).k1  # without the noise term
    here = np.array([[0.1, -0.2, 0.3, -0.4, 0.0]])
    there = np.array([[0.1, -0.2, 0.3, -0.4, 40.0]])  # 40 doublings away: the private part is 0
    base = float(kernel(here, there)[0, 0])
    moved_private = there.copy()
    moved_private[0, 2:4] = [-0.9, 0.9]
    moved_shared = there.copy()
    moved_shared[0, 0] = 0.9
    assert base > 0.1
    # (an ignored input has length scale 1e5: a change of 1 moves the covariance by 1e-10)
    assert abs(float(kernel(here, moved_private)[0, 0]) - base) < 1e-8
    assert float(kernel(here, moved_shared)[0, 0]) < 0.5 * base
    # within one pair the private parameters matter
    near = here.copy()
    near[0, 3] = 0.9
    assert float(kernel(here, near)[0, 0]) < float(kernel(here, here)[0, 0]) - 0.1


def test_with_nothing_private_the_pairs_share_every_parameter():
    bench = _module()
    kernel = bench.separable_kernel(FLOORS, 4, 1, ()).k1
    here = np.zeros((1, 5))
    there = np.array([[0.0, 0.0, 0.9, 0.0, 40.0]])
    assert float(kernel(here, there)[0, 0]) < 0.5 * float(
        kernel(here, there * [1, 1, 0, 1, 1])[0, 0]
    )


def test_the_mixture_is_its_parts_weighted_mean_and_spread():
    bench = _module()
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, (8, 5)), rng.normal(size=8)
    a = Surrogate.condition(bench.separable_kernel(FLOORS, 4, 1, ()), x, y)
    b = Surrogate.condition(bench.separable_kernel(FLOORS, 4, 1, (0,)), x, y)
    at = rng.uniform(-1, 1, (5, 5))
    only_a = bench.Mixture([a, b], np.array([1.0, 0.0])).predict(at)
    np.testing.assert_allclose(only_a[0], a.predict(at)[0])
    np.testing.assert_allclose(only_a[1], a.predict(at)[1], rtol=1e-6, atol=1e-6)
    mean, sd = bench.Mixture([a, b], np.array([0.5, 0.5])).predict(at)
    (ma, sa), (mb, sb) = a.predict(at), b.predict(at)
    np.testing.assert_allclose(mean, (ma + mb) / 2)
    # the spread includes the parts' disagreement
    np.testing.assert_allclose(sd**2, (sa**2 + ma**2 + sb**2 + mb**2) / 2 - mean**2, rtol=1e-6)


def test_importing_it_leaves_the_optimizer_alone():
    before = (ProteinOptimizer._shift, ProteinOptimizer._kernel, ProteinOptimizer._models)
    _module()
    assert (ProteinOptimizer._shift, ProteinOptimizer._kernel, ProteinOptimizer._models) == before
