"""``key=value`` overrides (Metta's form) -> a validated ``TrainConfig``.

Only the standard library at module top: the CLI builds its help from ``KEY_HELP`` without
loading numpy. Every check happens here, before any process, file or connection is made.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import UsageError
from ..values import ValueType, ValueTypeError
from .envs import ENV_SPACES

# Environments the trainer can run (discrete actions; CartPole has a numpy-vectorized version).
SUPPORTED_ENVS = tuple(ENV_SPACES)
WANDB_MODES = ("online", "offline", "disabled")
MAX_RANKS = 128
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

# The preset's dotted keys that a sweep varies; recorded as the trial's params.
SWEPT_KEYS = (
    "trainer.batch_size",
    "trainer.minibatch_size",
    "trainer.optimizer.learning_rate",
    "trainer.losses.ppo.clip_coef",
    "trainer.losses.ppo.vf_clip_coef",
    "trainer.losses.ppo.gae_lambda",
    "trainer.losses.ppo.ent_coef",
    "trainer.losses.ppo.vf_coef",
)


@dataclass(frozen=True)
class KeySpec:
    field: str  # TrainConfig attribute
    kind: str  # str | int | float | bool | choice
    help: str
    check: Callable[[Any], bool] | None = None
    accepted: str = ""
    choices: tuple[str, ...] = ()


def _positive(x: float) -> bool:
    return x > 0


def _non_negative(x: float) -> bool:
    return x >= 0


KEYS: dict[str, KeySpec] = {
    "run": KeySpec(
        "run",
        "str",
        "run id (default: train_<date>_<time>_<hex>)",
        lambda s: bool(RUN_ID_RE.match(s)),
        "letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    "group": KeySpec(
        "group",
        "str",
        "sweep / W&B group (default: train.g<G>n<N>)",
        lambda s: bool(s.strip()),
        "a non-empty name",
    ),
    "env": KeySpec(
        "env",
        "choice",
        f"environment: {', '.join(SUPPORTED_ENVS)} (default {SUPPORTED_ENVS[0]})",
        choices=SUPPORTED_ENVS,
    ),
    "seed": KeySpec("seed", "int", "random seed (default 0)", _non_negative, "an integer >= 0"),
    "hardware.gpus": KeySpec(
        "gpus", "int", "ranks per node (default 1)", _positive, "an integer >= 1"
    ),
    "hardware.nodes": KeySpec(
        "nodes", "int", "nodes (default 1); ranks = gpus x nodes", _positive, "an integer >= 1"
    ),
    "trainer.total_timesteps": KeySpec(
        "total_timesteps",
        "int",
        "agent steps to train (default 200000)",
        _positive,
        "an integer >= 1",
    ),
    "trainer.batch_size": KeySpec(
        "batch_size",
        "int",
        "global batch per update, across ranks (default: preset center, 1024 x ranks rounded up to a power of two)",
        _positive,
        "an integer >= 1",
    ),
    "trainer.minibatch_size": KeySpec(
        "minibatch_size",
        "int",
        "global minibatch (default: preset center)",
        _positive,
        "an integer >= 1",
    ),
    "trainer.update_epochs": KeySpec(
        "update_epochs", "int", "epochs over each batch (default 4)", _positive, "an integer >= 1"
    ),
    "trainer.optimizer.learning_rate": KeySpec(
        "learning_rate",
        "float",
        "Adam learning rate (default: preset center)",
        _positive,
        "a number > 0",
    ),
    "trainer.losses.ppo.clip_coef": KeySpec(
        "clip_coef",
        "float",
        "policy ratio clip (default: preset center)",
        _positive,
        "a number > 0",
    ),
    "trainer.losses.ppo.vf_clip_coef": KeySpec(
        "vf_clip_coef", "float", "value clip (default: preset center)", _positive, "a number > 0"
    ),
    "trainer.losses.ppo.gae_lambda": KeySpec(
        "gae_lambda",
        "float",
        "GAE lambda (default: preset center)",
        lambda x: 0 <= x <= 1,
        "a number in [0, 1]",
    ),
    "trainer.losses.ppo.ent_coef": KeySpec(
        "ent_coef",
        "float",
        "entropy bonus (default: preset center)",
        _non_negative,
        "a number >= 0",
    ),
    "trainer.losses.ppo.vf_coef": KeySpec(
        "vf_coef",
        "float",
        "value loss weight (default: preset center)",
        _non_negative,
        "a number >= 0",
    ),
    "trainer.losses.ppo.gamma": KeySpec(
        "gamma", "float", "discount (default 0.99)", lambda x: 0 < x <= 1, "a number in (0, 1]"
    ),
    "trainer.losses.ppo.max_grad_norm": KeySpec(
        "max_grad_norm",
        "float",
        "global gradient-norm clip (default 0.5)",
        _positive,
        "a number > 0",
    ),
    "metrics_file": KeySpec(
        "metrics_file",
        "str",
        "JSON-lines metrics path (default: <state>/runs/<run>/metrics.jsonl)",
        lambda s: bool(s.strip()),
        "a file path",
    ),
    "store": KeySpec(
        "store", "bool", "write the trial and its history to the SQLite store (default false)"
    ),
    "wandb.mode": KeySpec(
        "wandb_mode",
        "choice",
        "W&B mode (default: $WANDB_MODE, else disabled)",
        choices=WANDB_MODES,
    ),
    "wandb.project": KeySpec(
        "wandb_project",
        "str",
        "W&B project (default: $WANDB_PROJECT, else hardware-scaling)",
        lambda s: bool(s.strip()),
        "a project name",
    ),
    "wandb.entity": KeySpec(
        "wandb_entity",
        "str",
        "W&B entity (default: $WANDB_ENTITY)",
        lambda s: bool(s.strip()),
        "an entity name",
    ),
    "cost.price_per_gpu_hour": KeySpec(
        "price_per_gpu_hour",
        "float",
        "$ per rank-hour (default: H100 on-demand from the price table)",
        _non_negative,
        "a number >= 0",
    ),
}
KEY_HELP: dict[str, str] = {k: s.help for k, s in KEYS.items()}


@dataclass(frozen=True)
class TrainConfig:
    """One training run, fully resolved. ``parse_overrides`` fills the fields without a default
    from the builtin preset's centers for the pair and from the price table."""

    run: str
    group: str
    batch_size: int
    minibatch_size: int
    learning_rate: float
    clip_coef: float
    vf_clip_coef: float
    gae_lambda: float
    ent_coef: float
    vf_coef: float
    price_per_gpu_hour: float
    env: str = "CartPole-v1"
    seed: int = 0
    gpus: int = 1
    nodes: int = 1
    total_timesteps: int = 200_000
    update_epochs: int = 4
    gamma: float = 0.99
    max_grad_norm: float = 0.5
    metrics_file: str | None = None
    store: bool = False
    wandb_mode: str = "disabled"
    wandb_project: str = "hardware-scaling"
    wandb_entity: str | None = None
    hidden: tuple[int, ...] = (64, 64)  # actor and critic tanh layers (Python API only)
    overrides: dict[str, Any] = field(default_factory=dict)  # the keys given, as parsed

    @property
    def ranks(self) -> int:
        return self.gpus * self.nodes

    @property
    def rollout(self) -> int:
        from ..hardware import BUILTIN_ROLLOUT

        return BUILTIN_ROLLOUT

    @property
    def envs_per_rank(self) -> int:
        """Envs of the rank with the most (every rank's when the batch splits evenly)."""
        return self.rank_envs()[0]

    def rank_envs(self) -> list[int]:
        """Each rank's envs. The batch's ``batch / rollout`` envs are dealt out in units that
        keep every rank's share of a minibatch whole (each rank runs the same number of
        minibatches per epoch, so the all-reduce stays in step): one env per unit unless a
        minibatch is smaller than ``batch / rollout``. Ranks get as even a share as the units
        allow, the first ones one unit more: 3 ranks, batch 4096 -> 22, 21, 21 envs."""
        envs = self.batch_size // self.rollout
        unit = _env_unit(self.batch_size, self.minibatch_size, self.rollout)
        units, extra = divmod(envs // unit, self.ranks)
        return [unit * (units + (1 if r < extra else 0)) for r in range(self.ranks)]

    def rank_minibatch(self, rank: int) -> int:
        """This rank's samples per minibatch: its share of the global minibatch."""
        minibatches = self.batch_size // self.minibatch_size
        return self.rank_envs()[rank] * self.rollout // minibatches

    def rank_grad_weight(self, rank: int) -> float:
        """What this rank's minibatch gradient is multiplied by before the all-reduce, which
        averages the ranks with equal weights: its share of the minibatch times the ranks, so
        that a rank with more envs (the batch split unevenly) counts for more and the mean is
        the whole minibatch's. 1.0 on every rank when the split is even."""
        return self.rank_minibatch(rank) * self.ranks / self.minibatch_size

    def envs_text(self) -> str:
        """'16 envs x 64 steps per rank', or '64 envs (22, 21, 21 per rank) x 64 steps'."""
        per = self.rank_envs()
        if len(set(per)) == 1:
            return f"{per[0]} envs x {self.rollout} steps per rank"
        return f"{sum(per)} envs ({', '.join(map(str, per))} per rank) x {self.rollout} steps"

    @property
    def updates(self) -> int:
        """Updates needed so that agent steps reach ``total_timesteps`` (the last may overshoot)."""
        return math.ceil(self.total_timesteps / self.batch_size)

    def swept_params(self) -> dict[str, float | int]:
        """The swept dotted keys and the values this run uses (the trial's params)."""
        return {key: getattr(self, KEYS[key].field) for key in SWEPT_KEYS}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_value(text: str) -> Any:
    """Metta's value rules: true/false, null/none, int, float, else the string itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _coerce(key: str, spec: KeySpec, raw: str, value: Any) -> Any:
    def bad(accepted: str) -> UsageError:
        return UsageError(f"{key}={raw!r} is not valid; accepted: {accepted}.")

    if spec.kind == "choice":
        if value not in spec.choices:
            raise bad(", ".join(spec.choices))
        return value
    if spec.kind in ("bool", "int", "float"):
        vt = ValueType.of(spec.kind)
        try:
            value = vt.from_text(raw)
        except ValueTypeError:
            raise bad(spec.accepted or vt.describe()) from None
    else:  # str: keep the text as written
        value = raw
    if spec.check is not None and not spec.check(value):
        raise bad(spec.accepted)
    return value


def _split_token(token: str) -> tuple[str, str]:
    key, sep, raw = token.partition("=")
    if not sep or not key:
        raise UsageError(
            f"argument {token!r} is not key=value; write overrides like trainer.batch_size=2048."
        )
    if key not in KEYS:
        import difflib

        # matched on the last component: the shared "trainer." prefix would make any trainer
        # key look close (trainer.nope -> trainer.update_epochs); 0.7: bogus is not gpus
        tails: dict[str, str] = {}
        for k in KEYS:
            tails.setdefault(k.rsplit(".", 1)[-1], k)
        close = difflib.get_close_matches(key.rsplit(".", 1)[-1], tails, n=1, cutoff=0.7)
        hint = f" (did you mean {tails[close[0]]}?)" if close else ""
        raise UsageError(f"unknown key {key!r}{hint}; accepted keys: {', '.join(KEYS)}.")
    return key, raw


def default_run_id() -> str:
    import secrets

    return f"train_{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(3)}"


def parse_overrides(tokens: Sequence[str], env: Mapping[str, str] | None = None) -> TrainConfig:
    """``key=value`` tokens -> a validated ``TrainConfig``; any problem raises ``UsageError``.

    Unset keys take the builtin preset's centers for the pair (batch, minibatch, learning rate,
    PPO coefficients), the price table's H100 on-demand price, and ``WANDB_MODE`` /
    ``WANDB_PROJECT`` / ``WANDB_ENTITY`` from ``env`` for the W&B fields.
    """
    env = os.environ if env is None else env
    given: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for token in tokens:
        key, raw = _split_token(token)
        spec = KEYS[key]
        parsed = parse_value(raw)
        if parsed is None and spec.kind == "str":
            # null/none is None, as in Metta: the default (metrics_file=null wrote a file named
            # "null"); for wandb.entity, no entity even when $WANDB_ENTITY names one
            given[key] = None
            if key == "wandb.entity":
                values[spec.field] = None
            else:
                values.pop(spec.field, None)
            continue
        value = _coerce(key, spec, raw, parsed)
        given[key] = value
        values[spec.field] = value
    return _resolve(values, given, env)


def _resolve(values: dict[str, Any], given: dict[str, Any], env: Mapping[str, str]) -> TrainConfig:
    from ..hardware import BUILTIN_ROLLOUT, HardwarePair
    from ..prices import price_per_gpu_hour
    from ..search.presets import builtin_preset

    gpus, nodes = values.get("gpus", 1), values.get("nodes", 1)
    ranks = gpus * nodes
    if ranks > MAX_RANKS:
        raise UsageError(
            f"hardware.gpus x hardware.nodes = {ranks} ranks is too many for one machine; accepted: at most {MAX_RANKS} ranks."
        )
    center = builtin_preset(HardwarePair(gpus, nodes)).space.center()
    for key in SWEPT_KEYS:
        values.setdefault(KEYS[key].field, center[key])
    values.setdefault("group", f"train.g{gpus}n{nodes}")
    values.setdefault("run", default_run_id())
    values.setdefault("price_per_gpu_hour", price_per_gpu_hour("H100").price)
    mode = env.get("WANDB_MODE", "")
    values.setdefault("wandb_mode", mode if mode in WANDB_MODES else "disabled")
    values.setdefault("wandb_project", env.get("WANDB_PROJECT") or "hardware-scaling")
    values.setdefault("wandb_entity", env.get("WANDB_ENTITY") or None)
    cfg = TrainConfig(**values, overrides=given)
    _check_batch(cfg, BUILTIN_ROLLOUT)
    if cfg.wandb_mode == "online" and not wandb_key_available(env):
        # else the run trains, then W&B refuses at its start: in a sweep, every trial the same
        raise UsageError(
            "wandb.mode=online needs a W&B API key and none was found (WANDB_API_KEY in the "
            "environment, or the entry `wandb login` writes to ~/.netrc); accepted: export "
            "WANDB_API_KEY=<key>, or wandb.mode=offline or disabled."
        )
    return cfg


def wandb_key_available(env: Mapping[str, str]) -> bool:
    """Whether W&B will find an API key: ``WANDB_API_KEY``, else a netrc entry (``$NETRC`` or
    ``~/.netrc``) for the W&B host (``WANDB_BASE_URL``, default api.wandb.ai), where ``wandb
    login`` keeps it. Read only to know it is there; the key is never copied."""
    import netrc
    from urllib.parse import urlparse

    if env.get("WANDB_API_KEY"):
        return True
    host = urlparse(env.get("WANDB_BASE_URL") or "https://api.wandb.ai").hostname or ""
    try:
        entry = netrc.netrc(env.get("NETRC") or None).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return False
    return bool(entry and entry[2])


def _ranks(r: int) -> str:
    return f"{r} rank" if r == 1 else f"{r} ranks"


def _env_unit(batch: int, minibatch: int, rollout: int) -> int:
    """Envs per unit of the split: the fewest envs whose ``rollout`` steps divide into the
    batch's ``batch / minibatch`` minibatches."""
    minibatches = batch // minibatch
    return minibatches // math.gcd(minibatches, rollout)


