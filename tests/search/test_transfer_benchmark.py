"""benchmarks/transfer.py: the speedup's paired-bootstrap interval and its seed options.

The full run is in BENCHMARKS.md; here only the statistics and the argument checks, which are
fast and deterministic.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.support.cli import REPO


def _module():
    spec = importlib.util.spec_from_file_location(
        "transfer_bench", REPO / "benchmarks" / "transfer.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _best(bench, family, g):
    """The pair's optimal learning rate, batch and epochs, its best clip and its peak."""
    lb, epochs, clip, peak = bench.optimum(family, g)
    return {"lr": 10.0 ** bench.best_llr(lb), "batch": int(2**lb), "epochs": epochs}, clip, peak


def test_interval_brackets_the_ratio_of_medians_and_narrows_with_agreement():
    bench = _module()
    ind = [52, 100, 52, 52, 52, 48, 56, 36, 108, 48, 52, 44, 52, 60, 36, 36, 44, 64, 48, 40]
    tr = [36, 52, 40, 44, 36, 32, 36, 24, 44, 32, 44, 32, 28, 52, 44, 28, 24, 44, 28, 24]
    low, high = bench.speedup_interval(ind, tr)
    point = 50.0 / 36.0  # median 50 vs median 36
    assert low < point < high
    assert low > 1.0  # transfer was better on 18 of these 20 seeds
    # every seed the same ratio: no uncertainty left
    assert bench.speedup_interval([60] * 10, [30] * 10) == (2.0, 2.0)
    # paired: a seed's two runs stay together, so swapping the modes inverts the interval
    inv_low, inv_high = bench.speedup_interval(tr, ind)
    assert abs(inv_low - 1 / high) < 0.05 and abs(inv_high - 1 / low) < 0.05


@pytest.mark.parametrize(
    ("option", "value", "sentence"),
    [
        ("--first-seed", "-1", "--first-seed"),
        ("--optimizer-seed-offset", "-1", "--optimizer-seed-offset"),
        ("--params", "6", "--params takes 4 or 8, not 6"),
    ],
)
def test_bad_options_exit_2_with_one_sentence(option, value, sentence):
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "transfer.py"), option, value],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert r.returncode == 2
    assert sentence in r.stderr and r.stdout == ""


def test_first_seed_selects_the_seeds_run(capsys):
    bench = _module()
    result = bench.run(2, 1, 1, ["none"], first_seed=7)
    row = result["none"]
    assert len(row["independent"]["total_trials"]) == 2
    alone = [bench.rounds_to_target("none", "independent", s, 1)["total_trials"] for s in (7, 8)]
    assert row["independent"]["total_trials"] == alone
    runs = [bench.rounds_to_target("none", "independent", s, 1)["pair_trials"] for s in (7, 8)]
    medians = [(a + b) / 2 for a, b in zip(*runs)]  # the median of two seeds, per pair
    assert row["independent"]["pair_rounds_median"] == medians
    bench.print_table(result, 2, 1, first_seed=7)
    out = capsys.readouterr().out
    assert "seeds 7-8" in out and "Per pair" in out and "8 GPU" in out
    assert "reaching the target (5%)" in out and "25% regret (the approach)" in out


def test_optimizer_seed_offset_reseeds_the_optimizers_only():
    bench = _module()
    base = bench.rounds_to_target("loglinear", "independent", 3, 3)
    moved = bench.rounds_to_target("loglinear", "independent", 3, 3, seed_offset=50)
    again = bench.rounds_to_target("loglinear", "independent", 3, 3, seed_offset=50)
    assert moved == {**again, "median_suggest_s": moved["median_suggest_s"]}  # deterministic
    # the same surfaces and noise; other optimizer seeds make other suggestions after round 1
    assert base["final_regret"] != moved["final_regret"]
    result = bench.run(1, 3, 1, ["loglinear"], first_seed=3, seed_offset=50)
    row = result["loglinear"]["independent"]
    assert row["total_trials"] == [moved["total_trials"]]
    assert row["pair_approach_median"] == moved["pair_approach"]
    # a pair gets within 25% no later than within 5%
    assert all(a <= b for a, b in zip(moved["pair_approach"], moved["pair_trials"]))


