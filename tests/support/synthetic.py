"""Synthetic experiments with known laws, for recovery tests, the benchmark and demos.

Per trial: throughput ``X(G) = lam G / (1 + sigma (G-1) + kappa G (G-1))`` times log-normal
noise; samples to the target ``a G^b`` times log-normal noise; a learning curve
``score = M (1 - exp(-steps / tau))`` with ``tau`` set so the curve crosses ``target`` exactly
at those samples. A share of trials plateaus below the target (they must come out censored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hwscale_tui.hardware import HardwarePair
from hwscale_tui.records import HistoryPoint, Trial


@dataclass(frozen=True)
class SyntheticTruth:
    lam: float = 2000.0
    sigma: float = 0.05
    kappa: float = 0.002
    samples_a: float = 2.0e5
    samples_b: float = 0.3
    target: float = 400.0
    max_score: float = 500.0
    noise: float = 0.05  # log-normal sd of throughput and of samples to target
    censored_share: float = 0.2
    batch_per_gpu: int = 1024


def throughput(truth: SyntheticTruth, total_gpus: ArrayLike) -> np.ndarray:
    g = np.asarray(total_gpus, dtype=float)
    return truth.lam * g / (1 + truth.sigma * (g - 1) + truth.kappa * g * (g - 1))


def synthetic_experiment(
    pairs: list[HardwarePair],
    trials_per_config: int,
    points: int,
    truth: SyntheticTruth = SyntheticTruth(),
    seed: int = 0,
    *,
    experiment: str = "synthetic",
    log_cost_usd_per_gpu_hour: float | None = None,
) -> tuple[list[Trial], dict[str, list[HistoryPoint]], pd.DataFrame]:
    """Trials, histories and the truth per trial (``samples_to_target`` NaN for censored trials)."""
    rng = np.random.default_rng(seed)
    trials: list[Trial] = []
    histories: dict[str, list[HistoryPoint]] = {}
    truth_rows = []
    for pair in pairs:
        g = pair.total_gpus
        for i in range(trials_per_config):
            run_id = f"{pair.sweep_name(experiment)}_trial_{i + 1:04d}_{rng.integers(0, 16**6):06x}"
            sps = float(throughput(truth, g) * np.exp(rng.normal(0, truth.noise)))
            samples = float(
                truth.samples_a * g**truth.samples_b * np.exp(rng.normal(0, truth.noise))
            )
            censored = rng.random() < truth.censored_share
            plateau = truth.target * 0.9 if censored else truth.max_score
            tau = samples / -np.log(1 - truth.target / truth.max_score)
            steps = np.linspace(0, 3.0 * samples, points)
            score = plateau * (1 - np.exp(-steps / tau))
            wall = steps / sps
            cost = None
            if log_cost_usd_per_gpu_hour is not None:
                cost = wall * log_cost_usd_per_gpu_hour * pair.gpus * pair.nodes / 3600.0
            histories[run_id] = [
                HistoryPoint(float(s), float(w), float(v), None if cost is None else float(cost[k]))
                for k, (s, w, v) in enumerate(zip(steps, wall, score))
            ]
            batch = truth.batch_per_gpu * g * int(2 ** rng.integers(0, 3))
            trials.append(
                Trial(
                    sweep=pair.sweep_name(experiment),
                    run_id=run_id,
                    gpus=pair.gpus,
                    nodes=pair.nodes,
                    state="finished",
                    params={
                        "trainer.batch_size": batch,
                        "trainer.optimizer.learning_rate": float(10 ** rng.uniform(-4, -2)),
                    },
                    score=float(score[-1]),
                    agent_steps=float(steps[-1]),
                    runtime_s=float(wall[-1]),
                    sps=sps,
                    cost_usd=None if cost is None else float(cost[-1]),
                    source="local",
                )
            )
            truth_rows.append(
                {
                    "run_id": run_id,
                    "config": pair.tag,
                    "total_gpus": g,
                    "sps": sps,
                    "samples_to_target": np.nan if censored else samples,
                    "time_to_target_s": np.nan if censored else samples / sps,
                }
            )
    return trials, histories, pd.DataFrame(truth_rows)
