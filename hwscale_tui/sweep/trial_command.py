"""What one trial runs: ``hwscale-tui train ...`` or the experiment's ``[sweep] trial_command``.

A trial command exists in two forms: an argv list for the local dispatcher and one shell line
for a cluster (SkyPilot's ``run`` section, or each node's task of a Slurm job). Template placeholders (``config.TRIAL_PLACEHOLDERS``): a token
that is exactly ``{params}`` or ``{torchrun}`` expands to several argv tokens; inside a longer
token they expand to their shell-quoted text. ``{torchrun}`` is the launcher prefix for a
distributed trainer: ``torchrun --standalone`` on this machine, SkyPilot's multi-node pattern
(node rank, head IP and counts from SkyPilot's variables; docs/upstream.md section 7) on SkyPilot,
and on Slurm the job's node count, ``SLURM_NODEID`` and the first node's address (docs/slurm.md).

The built-in trainer's ranks all run on one machine (a shared-memory all-reduce), so a
multi-node pair with the built-in trainer is refused on the cluster dispatchers
(``launch.commands.builtin_multinode_refusal``) instead of running on one node while reporting N.
"""

from __future__ import annotations

import json
import secrets
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..errors import UsageError
from ..hardware import HardwarePair
from ..launch.commands import child_env, validate_extra_args
from ..train.sinks import RUNNER_RUN_ENV, RUNNER_SWEEP_ENV

# Keys of `hwscale-tui train` the runner owns: an extra argument may not set them.
RUNNER_OWNED_KEYS = ("run", "group", "hardware.gpus", "hardware.nodes", "store", "metrics_file")

TORCHRUN_SKYPILOT = (
    "torchrun --nnodes=$SKYPILOT_NUM_NODES --nproc_per_node=$SKYPILOT_NUM_GPUS_PER_NODE "
    '--node_rank=$SKYPILOT_NODE_RANK --master_addr=$(echo "$SKYPILOT_NODE_IPS" | head -n1) '
    "--master_port=8008"
)

# Inside a Slurm job (sweep/slurm.py's job script sets HWSCALE_MASTER_ADDR/PORT from the first
# node of SLURM_JOB_NODELIST); every node's task runs this with its own SLURM_NODEID.
TORCHRUN_SLURM = (
    "torchrun --nnodes=$SLURM_JOB_NUM_NODES --nproc_per_node={gpus} --node_rank=$SLURM_NODEID "
    "--master_addr=$HWSCALE_MASTER_ADDR --master_port=$HWSCALE_MASTER_PORT"
)


def torchrun_local(pair: HardwarePair) -> list[str]:
    """All ranks of the pair on this machine."""
    return ["torchrun", "--standalone", "--nnodes=1", f"--nproc_per_node={pair.total_gpus}"]


def trial_run_id(sweep: str, idx: int) -> str:
    """Metta's form: ``<sweep>_trial_<nnnn>_<6 hex>``, 1-based ``idx``."""
    return f"{sweep}_trial_{idx:04d}_{secrets.token_hex(3)}"


def format_value(value: Any) -> str:
    """A parameter value as an override token value (floats keep full precision)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def param_tokens(params: Mapping[str, Any]) -> list[str]:
    return [f"{k}={format_value(v)}" for k, v in params.items()]


BATCH_KEY = "trainer.batch_size"
MINIBATCH_KEY = "trainer.minibatch_size"


def stored_params(text: Any) -> dict[str, Any] | None:
    """A trial's ``params_json`` as the store has it; None when it is no JSON object (a
    hand-damaged row), which made ``sweep --status --json`` and a resuming runner end in a
    JSONDecodeError traceback."""
    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError, RecursionError):  # RecursionError: nested too deep
        return None
    return value if isinstance(value, dict) else None


def fit_minibatch_to_batch(params: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A suggestion every trainer accepts: the two bounds overlap, so the optimizer can propose a
    minibatch larger than the batch (e.g. 1024 > 512), which the trainer rejects. Such a
    minibatch is lowered to the batch size (both are powers of two); returns what was changed."""
    out = dict(params)
    batch, minibatch = out.get(BATCH_KEY), out.get(MINIBATCH_KEY)
    if batch is None or minibatch is None or minibatch <= batch:
        return out, None
    out[MINIBATCH_KEY] = batch
    return out, f"{MINIBATCH_KEY} {minibatch} -> {batch} to fit {BATCH_KEY}"


