"""The built-in trainer: numpy PPO on gymnasium classic control, data-parallel over ranks.

``parse_overrides(tokens) -> TrainConfig`` and ``run_training(config) -> TrainResult`` are the
public API. Importing this package loads only the standard library; numpy and gymnasium load
when training starts (so ``hwscale-tui --help`` stays fast).
"""

from __future__ import annotations

from typing import Any

__all__ = ["TrainConfig", "TrainResult", "parse_overrides", "run_training"]


def __getattr__(name: str) -> Any:
    if name in ("TrainConfig", "parse_overrides"):
        from . import overrides

        return getattr(overrides, name)
    if name in ("TrainResult", "run_training"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
