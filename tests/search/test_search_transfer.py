"""The optimizer's hardware context: observations of other pairs inform this pair's suggestions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwscale_tui.errors import UsageError
from hwscale_tui.search.presets import PROTEIN_SETTINGS
from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.space import Param, SearchSpace


def space(gpus: int) -> SearchSpace:
    """A pair's space: its batch bounds scale with the GPUs, as the presets' do."""
    return SearchSpace(
        (
            Param("lr", "log_normal", 1e-5, 1e-1, 1e-3),
            Param("batch", "uniform_pow2", 512 * gpus, 4096 * gpus, 1024 * gpus),
            Param("clip", "uniform", 0.05, 0.5, 0.2),
        ),
        PROTEIN_SETTINGS,
    )


def score(p: dict) -> float:
    """The same surface for every pair (no shift): best lr 10**-2.2, clip 0.4, batch 4096."""
    return -(
        ((math.log10(p["lr"]) + 2.2) / 0.5) ** 2
        + ((p["clip"] - 0.4) / 0.1) ** 2
        + ((math.log2(p["batch"]) - 12) / 2) ** 2
    )


def other_pair_results(n: int, seed: int = 0) -> list[dict]:
    """A 1-GPU sweep's trials, run by its own optimizer."""
    opt = ProteinOptimizer(space(1), seed=seed)
    out = []
    for _ in range(n):
        p = opt.suggest()[0]
        opt.observe(p, score(p), 60.0)
        out.append(p)
    return out


def test_without_other_contexts_a_context_changes_nothing():
    plain = ProteinOptimizer(space(2), seed=3)
    with_ctx = ProteinOptimizer(space(2), seed=3)
    for opt, ctx in ((plain, None), (with_ctx, {"total_gpus": 2})):
        for _ in range(5):
            p = opt.suggest(context=ctx)[0]
            opt.observe(p, score(p), 60.0, context=ctx)
    assert plain.suggest(2) == with_ctx.suggest(2, context={"total_gpus": 2})
    assert "transfer" not in with_ctx.last_info[0]


def test_other_pairs_results_decide_the_first_suggestion_and_last_info_says_so():
    donor = other_pair_results(15)
    opt = ProteinOptimizer(space(2), seed=0)
    for p in donor:
        opt.observe(p, score(p), 60.0, context={"total_gpus": 1})
    first = opt.suggest(1, context={"total_gpus": 2})[0]
    info = opt.last_info[0]
    assert info["how"] == "gp"  # not the search center
    assert info["transfer"]["own"] == 0 and info["transfer"]["other"] == 15
    assert info["transfer"]["other_contexts"] == 1
    assert set(info["transfer"]["context_length_scales"]) == {"total_gpus"}
    center = space(2).center()
    assert score(first) > score(center) + 1.0
    # an independent sweep's first suggestion is the center
    assert ProteinOptimizer(space(2), seed=0).suggest()[0] == center


def test_observations_outside_this_pairs_bounds_are_used_in_absolute_units():
    # the 8-GPU pair measured batch 32768, far above this pair's 4096 * 2 bound: a bad result
    opt = ProteinOptimizer(space(2), seed=0)
    far = {"lr": 10**-2.2, "batch": 32768, "clip": 0.4}
    opt.observe(far, score(far), 60.0, context={"total_gpus": 8})
    near = {"lr": 10**-2.2, "batch": 4096, "clip": 0.4}
    opt.observe(near, score(near), 60.0, context={"total_gpus": 2})
    opt.suggest(1, context={"total_gpus": 2})
    x = opt._models().score_data.x
    assert x[0, 1] > 1.0  # batch 32768 lies beyond the +1 edge of this pair's coordinates
    assert x[0, -1] == pytest.approx(2.0)  # log2(8 / 2): the context column
    assert x[1, -1] == 0.0


def test_transfer_finds_a_shared_optimum_in_fewer_trials():
    donor = other_pair_results(20, seed=1)

    def best_after(trials: int, transfer: bool, seed: int) -> float:
        opt = ProteinOptimizer(space(2), seed=seed)
        ctx = {"total_gpus": 2} if transfer else None
        if transfer:
            for p in donor:
                opt.observe(p, score(p), 60.0, context={"total_gpus": 1})
        best = -math.inf
        for _ in range(trials):
            p = opt.suggest(context=ctx)[0]
            opt.observe(p, score(p), 60.0, context=ctx)
            best = max(best, score(p))
        return best

    with_transfer = np.median([best_after(4, True, s) for s in range(3)])
    independent = np.median([best_after(4, False, s) for s in range(3)])
    assert with_transfer > independent + 0.5, (with_transfer, independent)