def test_every_family_peaks_at_its_stated_optimum_and_the_reference_is_told_it():
    bench = _module()
    for family in bench.FAMILIES:
        for g in bench.GPUS:
            best, clip, peak = _best(bench, family, g)
            value = bench.surface(family, g)
            assert value({**best, "clip": clip}) == pytest.approx(peak)
            assert value({**best, "clip": clip + 0.1}) < peak  # and nowhere else
            assert bench.make_pair(family, g).best == pytest.approx(peak)
    ref = bench.rounds_given_shared("other", 0, 12)
    assert ref == bench.rounds_given_shared("other", 0, 12)  # deterministic
    assert ref["total_trials"] == 4 * max(ref["pair_trials"]) <= 4 * 13
    result = bench.run(1, 2, 1, ["none"], reference=True)
    row = result["none"]["reference"]
    assert row["total_trials"] == [bench.rounds_given_shared("none", 0, 2)["total_trials"]]
    assert "reference" not in bench.run(1, 1, 1, ["none"])["none"]


def test_eight_parameters_add_three_shared_optima_and_one_without_effect():
    bench = _module()
    for family in bench.FAMILIES:
        for g in bench.GPUS:
            best, clip, peak = _best(bench, family, g)
            best |= {"clip": clip, "gamma": 0.97, "ent_coef": 10**-2.5, "vf_coef": 0.7}
            value = bench.surface(family, g, 8)
            assert value({**best, "gae_lambda": 0.8}) == pytest.approx(peak)
            assert value({**best, "gae_lambda": 0.99}) == pytest.approx(peak)  # no effect
            for key, moved in (("gamma", 0.99), ("ent_coef", 1e-3), ("vf_coef", 0.4)):
                assert value({**best, key: moved}) < 0.9 * peak
            pair = bench.make_pair(family, g, 8)
            assert len(pair.space) == 8 and pair.best == pytest.approx(peak)
            # the four-parameter surface ignores the extra keys
            assert bench.surface(family, g)(best) == pytest.approx(peak)
    run = bench.rounds_to_target("other", "transfer", 0, 2, n_params=8)
    again = bench.rounds_to_target("other", "transfer", 0, 2, n_params=8)
    assert run == {**again, "median_suggest_s": run["median_suggest_s"]}  # deterministic
    ref = bench.run(1, 2, 1, ["none"], reference=True, n_params=8)["none"]["reference"]
    assert ref["total_trials"] == [bench.rounds_given_shared("none", 0, 2, 8)["total_trials"]]


def test_the_aligned_reference_moves_each_pairs_optimum_onto_the_receivers():
    bench = _module()
    for family in bench.FAMILIES:
        for theirs in bench.GPUS:
            best, clip, _ = _best(bench, family, theirs)
            for mine in bench.GPUS:
                moved = bench.aligned(family, {**best, "clip": clip}, theirs, mine)
                # measured on the receiver's surface, the sender's optimum is the receiver's peak
                assert bench.surface(family, mine)(moved) == pytest.approx(
                    bench.make_pair(family, mine).best
                )
    # a result off the optimum keeps its distance from it: the same value relative to the peak
    off = {"lr": 3e-3, "batch": 2048, "epochs": 5, "clip": 0.3}
    here = bench.surface("other", 1)(off) / bench.make_pair("other", 1).best
    there = bench.surface("other", 8)(bench.aligned("other", off, 1, 8))
    assert there / bench.make_pair("other", 8).best == pytest.approx(here)
    result = bench.run(1, 2, 1, ["loglinear"], aligned=True)
    row = result["loglinear"]["aligned"]
    assert row["total_trials"] == [
        bench.rounds_to_target("loglinear", "aligned", 0, 2)["total_trials"]
    ]
    assert "aligned" not in bench.run(1, 1, 1, ["none"])["none"]
    with pytest.raises(ValueError, match="not one of"):
        bench.rounds_to_target("loglinear", "alinged", 0, 1)
