"""Optimizer quality: our Protein-style optimizer vs Optuna's TPE vs random search, and its latency.

    python benchmarks/optimizer.py [--seeds 20] [--trials 30] [--workers 2] [--quick] [--json]

Every optimizer gets the same trial budget on the same problems, starts at the search center
and runs once per seed. Simple regret = distance of the *true* (noise-free) value at the
configuration with the best observed score to the known optimum; the table shows the median
over seeds and its ratio to each peer (below 1.0 means ours is better). Latency is the wall time
of one ``suggest`` by a fresh optimizer that has just been given N observations (the sweep
runner's resume path, which includes fitting both Gaussian processes).

Problems (see docs/optimizer.md): Branin (2-d), Hartmann-6 (6-d), both minimized on uniform
parameters, and a noisy PPO-like response surface over the built-in preset's real search space
for g4n1, whose cost in seconds grows with the batch size. A PPO-like trial that would run past
``max_suggestion_cost`` is stopped there and counts as failed, for every optimizer alike.
"""

from __future__ import annotations

import argparse
import json
import logging
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

from hwscale_tui.hardware import HardwarePair
from hwscale_tui.search.presets import PROTEIN_SETTINGS, builtin_preset
from hwscale_tui.search.protein import ProteinOptimizer
from hwscale_tui.search.space import Param, SearchSpace

OPTIMIZERS = ("ours", "tpe", "random")
LATENCY_OBSERVATIONS = (10, 100, 500)
TARGET_RATIO_VS_TPE = 1.0
TARGET_RATIO_VS_RANDOM = 0.5
TARGET_LATENCY_100_S = 0.5


@dataclass(frozen=True)
class Problem:
    name: str
    space: SearchSpace
    goal: str
    optimum: float
    true_value: Callable[[dict[str, Any]], float]
    cost_s: Callable[[dict[str, Any]], float]
    noise_sd: float = 0.0


# -- Branin ---------------------------------------------------------------------------------
def branin(p: dict[str, Any]) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, r, s, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


# -- Hartmann-6 -----------------------------------------------------------------------------
H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
H6_KEYS = tuple(f"x{i}" for i in range(1, 7))


def hartmann6(p: dict[str, Any]) -> float:
    x = np.array([p[k] for k in H6_KEYS])
    return float(-np.sum(H6_ALPHA * np.exp(-np.sum(H6_A * (x - H6_P) ** 2, axis=1))))


# -- PPO-like surface over the built-in search space ------------------------------------------
PPO_PAIR = HardwarePair(4, 1)
PPO_MAX_COST_S = 240.0
PPO_NOISE_SD = 20.0
PPO_PEAK = 500.0


def _ppo_coords(p: dict[str, Any]) -> dict[str, float]:
    c = builtin_preset(PPO_PAIR).constraints
    return {
        "lb": math.log2(p["trainer.batch_size"] / c.min_batch),  # 0..3
        "lm": math.log2(p["trainer.minibatch_size"] / c.min_minibatch),  # 0..4
        "llr": math.log10(p["trainer.optimizer.learning_rate"]),
        "clip": p["trainer.losses.ppo.clip_coef"],
        "vf_clip": p["trainer.losses.ppo.vf_clip_coef"],
        "gae": p["trainer.losses.ppo.gae_lambda"],
        "lent": math.log10(p["trainer.losses.ppo.ent_coef"]),
        "vf_coef": p["trainer.losses.ppo.vf_coef"],
    }


def ppo_like(p: dict[str, Any]) -> float:
    """Mean final return: a smooth bump whose best learning rate grows with the batch size."""
    q = _ppo_coords(p)
    best_llr = -3.2 + 0.25 * q["lb"]
    dist = (
        ((q["llr"] - best_llr) / 0.6) ** 2
        + ((q["lb"] - 2) / 2.0) ** 2
        + ((q["lm"] - 2) / 3.0) ** 2
        + ((q["clip"] - 0.3) / 0.2) ** 2
        + ((q["gae"] - 0.97) / 0.08) ** 2
        + ((q["lent"] + 2.5) / 1.2) ** 2
        + ((q["vf_coef"] - 1.0) / 1.2) ** 2
        + ((q["vf_clip"] - 0.5) / 1.0) ** 2
    )
    return PPO_PEAK * math.exp(-0.5 * dist)


def ppo_cost_s(p: dict[str, Any]) -> float:
    """Runtime: doubles with the batch size, a little shorter with larger minibatches."""
    q = _ppo_coords(p)
    return 40.0 * 2 ** q["lb"] * (1.1 - 0.05 * q["lm"])


