"""A tiny distributed trial for the Slurm tests: one process per node, a real TCP rendezvous.

    python slurm_trial.py <run_id> <metrics_file> torchrun --nnodes=N --node_rank=K
        --master_addr=A --master_port=P ... -- key=value ...

It receives what ``{torchrun}`` expands to on Slurm and does what torchrun's rendezvous does
first: node rank 0 listens on master_addr:master_port and every other rank connects and says
which node it runs on. Rank 0 then writes metrics lines like the trainer (a final line with
``sweep/score``) and ``ranks.json`` next to them: every rank's node, CUDA_VISIBLE_DEVICES and
whether WANDB_API_KEY reached it. Switches (environment, passed to the job by sbatch):
  HWSTUB_EXIT      exit with this code at once
  HWSTUB_HOLD_DIR  wait until a file named <run_id> (or "all") exists there (at most 10 min)
SIGTERM exits 143.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import sys
import time
from pathlib import Path

LIMIT_S = 600


def me() -> dict:
    return {
        "node": os.environ.get("SLURMD_NODENAME"),
        "node_id": os.environ.get("SLURM_NODEID"),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "job_id": os.environ.get("SLURM_JOB_ID"),
        "wandb_key_seen": os.environ.get("WANDB_API_KEY"),
    }


def rendezvous(nnodes: int, rank: int, addr: str, port: int) -> list[dict]:
    if nnodes == 1:
        return [me()]
    if rank == 0:
        srv = socket.create_server((addr, port))
        peers = [me()]
        while len(peers) < nnodes:
            conn, _ = srv.accept()
            with conn:
                peers.append(json.loads(conn.makefile().readline()))
        return peers
    give_up = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection((addr, port), timeout=5) as conn:
                conn.sendall((json.dumps(me()) + "\n").encode())
            return []
        except OSError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.1)


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_id, metrics_file, *rest = sys.argv[1:]
    split = rest.index("--")
    launcher, tokens = rest[:split], rest[split + 1 :]
    opts = dict(t[2:].split("=", 1) for t in launcher if t.startswith("--") and "=" in t)
    rank = int(opts.get("node_rank", "0"))
    print(f"slurm trial {run_id} rank {rank} on {os.environ.get('SLURMD_NODENAME')}", flush=True)
    if os.environ.get("HWSTUB_EXIT"):
        return int(os.environ["HWSTUB_EXIT"])
    hold = os.environ.get("HWSTUB_HOLD_DIR")
    if hold and rank == 0:
        give_up = time.monotonic() + LIMIT_S
        while not (Path(hold, run_id).exists() or Path(hold, "all").exists()):
            if time.monotonic() > give_up:
                return 1
            time.sleep(0.05)
    peers = rendezvous(
        int(opts.get("nnodes", "1")),
        rank,
        opts.get("master_addr", ""),
        int(opts.get("master_port", "0")),
    )
    if rank != 0:
        return 0
    params = dict(t.split("=", 1) for t in tokens)
    lr = float(params.get("trainer.optimizer.learning_rate", "0.001"))
    score = 500.0 - 40.0 * (math.log10(lr) + 2.5) ** 2
    metrics = Path(metrics_file)
    Path(metrics.parent, "ranks.json").write_text(
        json.dumps({"launcher": launcher, "ranks": peers})
    )
    with open(metrics, "a") as fh:
        for i in (1, 2):
            row = {
                "metric/agent_step": 1000 * i,
                "metric/total_time": 0.01 * i,
                "score": score * i / 2,
            }
            fh.write(json.dumps(row) + "\n")
        final = {
            "final": True,
            "state": "finished",
            "sweep/score": score,
            "metric/agent_step": 2000,
        }
        fh.write(json.dumps(final) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
