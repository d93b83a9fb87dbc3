"""Hardware-aware transfer: 4 pairs' sweeps that see each other's results vs independent sweeps.

    python benchmarks/transfer.py [--seeds 10] [--first-seed 0] [--max-rounds 30] [--workers 2]
                                  [--optimizer-seed-offset 0] [--reference] [--aligned]
                                  [--params 4|8] [--json]

Four hardware pairs (1, 2, 4 and 8 GPUs in total) run their sweeps in parallel, as the
supervisor does: in every round each pair gets one suggestion, all four trials run, and each
pair observes its own result. With transfer, before suggesting, each pair's optimizer is also
given the other pairs' results of the earlier rounds with their context ``{"total_gpus": g}``
and the space they were suggested from (what ``[sweep] transfer = true`` does in the runner). Independent sweeps see only their own.

A pair's search space is the built-in preset's shape: its batch bounds scale with the GPUs
(512 g .. 4096 g), so the spaces differ and the optimizer works in absolute units. The
families of response surfaces (fixed before the transfer model was built):

- ``loglinear``: the best batch is 1024 per GPU and the best learning rate grows with the
  batch (0.25 decades per doubling), so the optimum moves log-linearly with the hardware;
- ``other``: the best clip range moves non-monotonically with the GPUs (up, then down), the
  best number of epochs jumps at 4 GPUs, and the achievable score drops 10% per doubling;
- ``none`` (control): the same surface in absolute units for every pair (its optimum lies
  inside every pair's bounds).

``--aligned`` adds a second reference, also not a method: the transfer run as above, but each
other pair's result is first moved by the exact difference between that pair's optimum and this
one's (learning rate, batch, epochs and clip; ``aligned``), given with the space of the pair
receiving it, so that every pair's results land where they would have been measured here. What
a transfer model could reach if it knew, per pair, how far each other pair's optimum lies; on
``other`` that move is not linear in the log2 GPUs, so the learned linear shift cannot express
it.

``--params 8`` adds four parameters, as many as the built-in runner's space has: three with one
optimum that every pair shares (discount, entropy and value coefficients) and one with no effect
(GAE lambda), the same in every family. The model then weighs splits of 8 parameters (at most
one private), and every pair has four more directions to search.

Measured: the total number of trials (4 per round) until every pair's best-observed
configuration is within 5% normalized regret of its own optimum, ``(best - found) / (best -
worst)``, best and worst of the noise-free value over that pair's space. A run that does not
get there in ``--max-rounds`` rounds counts as 4 x max_rounds + 4 (censored; shown as ``>``).

A second table gives, per pair, the median round at which it first got within target: which
pair holds the total up, and whether transfer speeds it up or slows it down. A third gives the
round each pair first got within 25% (the approach): transfer can speed the approach up and
still lose in the last stretch, where only the pair's own results say exactly where its
optimum is.

The speedup is the ratio of the two medians. How much it owes to the seeds drawn is shown by a
95% interval from a paired bootstrap over the seeds (each resample draws seeds with
replacement and keeps a seed's independent and transfer runs together): the medians of these
heavy-tailed, censored counts move a lot between sets of 20 seeds. ``--first-seed`` runs a
fresh set (e.g. seeds 20-39 after tuning on 0-19); ``--optimizer-seed-offset`` keeps the
surfaces and the noise and re-seeds only the optimizers, which shows how much of that spread is
the optimizers' own randomness.

``--reference`` adds a reference that is not a method: each pair is told the learning rate and
batch of its own optimum (what the pairs share on every family) and searches epochs and clip
alone. It shows what a transfer that got exactly the shared parameters right, and left the rest
to each pair, could reach.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package

from hwscale_tui.search.presets import PROTEIN_SETTINGS
from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.space import Param, SearchSpace

GPUS = (1, 2, 4, 8)
FAMILIES = ("loglinear", "other", "none")
MODES = ("independent", "transfer")
PEAK = 100.0
NOISE_SD = 2.0
REGRET_TARGET = 0.05
APPROACH_TARGET = 0.25  # a coarser regret: when each pair got near its optimum (the approach)
WORST_SAMPLES = 20_000
BOOTSTRAP = 4000  # paired resamples of the seeds for the speedup's interval


PARAMS = (4, 8)
# --params 8: (parameter, its optimum, the distance that costs 1 unit of d2); None: no effect
EXTRA = (
    (Param("gamma", "uniform", 0.9, 0.999, 0.99), 0.97, 0.03),
    (Param("ent_coef", "log_normal", 1e-4, 1e-1, 1e-2), -2.5, 0.6),  # log10 units
    (Param("vf_coef", "uniform", 0.1, 1.0, 0.5), 0.7, 0.3),
    (Param("gae_lambda", "uniform", 0.8, 0.99, 0.95), None, None),
)


def pair_space(g: int, n_params: int = 4) -> SearchSpace:
    extra = tuple(q for q, _, _ in EXTRA) if n_params == 8 else ()
    return SearchSpace(
        (
            Param("lr", "log_normal", 1e-5, 1e-1, 1e-3),
            Param("batch", "uniform_pow2", 512 * g, 4096 * g, 1024 * g),
            Param("epochs", "int_uniform", 1, 10, 4),
            Param("clip", "uniform", 0.05, 0.5, 0.2),
            *extra,
        ),
        {**PROTEIN_SETTINGS, "max_suggestion_cost": 10800},
    )


OTHER_CLIP = {1: 0.15, 2: 0.3, 4: 0.4, 8: 0.2}  # up, then down again


def optimum(family: str, g: int) -> tuple[float, int, float, float]:
    """The pair's best log2 batch, epochs and clip, and its peak score."""
    c = math.log2(g)
    if family == "loglinear":
        return 10.0 + c, 5, 0.25, PEAK
    if family == "other":
        return 10.0 + c, (3 if g < 4 else 7), OTHER_CLIP[g], PEAK * (1 - 0.1 * c)
    return 12.0, 5, 0.25, PEAK


