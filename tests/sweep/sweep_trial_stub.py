"""A tiny trial for sweep tests: writes metrics lines like the trainer, then a final line.

    python sweep_trial_stub.py <run_id> <metrics_file> key=value ...

Its score is a smooth function of the learning rate (so the optimizer has something to learn).
Behaviour switches (environment, so the sweep's argv stays the same for every trial):
  STUB_HOLD_DIR    wait until a file named <run_id> (or "all") exists there before finishing
                   (at most 10 minutes, then exit 1)
  STUB_FAIL_IDX    comma-separated trial indices (from the run id) that exit 1
  STUB_KILL_IDX    the same, for trials stopped from outside (exit 143, as on SIGTERM); "all":
                   every trial
It handles SIGTERM by exiting 143.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from pathlib import Path

HOLD_LIMIT_S = 600


def main() -> int:
    run_id, metrics_file, *tokens = sys.argv[1:]
    params = dict(t.split("=", 1) for t in tokens)
    metrics = Path(metrics_file)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"stub trial {run_id} started with {' '.join(tokens)}", flush=True)
    idx = int(run_id.split("_trial_")[1].split("_")[0])
    lr = float(params.get("trainer.optimizer.learning_rate", "0.001"))
    score = 500.0 - 40.0 * (math.log10(lr) + 2.5) ** 2
    steps = 3
    t0 = time.monotonic()
    with open(metrics, "a") as fh:
        for i in range(1, steps + 1):
            row = {
                "metric/agent_step": 1000 * i,
                "metric/total_time": 0.01 * i,
                "overview/sps": 1e5,
                "score": score * i / steps,
                "overview/reward": score * i / steps,
            }
            fh.write(json.dumps(row) + "\n")
            fh.flush()
    hold = os.environ.get("STUB_HOLD_DIR")
    if hold:
        give_up = (
            time.monotonic() + HOLD_LIMIT_S
        )  # a failed test never leaves a stub behind for long
        while not (Path(hold, run_id).exists() or Path(hold, "all").exists()):
            if time.monotonic() > give_up:
                return 1
            time.sleep(0.05)
    killed = os.environ.get("STUB_KILL_IDX", "").split(",")
    if str(idx) in killed or "all" in killed:
        print(f"stub: trial {idx} is stopped as if from outside", flush=True)
        return 143
    if str(idx) in os.environ.get("STUB_FAIL_IDX", "").split(","):
        print(f"stub: trial {idx} fails on purpose", flush=True)
        return 1
    with open(metrics, "a") as fh:
        fh.write(
            json.dumps(
                {
                    "sweep/score": score,
                    "sweep/cost": 0.001,
                    "metric/agent_step": 1000 * steps,
                    "metric/total_time": round(time.monotonic() - t0, 3),
                    "final": True,
                    "state": "finished",
                }
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