def problems() -> list[Problem]:
    big = {**PROTEIN_SETTINGS, "max_suggestion_cost": 10800}
    branin_space = SearchSpace(
        (Param("x1", "uniform", -5, 10, 2.5), Param("x2", "uniform", 0, 15, 7.5)), big
    )
    h6_space = SearchSpace(tuple(Param(k, "uniform", 0.0, 1.0, 0.5) for k in H6_KEYS), big)
    ppo_space = builtin_preset(PPO_PAIR, overrides={"max_suggestion_cost": PPO_MAX_COST_S}).space
    return [
        Problem(
            "branin",
            branin_space,
            "minimize",
            0.397887,
            branin,
            lambda p: 60.0 * (1.5 + p["x1"] / 15),
        ),
        Problem(
            "hartmann6", h6_space, "minimize", -3.32237, hartmann6, lambda p: 60.0 * (1.0 + p["x1"])
        ),
        Problem("ppo_like", ppo_space, "maximize", PPO_PEAK, ppo_like, ppo_cost_s, PPO_NOISE_SD),
    ]


def problem_named(name: str) -> Problem:
    return next(p for p in problems() if p.name == name)


# -- running one optimizer on one problem ---------------------------------------------------------
@dataclass
class Outcome:
    """What a trial reports: the observed score (None = failed) and its runtime in seconds."""

    score: float | None
    cost_s: float


def run_trial(problem: Problem, params: dict[str, Any], rng: np.random.Generator) -> Outcome:
    cost = problem.cost_s(params)
    limit = float(problem.space.settings["max_suggestion_cost"])
    if cost > limit:
        return Outcome(None, limit)
    return Outcome(problem.true_value(params) + problem.noise_sd * rng.normal(), cost)


class RandomSearch:
    def __init__(self, space: SearchSpace, seed: int) -> None:
        self.space, self.rng, self.started = space, np.random.default_rng(seed), False

    def ask(self) -> dict[str, Any]:
        if not self.started:
            self.started = True
            return self.space.center()
        return self.space.unnormalize(self.rng.uniform(-1, 1, len(self.space)))

    def tell(self, params: dict[str, Any], outcome: Outcome) -> None:
        pass


class Ours:
    def __init__(self, problem: Problem, seed: int) -> None:
        self.opt = ProteinOptimizer(problem.space, goal=problem.goal, seed=seed)

    def ask(self) -> dict[str, Any]:
        return self.opt.suggest(1)[0]

    def tell(self, params: dict[str, Any], outcome: Outcome) -> None:
        self.opt.observe(params, outcome.score, outcome.cost_s, failed=outcome.score is None)


