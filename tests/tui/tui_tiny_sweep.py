"""A tiny real sweep command for the end-to-end TUI test: writes trials with learning curves.

Used as the experiment's ``[launch] command``: ``python tui_tiny_sweep.py {sweep_name} {gpus}
{nodes} {experiment} TRIALS``. Each trial takes a moment, goes running -> finished in the store
(like the built-in runner) and logs a curve; throughput grows with the GPUs. A one-GPU sweep then
exits 0; bigger ones linger (up to 2 minutes) so a test can cancel them while they run.
"""

from __future__ import annotations

import math
import sys
import time

from hwscale_tui.store import Store


def main() -> int:
    sweep, gpus, nodes, experiment, n_trials = sys.argv[1:6]
    gpus, nodes, n_trials = int(gpus), int(nodes), int(n_trials)
    total = gpus * nodes
    linger = 0.0 if total == 1 else 120.0
    sps = 1000.0 * total / (1 + 0.1 * (total - 1))
    print(f"tiny sweep {sweep}: {n_trials} trials", flush=True)
    with Store.open_default() as store:
        store.upsert_sweep(
            sweep,
            experiment=experiment,
            gpus=gpus,
            nodes=nodes,
            runner="builtin",
            dispatcher="local",
            max_trials=n_trials,
            status="running",
        )
        for i in range(1, n_trials + 1):
            run_id = f"{sweep}_trial_{i:04d}_{i:06x}"
            lr = 0.001 * (1 + i)
            store.insert_trial(
                run_id,
                sweep,
                experiment=experiment,
                idx=i,
                gpus=gpus,
                nodes=nodes,
                state="running",
                params={"trainer.optimizer.learning_rate": lr, "trainer.batch_size": 512 * total},
                started_at=time.time(),
            )
            steps = [2000.0 * k for k in range(1, 11)]
            rows = [
                {
                    "agent_step": s,
                    "wall_s": s / sps,
                    "score": 500 * (1 - math.exp(-s / (4000 + 1000 * i))),
                }
                for s in steps
            ]
            store.append_history(run_id, rows)
            time.sleep(0.2)
            store.update_trial(
                run_id,
                state="finished",
                score=rows[-1]["score"],
                agent_steps=steps[-1],
                runtime_s=rows[-1]["wall_s"],
                sps=sps,
                ended_at=time.time(),
            )
            print(f"trial {i} finished: score {rows[-1]['score']:.1f}", flush=True)
    deadline = time.time() + linger
    while time.time() < deadline:
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
