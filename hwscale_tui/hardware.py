"""Hardware pairs (GPUs per node x nodes), the grid of valid pairs, and batch constraints."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

PAIR_RE = re.compile(r"^g(?P<g>[1-9][0-9]*)n(?P<n>[1-9][0-9]*)$")
# From generation 2 on a sweep name ends in ``.gen<N>`` (``<experiment>.g4n1.gen2``): no
# experiment name can produce it, since a pair tag never looks like ``gen2``.
GENERATION_SUFFIX_RE = re.compile(r"\.gen(?P<gen>[1-9][0-9]*)$")


def generation_of_sweep(name: str | None) -> int:
    """The generation a sweep name belongs to: ``N`` for a ``.gen<N>`` suffix, else 1."""
    m = GENERATION_SUFFIX_RE.search(name or "")
    return int(m["gen"]) if m else 1


def strip_generation(name: str) -> str:
    """The sweep name without its ``.gen<N>`` suffix (generation 1's name)."""
    return GENERATION_SUFFIX_RE.sub("", name)


def pair_tag_of(sweep: str) -> str:
    """``g4n1`` for ``exp.g4n1`` and ``exp.g4n1.gen2``."""
    return strip_generation(sweep).rsplit(".", 1)[-1]


def experiment_of_sweep(sweep: str) -> str:
    """``exp`` for ``exp.g4n1`` and ``exp.g4n1.gen2`` (an experiment name may hold dots)."""
    return strip_generation(sweep).rsplit(".", 1)[0]


USABLE_CORES_ENV = "HWSCALE_USABLE_CORES"  # overrides the count (tests inject it this way)


def usable_cores(env: Mapping[str, str] | None = None) -> int:
    """CPU cores this process may run on (``os.sched_getaffinity``), or ``$HWSCALE_USABLE_CORES``."""
    env = os.environ if env is None else env
    raw = env.get(USABLE_CORES_ENV, "").strip()
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def local_default_grid(
    cores: int, max_gpus_per_node: int = 8
) -> tuple[list[int], list[int], list[str]]:
    """The local default grid for ``cores`` usable cores: (rank counts per node, node counts,
    pairs switched off) such that no pair has more ranks than cores. 2 cores: 1 and 2 ranks."""
    top = max(1, min(cores, max_gpus_per_node))
    gpus = [1 << k for k in range(top.bit_length()) if 1 << k <= top]
    nodes = [1, 2] if cores >= 4 else [1]
    exclude = [f"g{g}n{n}" for g in gpus for n in nodes if g * n > cores]
    return gpus, nodes, exclude


def ranks_all_at_once(pairs: Sequence[HardwarePair], cores: int, parallel: int = 1) -> int:
    """CPU ranks the pairs that fit ``cores`` each need together, with ``parallel`` trials
    each, when they all run at once; 0 with fewer than two such pairs (nothing runs beside
    anything). A pair past the cores alone is left out: it has its own OVERSUBSCRIBED warning."""
    ranks = [p.total_gpus for p in pairs if p.total_gpus <= cores]
    return sum(ranks) * parallel if len(ranks) > 1 else 0


def oversubscribed(pair: HardwarePair, cores: int) -> bool:
    """More local ranks than usable cores: its times measure CPU contention, not scaling."""
    return pair.total_gpus > cores


@dataclass(frozen=True, order=True)
class HardwarePair:
    gpus: int  # per node
    nodes: int

    @property
    def total_gpus(self) -> int:
        return self.gpus * self.nodes

    @property
    def tag(self) -> str:
        return f"g{self.gpus}n{self.nodes}"

    def sweep_name(self, experiment: str, generation: int = 1) -> str:
        """``<experiment>.g<G>n<N>``, plus ``.gen<N>`` from generation 2 on."""
        base = f"{experiment}.{self.tag}"
        return base if generation <= 1 else f"{base}.gen{generation}"


@dataclass(frozen=True)
class SkippedPair:
    gpus: int
    nodes: int
    reason: str


def parse_pair(text: str) -> HardwarePair:
    """``g4n2``, ``4x2`` or a sweep name ending in ``.g4n2``."""
    t = text.strip()
    tail = pair_tag_of(t)
    m = PAIR_RE.match(tail)
    if m:
        return HardwarePair(int(m["g"]), int(m["n"]))
    m = re.fullmatch(r"([1-9][0-9]*)x([1-9][0-9]*)", t)
    if m:
        return HardwarePair(int(m[1]), int(m[2]))
    raise ValueError(f"{text!r} is not a pair; write it like g4n2 or 4x2")


def pair_from_sweep_name(name: str) -> HardwarePair | None:
    """Hardware from a group name ending in ``g<G>n<N>`` (ours and Metta's), else None."""
    m = re.search(r"g([1-9][0-9]*)n([1-9][0-9]*)$", strip_generation(name or ""))
    return HardwarePair(int(m[1]), int(m[2])) if m else None


class Grid(Protocol):
    """An experiment's ``[grid]`` section, as ``plan_of`` reads it."""

    @property
    def gpu_counts(self) -> list[int]: ...
    @property
    def node_counts(self) -> list[int]: ...
    @property
    def max_gpus_per_node(self) -> int: ...
    @property
    def exclude(self) -> list[str]: ...


def plan_of(grid: Grid) -> tuple[list[HardwarePair], list[SkippedPair]]:
    """``plan_grid`` of an experiment's ``[grid]`` section: its valid pairs and those skipped."""
    return plan_grid(grid.gpu_counts, grid.node_counts, grid.max_gpus_per_node, grid.exclude)


def plan_grid(
    gpu_counts: list[int],
    node_counts: list[int],
    max_gpus_per_node: int = 8,
    exclude: list[str] | tuple[str, ...] = (),
) -> tuple[list[HardwarePair], list[SkippedPair]]:
    """Valid pairs (in gpu-major order, duplicates dropped) and the pairs skipped, with why."""
    pairs: list[HardwarePair] = []
    skipped: list[SkippedPair] = []
    excluded = set(exclude)
    for g in dict.fromkeys(gpu_counts):
        for n in dict.fromkeys(node_counts):
            pair = HardwarePair(g, n)
            if g < 1 or n < 1:
                skipped.append(SkippedPair(g, n, "counts must be at least 1"))
            elif g > max_gpus_per_node:
                skipped.append(
                    SkippedPair(
                        g,
                        n,
                        f"{g} GPUs per node is more than max_gpus_per_node = {max_gpus_per_node}",
                    )
                )
            elif pair.tag in excluded:
                skipped.append(SkippedPair(g, n, "switched off in grid.exclude"))
            else:
                pairs.append(pair)
    return pairs, skipped


def next_pow2(x: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(1.0, x))))