def test_suggestions_for_this_pair_avoid_only_its_own_measured_configurations():
    opt = ProteinOptimizer(space(1), seed=0)
    best = {"lr": 10**-2.2, "batch": 4096, "clip": 0.4}
    opt.observe(best, score(best), 60.0, context={"total_gpus": 2})
    suggestions = opt.suggest(4, context={"total_gpus": 1})
    assert all(p["batch"] <= 4096 for p in suggestions)
    assert len({tuple(p.values()) for p in suggestions}) == 4


@pytest.mark.parametrize(
    "context,fragment",
    [
        ({"total_gpus": 0}, "above 0"),
        ({"total_gpus": "eight"}, "above 0"),
        ({"total_gpus": True}, "above 0"),
        ({}, "at least one feature"),
    ],
)
def test_bad_contexts_are_usage_errors(context, fragment):
    opt = ProteinOptimizer(space(1))
    with pytest.raises(UsageError, match=fragment):
        opt.observe(space(1).center(), 1.0, 1.0, context=context)
    with pytest.raises(UsageError, match=fragment):
        opt.suggest(context=context)


def test_an_observation_lacking_a_feature_of_the_target_context_is_a_usage_error():
    opt = ProteinOptimizer(space(1))
    opt.observe(space(1).center(), 1.0, 1.0, context={"nodes": 2})
    with pytest.raises(UsageError, match="lacks 'total_gpus'"):
        opt.suggest(context={"total_gpus": 1})


def shifting_score(p: dict, gpus: int) -> float:
    """The optimum moves with the hardware: best batch 1024 per GPU, best lr +0.25 decades per
    doubling of the GPUs; clip 0.3 everywhere."""
    c = math.log2(gpus)
    return -(
        ((math.log10(p["lr"]) + 3.0 - 0.25 * c) / 0.5) ** 2
        + ((p["clip"] - 0.3) / 0.1) ** 2
        + ((math.log2(p["batch"]) - 10 - c) / 0.6) ** 2
    )


def random_results(gpus: int, n: int, seed: int, value=shifting_score) -> list[tuple[dict, float]]:
    rng = np.random.default_rng([seed, gpus])
    sp = space(gpus)
    return [(p, value(p, gpus)) for p in (sp.unnormalize(x) for x in rng.uniform(-1, 1, (n, 3)))]


def test_a_linear_shift_with_the_hardware_is_recovered_and_the_first_suggestion_follows_it():
    opt = ProteinOptimizer(space(8), seed=0)
    for g in (1, 2, 4):
        for p, y in random_results(g, 12, seed=0):
            opt.observe(p, y, 60.0, context={"total_gpus": g})
    first = opt.suggest(1, context={"total_gpus": 8})[0]
    shift = opt.last_info[0]["transfer"]["context_shift"]
    # fractions of the range per doubling: batch 1 of 3 doublings, lr 0.25 of 4 decades, clip 0
    assert shift["batch"]["total_gpus"] == pytest.approx(1 / 3, abs=0.05)
    assert shift["lr"]["total_gpus"] == pytest.approx(0.0625, abs=0.03)
    assert shift["clip"]["total_gpus"] == pytest.approx(0.0, abs=0.03)
    # the optimum here (batch 8192, lr 10**-2.25) lies beyond every other pair's; the first
    # suggestion goes there, not to where the other pairs did best in absolute units
    assert first["batch"] == 8192
    assert abs(math.log10(first["lr"]) + 2.25) < 0.4
    assert shifting_score(first, 8) > -1.0


def fixed_score(p: dict, gpus: int) -> float:
    """shifting_score's widths, but one optimum in absolute units for every pair (batch 4096)."""
    return -(
        ((math.log10(p["lr"]) + 3.0) / 0.5) ** 2
        + ((p["clip"] - 0.3) / 0.1) ** 2
        + ((math.log2(p["batch"]) - 12) / 0.6) ** 2
    )


