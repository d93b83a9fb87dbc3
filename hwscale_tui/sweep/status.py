"""A sweep's trials as the store has them: JSON records and a terminal table (``sweep --status``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from ..console import fitted_table, stdout_console
from ..store import Store, transfer_other
from .outcome import clean_numbers
from .trial_command import short_params, stored_params

if TYPE_CHECKING:
    from rich.console import JustifyMethod

JSON_FIELDS = (
    "run_id",
    "idx",
    "state",
    "score",
    "cost_usd",
    "agent_steps",
    "runtime_s",
    "sps",
    "started_at",
    "ended_at",
    "error",
)


def trial_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One trial for ``--status --json``: run_id, state, score, cost_usd, agent_steps, params, ..."""
    record = {k: row[k] for k in JSON_FIELDS}
    record["transfer_other"] = transfer_other(row.get("transfer_other"))
    record["params"] = stored_params(row["params_json"])  # null: a damaged row
    return record


def sweep_records(store: Store | None, sweep: str) -> list[dict[str, Any]]:
    rows = store.trial_rows([sweep]) if store is not None else []
    return [trial_record(clean_numbers(r)) for r in rows]


def _runner_alive(row: Mapping[str, Any]) -> bool:
    from ..processes import is_running

    return bool(row.get("pid")) and is_running(row["pid"], row.get("proc_start"))


def _resume_hint(sweep: str, sweep_row: Mapping[str, Any]) -> str:
    """What resumes an interrupted sweep: for a launched pair, the launch that starts its
    runner again -- ``--resume`` only for a pair that died while no supervisor watched it,
    ``--only PAIR`` for one whose death its supervisor recorded (``--resume`` then finds
    nothing to resume); else running the sweep again."""
    generic = (
        "run the sweep again to resume it, or for a launched pair the launch hwscale-tui "
        "status names"
    )
    experiment = sweep_row.get("experiment")
    if not experiment:
        return generic
    try:
        from ..hardware import pair_tag_of
        from ..launch.supervisor import _died_unwatched, _stopped_on_full_disk, pair_status

        pairs = pair_status(str(experiment)).pairs
    except Exception:  # the launch records cannot be read: the general advice
        return generic
    pair = next((p for p in pairs if p.sweep_name == sweep), None)
    if pair is None:  # a sweep run by hand
        return "run the sweep again to resume it"
    again = (
        "--resume"
        if _died_unwatched(pair) or _stopped_on_full_disk(pair)
        else f"--only {pair_tag_of(sweep)}"
    )
    return f"hwscale-tui launch --experiment-name {experiment} {again} resumes it"


def render_status(
    store: Store | None, sweep: str, goal: str, start: str = "hwscale-tui sweep"
) -> None:
    """The sweep's trials as a table; ``start``: the command that starts it, for the line
    printed when nothing is recorded yet."""
    from rich.table import Table

    console = stdout_console()
    sweep_row = store.get_sweep(sweep) if store is not None else None
    rows = [clean_numbers(r) for r in store.trial_rows([sweep])] if store is not None else []
    if sweep_row is None and not rows:
        console.print(f"{sweep}: no sweep recorded yet (start it with {start})", highlight=False)
        return
    done = sum(r["state"] in ("finished", "failed") for r in rows)
    in_flight = sum(r["state"] in ("queued", "running") for r in rows)
    scored = [r for r in rows if r["state"] == "finished" and r["score"] is not None]
    status = sweep_row["status"] if sweep_row else "-"
    if sweep_row and status == "running" and not _runner_alive(sweep_row):
        # checked, not trusted (as `hwscale-tui status`): a SIGKILLed runner left it "running"
        status = (
            f"interrupted (its runner, pid {sweep_row['pid']}, is gone: "
            f"{_resume_hint(sweep, sweep_row)})"
        )
    head = f"[bold]{sweep}[/]  status={status}"
    if sweep_row:
        head += f"  dispatcher={sweep_row['dispatcher']}  done {done}/{sweep_row['max_trials']}"
    head += f"  in flight {in_flight}"
    if scored:
        best = (max if goal == "maximize" else min)(scored, key=lambda r: r["score"])
        head += f"  best {best['score']:.6g} (#{best['idx']})"
    console.print(head, highlight=False)
    # [sweep] transfer: how many other pairs' results each suggestion learned from
    others = [transfer_other(r.get("transfer_other")) for r in rows]
    transfer = any(others)

    def trials_table(narrow: bool) -> Any:
        # No outer edges; the numbers never wrap (a cost folded in two would read as two
        # values): the trial ids and errors fold instead, and on a narrow terminal (COLUMNS=60)
        # the cells' padding collapses so that the numbers still fit whole.
        table = Table(show_edge=False, pad_edge=False, header_style="bold", collapse_padding=narrow)
        for col, justify in (
            ("#", "right"),
            ("trial", "left"),
            ("state", "left"),
            ("score", "right"),
            ("cost $", "right"),
            ("steps", "right"),
            ("time s", "right"),
            *((("from others", "right"),) if transfer else ()),
            ("error", "left"),
        ):
            text = col in ("trial", "error")
            table.add_column(
                col,
                justify=cast("JustifyMethod", justify),
                overflow="fold" if text else "ellipsis",
                no_wrap=not text,
                min_width=6 if text else None,
            )
        for r, n in zip(rows, others, strict=True):
            table.add_row(
                str(r["idx"]),
                r["run_id"].removeprefix(f"{sweep}_"),
                r["state"],
                "-" if r["score"] is None else f"{r['score']:.4g}",
                "-" if r["cost_usd"] is None else f"{r['cost_usd']:.4f}",
                "-" if r["agent_steps"] is None else f"{r['agent_steps']:.0f}",
                "-" if r["runtime_s"] is None else f"{r['runtime_s']:.1f}",
                *(("-" if n is None else str(n),) if transfer else ()),
                r["error"] or "",
            )
        return table

    table = fitted_table(console, trials_table)
    console.print(table)
    if scored:
        console.print(
            f"best (#{best['idx']}): "
            + (
                short_params(params)
                if (params := stored_params(best["params_json"])) is not None
                else "its params in the store are damaged (params_json is no JSON object)"
            ),
            highlight=False,
        )