def best_llr(lb: float) -> float:
    """The best log10 learning rate at log2 batch ``lb`` (every family: it grows with the batch)."""
    return -3.0 + 0.25 * (lb - 10.0)


def surface(family: str, g: int, n_params: int = 4) -> Callable[[dict[str, Any]], float]:
    best_lb, best_epochs, best_clip, peak = optimum(family, g)
    extra = [
        (q, at, width)
        for q, at, width in (EXTRA if n_params == 8 else ())
        if at is not None and width is not None
    ]

    def value(p: dict[str, Any]) -> float:
        llr, lb = math.log10(p["lr"]), math.log2(p["batch"])
        d2 = (
            ((llr - best_llr(lb)) / 0.6) ** 2
            + ((lb - best_lb) / 2.0) ** 2
            + ((p["epochs"] - best_epochs) / 4.0) ** 2
            + ((p["clip"] - best_clip) / 0.15) ** 2
        )
        for q, at, width in extra:
            v = math.log10(p[q.key]) if q.distribution == "log_normal" else p[q.key]
            d2 += ((v - at) / width) ** 2
        return peak * math.exp(-0.5 * d2)

    return value


def cost_s(p: dict[str, Any], g: int) -> float:
    return 20.0 * p["batch"] / (512 * g) * (0.5 + 0.1 * p["epochs"])


@dataclass(frozen=True)
class Pair:
    gpus: int
    space: SearchSpace
    value: Callable[[dict[str, Any]], float]
    best: float
    worst: float


@functools.cache  # 20,000 evaluations for the worst value: once per family, GPUs and size
def make_pair(family: str, g: int, n_params: int = 4) -> Pair:
    space, value = pair_space(g, n_params), surface(family, g, n_params)
    rng = np.random.default_rng(12345)
    worst = min(
        value(space.unnormalize(x)) for x in rng.uniform(-1, 1, (WORST_SAMPLES, len(space)))
    )
    # every family's optimum is attainable inside every pair's bounds (integer batch exponent,
    # integer epochs, continuous rest, the extra parameters' optima inside theirs), so the best
    # is the peak
    peak = PEAK * (1 - 0.1 * math.log2(g)) if family == "other" else PEAK
    return Pair(g, space, value, peak, worst)


class _Reached:
    """Per pair: the best observed score's regret, and the round it first got within the target
    (and within the approach's coarser regret)."""

    def __init__(self, pairs: list[Pair]) -> None:
        self.pairs = pairs
        self.best: list[tuple[float, float]] = [(-math.inf, 1.0)] * len(pairs)  # (seen, regret)
        self.target: list[int | None] = [None] * len(pairs)
        self.approach: list[int | None] = [None] * len(pairs)

    def record(self, i: int, r: int, true: float, score: float) -> None:
        p = self.pairs[i]
        if score > self.best[i][0]:
            self.best[i] = (score, (p.best - true) / (p.best - p.worst))
        if self.target[i] is None and self.best[i][1] <= REGRET_TARGET:
            self.target[i] = r
        if self.approach[i] is None and self.best[i][1] <= APPROACH_TARGET:
            self.approach[i] = r

    def done(self) -> bool:
        return all(x is not None for x in self.target)

    def summary(self, max_rounds: int) -> dict[str, Any]:
        """Total trials (4 per round; censored: 4 x max_rounds + 4) and the per-pair rounds."""
        last = max_rounds + 1

        def rounds(xs: list[int | None]) -> list[int]:
            return [x if x is not None else last for x in xs]

        return {
            "total_trials": len(self.pairs) * max(rounds(self.target)),
            "censored": not self.done(),
            "pair_trials": rounds(self.target),
            "pair_approach": rounds(self.approach),
            "final_regret": [b[1] for b in self.best],
        }


