"""The experiment file (docs/experiment.md): load, validate, save, round-trip.

Every value has a default. Sweep sizes, the metric, the W&B mode and the curve metric default
per runner (a laptop-sized sweep for ``builtin``, the original launcher's for ``metta``); keys
the file leaves out get the default of its runner, and ``save`` writes every value out so the
file says what will run. ``WANDB_ENTITY`` / ``WANDB_PROJECT`` fill W&B fields the file leaves
unset; such values are remembered as coming from the environment and are not saved.

Any bad value raises :class:`~hwscale_tui.errors.ConfigError` whose message is one sentence
naming the file, the key and what is accepted.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .values import ValueType, ValueTypeError

RUNNERS = ("builtin", "metta")
DISPATCHERS = ("local", "skypilot", "slurm")
WANDB_MODES = ("online", "offline", "disabled")
GOALS = ("maximize", "minimize")
KEY_PROFILES = ("ppo", "loss_configs", "ppo_actor")  # deprecated [metta] key_profile values
# Metta versions the metta runner speaks (hwscale_tui/metta/profiles.py, docs/metta.md); "auto"
# detects the checkout's version from metta.repo, else uses fom-v1.
METTA_PROFILES = ("auto", "fom-v1", "main")
# Deprecated key_profile value -> the profile whose key paths it meant.
KEY_PROFILE_TO_PROFILE = {"ppo": "fom-v1", "loss_configs": "fom-v1", "ppo_actor": "main"}
ACQUISITION_FNS = ("ei", "ucb", "naive")
TARGET_KINDS = ("fraction", "absolute")
BUILTIN_ENVS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0")
PLACEHOLDERS = ("gpus", "nodes", "total_gpus", "sweep_name", "experiment")
# Placeholders of [sweep] trial_command (the built-in sweep runner's per-trial argv template).
TRIAL_PLACEHOLDERS = (
    "run_id",
    "sweep_name",
    "gpus",
    "nodes",
    "total_gpus",
    "params",
    "metrics_file",
    "total_timesteps",
    "torchrun",
)

# Bounds that keep every value within what the schedule, the store (SQLite 64-bit integers)
# and the trainer can hold; a value beyond them is refused when the file is read.
MAX_NAME_LEN = 100  # an experiment name (sweep names, job names and file names derive from it)
MAX_STR_LEN = 4096  # any other string value
MAX_LIST_LEN = 1024  # any list value
MAX_TRIALS = 100_000
MAX_GPUS_PER_NODE = 1024
MAX_NODES = 4096
MAX_DELAY_S = 7 * 24 * 3600.0  # a week between pair starts
MAX_SECONDS = 30 * 24 * 3600.0
MAX_POLL_S = 3600.0  # an hour between squeue calls: a larger one would all but never poll
MIN_POLL_S = 0.1  # 0 would call squeue in a busy loop, a load on the cluster's controller
# a node's or a Slurm task's CPUs: above the largest single-image nodes (HPE Superdome Flex, 1792 threads)
MAX_CPUS_PER_TASK = 4096
# with max_suggestion_cost at MAX_SECONDS (30 days), 1000x is 43.2M minutes: still under the
# 32-bit minute count Slurm keeps a time limit in (its INFINITE is 2**32 - 1)
MAX_TIME_LIMIT_FACTOR = 1000.0
MAX_FILE_BYTES = 1 << 20  # an experiment file

# SkyPilot's rule for cluster / job names; a sweep name becomes a job-name prefix.
SKY_NAME_RE = re.compile(r"^[a-zA-Z]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$")
METTA_DEFAULT_METRIC = "evaluator/eval_sweep/score"
METTA_DEFAULT_TOOL = "experiments.adaptive.hardware_scaling.hw_sweep"

# Values that depend on the runner when the file does not set them.
RUNNER_DEFAULTS: dict[str, dict[str, Any]] = {
    "builtin": {
        "sweep.max_trials": 8,
        "sweep.batch_size": 2,
        "sweep.max_parallel_jobs": 1,
        "sweep.total_timesteps": 200_000,
        "sweep.metric": "score",
        "sweep.max_suggestion_cost": 600.0,
        "sweep.acquisition_fn": "ei",
        "wandb.mode": "disabled",
        "analysis.curve_metric": "score",
    },
    "metta": {
        "sweep.max_trials": 50,
        "sweep.batch_size": 4,
        "sweep.max_parallel_jobs": 4,
        "sweep.total_timesteps": 300_000_000,
        "sweep.metric": METTA_DEFAULT_METRIC,
        "sweep.max_suggestion_cost": 10800.0,
        # Metta's ProteinSettings default (metta/sweep/protein_config.py): left as it is, the
        # runner sends nothing and Metta keeps its own
        "sweep.acquisition_fn": "naive",
        "wandb.mode": "online",
        "analysis.curve_metric": "overview/reward",
    },
}


def _f(default: Any = None, *, doc: str, factory: Any = None, **meta: Any) -> Any:
    meta["doc"] = doc
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ExperimentSection:
    name: str = _f(
        "hardware_scaling",
        doc="experiment name; sweeps are named <name>.g<G>n<N>",
        max_len=MAX_NAME_LEN,
    )
    runner: str = _f(
        "builtin", doc="builtin (our sweep runner + trainer) or metta", choices=RUNNERS
    )
    dispatcher: str = _f(
        "local",
        doc="where trials run: local processes, SkyPilot jobs or Slurm jobs",
        choices=DISPATCHERS,
    )


@dataclass
class GridSection:
    gpu_counts: list[int] = _f(
        doc="GPUs per node to try", factory=lambda: [1, 2, 4, 8], min=1, max=MAX_GPUS_PER_NODE
    )
    node_counts: list[int] = _f(
        doc="node counts to try", factory=lambda: [1, 2], min=1, max=MAX_NODES
    )
    max_gpus_per_node: int = _f(
        8, doc="largest GPU count one node has", min=1, max=MAX_GPUS_PER_NODE
    )
    cpus_per_node: int = _f(
        8, doc="CPUs of a training node (sets Metta's envs per GPU)", min=1, max=MAX_CPUS_PER_TASK
    )
    exclude: list[str] = _f(doc="pairs switched off, as g<G>n<N>", factory=list)


@dataclass
class SweepSection:
    max_trials: int = _f(8, doc="trials per sweep", min=1, max=MAX_TRIALS)
    batch_size: int = _f(2, doc="suggestions per scheduling round", min=1, max=MAX_TRIALS)
    max_parallel_jobs: int = _f(1, doc="trials running at once per sweep", min=1, max=MAX_TRIALS)
    total_timesteps: int = _f(200_000, doc="agent steps per trial", min=1, max=10**15)
    metric: str = _f("score", doc="metric the sweep optimizes (the built-in runner: 'score' only)")
    goal: str = _f("maximize", doc="maximize or minimize the metric", choices=GOALS)
    acquisition_fn: str = _f("ei", doc="ei, ucb or naive", choices=ACQUISITION_FNS)
    max_suggestion_cost: float = _f(
        600.0,
        doc="predicted trial seconds above which a suggestion is masked",
        min=0,
        max=MAX_SECONDS,
    )
    seed: int = _f(0, doc="optimizer and trainer seed", min=0, max=2**32 - 1)
    transfer: bool = _f(
        False,
        doc="each pair's optimizer also learns from the other pairs' finished trials (docs/optimizer.md)",
    )
    lr_batch_exponent: float = _f(
        1.0,
        doc="with transfer (built-in runner): the best learning rate is taken to grow as batch ** this; 1 the linear scaling rule (SGD), 0.5 the square-root rule (often advised for Adam), 0 no link",
        min=0,
        max=2,
    )
    env: str = _f("CartPole-v1", doc="builtin trainer environment", choices=BUILTIN_ENVS)
    trial_command: list[str] = _f(
        doc="per-trial argv template replacing hwscale-tui train, with {run_id} {sweep_name} {gpus} {nodes} {params} ... (docs/sweep.md)",
        factory=list,
    )
    skypilot_setup: str = _f(
        "",
        doc="setup script each SkyPilot trial runs before its command (e.g. installing the trainer)",
    )


@dataclass
class LaunchSection:
    delay_s: float = _f(60.0, doc="seconds between pair starts", min=0, max=MAX_DELAY_S)
    sequential: bool = _f(
        False,
        doc="start each pair after the previous one exits (local mode: the default unless "
        "delay_s is set, when the pairs together need more CPU ranks than the usable cores)",
    )
    command: list[str] = _f(
        doc="per-pair argv template with {gpus} {nodes} {total_gpus} {sweep_name} {experiment}",
        factory=list,
    )
    extra_args: list[str] = _f(
        doc="key=value arguments forwarded to every pair's command", factory=list
    )


@dataclass
class WandbSection:
    entity: str | None = _f(None, doc="W&B entity (WANDB_ENTITY when unset)")
    project: str | None = _f(None, doc="W&B project (WANDB_PROJECT, else hardware-scaling)")
    mode: str = _f("disabled", doc="online, offline or disabled", choices=WANDB_MODES)

    @property
    def effective_project(self) -> str:
        return self.project or "hardware-scaling"


@dataclass
class MettaSection:
    repo: str | None = _f(
        None,
        doc="path to a Metta checkout (commands run there); a relative path is taken from the "
        "directory hwscale-tui runs in, not the file's",
    )
    profile: str = _f(
        "auto",
        doc="Metta version: fom-v1 (commit 7c1a7ff418), main (a8d1ecee19), or auto (detected from metta.repo, else fom-v1)",
        choices=METTA_PROFILES,
    )
    tool: str = _f("", doc="Metta tool path given to tools/run.py (empty: the profile's)")
    recipe_module: str = _f("", doc="Metta recipe module (empty: the profile's)")
    train_entrypoint: str = _f("train", doc="recipe function that trains")
    eval_entrypoint: str = _f(
        "evaluate_in_sweep", doc="recipe function that evaluates a sweep trial"
    )
    local_test: bool = _f(False, doc="pass local_test=true (Metta's quick test)")


@dataclass
class CostSection:
    gpu_type: str = _f("H100", doc="accelerator name (SkyPilot's spelling)")
    price_per_gpu_hour: float | None = _f(
        None, doc="$ per GPU-hour (default: the price table)", min=0, max=1e6
    )
    spot: bool = _f(False, doc="price at spot rates")


# sbatch options the slurm dispatcher sets per trial: [slurm] extra_sbatch_args may not set them.
SLURM_OWNED_OPTIONS = (
    "--job-name",
    "--nodes",
    "--ntasks",
    "--ntasks-per-node",
    "--cpus-per-task",
    "--gres",
    "--gpus",
    "--gpus-per-node",
    "--time",
    "--output",
    "--error",
    "--export",
    "--parsable",
    "--wrap",
    "--chdir",
    "--partition",
    "--account",
    "--qos",
    "--constraint",
)
SLURM_SHORT_OPTIONS = {
    "-J": "--job-name",
    "-N": "--nodes",
    "-n": "--ntasks",
    "-c": "--cpus-per-task",
    "-G": "--gpus",
    "-t": "--time",
    "-o": "--output",
    "-e": "--error",
    "-D": "--chdir",
    "-p": "--partition",
    "-A": "--account",
    "-q": "--qos",
    "-C": "--constraint",
}


@dataclass
class SlurmSection:
    partition: str | None = _f(None, doc="sbatch --partition (default: the cluster's default)")
    account: str | None = _f(None, doc="sbatch --account")
    qos: str | None = _f(None, doc="sbatch --qos")
    constraint: str | None = _f(None, doc="sbatch --constraint (node features)")
    gpu_type: str | None = _f(
        None, doc="GRES type, like h100: --gres=gpu:<type>:G (default: untyped gpu:G)"
    )
    cpus_per_task: int = _f(
        0,
        doc="CPUs per task (one task per node); 0 = grid.cpus_per_node",
        min=0,
        max=MAX_CPUS_PER_TASK,
    )
    time_limit_factor: float = _f(
        2.0,
        doc="time limit = factor x sweep.max_suggestion_cost, in whole minutes",
        min=0,
        max=MAX_TIME_LIMIT_FACTOR,
    )
    extra_sbatch_args: list[str] = _f(
        doc="more sbatch options, like --mem=16G (not the ones the dispatcher sets)",
        factory=list,
    )
    poll_s: float = _f(
        5.0, doc="seconds between squeue calls of a sweep", min=MIN_POLL_S, max=MAX_POLL_S
    )


@dataclass
class AnalysisSection:
    target: float = _f(  # absolute: a score, negative for returns like Acrobot-v1's
        0.9, doc="target score: a fraction of the best, or absolute", min=-1e15, max=1e15
    )
    target_kind: str = _f("fraction", doc="fraction or absolute", choices=TARGET_KINDS)
    curve_metric: str = _f("score", doc="history metric used for learning curves")


SECTIONS: dict[str, type] = {
    "experiment": ExperimentSection,
    "grid": GridSection,
    "sweep": SweepSection,
    "launch": LaunchSection,
    "wandb": WandbSection,
    "metta": MettaSection,
    "cost": CostSection,
    "analysis": AnalysisSection,
    "slurm": SlurmSection,
}


@dataclass
class ExperimentConfig:
    experiment: ExperimentSection = field(default_factory=ExperimentSection)
    grid: GridSection = field(default_factory=GridSection)
    sweep: SweepSection = field(default_factory=SweepSection)
    launch: LaunchSection = field(default_factory=LaunchSection)
    wandb: WandbSection = field(default_factory=WandbSection)
    metta: MettaSection = field(default_factory=MettaSection)
    cost: CostSection = field(default_factory=CostSection)
    analysis: AnalysisSection = field(default_factory=AnalysisSection)
    slurm: SlurmSection = field(default_factory=SlurmSection)
    # Keys whose value came from the environment (not saved) and keys given explicitly.
    env_filled: set[str] = field(default_factory=set, compare=False, repr=False)
    explicit: set[str] = field(default_factory=set, compare=False, repr=False)
    # One sentence per deprecated key the file used (and how it was read).
    deprecations: list[str] = field(default_factory=list, compare=False, repr=False)
    path: Path | None = field(default=None, compare=False, repr=False)
    # The experiment's newest generation in the store (not a file key): sweep names carry it.
    generation: int = field(default=1, compare=False, repr=False)

    # -- access -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.experiment.name

    def get(self, dotted: str) -> Any:
        section, key = dotted.split(".", 1)
        return getattr(getattr(self, section), key)

    def to_dict(self, *, include_env: bool = False) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for sname in SECTIONS:
            sec = getattr(self, sname)
            d: dict[str, Any] = {}
            for f in dataclasses.fields(sec):
                value = getattr(sec, f.name)
                if value is None:
                    continue
                if not include_env and f"{sname}.{f.name}" in self.env_filled:
                    continue
                d[f.name] = list(value) if isinstance(value, list) else value
            out[sname] = d
        return out

    def to_toml(self) -> str:
        import tomli_w

        header = "# hwscale-tui experiment file (every key: docs/experiment.md in the hwscale-tui repository)\n"
        return header + tomli_w.dumps(self.to_dict())

    def copy(self) -> ExperimentConfig:
        import copy

        return copy.deepcopy(self)

    @property
    def price_per_gpu_hour(self) -> float:
        """The $ per GPU-hour in force: the file's value, else the dated price table's."""
        if self.cost.price_per_gpu_hour is not None:
            return float(self.cost.price_per_gpu_hour)
        from .prices import price_per_gpu_hour

        return price_per_gpu_hour(self.cost.gpu_type, spot=self.cost.spot).price

    @property
    def local_ranks(self) -> bool:
        """Pairs are CPU ranks on this machine (built-in trainer, local dispatcher), not GPUs.
        Your own trainer (``[sweep] trial_command``, e.g. ``{torchrun}`` on a GPU workstation)
        or sweep tool (``[launch] command``) runs what the pair says: GPUs."""
        return (
            self.experiment.runner == "builtin"
            and self.experiment.dispatcher == "local"
            and not self.sweep.trial_command
            and not self.launch.command
        )

    @property
    def price_label(self) -> str:
        """What the price in force is, said plainly (every cost figure refers to it)."""
        from .prices import in_table

        p, gpu = self.price_per_gpu_hour, self.cost.gpu_type
        unknown = (
            ""
            if self.cost.price_per_gpu_hour is not None or in_table(gpu, self.cost.spot)
            else f"; the price table has no {gpu}, so this is the H100 on-demand price: set "
            "cost.price_per_gpu_hour"
        )
        own = self.cost.price_per_gpu_hour is not None  # the user's price, not the table's
        # the table's spot price says so (it said "H100" of a spot price, half the on-demand)
        spot = " spot" if self.cost.spot and not own and not unknown else ""
        if not self.local_ranks:
            return f"${p:g}/GPU-hour ({gpu}{spot}{unknown})"
        if gpu.lower() == "vcpu":
            if own:
                return f"${p:g}/rank-hour: each rank priced as one vCPU (cost.price_per_gpu_hour)"
            kind = "spot" if self.cost.spot else "on demand"
            return f"${p:g}/rank-hour: one cloud vCPU {kind} (docs/prices.md)"
        return (
            f"HYPOTHETICAL ${p:g}/rank-hour, as if each CPU rank were one {gpu}{spot} "
            f'(cost.gpu_type = "vCPU" prices ranks as CPUs{unknown})'
        )


# -- schema helpers -------------------------------------------------------------------------


def field_specs(section: str) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(SECTIONS[section])}


def plain_number(v: float) -> str:
    """A bound or a value as a user would type it: 1000000 and -1, not 1e+06 and -1.0 (1e+15
    stays short; a fraction keeps every digit it has)."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e9:
        return str(int(v))
    if isinstance(v, float) and v.is_integer():
        return f"{v:g}"
    return repr(v) if isinstance(v, float) else str(v)