def test_without_a_shift_in_the_data_none_is_fitted():
    opt = ProteinOptimizer(space(2), seed=0)
    for g in (1, 4, 8):
        for p, y in random_results(g, 12, seed=1, value=fixed_score):
            opt.observe(p, y, 60.0, context={"total_gpus": g})
    first = opt.suggest(1, context={"total_gpus": 2})[0]
    shift = opt.last_info[0]["transfer"]["context_shift"]
    assert all(abs(v["total_gpus"]) < 0.05 for v in shift.values()), shift
    assert first["batch"] == 4096 and abs(math.log10(first["lr"]) + 3.0) < 0.4


def test_own_results_that_contradict_the_other_pairs_shorten_the_context_length_scale():
    def run(other_sign: float) -> float:
        opt = ProteinOptimizer(space(2), seed=0)
        for p, _ in random_results(1, 20, seed=2):
            opt.observe(p, other_sign * score(p), 60.0, context={"total_gpus": 1})
        for p, _ in random_results(2, 8, seed=3):
            opt.observe(p, score(p), 60.0, context={"total_gpus": 2})
        opt.suggest(1, context={"total_gpus": 2})
        return opt.last_info[0]["transfer"]["context_length_scales"]["total_gpus"]

    alike, opposite = run(1.0), run(-1.0)
    assert alike >= 3.0 and opposite <= 1.0, (alike, opposite)


def test_how_the_spaces_move_is_the_first_guess_of_the_shift():
    def first_shift(with_spaces: bool) -> dict:
        opt = ProteinOptimizer(space(8), seed=0)
        for g in (1, 2, 4):  # one result each: too few to fit a shift from the data
            for p, y in random_results(g, 1, seed=4):
                sp = space(g) if with_spaces else None
                opt.observe(p, y, 60.0, context={"total_gpus": g}, space=sp)
        opt.suggest(1, context={"total_gpus": 8})
        return opt.last_info[0]["transfer"]["context_shift"]

    guessed, unguessed = first_shift(True), first_shift(False)
    # the batch bounds double with the GPUs: one third of the (3-doubling) range per doubling
    assert guessed["batch"]["total_gpus"] == pytest.approx(1 / 3, abs=1e-4)  # rounded
    # the learning rate follows the batch by the linear scaling rule: log10(2) decades per
    # doubling, of its 4-decade range
    assert guessed["lr"]["total_gpus"] == pytest.approx(math.log10(2) / 4, abs=1e-4)
    assert guessed["clip"]["total_gpus"] == 0.0
    assert all(v["total_gpus"] == 0.0 for v in unguessed.values())


def test_a_fixed_optimum_overrules_the_spaces_guess():
    opt = ProteinOptimizer(space(2), seed=0)
    for g in (1, 4, 8):
        for p, y in random_results(g, 12, seed=1, value=fixed_score):
            opt.observe(p, y, 60.0, context={"total_gpus": g}, space=space(g))
    first = opt.suggest(1, context={"total_gpus": 2})[0]
    shift = opt.last_info[0]["transfer"]["context_shift"]
    assert abs(shift["batch"]["total_gpus"]) < 0.05, shift
    assert first["batch"] == 4096


def test_an_observation_from_a_space_with_other_parameters_is_a_usage_error():
    opt = ProteinOptimizer(space(2), seed=0)
    other = SearchSpace((Param("lr", "log_normal", 1e-5, 1e-1, 1e-3),), PROTEIN_SETTINGS)
    p = space(1).center()
    with pytest.raises(UsageError, match="same parameters"):
        opt.observe(p, 1.0, 60.0, context={"total_gpus": 1}, space=other)
    assert opt.observations == []


def clip_at(p: dict, clip: float) -> float:
    """One lr optimum (10**-2.2) and batch 4096 for every pair; the best clip varies."""
    return -(
        ((math.log10(p["lr"]) + 2.2) / 0.5) ** 2
        + ((p["clip"] - clip) / 0.1) ** 2
        + ((math.log2(p["batch"]) - 12) / 2) ** 2
    )


