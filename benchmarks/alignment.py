"""How precisely the transfer's alignment places each other pair's peak relative to this pair's.

    python benchmarks/alignment.py [--draws 40] [--results 4 8 12] [--json]

Transfer item 4 (docs/optimizer.md) moves each other pair's results by the difference between
that pair's peak and this one's, in the parameters the shift cannot carry (epochs and clip of
``benchmarks/transfer.py``'s spaces). This measures that difference against the truth, on the
benchmark's surfaces, without running a sweep: for each draw, each of the 4 pairs gets ``n``
noisy results (half uniform over its space, half near its optimum, normal with sd 0.4 in
normalized units), the learning rate and batch are lined up exactly (what the shift does), and
for every pair as "this pair" the offsets are computed by

- ``bump``: the product's ``context.alignment_offsets`` (one bump, widths shared by the pairs);
- ``best result`` (the baseline): each pair's peak at its best observed result.

Printed: the mean absolute error of the offsets (normalized units, a parameter's range is 2;
the true offsets on ``other`` are up to 1.1) per family, per ``n``, for epochs and clip.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transfer as bench

from hwscale_tui.search.context import ALIGN_MAX, alignment_offsets

ALIGNED = (2, 3)  # epochs, clip
NEAR_SD = 0.4


def optimum_x(family: str, pair: bench.Pair) -> np.ndarray:
    lb, epochs, clip, _ = bench.optimum(family, pair.gpus)
    point = {"lr": 10 ** bench.best_llr(lb), "batch": 2**lb, "epochs": epochs, "clip": clip}
    return np.asarray(pair.space.normalize(point), dtype=float)


def errors(family: str, n: int, draws: int) -> dict[str, np.ndarray]:
    pairs = [bench.make_pair(family, g) for g in bench.GPUS]
    best = [optimum_x(family, p) for p in pairs]
    out: dict[str, list[np.ndarray]] = {"bump": [], "best result": []}
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        results = []
        for p, xo in zip(pairs, best):
            rows = []
            for k in range(n):
                x = (
                    rng.uniform(-1, 1, 4)
                    if k % 2 == 0
                    else np.clip(xo + rng.normal(0, NEAR_SD, 4), -1, 1)
                )
                score = p.value(p.space.unnormalize(x)) + bench.NOISE_SD * rng.normal()
                lined_up = x.copy()
                lined_up[:2] -= xo[:2]  # the learning rate and batch: the shift's job
                rows.append((lined_up, score))
            results.append(rows)
        for me in range(len(pairs)):
            order = [me] + [i for i in range(len(pairs)) if i != me]
            x = np.array([r[0] for i in order for r in results[i]])
            y = np.array([r[1] for i in order for r in results[i]])
            group = np.repeat(np.arange(len(order)), n)
            y = (y - y.mean()) / y.std()
            bump = alignment_offsets(x, y, 4, group, len(order), None, ALIGNED)
            tops = [x[group == g][np.argmax(y[group == g])] for g in range(len(order))]
            for g, i in enumerate(order[1:], start=1):
                truth = (best[i] - best[me])[list(ALIGNED)]
                naive = np.clip((tops[g] - tops[0])[list(ALIGNED)], -ALIGN_MAX, ALIGN_MAX)
                out["bump"].append(np.abs(bump[g - 1, list(ALIGNED)] - truth))
                out["best result"].append(np.abs(naive - truth))
    return {k: np.mean(v, axis=0) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=40)
    parser.add_argument("--results", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--json", action="store_true", help="print the errors as JSON")
    args = parser.parse_args()
    if args.draws < 1 or min(args.results) < 1:
        parser.error("--draws and every --results take a number from 1")
    t0 = time.perf_counter()
    if not args.json:
        print(
            "Mean |offset error| (normalized units; range 2), epochs / clip, "
            f"{args.draws} draws x 4 pairs as this pair x 3 others"
        )
        print(f"{'family':<10} {'results':>7}  {'bump (product)':>16}  {'best result':>14}")
    rows = []
    for family in bench.FAMILIES:
        for n in args.results:
            e = errors(family, n, args.draws)
            rows.append(
                {
                    "family": family,
                    "results": n,
                    "bump": {"epochs": float(e["bump"][0]), "clip": float(e["bump"][1])},
                    "best_result": {
                        "epochs": float(e["best result"][0]),
                        "clip": float(e["best result"][1]),
                    },
                }
            )
            if not args.json:
                print(
                    f"{family:<10} {n:>7}  {e['bump'][0]:>7.3f} / {e['bump'][1]:<6.3f}  "
                    f"{e['best result'][0]:>6.3f} / {e['best result'][1]:<6.3f}"
                )
    seconds = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"draws": args.draws, "rows": rows, "seconds": seconds}, indent=2))
    else:
        print(f"({seconds:.1f} s)")


if __name__ == "__main__":
    main()