def aligned(family: str, params: dict[str, Any], theirs: int, mine: int) -> dict[str, Any]:
    """A result of the ``theirs``-GPU pair moved by the difference between the two pairs'
    optima (log learning rate, log2 batch, epochs, clip; the extra parameters' optima are
    shared): where it would have been measured on the ``mine``-GPU pair's surface."""
    lb_t, epochs_t, clip_t, _ = optimum(family, theirs)
    lb_m, epochs_m, clip_m, _ = optimum(family, mine)
    return {
        **params,
        "lr": params["lr"] * 10.0 ** (best_llr(lb_m) - best_llr(lb_t)),
        "batch": int(round(params["batch"] * 2.0 ** (lb_m - lb_t))),
        "epochs": params["epochs"] + epochs_m - epochs_t,
        "clip": params["clip"] + clip_m - clip_t,
    }


def rounds_to_target(
    family: str, mode: str, seed: int, max_rounds: int, seed_offset: int = 0, n_params: int = 4
) -> dict[str, Any]:
    """Run the 4 pairs in lockstep rounds; the round at which every pair got within target.

    ``mode``: ``independent``, ``transfer`` or ``aligned`` (the transfer with each other pair's
    result moved onto this pair's optimum first: a reference, see the module doc).
    ``seed_offset`` moves the optimizers' seeds only (the surfaces and the noise stay): how much
    the optimizers' own random draws move the result.
    """
    if mode not in (*MODES, "aligned"):
        raise ValueError(f"mode {mode!r} is not one of {', '.join((*MODES, 'aligned'))}")
    pairs = [make_pair(family, g, n_params) for g in GPUS]
    opts = [
        ProteinOptimizer(p.space, seed=seed * 100 + i + seed_offset) for i, p in enumerate(pairs)
    ]
    noise = np.random.default_rng([seed, 11])
    results: list[tuple[int, dict[str, Any], float, float]] = []  # (pair index, params, score, s)
    fed = [0] * len(pairs)
    reached = _Reached(pairs)
    suggest_s: list[float] = []
    transferred = 0
    for r in range(1, max_rounds + 1):
        suggestions = []
        for i, (p, opt) in enumerate(zip(pairs, opts)):
            if mode != "independent":
                for j, params, score, seconds in results[fed[i] :]:
                    if j == i:
                        continue
                    theirs, space = {"total_gpus": pairs[j].gpus}, pairs[j].space
                    if mode == "aligned":
                        params, space = aligned(family, params, pairs[j].gpus, p.gpus), p.space
                    opt.observe(params, score, seconds, context=theirs, space=space)
                fed[i] = len(results)
            t0 = time.perf_counter()
            ctx = {"total_gpus": p.gpus} if mode != "independent" else None
            suggestions.append(opt.suggest(1, context=ctx)[0])
            suggest_s.append(time.perf_counter() - t0)
            info = opt.last_info[0].get("transfer")
            transferred = max(transferred, info["other"] if info else 0)
        for i, (p, opt, params) in enumerate(zip(pairs, opts, suggestions)):
            true = p.value(params)
            score, seconds = true + NOISE_SD * noise.normal(), cost_s(params, p.gpus)
            opt.observe(params, score, seconds)
            results.append((i, params, score, seconds))
            reached.record(i, r, true, score)
        if reached.done():
            break
    return {
        **reached.summary(max_rounds),
        "median_suggest_s": statistics.median(suggest_s),
        "max_transferred": transferred,
    }