def _coerce(source: str, dotted: str, f: dataclasses.Field, value: Any) -> Any:
    vt = ValueType.of(f.type)
    meta = f.metadata
    lo = meta.get("min")
    hi = meta.get("max", 2**63 - 1 if "int" in vt.kind else None)  # SQLite's INTEGER
    max_len = meta.get("max_len", MAX_STR_LEN)

    def bad(problem: str, accepted: str | None = None) -> ConfigError:
        if lo is not None and hi is not None and "int" in vt.kind:
            bounds = f" from {int(lo)} to {int(hi)}"  # exact: a seed's 4294967295, not 4.29497e+09
        elif lo is not None and hi is not None:
            bounds = f" from {plain_number(lo)} to {plain_number(hi)}"
        elif lo is not None:
            bounds = f" >= {plain_number(lo)}"
        else:
            bounds = ""
        acc = accepted or vt.describe() + bounds
        if "choices" in meta:
            acc = " or ".join(repr(c) for c in meta["choices"]).replace("'", '"')
        return ConfigError(source, dotted, problem, acc)

    def short(v: Any) -> str:  # a huge value is named by its kind, never echoed in full
        text = plain_number(v) if isinstance(v, float) else repr(v)
        return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"

    try:  # a file or an override never sets None: an optional value is unset by leaving it out
        value = ValueType(vt.kind).check(value)
    except ValueTypeError:
        raise bad(f"got {short(value)}") from None
    if vt.kind in ("int", "float"):
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise bad(f"got {short(value)}")
    elif vt.kind == "str":
        if len(value) > max_len:
            raise bad(
                f"the value is {len(value)} characters long", f"a string of at most {max_len}"
            )
        if "choices" in meta and value not in meta["choices"]:
            raise bad(f"got {short(value)}")
    elif vt.kind == "list[int]":
        if len(value) > MAX_LIST_LEN:
            raise bad(f"the list has {len(value)} items", f"at most {MAX_LIST_LEN} integers")
        if (lo is not None and any(v < lo for v in value)) or (
            hi is not None and any(v > hi for v in value)
        ):
            raise bad(
                f"got {short(value)} (counts must be from {lo} to {hi})",
                f"a list of integers from {lo} to {hi}",
            )
    elif vt.kind == "list[str]":
        if len(value) > MAX_LIST_LEN:
            raise bad(f"the list has {len(value)} items", f"at most {MAX_LIST_LEN} strings")
        if any(len(v) > max_len for v in value):
            raise bad("an item is too long", f"strings of at most {max_len} characters")
    return value


