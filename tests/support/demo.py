"""A finished built-in demo experiment as data: trials and learning curves for every pair.

Deterministic (seeded): the screenshot script, the benchmark and the snapshot tests draw the
same picture every time. Throughput follows a USL law in total GPUs, samples-to-target grow
with the batch (a critical-batch effect), and each trial's hyperparameters come from the pair's
real search space (``search.presets.preset_for``), so what is shown is shaped like a real run.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from hwscale_tui.config import ExperimentConfig
from hwscale_tui.hardware import plan_grid
from hwscale_tui.prices import job_cost_usd
from hwscale_tui.records import HistoryPoint, Trial
from hwscale_tui.search.presets import preset_for

CURVE_POINTS = 24
SOLVED_SCORE = 500.0


@dataclass
class DemoData:
    trials: list[Trial]
    histories: dict[str, list[HistoryPoint]]


def _throughput(total_gpus: int) -> float:
    """Agent steps per second: USL with contention 0.05 and coherency 0.002."""
    n = total_gpus
    return 15000.0 * n / (1 + 0.05 * (n - 1) + 0.002 * n * (n - 1))


def demo_data(
    cfg: ExperimentConfig,
    now: float,
    trials_per_pair: int | None = None,
    seed: int = 0,
    running_per_pair: int = 0,
    with_histories: bool = True,
) -> DemoData:
    """Trials for every valid pair of ``cfg``; the last ``running_per_pair`` of each sweep still run.

    ``with_histories=False`` keeps only each curve's last point in the trial (less memory).
    """
    rng = random.Random(seed)
    pairs, _ = plan_grid(
        cfg.grid.gpu_counts, cfg.grid.node_counts, cfg.grid.max_gpus_per_node, cfg.grid.exclude
    )
    per_pair = trials_per_pair or cfg.sweep.max_trials
    price = cfg.price_per_gpu_hour
    trials: list[Trial] = []
    histories: dict[str, list[HistoryPoint]] = {}
    for pair in pairs:
        sweep = pair.sweep_name(cfg.name)
        space = preset_for(cfg, pair).space
        sps = _throughput(pair.total_gpus)
        t0 = now - 3600.0 + 60.0 * pair.total_gpus
        for i in range(1, per_pair + 1):
            coords = {p.key: (0.0 if i == 1 else rng.uniform(-1, 1)) for p in space.params}
            params = {p.key: p.unnormalize(c) for p, c in zip(space.params, coords.values())}
            quality = 1.0 - 0.25 * sum(c * c for c in coords.values()) / len(coords)
            batch = params["trainer.batch_size"]
            steps_to_solve = 40_000 * (1 + batch / 8192) / max(quality, 0.3)
            total_steps = float(cfg.sweep.total_timesteps)
            running = i > per_pair - running_per_pair
            done_steps = total_steps * (0.45 if running else 1.0)
            run_id = f"{sweep}_trial_{i:04d}_{rng.getrandbits(24):06x}"
            curve = []
            for k in range(1, CURVE_POINTS + 1):
                step = done_steps * k / CURVE_POINTS
                score = SOLVED_SCORE * quality * (
                    1 - math.exp(-step / steps_to_solve * 2.3)
                ) + rng.gauss(0, 6)
                wall = step / sps
                curve.append(
                    HistoryPoint(
                        step,
                        wall,
                        max(score, 0.0),
                        job_cost_usd(price, pair.gpus, pair.nodes, wall),
                    )
                )
            runtime = done_steps / sps
            created = t0 + (i - 1) * (total_steps / sps + 5)
            last = curve[-1]
            trials.append(
                Trial(
                    sweep=sweep,
                    run_id=run_id,
                    gpus=pair.gpus,
                    nodes=pair.nodes,
                    state="running" if running else ("failed" if quality < 0.55 else "finished"),
                    params=params,
                    score=last.score,
                    cost_usd=last.cost_usd,
                    agent_steps=last.agent_step,
                    runtime_s=runtime,
                    sps=sps * rng.uniform(0.95, 1.05),
                    created_at=created,
                    updated_at=created + runtime,
                    source="local",
                )
            )
            if with_histories:
                histories[run_id] = curve
    return DemoData(trials, histories)


def write_demo_store(store, cfg: ExperimentConfig, data: DemoData) -> None:
    """Write the demo's sweeps, trials and histories into a :class:`~hwscale_tui.store.Store`."""
    with store.transaction():
        for t in data.trials:
            if store.get_sweep(t.sweep) is None:
                store.upsert_sweep(
                    t.sweep,
                    experiment=cfg.name,
                    gpus=t.gpus,
                    nodes=t.nodes,
                    runner="builtin",
                    dispatcher="local",
                    max_trials=cfg.sweep.max_trials,
                    status="finished",
                )
            idx = int(t.run_id.rsplit("_trial_", 1)[1].split("_")[0])
            store.insert_trial(
                t.run_id,
                t.sweep,
                experiment=cfg.name,
                idx=idx,
                gpus=t.gpus,
                nodes=t.nodes,
                state=t.state,
                params=t.params,
                score=t.score,
                cost_usd=t.cost_usd,
                agent_steps=t.agent_steps,
                runtime_s=t.runtime_s,
                sps=t.sps,
                created_at=t.created_at,
                updated_at=t.updated_at,
                source="local",
            )
            store.append_history(
                t.run_id,
                [
                    {
                        "agent_step": p.agent_step,
                        "wall_s": p.wall_s,
                        "score": p.score,
                        "cost_usd": p.cost_usd,
                    }
                    for p in data.histories[t.run_id]
                ],
            )
