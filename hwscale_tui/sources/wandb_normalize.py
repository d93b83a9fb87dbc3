"""W&B run data (Metta's runs and ours) -> the ``Trial`` record (docs/sources.md).

Plain data in, plain data out: no W&B import, so every rule is testable without a server.
Bad data never raises: the run is kept and what was wrong is written to ``Trial.flags``.
Summary and config may arrive as the JSON text the server sends; the summary is always parsed,
the config (large for Metta runs) only when the record needs it: no hardware in the group
name, or no ``sweep/suggestion`` to take params from.

Keys read (docs/metta.md and docs/upstream.md section 6 for Metta, docs/train.md for ours;
both share them):
score ``sweep/score`` else the sweep metric path; cost ``monitor/cost/accrued_total`` else
``sweep/cost``; agent steps ``metric/agent_step``; runtime ``metric/total_time`` else
``_runtime``; ``overview/sps``; params ``sweep/suggestion`` (flattened to dotted keys); hardware
from the group ``...g<G>n<N>`` else config ``hardware``.

Metta's meaning (metta/adaptive/stores/wandb.py at Metta-AI/metta 7c1a7ff418):

- ``init_run`` creates a placeholder and finishes it at once (summary ``initialized: true``,
  ``_runtime`` 0, :36-77); a finished run with no runtime has not started (:181-195): ``queued``.
- A run is evaluated once evaluator metrics under the metric's prefix are in its summary
  (:206-215); a finished run that trained (runtime > 0) but has neither those nor a score is
  ``awaiting_eval``, not ``finished``.
- Cost is ``monitor/cost/accrued_total``, 0 when absent (:223-224), and ``sweep/cost`` copies
  it (metta/tools/sweep.py:53-63); only SkyPilot jobs log the monitor key, so a 0 without it
  means "not measured": the cost is unknown (``None``) and the analysis prices the GPU-hours.

At a8d1ecee19 (profile main) the same, at :43-85, :184-229 and :237-238, with one addition: a
zero ``_runtime`` falls back to ``run.duration`` (:191-196 for the status, :233-235 for
``RunInfo.runtime``). That fallback never fires: ``hasattr(run, "duration")`` is False on a
public-API Run, whose attributes are only what wandb's ``RunFragment`` fetches (no ``duration``
in wandb 0.23.0, Metta's uv.lock, nor 0.26.1; ``Attrs.__getattr__`` in wandb/apis/attrs.py), and
our ``Runs`` query fetches the same fragment. So Metta's runtime is ``_runtime``, 0 when missing,
and that is what placeholder detection reads (tests/sources/test_sources_metta_states.py shows
it with the real client).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..hardware import generation_of_sweep, pair_from_sweep_name
from ..records import Trial
from .base import (
    finite_number,
    mark_stale,
    negative_flag,
    number_flag,
    params_without_oversized_ints,
)

# W&B run states -> Trial states. "preempted" runs stopped and may be resumed later.
STATE_MAP = {
    "pending": "queued",
    "running": "running",
    "preempting": "running",
    "finished": "finished",
    "crashed": "failed",
    "failed": "failed",
    "killed": "killed",
    "preempted": "killed",
}
SCORE_KEY = "sweep/score"
MONITOR_COST_KEY = "monitor/cost/accrued_total"
SWEEP_COST_KEY = "sweep/cost"
COST_KEYS = (MONITOR_COST_KEY, SWEEP_COST_KEY)
AGENT_STEP_KEY = "metric/agent_step"
RUNTIME_KEYS = ("metric/total_time", "_runtime")
SPS_KEY = "overview/sps"
SUGGESTION_KEY = "sweep/suggestion"
OUR_TAG = "hwscale"
_MISSING = object()


@dataclass(frozen=True)
class WandbRunData:
    """The fields of one W&B run that the record is made from, as the server sent them."""

    run_id: str
    group: Any = None
    state: Any = None
    tags: Any = ()
    config: Any = (
        None  # a dict or its JSON text, with or without W&B's {"key": {"value": v}} wrappers
    )
    summary: Any = None  # a dict or its JSON text
    created_at: Any = None  # ISO 8601, UTC
    heartbeat_at: Any = None
    last_step: Any = None  # historyKeys.lastStep: the last history row's step


WANDB_INTERNAL_CONFIG_KEYS = ("_wandb", "wandb_version")


def json_object(value: Any, label: str, flags: list[str]) -> dict[str, Any]:
    """``value`` (a dict or JSON text) as a dict; anything else is flagged and becomes ``{}``."""
    if isinstance(value, (str, bytes, bytearray)):
        try:
            value = json.loads(value, strict=False)
        except ValueError:
            flags.append(f"{label} is not valid JSON")
            return {}
    if value is None:
        return {}
    if not isinstance(value, dict):
        flags.append(f"{label} is not a dict ({type(value).__name__})")
        return {}
    return value


def user_config(config: dict[str, Any]) -> dict[str, Any]:
    """A run config without W&B's ``{"value": v, "desc": ...}`` wrappers and internal keys."""
    return {
        k: v["value"] if isinstance(v, dict) and "value" in v else v
        for k, v in config.items()
        if k not in WANDB_INTERNAL_CONFIG_KEYS
    }