def from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "<experiment>",
    env: Mapping[str, str] | None = None,
) -> ExperimentConfig:
    """Build and validate a config from TOML-shaped data."""
    env = os.environ if env is None else env
    if not isinstance(data, Mapping):
        raise ConfigError(
            source, "<top>", "the file is not a table", "the sections " + ", ".join(SECTIONS)
        )
    explicit: set[str] = set()
    deprecations: list[str] = []
    values: dict[str, dict[str, Any]] = {}
    for sname, sdata in data.items():
        if sname not in SECTIONS:
            raise ConfigError(
                source,
                sname,
                "unknown section",
                "the sections " + ", ".join(f"[{s}]" for s in SECTIONS),
            )
        if not isinstance(sdata, Mapping):
            raise ConfigError(
                source, sname, f"expected a table, got {sdata!r}", f"a [{sname}] table"
            )
        specs = field_specs(sname)
        for key, value in sdata.items():
            dotted = f"{sname}.{key}"
            if dotted == "metta.key_profile":
                if value not in KEY_PROFILES:
                    raise ConfigError(
                        source,
                        dotted,
                        f"got {value!r}",
                        " or ".join(f'"{k}"' for k in KEY_PROFILES)
                        + ' (deprecated: use metta.profile = "fom-v1" or "main")',
                    )
                mapped = KEY_PROFILE_TO_PROFILE[value]
                if "profile" in sdata:  # the profile given wins: key_profile is not read at all
                    deprecations.append(
                        f'metta.key_profile = "{value}" is deprecated and ignored here: '
                        f"metta.profile = {sdata['profile']!r} is given and decides the key "
                        "paths; remove key_profile"
                    )
                else:
                    deprecations.append(
                        f'metta.key_profile = "{value}" is deprecated and read as metta.profile = '
                        f'"{mapped}" (key paths now come from the profile); write profile = "{mapped}" instead'
                    )
                if "profile" not in sdata:
                    values.setdefault("metta", {})["profile"] = mapped
                    explicit.add("metta.profile")
                continue
            if key not in specs:
                raise ConfigError(
                    source, dotted, "unknown key", f"in [{sname}]: " + ", ".join(specs)
                )
            values.setdefault(sname, {})[key] = _coerce(source, dotted, specs[key], value)
            explicit.add(dotted)

    runner = values.get("experiment", {}).get("runner", ExperimentSection().runner)
    for dotted, default in RUNNER_DEFAULTS[runner].items():
        s, k = dotted.split(".")
        values.setdefault(s, {}).setdefault(k, default)

    if (
        runner == "builtin"
        and values.get("experiment", {}).get("dispatcher", "local") == "local"
        and not values.get("sweep", {}).get("trial_command")
        and not values.get("launch", {}).get("command")
    ):
        # local ranks are CPU processes: the default grid fits this machine's usable cores
        # (a count the user gives is kept as given, oversubscribed or not); your own trainer
        # or sweep tool counts GPUs (``local_ranks``)
        from .hardware import local_default_grid, usable_cores

        grid = values.setdefault("grid", {})
        g, n, ex = local_default_grid(usable_cores())
        if "grid.gpu_counts" not in explicit:
            grid["gpu_counts"] = g
        if "grid.node_counts" not in explicit:
            grid["node_counts"] = n
        if not {"grid.gpu_counts", "grid.node_counts", "grid.exclude"} & explicit:
            grid["exclude"] = ex
        if not {"launch.sequential", "launch.delay_s"} & explicit:
            # pairs started a delay apart overlap once a sweep outlasts it, and on CPU ranks
            # they then share the cores: each pair's times would carry the others' load. Unless
            # the file asks for a stagger, pairs that cannot all run at once on the usable cores
            # run one after another (launch.delay_s or launch.sequential = false staggers them)
            values.setdefault("launch", {})["sequential"] = _local_pairs_overlap(
                grid, values.get("sweep", {}).get("max_parallel_jobs", 1), usable_cores()
            )

    sweep = values.get("sweep", {})
    if "sweep.batch_size" not in explicit and isinstance(sweep.get("max_trials"), int):
        # a default batch never asks for more than the trials wanted (max_trials = 1 works)
        sweep["batch_size"] = max(1, min(sweep["batch_size"], sweep["max_trials"]))
    cfg = ExperimentConfig(**{s: SECTIONS[s](**values.get(s, {})) for s in SECTIONS})
    cfg.explicit = explicit
    cfg.deprecations = deprecations
    env_filled: set[str] = set()
    if cfg.wandb.entity is None and env.get("WANDB_ENTITY"):
        cfg.wandb.entity = env["WANDB_ENTITY"]
        env_filled.add("wandb.entity")
    if cfg.wandb.project is None and env.get("WANDB_PROJECT"):
        cfg.wandb.project = env["WANDB_PROJECT"]
        env_filled.add("wandb.project")
    cfg.env_filled = env_filled
    validate(cfg, source)
    return cfg