def rounds_given_shared(
    family: str, seed: int, max_rounds: int, n_params: int = 4
) -> dict[str, Any]:
    """A reference, not a method: each pair is *told* the learning rate and batch of its own
    optimum (on every family what the pairs have in common: one learning-rate/batch ridge, moved
    by the hardware) and searches the rest alone (epochs and clip; with ``n_params`` 8 also the
    extra four), as an independent sweep. What a transfer that got the learning rate and batch
    exactly right, and nothing else, could do."""
    pairs = [make_pair(family, g, n_params) for g in GPUS]
    opts, fixed = [], []
    for i, p in enumerate(pairs):
        lb = optimum(family, p.gpus)[0]
        fixed.append({"lr": 10.0 ** best_llr(lb), "batch": int(2**lb)})
        own = tuple(q for q in p.space.params if q.key not in ("lr", "batch"))
        opts.append(ProteinOptimizer(SearchSpace(own, dict(p.space.settings)), seed=seed * 100 + i))
    noise = np.random.default_rng([seed, 11])
    reached = _Reached(pairs)
    for r in range(1, max_rounds + 1):
        suggestions = [opt.suggest(1)[0] for opt in opts]
        for i, (p, opt, params) in enumerate(zip(pairs, opts, suggestions)):
            full = {**fixed[i], **params}
            true = p.value(full)
            score = true + NOISE_SD * noise.normal()
            opt.observe(params, score, cost_s(full, p.gpus))
            reached.record(i, r, true, score)
        if reached.done():
            break
    return reached.summary(max_rounds)


def speedup_interval(independent: list[int], transfer: list[int]) -> tuple[float, float]:
    """95% paired-bootstrap interval of median(independent) / median(transfer) over the seeds."""
    ind, tr = np.array(independent, dtype=float), np.array(transfer, dtype=float)
    rng = np.random.default_rng(2026)
    idx = rng.integers(len(ind), size=(BOOTSTRAP, len(ind)))
    ratios = np.median(ind[idx], axis=1) / np.median(tr[idx], axis=1)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