def lookup(data: Mapping[str, Any], key: str) -> Any:
    """``data[key]`` for a flat ``a/b/c`` key, else the nested ``data[a][b][c]``, else a sentinel."""
    if key in data:
        return data[key]
    node: Any = data
    for part in key.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> one dict with dotted keys (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def parse_time(value: Any) -> float | None:
    """W&B's ISO timestamps (naive means UTC) -> epoch seconds; None when absent or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def _first_number(
    summary: Mapping[str, Any],
    keys: tuple[str, ...],
    flags: list[str],
    *,
    signed: bool = False,
) -> float | None:
    """The first of ``keys`` holding a finite number (one of 0 or more unless ``signed``: a
    cost, step count, runtime or SPS); present-but-bad values are flagged."""
    for key in keys:
        value = lookup(summary, key)
        if value is _MISSING or value is None:
            continue
        number = finite_number(value)
        if number is not None and (signed or number >= 0):
            return number
        flags.append(number_flag(key, value) if number is None else negative_flag(key, number))
    return None


class _LazyConfig:
    """The run config, parsed on first use (Metta's is large and usually not needed)."""

    def __init__(self, raw: Any, flags: list[str]):
        self.raw, self.flags = raw, flags
        self._value: dict[str, Any] | None = None

    def get(self) -> dict[str, Any]:
        if self._value is None:
            self._value = user_config(json_object(self.raw, "config", self.flags))
        return self._value


def _hardware(group: str, config: _LazyConfig, flags: list[str]) -> tuple[int | None, int | None]:
    pair = pair_from_sweep_name(group)
    if pair is not None:
        return pair.gpus, pair.nodes
    if group:
        flags.append(f"group {group[:60]!r} does not end in g<G>n<N>")
    hw = config.get().get("hardware")
    if isinstance(hw, Mapping):
        gpus, nodes = hw.get("gpus"), hw.get("nodes")
        if all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (gpus, nodes)):
            return gpus, nodes
    flags.append("hardware unknown (no g<G>n<N> group and no config hardware {gpus, nodes})")
    return None, None


def _params(
    summary: Mapping[str, Any], config: _LazyConfig, tags: Any, flags: list[str]
) -> dict[str, Any]:
    suggestion = lookup(summary, SUGGESTION_KEY)
    if isinstance(suggestion, Mapping):
        params = flatten(suggestion)
        params_without_oversized_ints(params, SUGGESTION_KEY, flags)
        return params
    if suggestion is not _MISSING and suggestion is not None:
        flags.append(f"{SUGGESTION_KEY} is not a dict ({type(suggestion).__name__})")
    values = config.get()
    if (
        OUR_TAG in tags or "hardware" in values
    ):  # our runs keep the params in the config too, next to `hardware`
        params = flatten(
            {k: v for k, v in values.items() if k != "hardware" and not k.startswith("_")}
        )
        params_without_oversized_ints(params, "config", flags)
        return params
    return {}


def _metta_finished_state(summary: Mapping[str, Any], trial: Trial, score_metric: str) -> str:
    """What a W&B-finished Metta run is: placeholder (queued), trained only, or evaluated."""
    # Metta's runtime: summary _runtime, 0 when missing (stores/wandb.py:182 at 7c1a7ff418,
    # :191 at a8d1ecee19); its run.duration fallback (:192-196 at a8d1ecee19) is unreachable
    # through the public API, which never fetches ``duration`` (module docstring).
    runtime = finite_number(lookup(summary, "_runtime"))
    placeholder = lookup(summary, "initialized") is True or not (runtime and runtime > 0)
    if trial.agent_steps is None and placeholder:
        return "queued"  # init_run's placeholder (stores/wandb.py:60-70, :189-195)
    if trial.score is not None:
        return "finished"
    prefix = score_metric.rsplit("/", 1)[0] if "/" in score_metric else "evaluator"
    if any(isinstance(k, str) and k.startswith(prefix + "/") for k in summary):
        return "finished"  # evaluated, but the metric itself is missing: flagged below
    return "awaiting_eval"


def normalize_wandb_run(
    run: WandbRunData, *, score_metric: str, now: float, stale_after_s: float
) -> Trial:
    """One run -> one ``Trial`` (source ``wandb``); never raises on bad data."""
    flags: list[str] = []
    group = run.group if isinstance(run.group, str) else ""
    if not group:
        flags.append("run has no group (sweep name)")
    flagged_before = len(flags)
    summary = json_object(run.summary, "summary", flags)
    summary_read = len(flags) == flagged_before  # json_object flags only what it cannot read
    config = _LazyConfig(run.config, flags)
    tags = run.tags if isinstance(run.tags, (list, tuple)) else ()

    state = STATE_MAP.get(run.state) if isinstance(run.state, str) else None
    if state is None:
        flags.append(f"unknown W&B state {str(run.state)[:20]!r}")
        state = "stale"
    created_at = parse_time(run.created_at)
    if created_at is None:
        flags.append("createdAt missing or unparseable")
    updated_at = parse_time(run.heartbeat_at) or created_at

    gpus, nodes = _hardware(group, config, flags)
    score_keys = (SCORE_KEY,) if score_metric == SCORE_KEY else (SCORE_KEY, score_metric)
    ours = OUR_TAG in tags
    cost = _first_number(summary, COST_KEYS, flags)
    if not ours and cost == 0 and lookup(summary, MONITOR_COST_KEY) in (_MISSING, None):
        cost = None  # Metta's 0 default: nothing was measured
        flags.append(f"cost unknown: {SWEEP_COST_KEY} is 0 and {MONITOR_COST_KEY} is absent")
    trial = Trial(
        sweep=group,
        run_id=str(run.run_id),
        gpus=gpus,
        nodes=nodes,
        state=state,
        params=_params(summary, config, tags, flags),
        score=_first_number(summary, score_keys, flags, signed=True),
        cost_usd=cost,
        agent_steps=_first_number(summary, (AGENT_STEP_KEY,), flags),
        runtime_s=_first_number(summary, RUNTIME_KEYS, flags),
        sps=_first_number(summary, (SPS_KEY,), flags),
        created_at=created_at,
        updated_at=updated_at,
        source="wandb",
        flags=flags,
        generation=generation_of_sweep(group),
    )
    if state == "finished" and not ours and summary_read:
        # Metta's reading needs the summary; an unreadable one is no placeholder: W&B's state
        # stands (flagged below), never "queued" (then "stale") for a run W&B calls finished
        state = _metta_finished_state(summary, trial, score_metric)
        trial.state = state
    if state == "finished":
        flags.extend(
            f"finished without {what}"
            for what, v in (("a score", trial.score), ("agent steps", trial.agent_steps))
            if v is None
        )
    return mark_stale(trial, now, stale_after_s)