def short_params(params: Mapping[str, Any]) -> str:
    """``batch_size=2048 learning_rate=0.0025 ...`` (last key component, 4 significant digits)."""
    parts = []
    for key, value in params.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        parts.append(f"{key.rsplit('.', 1)[-1]}={shown}")
    return " ".join(parts)


def _token_key(token: str) -> str:
    return token.split("=", 1)[0]


@dataclass(frozen=True)
class TrialSpec:
    """Everything a dispatcher needs to run one trial."""

    sweep: str
    run_id: str
    idx: int
    pair: HardwarePair
    params: dict[str, Any]
    argv: list[str]  # local form (a leading hwscale-tui is resolved by the dispatcher)
    remote_script: str  # the same command as one shell line, for SkyPilot's run section
    env: dict[str, str]  # non-secret variables for a local trial
    remote_env: dict[str, str]  # non-secret variables for a SkyPilot trial
    run_dir: Path
    log_path: Path
    metrics_path: Path
    writes_store: bool  # the built-in trainer writes its live metrics to the store itself
    setup_script: str = ""


class TrialCommandBuilder:
    """Turns (run id, suggested params) into a :class:`TrialSpec` for one sweep."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        pair: HardwarePair,
        extra_args: Sequence[str],
        runs_dir: Path,
        swept_keys: Sequence[str],
    ):
        self.cfg = cfg
        self.pair = pair
        self.sweep = pair.sweep_name(cfg.name, cfg.generation)
        self.runs_dir = Path(runs_dir)
        self.extra = validate_extra_args(list(extra_args))
        for tok in self.extra:
            key = _token_key(tok)
            if key in RUNNER_OWNED_KEYS:
                raise UsageError(
                    f"extra argument {tok!r} sets {key}, which the sweep runner sets per trial; "
                    f"accepted: key=value arguments other than {', '.join(RUNNER_OWNED_KEYS)}."
                )
            if key in swept_keys:
                raise UsageError(
                    f"extra argument {tok!r} would override the swept hyperparameter {key}; "
                    "accepted: key=value arguments for keys the sweep does not search."
                )

    @property
    def uses_builtin_trainer(self) -> bool:
        return not self.cfg.sweep.trial_command

    @property
    def trainer_writes_store(self) -> bool:
        """The built-in trainer writes its own store rows, except on Slurm (another host)."""
        return self.uses_builtin_trainer and self.cfg.experiment.dispatcher != "slurm"

    def build(self, run_id: str, idx: int, params: Mapping[str, Any]) -> TrialSpec:
        run_dir = self.runs_dir / run_id
        metrics_path = run_dir / "metrics.jsonl"
        tokens = param_tokens(params)
        # The trainer's store=true writes an existing trial row only for the process given these.
        base_env = {**child_env(self.cfg), RUNNER_RUN_ENV: run_id, RUNNER_SWEEP_ENV: self.sweep}
        local_env = {
            **base_env,
            "HWSCALE_METRICS_FILE": str(metrics_path),
            "WANDB_DIR": str(run_dir),
        }
        slurm = self.cfg.experiment.dispatcher == "slurm"
        writes_store = self.trainer_writes_store
        remote_env = base_env
        if self.uses_builtin_trainer:
            argv = self._train_argv(run_id, tokens, local_metrics=metrics_path)
            if slurm:
                # Results come back through the metrics file in the shared state dir (the runner
                # copies it to the store): SQLite's WAL must not be written from other hosts.
                train = self._train_argv(run_id, tokens, local_metrics=metrics_path, store=False)
                remote = shlex.join([sys.executable, "-m", "hwscale_tui", *train[1:]])
            else:
                remote = shlex.join(self._train_argv(run_id, tokens, local_metrics=None))
        else:
            values = self._placeholder_values(run_id, str(metrics_path))
            argv = self._expand_argv(values, tokens + self.extra)
            if slurm:
                remote = self._expand_script(values, tokens + self.extra)
            else:
                remote_values = self._placeholder_values(
                    run_id, f"hwscale-runs/{run_id}/metrics.jsonl"
                )
                remote = self._expand_script(remote_values, tokens + self.extra)
        if slurm:
            remote_env = local_env
        return TrialSpec(
            sweep=self.sweep,
            run_id=run_id,
            idx=idx,
            pair=self.pair,
            params=dict(params),
            argv=argv,
            remote_script=remote,
            env=local_env,
            remote_env=remote_env,
            run_dir=run_dir,
            log_path=run_dir / "trial.log",
            metrics_path=metrics_path,
            writes_store=writes_store,
            setup_script=self.cfg.sweep.skypilot_setup,
        )

    # -- the built-in trainer ------------------------------------------------------------------
    def _train_argv(
        self, run_id: str, tokens: list[str], local_metrics: Path | None, store: bool = True
    ) -> list[str]:
        cfg, pair = self.cfg, self.pair
        defaults = [
            f"hardware.gpus={pair.gpus}",
            f"hardware.nodes={pair.nodes}",
            f"trainer.total_timesteps={cfg.sweep.total_timesteps}",
            f"env={cfg.sweep.env}",
            f"seed={cfg.sweep.seed}",
        ]
        if local_metrics is not None:
            defaults += ["store=true"] if store else []
            defaults.append(f"metrics_file={local_metrics}")
        defaults += [f"wandb.mode={cfg.wandb.mode}", f"wandb.project={cfg.wandb.effective_project}"]
        if cfg.wandb.entity:
            defaults.append(f"wandb.entity={cfg.wandb.entity}")
        defaults.append(f"cost.price_per_gpu_hour={format_value(cfg.price_per_gpu_hour)}")
        overridden = {_token_key(t) for t in self.extra}
        defaults = [t for t in defaults if _token_key(t) not in overridden]
        return [
            "hwscale-tui",
            "train",
            f"run={run_id}",
            f"group={self.sweep}",
            *tokens,
            *defaults,
            *self.extra,
        ]

    # -- templates -------------------------------------------------------------------------------
    def _placeholder_values(self, run_id: str, metrics_file: str) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "sweep_name": self.sweep,
            "gpus": self.pair.gpus,
            "nodes": self.pair.nodes,
            "total_gpus": self.pair.total_gpus,
            "metrics_file": metrics_file,
            "total_timesteps": self.cfg.sweep.total_timesteps,
        }

    def _expand_argv(self, values: dict[str, Any], params: list[str]) -> list[str]:
        torchrun = torchrun_local(self.pair)
        out: list[str] = []
        for tok in self.cfg.sweep.trial_command:
            if tok == "{params}":
                out += params
            elif tok == "{torchrun}":
                out += torchrun
            else:
                out.append(
                    tok.format(**values, params=shlex.join(params), torchrun=shlex.join(torchrun))
                )
        return out

    def _remote_torchrun(self) -> str:
        if self.cfg.experiment.dispatcher == "slurm":
            return TORCHRUN_SLURM.format(gpus=self.pair.gpus)
        return TORCHRUN_SKYPILOT

    def _expand_script(self, values: dict[str, Any], params: list[str]) -> str:
        torchrun = self._remote_torchrun()
        parts: list[str] = []
        for tok in self.cfg.sweep.trial_command:
            if tok == "{params}":
                parts.append(shlex.join(params))
            elif tok == "{torchrun}":
                parts.append(torchrun)
            else:
                parts.append(
                    shlex.quote(tok.format(**values, params=shlex.join(params), torchrun=torchrun))
                )
        return " ".join(p for p in parts if p)