def _reference_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A reference's row: median total trials, the totals, and each pair's median round."""
    return {
        "median_total_trials": statistics.median(o["total_trials"] for o in runs),
        "total_trials": [o["total_trials"] for o in runs],
        "pair_rounds_median": [
            statistics.median(o["pair_trials"][i] for o in runs) for i in range(len(GPUS))
        ],
    }


def run(
    seeds: int,
    max_rounds: int,
    workers: int,
    families: list[str],
    first_seed: int = 0,
    seed_offset: int = 0,
    reference: bool = False,
    n_params: int = 4,
    aligned: bool = False,
) -> dict[str, Any]:
    seed_range = range(first_seed, first_seed + seeds)
    modes = (*MODES, "aligned") if aligned else MODES
    jobs = [
        (f, m, s, max_rounds, seed_offset, n_params)
        for f in families
        for m in modes
        for s in seed_range
    ]
    refs = [(f, s, max_rounds, n_params) for f in families for s in seed_range] if reference else []
    if workers == 1:  # in this process (no pickling; profilers and debuggers see it all)
        outs = [rounds_to_target(*job) for job in jobs]
        ref_outs = [rounds_given_shared(*job) for job in refs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            outs = list(pool.map(rounds_to_target, *zip(*jobs)))
            ref_outs = list(pool.map(rounds_given_shared, *zip(*refs))) if refs else []
    result: dict[str, Any] = {}
    for f in families:
        row: dict[str, Any] = {}
        for m in MODES:
            runs = [o for (ff, mm, *_), o in zip(jobs, outs) if ff == f and mm == m]
            row[m] = {
                "median_total_trials": statistics.median(o["total_trials"] for o in runs),
                "total_trials": [o["total_trials"] for o in runs],
                "censored": sum(o["censored"] for o in runs),
                "median_suggest_s": statistics.median(o["median_suggest_s"] for o in runs),
                "max_transferred": max(o["max_transferred"] for o in runs),
                # per pair (1, 2, 4, 8 GPUs): the median round it first got within target
                "pair_rounds_median": [
                    statistics.median(o["pair_trials"][i] for o in runs) for i in range(len(GPUS))
                ],
                # the same for the approach: the median round each pair got within 25%
                "pair_approach_median": [
                    statistics.median(o["pair_approach"][i] for o in runs) for i in range(len(GPUS))
                ],
            }
        ind, tr = row["independent"], row["transfer"]
        row["speedup"] = ind["median_total_trials"] / tr["median_total_trials"]
        row["speedup_95"] = speedup_interval(ind["total_trials"], tr["total_trials"])
        row["seeds_transfer_better"] = sum(
            a < b for a, b in zip(tr["total_trials"], ind["total_trials"])
        )
        row["seeds_transfer_worse"] = sum(
            a > b for a, b in zip(tr["total_trials"], ind["total_trials"])
        )
        moved = [o for (ff, mm, *_), o in zip(jobs, outs) if ff == f and mm == "aligned"]
        if moved:
            row["aligned"] = _reference_row(moved)
        mine = [o for (ff, *_), o in zip(refs, ref_outs) if ff == f]
        if mine:
            row["reference"] = _reference_row(mine)
        result[f] = row
    return result


def print_table(
    result: dict[str, Any], seeds: int, max_rounds: int, first_seed: int = 0, n_params: int = 4
) -> None:
    print(
        f"Total trials until all 4 pairs are within {REGRET_TARGET:.0%} normalized regret "
        f"({n_params} parameters; median over seeds {first_seed}-{first_seed + seeds - 1}; at "
        f"most {max_rounds} rounds of 4, '>' = not reached)"
    )
    print(
        f"{'family':<10} {'independent':>12} {'transfer':>9} {'speedup':>8} {'95% interval':>13} "
        f"{'better':>7} {'worse':>6} {'censored i/t':>13} {'suggest s i/t':>14}"
    )
    cap = 4 * (max_rounds + 1)
    for f, r in result.items():
        ind, tr = r["independent"], r["transfer"]

        def fmt(v: float) -> str:
            return f">{cap - 4}" if v >= cap else f"{v:g}"

        print(
            f"{f:<10} {fmt(ind['median_total_trials']):>12} {fmt(tr['median_total_trials']):>9} "
            f"{r['speedup']:>7.2f}x {r['speedup_95'][0]:>6.2f}-{r['speedup_95'][1]:<6.2f} "
            f"{r['seeds_transfer_better']:>7} {r['seeds_transfer_worse']:>6} "
            f"{ind['censored']:>6}/{tr['censored']:<6} "
            f"{ind['median_suggest_s']:>6.3f}/{tr['median_suggest_s']:<6.3f}"
        )
    for key, what in (
        (
            "reference",
            "each pair told the learning rate and batch of its own optimum, the rest "
            "searched alone",
        ),
        (
            "aligned",
            "transfer with each other pair's results moved by the exact difference "
            "between its optimum and this pair's",
        ),
    ):
        refs = {f: r[key] for f, r in result.items() if key in r}
        if not refs:
            continue
        print(f"\nReference, not a method: {what} (median total trials; per pair, median round)")
        for f, ref in refs.items():
            total = ref["median_total_trials"]
            shown = f">{cap - 4}" if total >= cap else f"{total:g}"
            rounds = " / ".join(f"{v:g}" for v in ref["pair_rounds_median"])
            print(f"{f:<10} {shown:>12}   per pair {rounds}")
    for key, what in (
        ("pair_rounds_median", f"the target ({REGRET_TARGET:.0%})"),
        ("pair_approach_median", f"{APPROACH_TARGET:.0%} regret (the approach)"),
    ):
        print(
            f"\nPer pair: median round of first reaching {what}, independent -> transfer "
            f"({max_rounds + 1} = not reached)"
        )
        print(f"{'family':<10} " + " ".join(f"{f'{g} GPU':>13}" for g in GPUS))
        for f, r in result.items():
            pairs = zip(r["independent"][key], r["transfer"][key])
            print(f"{f:<10} " + " ".join(f"{f'{a:g} -> {b:g}':>13}" for a, b in pairs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--max-rounds", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument(
        "--optimizer-seed-offset",
        type=int,
        default=0,
        help="add this to every optimizer's seed (same surfaces and noise): the optimizers' share "
        "of the seed-to-seed spread",
    )
    ap.add_argument(
        "--reference",
        action="store_true",
        help="also run the reference: each pair told the learning rate and batch of its optimum, "
        "searching the rest alone",
    )
    ap.add_argument(
        "--aligned",
        action="store_true",
        help="also run the aligned reference: transfer with each other pair's results moved "
        "onto this pair's optimum first",
    )
    ap.add_argument(
        "--params",
        type=int,
        default=4,
        help="4 (learning rate, batch, epochs, clip) or 8 (and three shared parameters and one "
        "without effect, as many as the built-in space)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    families = args.families.split(",")
    if not set(families) <= set(FAMILIES):
        ap.error(f"--families takes names from {', '.join(FAMILIES)}")
    if args.params not in PARAMS:
        ap.error(f"--params takes 4 or 8, not {args.params}")
    if (
        args.seeds < 1
        or args.max_rounds < 1
        or args.first_seed < 0
        or args.workers < 1
        or args.optimizer_seed_offset < 0
    ):
        ap.error(
            "--seeds, --max-rounds and --workers take a number from 1, --first-seed and "
            "--optimizer-seed-offset one from 0"
        )
    result = run(
        args.seeds,
        args.max_rounds,
        args.workers,
        families,
        args.first_seed,
        args.optimizer_seed_offset,
        args.reference,
        args.params,
        args.aligned,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result, args.seeds, args.max_rounds, args.first_seed, args.params)


if __name__ == "__main__":
    main()
