"""What a suggestion with transfer costs: the separable model's refit against an independent sweep.

    python benchmarks/transfer_fit.py [--rounds 6,12,24] [--repeats 3] [--space bench|builtin] [--json]

Four pairs (1, 2, 4, 8 GPUs) of ``benchmarks/transfer.py``'s ``other`` family have each measured
``rounds`` random configurations (noise sd 2). The 8-GPU pair's optimizer is timed:

- **independent**: its own results only (no context), the first suggestion (kernels fitted);
- **transfer, refit**: its own and the other pairs' results (``observe(..., context=, space=)``),
  the first suggestion: the shift under the default kernel, then per split (11) a kernel and a
  shift, then the mixture (what happens each time the observations cross the refit schedule);
- **transfer, cached**: one more own result that does not cross the schedule, the next
  suggestion (the fitted kernels, shifts and splits are reused; the GPs are conditioned again).

``--space builtin``: the same with the built-in runner's real search space instead (8
parameters, ``search/presets.py``) for pairs g1n1, g2n1, g4n1 and g4n2 (context ``total_gpus``
and ``nodes``; the timed pair is g4n2), on a quadratic bowl: what ``[sweep] transfer`` costs in
the product.

Each cell is the median of ``--repeats`` runs (fresh optimizers, the same data); suggestions use
one BLAS thread, as in the product. The baseline is the independent column of the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transfer  # benchmarks/transfer.py: the surfaces and the pairs' spaces

from hwscale_tui.hardware import HardwarePair
from hwscale_tui.search.presets import builtin_preset
from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.space import SearchSpace
from hwscale_tui.search.surrogate import REFIT_GROWTH_TRANSFER, fit_prefix


@cache
def pair(g: int) -> transfer.Pair:
    return transfer.make_pair("other", g)


def data(rounds: int, seed: int = 0) -> dict[int, list[tuple[dict, float, float]]]:
    rng = np.random.default_rng([seed, rounds])
    out = {}
    for g in transfer.GPUS:
        pair_ = pair(g)
        points = rng.uniform(-1, 1, (rounds + 1, len(pair_.space)))
        rows = []
        for x in points:
            p = pair_.space.unnormalize(x)
            noisy = pair_.value(p) + transfer.NOISE_SD * rng.normal()
            rows.append((p, noisy, transfer.cost_s(p, g)))
        out[g] = rows
    return out


BUILTIN_PAIRS = ((1, 1), (2, 1), (4, 1), (4, 2))  # (GPUs per node, nodes); the last is timed


@cache
def builtin_space(gpus: int, nodes: int) -> SearchSpace:
    return builtin_preset(HardwarePair(gpus, nodes)).space


def builtin_data(rounds: int, seed: int = 0) -> list[tuple[tuple[int, int], dict, float, float]]:
    """``rounds`` random results per pair on a bowl whose optimum moves with the GPUs."""
    rng = np.random.default_rng([seed, rounds, 8])
    out = []
    for g, n in BUILTIN_PAIRS:
        sp = builtin_space(g, n)
        for x in rng.uniform(-1, 1, (rounds + 1, len(sp))):
            best = 0.2 - 0.1 * np.log2(g * n)
            out.append(((g, n), sp.unnormalize(x), -float(np.sum((x - best) ** 2)), 60.0))
    return out


def measure_builtin(rounds: int) -> tuple[float, float, float, int]:
    rows = builtin_data(rounds)
    target = BUILTIN_PAIRS[-1]
    mine = {"total_gpus": target[0] * target[1], "nodes": target[1]}
    space = builtin_space(*target)
    own = [r for r in rows if r[0] == target]
    alone = ProteinOptimizer(space, seed=0)
    for _, p, y, s in own[:rounds]:
        alone.observe(p, y, s)
    independent = timed(alone, None)
    opt = ProteinOptimizer(space, seed=0)
    for pair_ in BUILTIN_PAIRS[:-1]:
        for _, p, y, s in [r for r in rows if r[0] == pair_][:rounds]:
            ctx = {"total_gpus": pair_[0] * pair_[1], "nodes": pair_[1]}
            opt.observe(p, y, s, context=ctx, space=builtin_space(*pair_))
    for _, p, y, s in own[:rounds]:
        opt.observe(p, y, s)
    refit = timed(opt, mine)
    n = len(opt.observations)
    _, p, y, s = own[rounds]
    opt.observe(p, y, s)
    assert not crosses_refit(n), "the extra result crossed a refit"
    cached = timed(opt, mine)
    splits = len(opt.last_info[0]["transfer"].get("splits", []))
    return independent, refit, cached, splits


def crosses_refit(n: int) -> bool:
    """Whether a result after ``n`` (other pairs' among them) crosses the refit schedule the
    optimizer keeps with transfer (every 10% growth), so that the cached column would time a
    refit."""
    return fit_prefix(n + 1, REFIT_GROWTH_TRANSFER) != fit_prefix(n, REFIT_GROWTH_TRANSFER)


def timed(opt: ProteinOptimizer, context: dict | None) -> float:
    t0 = time.perf_counter()
    opt.suggest(1, context=context)
    return time.perf_counter() - t0


def measure(rounds: int) -> tuple[float, float, float, int]:
    rows = data(rounds)
    mine = {"total_gpus": 8}
    space = pair(8).space
    alone = ProteinOptimizer(space, seed=0)
    for p, y, s in rows[8][:rounds]:
        alone.observe(p, y, s)
    independent = timed(alone, None)
    opt = ProteinOptimizer(space, seed=0)
    for g in (1, 2, 4):
        other = pair(g).space
        for p, y, s in rows[g][:rounds]:
            opt.observe(p, y, s, context={"total_gpus": g}, space=other)
    for p, y, s in rows[8][:rounds]:
        opt.observe(p, y, s)
    refit = timed(opt, mine)
    n = len(opt.observations)
    p, y, s = rows[8][rounds]
    opt.observe(p, y, s)
    assert not crosses_refit(n), "the extra result crossed a refit"
    cached = timed(opt, mine)
    splits = len(opt.last_info[0]["transfer"].get("splits", []))
    return independent, refit, cached, splits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        default="6,12,24",
        help="comma-separated results per pair, each one after which one more result does not "
        "cross the optimizer's refit schedule (the cached column); 6, 12 and 24 qualify",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--space", choices=("bench", "builtin"), default="bench")
    parser.add_argument("--json", action="store_true", help="print the times as JSON")
    args = parser.parse_args()
    try:
        rounds_list = [int(r) for r in args.rounds.split(",")]
    except ValueError:
        parser.error(f"--rounds takes comma-separated whole numbers (6,12,24), not {args.rounds}")
    if args.repeats < 1:
        parser.error(f"--repeats takes a number from 1, not {args.repeats}")
    for rounds in rounds_list:
        n = len(transfer.GPUS) * rounds  # both spaces time a pair of 4, each with `rounds` results
        if rounds < 1 or crosses_refit(n):
            parser.error(
                f"--rounds {rounds}: one more result crosses the optimizer's refit schedule "
                "there, so the cached column would time a refit (6, 12 and 24 do not)"
            )
    run = measure if args.space == "bench" else measure_builtin
    what = (
        "8-GPU pair of 4; 'other' family (4 parameters)"
        if args.space == "bench"
        else "g4n2 of 4 pairs; the built-in space (8 parameters), contexts total_gpus and nodes"
    )
    if not args.json:
        print(f"Suggestion time (s, median of repeats), {what}; random results")
        print(
            f"{'rounds':>6} {'results':>7} {'independent':>11} {'transfer refit':>14} "
            f"{'cached':>7} {'refit / ind':>11} {'splits':>6}"
        )
    rows = []
    for rounds in rounds_list:
        runs = [run(rounds) for _ in range(args.repeats)]
        ind, refit, cached = (statistics.median(r[i] for r in runs) for i in range(3))
        rows.append(
            {
                "rounds": rounds,
                "results": 4 * rounds,
                "independent_s": ind,
                "refit_s": refit,
                "cached_s": cached,
                "refit_over_independent": refit / ind,
                "splits": runs[0][3],
            }
        )
        if not args.json:
            print(
                f"{rounds:>6} {4 * rounds:>7} {ind:>11.3f} {refit:>14.3f} {cached:>7.3f} "
                f"{refit / ind:>10.0f}x {runs[0][3]:>6}"
            )
    if args.json:
        print(json.dumps({"space": args.space, "repeats": args.repeats, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