@dataclass(frozen=True)
class BatchConstraints:
    """Batch bounds for one pair, by the original experiment's formula (docs/upstream.md section 2)."""

    total_gpus: int
    num_envs: int  # per GPU (rank)
    num_agents: int
    bptt_horizon: int
    min_batch: int
    max_batch: int
    center_batch: int
    min_minibatch: int
    max_minibatch: int
    default_minibatch: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def batch_constraints(
    total_gpus: int,
    *,
    num_envs: int,
    num_agents: int,
    bptt_horizon: int,
    minibatch_floor: int = 256,
    minibatch_segment: int | None = None,
    minibatch_cap: int = 65536,
) -> BatchConstraints:
    """``min = next_pow2(num_envs * num_agents * bptt * total_gpus)``, ``max = 8 * min``, center ``2 * min``.

    ``min_minibatch = max(floor, segment * 16)`` where Metta's segment is its BPTT horizon;
    ``max_minibatch = min(max // 4, cap)``; ``default = 2**round(log2(min(max(min // 4, min_mb), max_mb)))``.
    """
    seg = bptt_horizon if minibatch_segment is None else minibatch_segment
    min_batch = next_pow2(num_envs * num_agents * bptt_horizon * total_gpus)
    max_batch = 8 * min_batch
    min_mb = max(minibatch_floor, seg * 16)
    max_mb = min(max_batch // 4, minibatch_cap)
    default_mb = 2 ** round(math.log2(min(max(min_batch // 4, min_mb), max_mb)))
    return BatchConstraints(
        total_gpus=total_gpus,
        num_envs=num_envs,
        num_agents=num_agents,
        bptt_horizon=bptt_horizon,
        min_batch=min_batch,
        max_batch=max_batch,
        center_batch=2 * min_batch,
        min_minibatch=min_mb,
        max_minibatch=max_mb,
        default_minibatch=default_mb,
    )


def metta_num_envs(
    cpus_per_node: int, num_agents: int = 24, minibatch_target: int = 4096, async_factor: int = 2
) -> int:
    """Metta's envs per GPU from the *training node's* CPU count (never the controller's)."""
    num_workers = max(1, cpus_per_node // 2)
    target = minibatch_target // num_agents
    per_gpu = max(num_workers, (target // num_workers) * num_workers)
    return per_gpu * async_factor


def metta_batch_constraints(total_gpus: int, cpus_per_node: int = 8) -> BatchConstraints:
    return batch_constraints(
        total_gpus,
        num_envs=metta_num_envs(cpus_per_node),
        num_agents=24,
        bptt_horizon=64,
    )


# The built-in trainer's own constants (hwscale_tui/train): one agent per env, a fixed rollout,
# and a feed-forward policy, so a minibatch needs no BPTT segments (segment length 1).
BUILTIN_NUM_AGENTS = 1
BUILTIN_ROLLOUT = 64
BUILTIN_ENVS_PER_RANK = 8  # at the minimum batch; the center batch runs 16 envs per rank


def builtin_batch_constraints(total_gpus: int) -> BatchConstraints:
    return batch_constraints(
        total_gpus,
        num_envs=BUILTIN_ENVS_PER_RANK,
        num_agents=BUILTIN_NUM_AGENTS,
        bptt_horizon=BUILTIN_ROLLOUT,
        minibatch_segment=1,
    )
