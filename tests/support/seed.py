"""Seeding the private store of a test with finished trials and short learning curves."""

from __future__ import annotations

from typing import Any

from hwscale_tui.store import Store


def finished_trials(
    count: int,
    *,
    sweep: str = "hardware_scaling.g1n1",
    experiment: str = "hardware_scaling",
    params: dict[str, Any] | None = None,
) -> list[str]:
    """``count`` finished trials of ``sweep`` (scores 0, 1, ...), each with a 3-point curve, in
    the default store; returns their run ids."""
    run_ids = []
    with Store.open_default() as store:
        for i in range(count):
            run_id = f"{sweep}_trial_{i + 1:04d}_aaaaaa"
            store.insert_trial(
                run_id,
                sweep,
                experiment=experiment,
                gpus=1,
                nodes=1,
                state="finished",
                score=float(i),
                **({"params": params} if params is not None else {}),
            )
            store.append_history(run_id, [{"agent_step": s, "score": s} for s in (1, 2, 3)])
            run_ids.append(run_id)
    return run_ids