class OptunaTPE:
    """Optuna's TPE sampler through ask/tell, with the search center enqueued as trial 1."""

    def __init__(self, problem: Problem, seed: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.space = problem.space
        self.study = optuna.create_study(
            direction=problem.goal, sampler=optuna.samplers.TPESampler(seed=seed)
        )
        self.dists = {p.key: self._distribution(p) for p in problem.space.params}
        center = problem.space.center()
        self.study.enqueue_trial(
            {p.key: self._to_optuna(p, center[p.key]) for p in problem.space.params}
        )
        self.trial: Any = None

    def _distribution(self, p: Param) -> Any:
        d = self.optuna.distributions
        if p.distribution == "uniform_pow2":
            return d.IntDistribution(round(math.log2(p.min)), round(math.log2(p.max)))
        if p.distribution == "int_uniform":
            return d.IntDistribution(int(p.min), int(p.max))
        return d.FloatDistribution(p.min, p.max, log=p.distribution == "log_normal")

    @staticmethod
    def _to_optuna(p: Param, value: float) -> float:
        return round(math.log2(value)) if p.distribution == "uniform_pow2" else value

    def ask(self) -> dict[str, Any]:
        self.trial = self.study.ask(self.dists)
        out = {}
        for p in self.space.params:
            v = self.trial.params[p.key]
            out[p.key] = int(2**v) if p.distribution == "uniform_pow2" else v
        return out

    def tell(self, params: dict[str, Any], outcome: Outcome) -> None:
        if outcome.score is None:
            self.study.tell(self.trial, state=self.optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(self.trial, outcome.score)


def simple_regret(problem_name: str, optimizer: str, seed: int, trials: int) -> float:
    problem = problem_named(problem_name)
    noise = np.random.default_rng([seed, 7])  # the same noise stream for every optimizer
    agent: Any = {
        "ours": lambda: Ours(problem, seed),
        "tpe": lambda: OptunaTPE(problem, seed),
        "random": lambda: RandomSearch(problem.space, seed),
    }[optimizer]()
    best_params, best_score = None, None
    sign = 1.0 if problem.goal == "maximize" else -1.0
    for _ in range(trials):
        params = agent.ask()
        outcome = run_trial(problem, params, noise)
        agent.tell(params, outcome)
        if outcome.score is not None and (
            best_score is None or sign * outcome.score > sign * best_score
        ):
            best_params, best_score = params, outcome.score
    if best_params is None:
        return float("nan")
    return sign * (problem.optimum - problem.true_value(best_params))


# -- latency ------------------------------------------------------------------------------------
def latency_s(observations: int, repeats: int) -> float:
    """Median wall time of one suggest by a fresh optimizer given ``observations`` results."""
    problem = problem_named("ppo_like")
    times = []
    for rep in range(repeats):
        rng = np.random.default_rng([observations, rep])
        opt = ProteinOptimizer(problem.space, goal=problem.goal, seed=rep)
        for _ in range(observations):
            params = problem.space.unnormalize(rng.uniform(-1, 1, len(problem.space)))
            outcome = run_trial(problem, params, rng)
            opt.observe(params, outcome.score, outcome.cost_s, failed=outcome.score is None)
        t0 = time.perf_counter()
        opt.suggest(1)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# -- report -------------------------------------------------------------------------------------
def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (1.0 if a == 0 else math.inf)


def run(
    seeds: int, trials: int, workers: int, latency_repeats: int, names: list[str]
) -> dict[str, Any]:
    jobs = [(name, o, s, trials) for name in names for o in OPTIMIZERS for s in range(seeds)]
    jobs.sort(key=lambda j: j[1] != "ours")  # the slow ones first, for a balanced pool
    with ProcessPoolExecutor(max_workers=workers) as pool:
        regrets = list(pool.map(simple_regret, *zip(*jobs)))
    per: dict[str, dict[str, list[float]]] = {}
    for (name, opt, _, _), r in zip(jobs, regrets):
        per.setdefault(name, {o: [] for o in OPTIMIZERS})[opt].append(r)
    result: dict[str, Any] = {"problems": {}, "latency_s": {}}
    for name, by_opt in per.items():
        med = {o: statistics.median(v) for o, v in by_opt.items()}
        result["problems"][name] = {
            "regret": med,
            "ratio_vs_tpe": _ratio(med["ours"], med["tpe"]),
            "ratio_vs_random": _ratio(med["ours"], med["random"]),
        }
    for n in LATENCY_OBSERVATIONS:
        result["latency_s"][str(n)] = latency_s(n, latency_repeats)
    return result


def print_table(result: dict[str, Any], seeds: int, trials: int) -> None:
    print(
        f"Median simple regret over {seeds} seeds, {trials} trials each, all starting at the search center"
    )
    print(
        f"{'problem':<11} {'ours':>10} {'tpe':>10} {'random':>10} {'ours/tpe':>9} {'ours/random':>12}"
    )
    for name, r in result["problems"].items():
        g = r["regret"]
        print(
            f"{name:<11} {g['ours']:>10.4g} {g['tpe']:>10.4g} {g['random']:>10.4g} "
            f"{r['ratio_vs_tpe']:>9.3f} {r['ratio_vs_random']:>12.3f}"
        )
    lat = result["latency_s"]
    print(
        "suggest latency (fresh optimizer, 8-d space): "
        + ", ".join(f"{n} obs {lat[n]:.3f} s" for n in lat)
    )
    ratios = result["problems"].values()
    beat_tpe = sum(r["ratio_vs_tpe"] <= TARGET_RATIO_VS_TPE for r in ratios)
    beat_random = sum(r["ratio_vs_random"] <= TARGET_RATIO_VS_RANDOM for r in ratios)
    print(
        f"targets: ratio vs TPE <= {TARGET_RATIO_VS_TPE} on {beat_tpe}/{len(ratios)} problems (need 2); "
        f"ratio vs random <= {TARGET_RATIO_VS_RANDOM} on {beat_random}/{len(ratios)}; "
        f"latency at 100 obs {lat['100']:.3f} s (< {TARGET_LATENCY_100_S})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2, help="processes running seeds in parallel")
    ap.add_argument(
        "--problems", default=",".join(p.name for p in problems()), help="comma-separated subset"
    )
    ap.add_argument(
        "--quick", action="store_true", help="a smoke run: 3 seeds, 12 trials, 1 latency repeat"
    )
    ap.add_argument(
        "--json", action="store_true", help="print the result as JSON instead of a table"
    )
    args = ap.parse_args()
    logging.getLogger("optuna").setLevel(logging.WARNING)
    seeds, trials, repeats = (3, 12, 1) if args.quick else (args.seeds, args.trials, 3)
    names = args.problems.split(",")
    known = [p.name for p in problems()]
    if not set(names) <= set(known):
        ap.error(f"--problems takes names from {', '.join(known)}")
    result = run(seeds, trials, args.workers, repeats, names)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result, seeds, trials)


if __name__ == "__main__":
    main()