def _local_pairs_overlap(grid: Mapping[str, Any], parallel: int, cores: int) -> bool:
    """Whether a grid's pairs, all running at once, need more CPU ranks than ``cores``."""
    from .hardware import plan_grid, ranks_all_at_once

    pairs, _ = plan_grid(
        list(grid.get("gpu_counts", GridSection().gpu_counts)),
        list(grid.get("node_counts", GridSection().node_counts)),
        grid.get("max_gpus_per_node", GridSection().max_gpus_per_node),
        grid.get("exclude", ()),
    )
    return ranks_all_at_once(pairs, cores, parallel) > cores


def validate(cfg: ExperimentConfig, source: str = "<experiment>") -> None:
    """Cross-field checks (after per-field types)."""
    name = cfg.experiment.name
    if not SKY_NAME_RE.match(name):
        raise ConfigError(
            source,
            "experiment.name",
            "the name is empty"
            if not name
            else f"{name!r} cannot name the sweeps, W&B runs and cluster jobs made from it",
            "a name that starts with a letter and has only letters, digits, '-', '_' and '.'",
        )
    if not cfg.grid.gpu_counts:
        raise ConfigError(
            source, "grid.gpu_counts", "the grid is empty", "a non-empty list of integers >= 1"
        )
    if not cfg.grid.node_counts:
        raise ConfigError(
            source, "grid.node_counts", "the grid is empty", "a non-empty list of integers >= 1"
        )
    if "grid.gpu_counts" in cfg.explicit:
        over = [g for g in cfg.grid.gpu_counts if g > cfg.grid.max_gpus_per_node]
        if over:
            raise ConfigError(
                source,
                "grid.gpu_counts",
                f"{over[0]} {'ranks' if cfg.local_ranks else 'GPUs'} is more than "
                f"max_gpus_per_node = {cfg.grid.max_gpus_per_node}",
                f"integers from 1 to {cfg.grid.max_gpus_per_node}",
            )
    for tag in cfg.grid.exclude:
        if not re.fullmatch(r"g[1-9][0-9]*n[1-9][0-9]*", tag):
            raise ConfigError(
                source, "grid.exclude", f"{tag!r} is not a pair", 'pairs written like "g4n1"'
            )
    for i, tok in enumerate(cfg.launch.extra_args):
        if "=" not in tok or tok.startswith("="):
            raise ConfigError(
                source,
                f"launch.extra_args[{i}]",
                f"{tok!r} has no key=value form",
                "tokens like seed=1",
            )
    for key, template, allowed in (
        ("launch.command", cfg.launch.command, PLACEHOLDERS),
        ("sweep.trial_command", cfg.sweep.trial_command, TRIAL_PLACEHOLDERS),
    ):
        for i, tok in enumerate(template):
            problem = template_problem(tok, allowed)
            if problem:
                raise ConfigError(
                    source,
                    f"{key}[{i}]",
                    problem,
                    " ".join("{" + p + "}" for p in allowed)
                    + " (write {{ and }} for literal braces)",
                )
    for key, metric in (
        ("sweep.metric", cfg.sweep.metric),
        ("analysis.curve_metric", cfg.analysis.curve_metric),
    ):
        if not metric.strip() or not metric.isprintable():
            raise ConfigError(
                source,
                key,
                f"got {metric[:40]!r}",
                "a metric name like score or evaluator/eval_sweep/score",
            )
    if cfg.experiment.runner == "builtin" and cfg.sweep.metric != "score":
        # the built-in runner's trials (our trainer, or a trial_command) report sweep/score, and
        # nothing reads another key: the setting would be ignored without a word
        raise ConfigError(
            source,
            "sweep.metric",
            f'{cfg.sweep.metric[:60]!r} has no effect with runner = "builtin", whose trials '
            "report 'score'",
            '"score" (runner = "metta" optimizes another metric)',
        )
    if cfg.sweep.batch_size > cfg.sweep.max_trials:
        raise ConfigError(
            source,
            "sweep.batch_size",
            f"{cfg.sweep.batch_size} is more than max_trials = {cfg.sweep.max_trials}",
            f"an integer from 1 to {cfg.sweep.max_trials}",
        )
    if cfg.sweep.max_suggestion_cost <= 0:
        raise ConfigError(
            source,
            "sweep.max_suggestion_cost",
            f"{cfg.sweep.max_suggestion_cost:g} seconds masks every suggestion",
            "a number of seconds > 0",
        )
    gpu = cfg.cost.gpu_type
    if not gpu or len(gpu) > 64 or not gpu.isprintable() or any(c.isspace() for c in gpu):
        raise ConfigError(
            source,
            "cost.gpu_type",
            f"{gpu[:40]!r} is not an accelerator name",
            "a name without spaces like H100, A100-80GB, L4 or vCPU (SkyPilot's spelling; a "
            "name the price table lacks is priced as an H100 unless price_per_gpu_hour is set)",
        )
    validate_slurm(cfg, source)
    if cfg.analysis.target_kind == "fraction" and not (0 < cfg.analysis.target <= 1):
        raise ConfigError(
            source,
            "analysis.target",
            f"{cfg.analysis.target} is not a fraction",
            'a number in (0, 1] when target_kind = "fraction"',
        )


