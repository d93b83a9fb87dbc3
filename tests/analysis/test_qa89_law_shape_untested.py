"""QA 89: a law fitted on no more sizes than it has parameters says its shape is not tested.

A power law (2 parameters) fitted on 3 configs of 2 sizes (g1n1, g2n1 and g1n2: 1, 2 and 2
GPUs) reported "y = a * GPUs^b; b [lo, hi]" with only "1 residual degree of freedom: the
interval is wide": the exponent is set by the two sizes' values, the residual is only the
spread between g2n1 and g1n2, and any 2-parameter curve would pass as well. Amdahl's law on 2
sizes likewise. The fit stands; its note says the shape is not tested (that takes one size
more than the law's parameters), as the USL's does on 3 sizes.
"""

from __future__ import annotations

from hwscale_tui.analysis import fit_amdahl, fit_power_law, fit_usl
from hwscale_tui.analysis.fits import AmdahlFit, PowerLawFit, USLFit


def test_a_power_law_on_two_sizes_says_its_shape_is_not_tested() -> None:
    fit = fit_power_law([1, 2, 2], [1.0e6, 6.0e5, 5.0e5], n_boot=200)
    assert isinstance(fit, PowerLawFit)
    assert "2 sizes for the 2 parameters of the power law" in fit.note
    assert "not tested (that takes 3 or more sizes)" in fit.note


def test_a_power_law_on_three_sizes_says_nothing_of_it() -> None:
    fit = fit_power_law([1, 2, 4], [1.0e6, 6.0e5, 2.6e5], n_boot=200)
    assert isinstance(fit, PowerLawFit) and "not tested" not in fit.note


def test_amdahl_on_two_sizes_says_its_shape_is_not_tested() -> None:
    fit = fit_amdahl([1, 1, 2, 2], [100.0, 104.0, 180.0, 186.0], n_boot=200)
    assert isinstance(fit, AmdahlFit)
    assert "2 sizes for the 2 parameters of Amdahl's law" in fit.note
    three = fit_amdahl([1, 2, 4], [100.0, 180.0, 300.0], n_boot=200)
    assert isinstance(three, AmdahlFit) and "not tested" not in three.note


def test_the_usl_on_three_sizes_says_it_in_the_same_words() -> None:
    fit = fit_usl([1, 1, 2, 2, 4, 4], [100.0, 104.0, 180.0, 186.0, 250.0, 262.0], n_boot=0)
    assert isinstance(fit, USLFit)
    assert "3 sizes for the 3 parameters of the USL" in fit.note
    assert "not tested (that takes 4 or more sizes)" in fit.note
