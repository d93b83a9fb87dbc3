"""The Protein-style optimizer: center first, GP from the first result on, deterministic,
pending trials as fantasies, failures and the cost limit respected, all acquisitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwscale_tui.errors import UsageError
from hwscale_tui.hardware import HardwarePair
from hwscale_tui.search.presets import PROTEIN_SETTINGS, builtin_preset
from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.space import Param, SearchSpace

BUILTIN = builtin_preset(HardwarePair(4, 1)).space
PLANE = SearchSpace(
    (Param("x", "uniform", -1.0, 1.0, 0.0), Param("y", "uniform", -1.0, 1.0, 0.0)), PROTEIN_SETTINGS
)


def bump(p: dict) -> float:
    """Maximum 1.0 at (0.5, -0.3)."""
    return math.exp(-((p["x"] - 0.5) ** 2 + (p["y"] + 0.3) ** 2))


def builtin_score(p: dict) -> float:
    return -abs(math.log10(p["trainer.optimizer.learning_rate"]) + 3) - abs(
        p["trainer.losses.ppo.clip_coef"] - 0.3
    )


def builtin_cost(p: dict) -> float:
    return 30.0 * p["trainer.batch_size"] / BUILTIN["trainer.batch_size"].min


def run_loop(opt: ProteinOptimizer, f, trials: int, cost=lambda p: 60.0) -> list[dict]:
    history = []
    for _ in range(trials):
        p = opt.suggest()[0]
        opt.observe(p, f(p), cost(p))
        history.append(p)
    return history


def test_first_suggestion_is_exactly_the_center():
    opt = ProteinOptimizer(BUILTIN, seed=3)
    assert opt.suggest() == [BUILTIN.center()]
    assert opt.last_info[0]["how"] == "center"


def test_without_center_seeding_the_first_suggestion_is_random():
    opt = ProteinOptimizer(BUILTIN, {**BUILTIN.settings, "seed_with_search_center": False})
    first = opt.suggest()[0]
    assert first != BUILTIN.center() and opt.last_info[0]["how"] == "random"


def test_gp_is_used_from_the_first_observation_on():
    opt = ProteinOptimizer(BUILTIN)
    center = opt.suggest()[0]
    opt.observe(center, builtin_score(center), builtin_cost(center))
    second = opt.suggest()[0]
    info = opt.last_info[0]
    assert (
        info["how"] == "gp"
        and info["predicted_score"] is not None
        and info["acquisition"] is not None
    )
    assert second != center
    assert set(second) == set(BUILTIN.keys)


def test_suggestions_are_deterministic_given_seed_observations_and_pending():
    def replay(seed: int) -> list[dict]:
        opt = ProteinOptimizer(BUILTIN, seed=seed)
        run_loop(opt, builtin_score, 6, builtin_cost)
        return opt.suggest(3, pending=[BUILTIN.center()])

    assert replay(5) == replay(5)
    assert replay(5) != replay(6)


def test_a_rebuilt_optimizer_suggests_what_the_running_one_would():
    running = ProteinOptimizer(BUILTIN, seed=1)
    history = run_loop(running, builtin_score, 8, builtin_cost)
    rebuilt = ProteinOptimizer(BUILTIN, seed=1)
    for p in history:
        rebuilt.observe(p, builtin_score(p), builtin_cost(p))
    pending = [history[-1]]
    assert rebuilt.suggest(2, pending=pending) == running.suggest(2, pending=pending)
    assert rebuilt.last_info == running.last_info


def test_parallel_suggestions_differ_and_avoid_pending_trials():
    opt = ProteinOptimizer(PLANE, seed=0)
    run_loop(opt, bump, 5)
    batch = opt.suggest(4)
    keys = {tuple(p.values()) for p in batch}
    assert len(keys) == 4
    alone = opt.suggest(1)[0]
    with_pending = opt.suggest(1, pending=[alone])[0]
    assert with_pending != alone
    # the fantasy at the pending point pushes the next suggestion away from it
    gap = math.dist(PLANE.normalize(with_pending), PLANE.normalize(alone))
    assert gap > 0.05


def test_with_no_results_yet_in_flight_trials_are_spread_out():
    opt = ProteinOptimizer(BUILTIN)
    batch = opt.suggest(3)
    assert batch[0] == BUILTIN.center()
    assert [i["how"] for i in opt.last_info] == ["center", "explore", "explore"]
    assert len({tuple(p.values()) for p in batch}) == 3
    # a second call with the center in flight does not hand out the center again
    assert opt.suggest(1, pending=[batch[0]])[0] != batch[0]


@pytest.mark.parametrize("seed", [2, 5])
def test_a_failed_configuration_is_not_suggested_again_and_its_region_is_avoided(seed):
    def primed() -> tuple[ProteinOptimizer, dict, float]:
        opt = ProteinOptimizer(PLANE, seed=seed)
        history = run_loop(opt, bump, 8)
        return opt, opt.suggest()[0], max(bump(p) for p in history)

    failed_opt, target, best = primed()
    failed_opt.observe(target, None, 60.0, failed=True)
    control, same_target, _ = primed()
    assert same_target == target
    control.observe(target, best + 0.01, 60.0)  # the same trial, succeeding as the new best

    def nearest(batch: list[dict]) -> float:
        return min(math.dist(PLANE.normalize(p), PLANE.normalize(target)) for p in batch)

    after_failure = failed_opt.suggest(8)
    assert target not in after_failure
    # after a success there the optimizer refines around it; after a failure it keeps away
    assert nearest(after_failure) > 2 * nearest(control.suggest(8))


def test_failed_trials_count_as_bad_scores_even_without_any_success():
    opt = ProteinOptimizer(PLANE, seed=0)
    center = opt.suggest()[0]
    opt.observe(center, None, None)  # a missing score is a failure
    nxt = opt.suggest()[0]
    assert nxt != center and opt.last_info[0]["how"] == "gp"


def test_predicted_cost_is_in_seconds_and_the_limit_masks_expensive_candidates():
    limit_s = 100.0  # batch sizes 2048 and 4096 (30 s, 60 s) fit; 8192 (120 s) and up do not
    opt = ProteinOptimizer(BUILTIN, {**BUILTIN.settings, "max_suggestion_cost": limit_s}, seed=0)
    run_loop(
        opt, lambda p: builtin_score(p) + 0.1 * math.log2(p["trainer.batch_size"]), 10, builtin_cost
    )
    batch = opt.suggest(6)
    for p, info in zip(batch, opt.last_info):
        assert info["how"] == "gp"
        assert info["predicted_cost"] < limit_s
        assert builtin_cost(p) < limit_s, p["trainer.batch_size"]


def test_when_every_candidate_is_over_the_limit_the_cheapest_is_taken():
    opt = ProteinOptimizer(PLANE, {**PROTEIN_SETTINGS, "max_suggestion_cost": 10.0}, seed=0)
    run_loop(opt, bump, 4, cost=lambda p: 50.0 * math.exp(p["x"]))
    opt.suggest()
    assert opt.last_info[0]["how"] == "gp-cheapest"


@pytest.mark.parametrize("acquisition", ["ei", "ucb", "naive"])
@pytest.mark.parametrize("randomize", [False, True])
def test_every_acquisition_improves_on_the_center(acquisition, randomize):
    settings = {
        **PROTEIN_SETTINGS,
        "acquisition_fn": acquisition,
        "randomize_acquisition": randomize,
    }
    opt = ProteinOptimizer(PLANE, settings, seed=0)
    history = run_loop(opt, bump, 10, cost=lambda p: 60.0 * (2 + p["x"]))
    assert all(-1 <= p["x"] <= 1 and -1 <= p["y"] <= 1 for p in history)
    assert max(bump(p) for p in history) > bump(PLANE.center()) + 0.05
    assert all(i["acquisition_fn"] == acquisition for i in opt.last_info)


def test_minimize_is_maximize_of_the_negated_score():
    up = ProteinOptimizer(BUILTIN, seed=4)
    down = ProteinOptimizer(BUILTIN, seed=4, goal="minimize")
    for p in [BUILTIN.center(), *BUILTIN_samples(5)]:
        up.observe(p, builtin_score(p), builtin_cost(p))
        down.observe(p, -builtin_score(p), builtin_cost(p))
    assert up.suggest(2) == down.suggest(2)
    assert down.last_info[0]["predicted_score"] == pytest.approx(
        -up.last_info[0]["predicted_score"]
    )


def BUILTIN_samples(n: int) -> list[dict]:
    rng = np.random.default_rng(9)
    return [BUILTIN.unnormalize(c) for c in rng.uniform(-1, 1, (n, len(BUILTIN)))]


def test_resample_frequency_revisits_the_pareto_front():
    opt = ProteinOptimizer(PLANE, {**PROTEIN_SETTINGS, "resample_frequency": 3}, seed=0)
    history = run_loop(opt, bump, 5)  # suggestions 1..5; the 3rd was a resample
    again = opt.suggest(1)[0]  # the 6th: a resample again, of an observed front point
    assert opt.last_info[0]["how"] == "resample"
    assert again in history
    opt.observe(again, bump(again), 60.0)
    opt.suggest(1)
    assert opt.last_info[0]["how"] == "gp"


def test_random_samples_come_first_when_asked_for():
    opt = ProteinOptimizer(PLANE, {**PROTEIN_SETTINGS, "num_random_samples": 3}, seed=0)
    run_loop(opt, bump, 2)
    opt.suggest()
    assert opt.last_info[0]["how"] == "random"


@pytest.mark.parametrize(
    "settings,fragment",
    [
        ({"acquisition_fn": "pi"}, "acquisition_fn"),
        ({"max_suggestion_cost": 0}, "max_suggestion_cost"),
        ({"suggestions_per_pareto": -1}, "suggestions_per_pareto"),
        ({"seed_with_search_center": "yes"}, "true or false"),
        ({"colour": "blue"}, "unknown optimizer setting 'colour'"),
    ],
)
def test_bad_settings_are_usage_errors(settings, fragment):
    with pytest.raises(UsageError, match=fragment):
        ProteinOptimizer(PLANE, {**PROTEIN_SETTINGS, **settings})


def test_bad_goal_count_and_params_are_usage_errors():
    with pytest.raises(UsageError, match="goal"):
        ProteinOptimizer(PLANE, goal="best")
    opt = ProteinOptimizer(PLANE)
    with pytest.raises(UsageError, match="at least 1"):
        opt.suggest(0)
    with pytest.raises(UsageError, match="lack 'y'"):
        opt.observe({"x": 0.1}, 1.0, 1.0)