def _check_batch(cfg: TrainConfig, rollout: int) -> None:
    b, mb, r = cfg.batch_size, cfg.minibatch_size, cfg.ranks
    given = (
        ""
        if "trainer.batch_size" in cfg.overrides
        else f"the default (preset center for {_ranks(r)}) "
    )
    if b % rollout:
        lo = b // rollout * rollout
        near = f"{lo} or {lo + rollout}" if lo else f"{rollout}"
        raise UsageError(
            f"{given}trainer.batch_size={b} is not a whole number of {rollout}-step rollouts; "
            f"accepted: a multiple of {rollout}, like {near}."
        )
    if b < r * rollout:
        raise UsageError(
            f"{given}trainer.batch_size={b} leaves some of the {_ranks(r)} without an env "
            f"({rollout} steps each); accepted: at least {r * rollout} (ranks x {rollout})."
        )
    memory = _physical_memory_bytes()
    if memory and b * BYTES_PER_SAMPLE > memory:
        most = 1 << (memory // BYTES_PER_SAMPLE).bit_length() - 1
        raise UsageError(
            f"{given}trainer.batch_size={b} needs about {_gib(b * BYTES_PER_SAMPLE)} of memory "
            f"for its rollouts, more than this machine's {_gib(memory)}; accepted: at most "
            f"{most} (about {BYTES_PER_SAMPLE} bytes a sample)."
        )
    if mb > b:
        raise UsageError(
            f"trainer.minibatch_size={mb} is larger than trainer.batch_size={b}; accepted: a minibatch of at most the batch size."
        )
    if b % mb:
        raise UsageError(
            f"trainer.minibatch_size={mb} does not divide trainer.batch_size={b}; accepted: a divisor of the batch size, like {b // 4}."
        )
    # b = minibatches x mb and rollout | b, so the units always divide the envs exactly
    units = b // rollout // _env_unit(b, mb, rollout)
    if units < r:
        raise UsageError(
            f"trainer.minibatch_size={mb} cuts trainer.batch_size={b} into {b // mb} minibatches, "
            f"too small to give each of the {_ranks(r)} a share; accepted: a minibatch of at "
            f"least {_min_minibatch(b, r, rollout)}."
        )


# Rank memory per batch sample, all ranks together (measured ~520 bytes on CartPole: rollout
# buffers, minibatch copies, the envs; doubled for margin). A batch beyond the machine's memory
# started its ranks and then failed (exit 1: "Maximum allowed dimension exceeded") or, worse,
# ran the machine out of memory.
BYTES_PER_SAMPLE = 1024


def _physical_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


def _min_minibatch(batch: int, ranks: int, rollout: int) -> int:
    """The smallest minibatch dividing ``batch`` that gives every rank a share."""
    return next(
        mb
        for mb in range(1, batch + 1)
        if batch % mb == 0 and batch // rollout // _env_unit(batch, mb, rollout) >= ranks
    )
