"""``hwscale-tui train key=value ...``: one run of the built-in PPO trainer (a sweep's trial command)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

HELP = "train the built-in numpy PPO (Metta-style key=value overrides); the built-in sweep's trial command"
PROGRESS_INTERVAL_S = 1.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..train.overrides import KEY_HELP

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = (
        "keys:\n"
        + "\n".join(f"  {k:<34} {h}" for k, h in KEY_HELP.items())
        + (
            "\n\nexample:\n  hwscale-tui train run=demo trainer.total_timesteps=200000 env=CartPole-v1 seed=1"
            "\n\nexit codes: 0 finished, 1 training failed, 2 bad input, 143 after SIGTERM, 130 after SIGINT, 129 after SIGHUP"
        )
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="settings in Metta's override form (see keys below)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")


class ProgressPrinter:
    """At most one progress line per second on stderr."""

    def __init__(self, total_steps: int):
        self.total_steps = total_steps
        self.last = 0.0

    def __call__(self, line: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_S:
            return
        self.last = now
        score = line["score"]
        print(
            f"step {line['metric/agent_step']:>10,}/{self.total_steps:,}  "
            f"score {'-' if score is None else f'{score:8.2f}'}  "
            f"sps {line['overview/sps']:>9,.0f}  {line['metric/total_time']:7.1f}s",
            file=sys.stderr,
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    from ..train.overrides import parse_overrides
    from ..train.runner import run_training

    cfg = parse_overrides(args.overrides)

    def started() -> None:  # once accepted: a run store=true refuses prints only its error
        print(
            f"training {cfg.env} run={cfg.run} group={cfg.group} ranks={cfg.ranks} batch={cfg.batch_size} "
            f"({cfg.envs_text()}) minibatch={cfg.minibatch_size} "
            f"lr={cfg.learning_rate:g} steps={cfg.total_timesteps:,}",
            file=sys.stderr,
            flush=True,
        )

    result = run_training(
        cfg,
        on_update=None if args.quiet else ProgressPrinter(cfg.total_timesteps),
        on_start=started,
    )
    score = "none" if result.score is None else f"{result.score:.2f}"
    print(
        f"{result.state} run={result.run} score={score} agent_steps={result.agent_steps} "
        f"time={result.total_time_s:.1f}s sps={result.sps:,.0f} cost=${result.cost_usd:.4f} "
        f"metrics={result.metrics_file}",
        flush=True,
    )
    if result.error:
        # last: a sweep runner reads a failed trial's reason from its log's last line (both
        # streams go to one file), and tells a full disk, not the trial's fault, by it
        label = "" if result.state == "killed" else "error: "
        print(f"hwscale-tui train: {label}{result.error}", file=sys.stderr)
    return result.exit_code