def template_problem(token: str, allowed: tuple[str, ...]) -> str | None:
    """Why ``token`` cannot be expanded with ``str.format`` and the ``allowed`` placeholders,
    or None when it can (a lone ``{``, ``{0}``, ``{gpus.real}`` and unknown names are refused)."""
    import string

    try:
        fields = list(string.Formatter().parse(token))
    except ValueError as e:
        return f"{token[:60]!r} is not a valid template ({e})"
    for _literal, name, spec, _conversion in fields:
        if name is None:
            continue
        if name not in allowed:
            return f"unknown placeholder {{{name[:40]}}}"
        if spec and "{" in spec:
            return f"placeholder {{{name}}} has a nested field in its format"
    numeric = ("gpus", "nodes", "total_gpus", "total_timesteps")
    sample: dict[str, Any] = {p: 1 if p in numeric else "x" for p in allowed}
    try:
        token.format(**sample)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as e:
        return f"{token[:60]!r} cannot be expanded ({e})"
    return None


def validate_slurm(cfg: ExperimentConfig, source: str) -> None:
    """The [slurm] section: option values sbatch can take as one argument each."""
    sl = cfg.slurm
    for key in ("partition", "account", "qos", "constraint", "gpu_type"):
        value = getattr(sl, key)
        if value is not None and (not value or any(c.isspace() for c in value)):
            raise ConfigError(
                source, f"slurm.{key}", f"got {value!r}", "a non-empty name without spaces"
            )
    if cfg.experiment.dispatcher == "slurm" and cfg.experiment.runner != "builtin":
        raise ConfigError(
            source,
            "experiment.dispatcher",
            f"the {cfg.experiment.runner} runner dispatches its own trials and has no slurm dispatcher",
            '"local" or "skypilot" with runner = "metta"; "slurm" with runner = "builtin"',
        )
    if sl.time_limit_factor <= 0:
        raise ConfigError(
            source,
            "slurm.time_limit_factor",
            f"{sl.time_limit_factor:g} gives every trial no time",
            "a number > 0 (2 = twice sweep.max_suggestion_cost)",
        )
    for i, tok in enumerate(sl.extra_sbatch_args):
        name = tok.split("=", 1)[0]
        name = SLURM_SHORT_OPTIONS.get(name[:2], name) if not name.startswith("--") else name
        if not tok.startswith("-") or tok in ("-", "--"):
            raise ConfigError(
                source,
                f"slurm.extra_sbatch_args[{i}]",
                f"{tok!r} is not an sbatch option",
                'options written as one token each, like "--mem=16G"',
            )
        if name in SLURM_OWNED_OPTIONS:
            raise ConfigError(
                source,
                f"slurm.extra_sbatch_args[{i}]",
                f"{tok!r} sets {name}, which the slurm dispatcher sets per trial or from a [slurm] key",
                "other sbatch options, like --mem=16G; partition, account, qos and constraint "
                "have their own [slurm] keys",
            )


