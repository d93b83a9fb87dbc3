"""The Trial record and history point (docs/sources.md, The record) that every source yields."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import starmap
from typing import Any, overload

# "awaiting_eval" (shown "awaiting eval"): trained to its timesteps but not yet scored; Metta
# evaluates in a separate job (metta/adaptive/stores/wandb.py:197-215 at Metta 7c1a7ff418).
TRIAL_STATES = ("queued", "running", "awaiting_eval", "finished", "failed", "killed", "stale")
TERMINAL_STATES = ("finished", "failed", "killed", "stale")
# What counts toward a sweep's max_trials: killed trials are replaced by a new suggestion.
BUDGETED_STATES = ("finished", "failed")
SOURCES = ("local", "wandb")


@dataclass
class Trial:
    sweep: str
    run_id: str
    gpus: int | None
    nodes: int | None
    state: str
    params: dict[str, Any] = field(default_factory=dict)  # flat, dotted keys
    score: float | None = None
    cost_usd: float | None = None
    agent_steps: float | None = None
    runtime_s: float | None = None
    sps: float | None = None
    created_at: float | None = None  # epoch seconds
    updated_at: float | None = None
    source: str = "local"
    flags: list[str] = field(default_factory=list)  # data problems found while normalizing
    generation: int = 1  # the experiment's run this trial belongs to (its sweep name's .gen<N>)
    # how many other pairs' results the optimizer learned from for this trial's suggestion
    # ([sweep] transfer; the built-in runner records it); None: not known (W&B, Metta)
    transfer_other: int | None = None
    # why a failed or killed trial ended, as its runner recorded it (local store); None: none
    # recorded or not known (W&B)
    error: str | None = None

    @property
    def total_gpus(self) -> int | None:
        return self.gpus * self.nodes if self.gpus and self.nodes else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 trial``, ``2 trials`` (``nouns``: an irregular plural)."""
    return f"{n} {noun}" if n == 1 else f"{n} {nouns or noun + 's'}"


def states_text(trials: Iterable[Trial]) -> str:
    """The trials' states counted, most first: ``"2 failed, 1 killed"`` (``""`` for none)."""
    counts: dict[str, int] = {}
    for t in trials:
        counts[str(t.state)] = counts.get(str(t.state), 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items(), key=lambda kv: -kv[1]))


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    agent_step: float
    wall_s: float
    score: float
    cost_usd: float | None = None


def history_point(
    step: float, wall: float | None, score: float, cost: float | None = None
) -> HistoryPoint:
    """A store row as a point; a row without a wall time (NULL) has NaN there: unknown, not 0."""
    return HistoryPoint(step, math.nan if wall is None else wall, score, cost)


class HistoryRows(Sequence[HistoryPoint]):
    """A learning curve as the store holds it: ``(agent_step, wall_s, score, cost_usd)`` tuples,
    straight from the SQLite cursor.

    It is a sequence of :class:`HistoryPoint` for every reader, but a point is made only when
    one is indexed or iterated: the analysis takes :attr:`rows` as arrays at once, so reading a
    store's curves costs little more than fetching its rows (a million points make no million
    objects).
    """

    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple[float, float | None, float, float | None]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> HistoryPoint: ...

    @overload
    def __getitem__(self, index: slice) -> list[HistoryPoint]: ...

    def __getitem__(self, index: int | slice) -> HistoryPoint | list[HistoryPoint]:
        if isinstance(index, slice):
            return list(starmap(history_point, self.rows[index]))
        return history_point(*self.rows[index])

    def __iter__(self) -> Iterator[HistoryPoint]:
        return starmap(history_point, self.rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HistoryRows):
            return self.rows == other.rows
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable like the list it stands for

    def __repr__(self) -> str:
        return f"HistoryRows({len(self.rows)} points)"
