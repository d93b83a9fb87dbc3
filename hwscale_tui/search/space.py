"""The search space as data: distributions, bounds, centers and their normalized coordinates.

Every parameter maps to a coordinate in [-1, 1] (Protein's convention): ``uniform`` and
``int_uniform`` linearly, ``uniform_pow2`` in log2 space (values rounded to a power of two),
``log_normal`` in log10 space, ``logit_normal`` in logit space.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

DISTRIBUTIONS = ("uniform", "int_uniform", "uniform_pow2", "log_normal", "logit_normal")
# Continuous values are snapped to this many significant digits (of the range, for ``uniform``),
# so that ``unnormalize(normalize(v)) == v`` holds exactly for every value the space produces.
SNAP_DIGITS = 10


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class Param:
    key: str
    distribution: str
    min: float
    max: float
    mean: float
    scale: float | str = "auto"

    def __post_init__(self) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"{self.key}: distribution {self.distribution!r} is not one of {', '.join(DISTRIBUTIONS)}"
            )
        if not self.min < self.max:
            raise ValueError(f"{self.key}: min {self.min} must be below max {self.max}")
        if not self.min <= self.mean <= self.max:
            raise ValueError(f"{self.key}: mean {self.mean} must lie in [{self.min}, {self.max}]")
        if self.distribution in ("uniform_pow2", "log_normal") and self.min <= 0:
            raise ValueError(f"{self.key}: {self.distribution} needs min > 0")
        if self.distribution == "logit_normal" and not (self.min > 0 and self.max < 1):
            raise ValueError(f"{self.key}: logit_normal needs 0 < min < max < 1")

    # -- transforms ---------------------------------------------------------------------
    def _fwd(self, v: float) -> float:
        d = self.distribution
        if d == "uniform_pow2":
            return math.log2(v)
        if d == "log_normal":
            return math.log10(v)
        if d == "logit_normal":
            return _logit(v)
        return float(v)

    def _inv(self, t: float) -> float:
        d = self.distribution
        if d == "uniform_pow2":
            return 2.0**t
        if d == "log_normal":
            return 10.0**t
        if d == "logit_normal":
            return _sigmoid(t)
        return t

    @property
    def search_scale(self) -> float:
        return 0.5 if self.scale == "auto" else float(self.scale)

    def normalize(self, value: float) -> float:
        """Value -> coordinate in [-1, 1]."""
        lo, hi = self._fwd(self.min), self._fwd(self.max)
        return 2.0 * (self._fwd(value) - lo) / (hi - lo) - 1.0

    def unnormalize(self, coord: float) -> float | int:
        """Coordinate -> value, clipped to the bounds and rounded for integer distributions."""
        c = min(1.0, max(-1.0, float(coord)))
        lo, hi = self._fwd(self.min), self._fwd(self.max)
        t = lo + (c + 1.0) / 2.0 * (hi - lo)
        d = self.distribution
        if d == "uniform_pow2":
            return int(2 ** round(t))
        v = self._inv(t)
        if d == "int_uniform":
            return int(round(v))
        return min(self.max, max(self.min, self._snap(v)))

    def _snap(self, v: float) -> float:
        """Drop the float noise of the transforms: a fixed decimal grid, so round trips are exact."""
        if self.distribution == "uniform":
            return round(v, SNAP_DIGITS - math.floor(math.log10(self.max - self.min)))
        return float(f"{v:.{SNAP_DIGITS}g}")

    def round_trip_value(self, value: float) -> float | int:
        return self.unnormalize(self.normalize(value))

    def as_dict(self) -> dict[str, Any]:
        return {
            "distribution": self.distribution,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
        }


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.params]

    def __len__(self) -> int:
        return len(self.params)

    def __getitem__(self, key: str) -> Param:
        for p in self.params:
            if p.key == key:
                return p
        raise KeyError(key)

    def center(self) -> dict[str, float | int]:
        """The search center as values (exactly the means)."""
        out: dict[str, float | int] = {}
        for p in self.params:
            out[p.key] = (
                int(p.mean) if p.distribution in ("uniform_pow2", "int_uniform") else p.mean
            )
        return out

    def normalize(self, values: Mapping[str, float]) -> list[float]:
        return [p.normalize(values[p.key]) for p in self.params]

    def unnormalize(self, coords: Iterable[float]) -> dict[str, float | int]:
        return {p.key: p.unnormalize(c) for p, c in zip(self.params, coords, strict=True)}

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {p.key: p.as_dict() for p in self.params}

    def to_json(self) -> dict[str, Any]:
        return {"params": [asdict(p) for p in self.params], "settings": dict(self.settings)}