def test_a_parameter_whose_optimum_differs_between_pairs_is_made_private_or_aligned():
    def weights(other_clip: float, seed: int) -> tuple[float, float]:
        opt = ProteinOptimizer(space(2), seed=0)
        for g in (1, 4):
            for p, _ in random_results(g, 12, seed=seed):
                opt.observe(
                    p, clip_at(p, other_clip), 60.0, context={"total_gpus": g}, space=space(g)
                )
        for p, _ in random_results(2, 6, seed=seed + 1):
            opt.observe(p, clip_at(p, 0.4), 60.0, context={"total_gpus": 2})
        opt.suggest(1, context={"total_gpus": 2})
        info = opt.last_info[0]["transfer"]
        splits = info["splits"]
        assert len(splits) == 4 and sum(s["weight"] for s in splits) == pytest.approx(1, abs=1e-3)
        # where the other pairs' peaks lie from this pair's, in fractions of clip's range
        assert set(info["alignment"]) == {"total_gpus=1", "total_gpus=4"}
        offsets = [v["clip"] for v in info["alignment"].values()]
        # (0.1 - 0.4) / 0.45 = -0.67, bounded at -0.5; the bump fits this floorless surface loosely
        if other_clip < 0.4:
            assert max(offsets) < -0.25, info["alignment"]
        aligned = sum(s["weight"] for s in splits if s["aligned"])
        private = sum(s["weight"] for s in splits if "clip" in s["private"] and not s["aligned"])
        return aligned, private

    alike = [weights(0.4, seed) for seed in (4, 6, 8)]
    differ = [weights(0.1, seed) for seed in (4, 6, 8)]
    # the other pairs' best clip is 0.1, this pair's 0.4: the mixture keeps their clip from this
    # pair, by moving their results onto this pair's peak or by keeping clip to this pair
    assert min(a + p for a, p in differ) > 0.8, differ
    # with one best clip for all, neither
    assert np.median([a for a, _ in alike]) < 0.5 and np.median([p for _, p in alike]) < 0.5, alike


def bump(p: dict, lr: float, clip: float) -> float:
    """A narrow peak (100) at ``lr`` (log10) and ``clip``; near 0 far from it."""
    d2 = ((math.log10(p["lr"]) - lr) / 0.5) ** 2 + ((p["clip"] - clip) / 0.1) ** 2
    return 100 * math.exp(-0.5 * d2)


def test_own_results_that_contradict_the_other_pairs_outweigh_them():
    def run(other_peak: tuple[float, float]) -> tuple[dict, dict]:
        opt = ProteinOptimizer(space(2), seed=0)
        for p, _ in random_results(1, 20, seed=4):
            opt.observe(p, bump(p, *other_peak), 60.0, context={"total_gpus": 1}, space=space(1))
        for p, _ in random_results(2, 6, seed=5):
            opt.observe(p, bump(p, -2.2, 0.4), 60.0, context={"total_gpus": 2})
        first = opt.suggest(1, context={"total_gpus": 2})[0]
        return first, opt.last_info[0]["transfer"]

    (alike, alike_info), (moved, moved_info) = run((-2.2, 0.4)), run((-4.2, 0.1))
    # the others' peak lies where this pair scores ~0: the suggestion still goes to this pair's
    assert bump(alike, -2.2, 0.4) > 75 and bump(moved, -2.2, 0.4) > 50, (alike, moved)
    assert bump(moved, -4.2, 0.1) < 1
    ctx = "total_gpus"
    assert moved_info["context_length_scales"][ctx] < alike_info["context_length_scales"][ctx]
    assert moved_info["other"] == 20 and moved_info["own"] == 6


def test_the_other_pairs_best_seed_candidates_with_their_shared_parameters_only():
    opt = ProteinOptimizer(space(2), seed=0)
    for g in (1, 4):
        for p, _ in random_results(g, 12, seed=4):
            opt.observe(p, clip_at(p, 0.1), 60.0, context={"total_gpus": g}, space=space(g))
    for p, _ in random_results(2, 6, seed=5):
        opt.observe(p, clip_at(p, 0.4), 60.0, context={"total_gpus": 2})
    opt.suggest(1, context={"total_gpus": 2})
    top = opt.last_info[0]["transfer"]["splits"][0]["private"]
    assert "clip" in top
    m = opt._models()
    borrowed = m.front[len(m.own_front) :]
    assert len(borrowed) == 3 and m.incumbent is not None
    clip = list(space(2).keys).index("clip")
    # the others' best clip (0.1) is theirs: the centers take this pair's incumbent's
    np.testing.assert_array_equal(borrowed[:, clip], np.full(3, m.incumbent[clip]))
    lr = list(space(2).keys).index("lr")
    assert len(set(borrowed[:, lr])) > 1  # the shared learning rate still comes from them
