"""A stand-in sweep command for the launch tests (and the benchmark's idea of one).

It records where and when it started (one JSON line in --record), optionally holds a tree of
child processes (one in its process group, a grandchild, one in a session of its own), can
ignore SIGTERM, can write a sweeps row and trials into the store, prints some lines and exits
with the code asked for.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sweep", required=True)
    p.add_argument("--record")
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--exit", type=int, default=0)
    p.add_argument("--tree", action="store_true")
    p.add_argument("--ignore-term", action="store_true")
    p.add_argument(
        "--trials", type=int, default=0, help="write a sweeps row and this many finished trials"
    )
    p.add_argument("--say", action="append", default=[])
    args = p.parse_args()
    started = time.time()
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the children's exec, too
    children: list[int] = []
    if args.tree:
        children.append(subprocess.Popen(["sleep", "600"]).pid)
        children.append(subprocess.Popen(["sh", "-c", "sleep 600 & wait"]).pid)
        children.append(subprocess.Popen(["sleep", "600"], start_new_session=True).pid)
    if args.trials:
        from hwscale_tui.store import Store

        with Store.open_default() as store:
            store.upsert_sweep(
                args.sweep,
                experiment=args.sweep.rsplit(".", 1)[0],
                max_trials=args.trials + 2,
                status="running",
            )
            for i in range(1, args.trials + 1):
                store.insert_trial(
                    f"{args.sweep}_trial_{i:04d}_abcdef",
                    args.sweep,
                    idx=i,
                    state="finished",
                    score=float(i),
                )
    if args.record:
        with open(args.record, "a") as fh:
            fh.write(
                json.dumps(
                    {
                        "sweep": args.sweep,
                        "pid": os.getpid(),
                        "pgid": os.getpgid(0),
                        "sid": os.getsid(0),
                        "started": started,
                        "children": children,
                    }
                )
                + "\n"
            )
    for line in args.say:
        print(line, flush=True)
    deadline = time.time() + args.sleep
    while time.time() < deadline:
        time.sleep(min(0.2, max(0.0, deadline - time.time())))
    return args.exit


if __name__ == "__main__":
    sys.exit(main())