def default_config(
    runner: str = "builtin", env: Mapping[str, str] | None = None
) -> ExperimentConfig:
    return from_dict({"experiment": {"runner": runner}}, source="<defaults>", env=env)


def load(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> ExperimentConfig:
    """Read and validate an experiment file."""
    import tomllib  # here: a new user's app (built-in defaults, no file) never needs it

    p = Path(path)
    raw = read_experiment_bytes(p)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(
            str(p),
            "<syntax>",
            f"not valid TOML ({e})",
            "a TOML file like the one `hwscale-tui plan --save` writes",
        ) from None
    except RecursionError:
        raise ConfigError(
            str(p),
            "<syntax>",
            "its arrays or tables are nested too deeply to read",
            "a TOML file like the one `hwscale-tui plan --save` writes",
        ) from None
    if not data:  # a file cut short or emptied would quietly run the built-in defaults
        raise ConfigError(
            str(p),
            "<file>",
            "it has no settings (it is empty or holds only comments)",
            "an experiment file with at least one [section], like the one `hwscale-tui plan "
            "--save` writes",
        )
    cfg = from_dict(data, source=str(p), env=env)
    cfg.path = p
    return cfg


def read_experiment_bytes(p: Path) -> bytes:
    """The file's bytes, refused before reading unless it is a regular file of at most
    ``MAX_FILE_BYTES`` (a FIFO would hang the read, ``/dev/zero`` would never end)."""
    import stat

    accepted = f"a regular experiment TOML file of at most {MAX_FILE_BYTES // 1024} KiB"
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ConfigError(
            str(p), "<file>", "the file does not exist", "a path to an experiment TOML file"
        ) from None
    except (OSError, ValueError) as e:
        raise ConfigError(
            str(p), "<file>", f"cannot read it ({getattr(e, 'strerror', None) or e})", accepted
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError(str(p), "<file>", "it is a directory", accepted)
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(str(p), "<file>", "it is not a regular file", accepted)
    if st.st_size > MAX_FILE_BYTES:
        raise ConfigError(str(p), "<file>", f"it is {st.st_size} bytes long", accepted)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)  # never blocks, even if swapped for a FIFO
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ConfigError(
            str(p), "<file>", f"cannot read it ({e.strerror or e})", accepted
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(str(p), "<file>", "it grew past the size limit while read", accepted)
    return raw


def save(cfg: ExperimentConfig, path: str | os.PathLike[str]) -> Path:
    """Validate, then write atomically (0600). Nothing is written if validation fails."""
    from .paths import ensure_private_dir, write_private_text

    p = Path(path)
    text = cfg.to_toml()
    # Re-validate what we are about to write, as a file, so a bad in-memory edit never lands.
    import tomllib

    from_dict(tomllib.loads(text), source=str(p), env={})
    if not p.parent.exists():
        ensure_private_dir(p.parent)
    write_private_text(p, text)
    cfg.path = p
    return p


def apply_overrides(
    cfg: ExperimentConfig, overrides: Mapping[str, Any], source: str = "flags"
) -> ExperimentConfig:
    """Return a new validated config with dotted ``section.key`` values replaced.

    Values the user never set keep following the defaults (a runner change moves the
    runner-dependent ones along); environment-filled W&B values stay environment-filled.
    """
    given = set(cfg.explicit) | set(overrides)
    data: dict[str, dict[str, Any]] = {}
    for sname, sdata in cfg.to_dict().items():
        for key, value in sdata.items():
            dotted = f"{sname}.{key}"
            if dotted in given:
                data.setdefault(sname, {})[key] = value
    for dotted, value in overrides.items():
        section, key = dotted.split(".", 1)
        data.setdefault(section, {})[key] = value
    # Defaults that do not depend on the runner are re-derived from the dataclasses.
    new = from_dict(data, source=source, env={})
    for k in cfg.env_filled - set(overrides):
        section, key = k.split(".", 1)
        setattr(getattr(new, section), key, cfg.get(k))
        new.env_filled.add(k)
    new.path = cfg.path
    new.deprecations = list(dict.fromkeys(cfg.deprecations + new.deprecations))
    new.generation = cfg.generation
    return new
