"""QA 89: the USL chosen on 3 sizes says its shape was not tested.

On a real local store of 3 sizes (1, 2 and 4 ranks, 6 trials each), `analyze` said "chosen USL
(AICc lower by 5.4)". The USL has 3 parameters for the mean throughput and there were 3
sizes: it can follow each size's throughput, so a lower AICc says that Amdahl's law misses
them, not that the USL's shape holds (any 3-parameter curve would do as well); a fourth size
tests it. The choice stands; the reason and the USL's note say so.
"""

from __future__ import annotations

import numpy as np

from hwscale_tui.analysis import fit_usl, select_throughput_model
from hwscale_tui.analysis.fits import ThroughputSelection, USLFit


def points(sizes: list[float], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = np.repeat(sizes, 6)
    x = 1000.0 * n / (1 + 0.05 * (n - 1) + 0.1 * n * (n - 1)) * np.exp(rng.normal(0, 0.05, n.size))
    return n, x


def test_three_sizes_say_the_usls_shape_is_untested() -> None:
    n, x = points([1.0, 2.0, 4.0])
    sel = select_throughput_model(n, x, n_boot=100, seed=1)
    assert isinstance(sel, ThroughputSelection) and sel.chosen == "usl"
    assert sel.reason.startswith("USL (AICc lower by ")
    assert "3 sizes" in sel.reason and "not tested" in sel.reason
    assert isinstance(sel.usl, USLFit) and "4 or more sizes" in sel.usl.note


def test_four_sizes_say_nothing_of_it() -> None:
    n, x = points([1.0, 2.0, 4.0, 8.0])
    sel = select_throughput_model(n, x, n_boot=100, seed=1)
    assert isinstance(sel, ThroughputSelection) and sel.chosen == "usl"
    assert sel.reason == f"USL (AICc lower by {sel.delta_aicc:.1f})"
    fit = fit_usl(n, x, n_boot=0)
    assert isinstance(fit, USLFit) and "sizes" not in fit.note
