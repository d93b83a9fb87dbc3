"""With transfer the learning rate is lined up with the batch (``context.scaling_shear``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from hwscale_tui.errors import UsageError
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.search.context import Sheared, scaling_shear, signal_part, with_shear
from hwscale_tui.search.presets import PROTEIN_SETTINGS, builtin_preset, metta_preset
from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.space import Param, SearchSpace
from tests.search.test_search_transfer import space

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_the_shear_is_the_linear_scaling_rule_in_this_spaces_units():
    shear = scaling_shear(space(8).params)  # lr over 4 decades, batch over 3 doublings
    assert shear is not None
    expected = np.zeros((3, 3))
    expected[0, 1] = math.log10(8) / 4  # one decade of batch moves the learning rate one decade
    np.testing.assert_allclose(shear, expected)


@pytest.mark.parametrize(
    "preset", [builtin_preset(HardwarePair(4, 1)), metta_preset(HardwarePair(4, 1))]
)
def test_the_presets_spaces_get_one_learning_rate_batch_entry(preset):
    keys = preset.space.keys
    shear = scaling_shear(preset.space.params)
    assert shear is not None
    (row,), (col,) = np.nonzero(shear)
    assert keys[row].endswith("learning_rate") and keys[col].endswith("batch_size")
    assert shear[row, col] > 0


@pytest.mark.parametrize("exponent", [0.5, 2.0])
def test_the_rules_exponent_scales_the_shear_and_0_removes_it(exponent):
    linear = scaling_shear(space(8).params)
    assert linear is not None
    np.testing.assert_allclose(scaling_shear(space(8).params, exponent), exponent * linear)
    assert scaling_shear(space(8).params, 0.0) is None


@pytest.mark.parametrize("bad", [-0.5, 2.5, float("nan"), "one"])
def test_an_exponent_outside_0_to_2_is_refused_with_what_is_accepted(bad):
    with pytest.raises(UsageError, match="lr_batch_exponent must be a number"):
        ProteinOptimizer(space(8), settings={**PROTEIN_SETTINGS, "lr_batch_exponent": bad})


def test_without_a_learning_rate_or_a_batch_there_is_no_shear():
    clip = Param("clip", "uniform", 0.05, 0.5, 0.2)
    batch = Param("batch", "uniform_pow2", 512, 4096, 1024)
    linear_lr = Param("lr", "uniform", 0.001, 0.1, 0.01)  # not on a log scale
    assert scaling_shear((clip, batch)) is None
    assert scaling_shear((linear_lr, batch, clip)) is None
    assert scaling_shear((Param("eta", "log_normal", 1e-5, 1e-1, 1e-3), batch)) is None


def ridge(x: np.ndarray) -> np.ndarray:
    return np.sin(3.0 * (x[:, 0] - 0.5 * x[:, 1]))


def test_a_sheared_kernel_is_its_kernel_on_sheared_inputs_and_fits_a_ridge_better():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (30, 3))
    shear = np.zeros((3, 3))
    shear[0, 1] = 0.5
    base = ConstantKernel(1.0) * Matern(np.ones(3), nu=1.5) + WhiteKernel(1e-2)
    sheared = with_shear(base, shear)
    moved = x.copy()
    moved[:, 0] -= 0.5 * x[:, 1]
    np.testing.assert_allclose(sheared(x), base(moved))
    np.testing.assert_allclose(sheared.diag(x), base.diag(moved))
    assert isinstance(sheared.k1, Sheared) and signal_part(sheared) is sheared.k1.kernel
    assert clone(sheared) == sheared and with_shear(base, np.zeros((3, 3))) is base
    # the hyperparameters are the wrapped kernel's, renamed as scikit-learn's wrappers do
    assert "k1__kernel__k2__length_scale" in [h.name for h in sheared.hyperparameters]
    fits = [GaussianProcessRegressor(k, random_state=0).fit(x, ridge(x)) for k in (sheared, base)]
    assert fits[0].log_marginal_likelihood_value_ > fits[1].log_marginal_likelihood_value_ + 10


def follows_the_batch(p: dict, gpus: int) -> float:
    """Best batch 1024 per GPU, best learning rate 10**-3 at batch 1024 and in proportion to it."""
    lb = math.log2(p["batch"])
    best_llr = -3.0 + math.log10(2) * (lb - 10.0)
    return (
        -(((math.log10(p["lr"]) - best_llr) / 0.3) ** 2) - ((lb - 10 - math.log2(gpus)) / 1.5) ** 2
    )


def first_suggestion_error(lr_key: str, exponent: float = 1.0) -> float:
    """How far (decades) the 8-GPU pair's first suggestion's learning rate is from the best one
    at its batch, after 8 results from each of the 1-, 2- and 4-GPU pairs."""
    settings = {**PROTEIN_SETTINGS, "lr_batch_exponent": exponent}

    def pair_space(g: int) -> SearchSpace:
        return SearchSpace(
            (
                Param(lr_key, "log_normal", 1e-5, 1e-1, 1e-3),
                Param("batch", "uniform_pow2", 512 * g, 4096 * g, 1024 * g),
            ),
            settings,
        )

    opt = ProteinOptimizer(pair_space(8), seed=0)
    rng = np.random.default_rng(3)
    for g in (1, 2, 4):
        sp = pair_space(g)
        for _ in range(8):
            p = sp.unnormalize(rng.uniform(-1, 1, 2))
            score = follows_the_batch({"lr": p[lr_key], "batch": p["batch"]}, g)
            opt.observe(p, score, 60.0, context={"total_gpus": g}, space=sp)
    s = opt.suggest(1, context={"total_gpus": 8})[0]
    if lr_key == "lr" and exponent:
        slope = exponent * 0.2258
        assert opt.last_info[0]["transfer"]["shear"] == {"lr": {"batch": pytest.approx(slope)}}
    else:
        assert "shear" not in opt.last_info[0]["transfer"]
    best_llr = -3.0 + math.log10(2) * (math.log2(s["batch"]) - 10.0)
    return abs(math.log10(s[lr_key]) - best_llr)


def test_a_learning_rate_that_follows_the_batch_is_found_from_the_other_pairs_results():
    # the same landscape and results; only the name says "learning rate" ("eta": no shear)
    lined_up, unaligned = first_suggestion_error("lr"), first_suggestion_error("eta")
    assert lined_up < 0.25 and lined_up < unaligned, (lined_up, unaligned)


def test_exponent_0_unlinks_the_learning_rate_as_if_it_had_another_name():
    # the same results and seed: with no link the learning rate is searched as "eta" is
    assert first_suggestion_error("lr", exponent=0.0) == pytest.approx(
        first_suggestion_error("eta"), abs=1e-9
    )
