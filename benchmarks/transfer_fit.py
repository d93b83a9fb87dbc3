"""What a suggestion with transfer costs: the separable model's refit against an independent sweep.

    python benchmarks/transfer_fit.py [--rounds 3,6,12,24] [--repeats 3]

Four pairs (1, 2, 4, 8 GPUs) of ``benchmarks/transfer.py``'s ``other`` family have each measured
``rounds`` random configurations (noise sd 2). The 8-GPU pair's optimizer is timed:

- **independent**: its own results only (no context), the first suggestion (kernels fitted);
- **transfer, refit**: its own and the other pairs' results (``observe(..., context=, space=)``),
  the first suggestion: the shift under the default kernel, then per split (11) a kernel and a
  shift, then the mixture (what happens each time the observations cross the refit schedule);
- **transfer, cached**: one more own result that does not cross the schedule, the next
  suggestion (the fitted kernels, shifts and splits are reused; the GPs are conditioned again).

Each cell is the median of ``--repeats`` runs (fresh optimizers, the same data); suggestions use
one BLAS thread, as in the product. The baseline is the independent column of the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transfer  # benchmarks/transfer.py: the surfaces and the pairs' spaces

from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.surrogate import fit_prefix


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
    assert fit_prefix(n + 1) == fit_prefix(n), "the extra result crossed a refit"
    cached = timed(opt, mine)
    splits = len(opt.last_info[0]["transfer"].get("splits", []))
    return independent, refit, cached, splits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", default="3,6,12,24")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("Suggestion time (s, median of repeats), 8-GPU pair of 4; 'other' family, random results")
    print(
        f"{'rounds':>6} {'results':>7} {'independent':>11} {'transfer refit':>14} "
        f"{'cached':>7} {'refit / ind':>11} {'splits':>6}"
    )
    for rounds in (int(r) for r in args.rounds.split(",")):
        runs = [measure(rounds) for _ in range(args.repeats)]
        ind, refit, cached = (statistics.median(r[i] for r in runs) for i in range(3))
        print(
            f"{rounds:>6} {4 * rounds:>7} {ind:>11.3f} {refit:>14.3f} {cached:>7.3f} "
            f"{refit / ind:>10.0f}x {runs[0][3]:>6}"
        )


if __name__ == "__main__":
    main()
