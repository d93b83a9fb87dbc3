"""Generations: an experiment's trials are only compared with trials run under the same settings.

Every trial records a *comparability fingerprint*: a hash of the settings that change what a
trial measures (agent steps per trial, runner, trainer environment or Metta profile, metric and
goal, search space, dispatcher, trial command, forwarded arguments, the accelerator on clusters).
A launch whose fingerprint differs from the experiment's newest generation is refused unless the
user asks for a new generation; the new generation's sweeps carry a ``.gen<N>`` suffix, so its
trials (in the store, in W&B groups, in Metta sweep names) never mix with earlier ones.

Changes that keep trials comparable never start a generation: ``max_trials``, batch size,
parallelism, the stagger delay, the optimizer's knobs, added or removed pairs. The price is part
of the recorded settings but not of the fingerprint: a new price re-costs the generation's
trials instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import ExperimentConfig
from ..errors import UsageError
from ..hardware import HardwarePair
from ..records import plural

if TYPE_CHECKING:  # the store loads when a function here first opens it
    from ..store import Store

PRICE_KEY = "price_per_gpu_hour"
# The fingerprint's settings, shown to the user under these names.
SETTING_LABELS: dict[str, str] = {
    "runner": "experiment.runner",
    "dispatcher": "experiment.dispatcher",
    "total_timesteps": "sweep.total_timesteps",
    "metric": "sweep.metric",
    "goal": "sweep.goal",
    "env": "sweep.env",
    "trial_command": "sweep.trial_command",
    "launch_command": "launch.command",
    "extra_args": "forwarded key=value arguments",
    "metta": "[metta] profile (profile, tool, recipe, entry points, local_test)",
    "cpus_per_node": "grid.cpus_per_node",
    "gpu_type": "cost.gpu_type",
    "search_space": "the search space",
    PRICE_KEY: "the price per GPU-hour",
}


def settings(cfg: ExperimentConfig, extra_args: Sequence[str] = ()) -> dict[str, Any]:
    """The settings that decide whether two trials are comparable, plus the price in force."""
    builtin = cfg.experiment.runner == "builtin"
    out: dict[str, Any] = {
        "runner": cfg.experiment.runner,
        "dispatcher": cfg.experiment.dispatcher,
        "total_timesteps": cfg.sweep.total_timesteps,
        "metric": cfg.sweep.metric,
        "goal": cfg.sweep.goal,
        "env": cfg.sweep.env if builtin else None,
        "trial_command": list(cfg.sweep.trial_command),
        "launch_command": list(cfg.launch.command),
        # launch forwards [launch] extra_args plus the command line's; the sweep gets the union
        "extra_args": sorted(set(cfg.launch.extra_args) | set(extra_args)),
        "metta": None
        if builtin
        else {
            "tool": cfg.metta.tool,
            "recipe_module": cfg.metta.recipe_module,
            "train_entrypoint": cfg.metta.train_entrypoint,
            "eval_entrypoint": cfg.metta.eval_entrypoint,
            "profile": cfg.metta.profile,
            "local_test": cfg.metta.local_test,
        },
        "cpus_per_node": None if builtin else cfg.grid.cpus_per_node,
        # on the local dispatcher the accelerator name only sets the price
        "gpu_type": cfg.cost.gpu_type if cfg.experiment.dispatcher == "skypilot" else None,
        # the space of the smallest pair: ranges and centers, whatever pairs the grid has
        "search_space": _preset_for(cfg, HardwarePair(1, 1)).space.as_dict(),
        PRICE_KEY: cfg.price_per_gpu_hour,
    }
    return out


def _preset_for(cfg: ExperimentConfig, pair: HardwarePair) -> Any:
    """``search.presets.preset_for``, imported when a fingerprint is first taken: opening an
    experiment (the app's first frame) only asks for the newest generation."""
    from ..search.presets import preset_for

    return preset_for(cfg, pair)


def fingerprint(values: Mapping[str, Any]) -> str:
    """A short hash of the comparability settings (the price left out)."""
    core = {k: v for k, v in values.items() if k != PRICE_KEY}
    text = json.dumps(core, sort_keys=True, separators=(",", ":"), default=str)
    import hashlib  # OpenSSL's module loads in ~5 ms: not when the app opens an experiment

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class Comparison:
    """How a config compares with the experiment's newest generation."""

    experiment: str
    generation: int  # the newest generation (1 when none is recorded)
    recorded: bool  # False: no generation recorded and no trials, so nothing to compare
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # (key, was, now)
    price_change: tuple[float, float] | None = None

    @property
    def comparable(self) -> bool:
        return not self.changes

    def describe(self) -> str:
        """``sweep.total_timesteps 30000 -> 200000; sweep.env ...``"""
        return "; ".join(
            f"{SETTING_LABELS.get(k, k)} {_show(a)} -> {_show(b)}" for k, a, b in self.changes
        )


class GenerationChangeRequired(UsageError):
    """A launch whose comparability settings changed, without ``--new-generation``."""

    def __init__(self, comparison: Comparison, hint_command: str, same_as_ran: str | None = None):
        self.comparison = comparison
        c = comparison
        # ``same_as_ran``: a command that starts the named pairs with the settings the
        # generation ran with (its launch snapshot), offered first: the pairs go on in it
        ran = (
            f"{same_as_ran} (the settings generation {c.generation} ran with: its launch "
            "snapshot), or "
            if same_as_ran
            else ""
        )
        super().__init__(
            f"experiment {c.experiment}'s comparability settings changed since generation "
            f"{c.generation} ran ({c.describe()}); accepted: {ran}{hint_command} --new-generation "
            f"(starts generation {c.generation + 1}; generation {c.generation}'s trials are kept "
            "apart), or the settings put back."
        )


def same_as_ran_command(store: Store, name: str, pairs: Sequence[str]) -> str | None:
    """``hwscale-tui launch -e SNAPSHOT --only PAIRS [KEY=VALUE ...]``: the launch of ``pairs``
    with exactly the settings of the experiment's newest generation (its launch snapshot plus
    the forwarded arguments its launch was given on the command line), or None when the
    snapshot does not give them (missing, unreadable, or edited since). A pair whose sweep
    runner died (or was cancelled) goes on in its generation with it: its finished trials
    count, its trials in flight are re-attached, even when the experiment's file, or the
    command line of the launch that started the generation, says otherwise."""
    import shlex

    from .. import config as cfgmod
    from ..paths import snapshot_path

    gens = store.generations(name)
    snapshot = snapshot_path(name)
    if not gens or not pairs or not snapshot.is_file():
        return None
    try:
        was = json.loads(gens[-1]["settings_json"])
        snap = cfgmod.load(snapshot)
    except (OSError, ValueError, TypeError, UsageError):
        return None
    recorded = was.get("extra_args")
    if not isinstance(recorded, list) or not all(isinstance(a, str) for a in recorded):
        return None
    given = [a for a in recorded if a not in snap.launch.extra_args]
    now = settings(snap, given)
    if any(k != PRICE_KEY and was.get(k) != v for k, v in now.items()):
        return None
    words = ["hwscale-tui", "launch", "-e", str(snapshot), "--only", ",".join(pairs), *given]
    return " ".join(shlex.quote(w) for w in words)


def _legacy_settings(store: Store, experiment: str) -> dict[str, Any] | None:
    """Settings of trials recorded before generations existed: the newest sweep's config."""
    from ..config import from_dict

    row = store.conn.execute(
        "SELECT config_json FROM sweeps WHERE experiment = ? AND config_json IS NOT NULL "
        "ORDER BY updated_at DESC LIMIT 1",
        (experiment,),
    ).fetchone()
    if row is None:
        return None
    try:
        old = from_dict(json.loads(row[0]), source="<store>", env={})
    except (ValueError, UsageError):
        return None
    return settings(old)


def _has_trials(store: Store, experiment: str) -> bool:
    row = store.conn.execute(
        "SELECT 1 FROM trials WHERE experiment = ? LIMIT 1", (experiment,)
    ).fetchone()
    return row is not None


def compare(
    store: Store, cfg: ExperimentConfig, extra_args: Sequence[str] = ()
) -> tuple[Comparison, dict[str, Any]]:
    """Compare ``cfg`` (with the forwarded arguments) with the experiment's newest generation."""
    now = settings(cfg, extra_args)
    gens = store.generations(cfg.name)
    if gens:
        was = json.loads(gens[-1]["settings_json"])
        comp = Comparison(cfg.name, int(gens[-1]["generation"]), True)
    else:
        was = _legacy_settings(store, cfg.name) if _has_trials(store, cfg.name) else None
        comp = Comparison(cfg.name, 1, was is not None)
    if was is not None:
        for key in now:
            if key != PRICE_KEY and was.get(key) != now[key]:
                comp.changes.append((key, was.get(key), now[key]))
        old_price = was.get(PRICE_KEY)
        if old_price is not None and abs(float(old_price) - float(now[PRICE_KEY])) > 1e-12:
            comp.price_change = (float(old_price), float(now[PRICE_KEY]))
    return comp, now


def snapshot_edits(store: Store, snapshot: ExperimentConfig) -> Comparison | None:
    """How a launch snapshot differs from its experiment's newest generation in the settings
    that decide comparability (None: nothing recorded, or no change). Its pairs read it when
    they start, with the forwarded arguments of their recorded commands, and a price only
    re-costs: neither is compared. ``launch --resume`` refuses such a snapshot, ``doctor``
    reports it."""
    comp, _ = compare(store, snapshot)
    comp.changes = [c for c in comp.changes if c[0] != "extra_args"]
    return comp if comp.recorded and comp.changes else None


def recost(store: Store, experiment: str, generation: int, price_per_gpu_hour: float) -> int:
    """Re-price the generation's local trials and their curves at ``price_per_gpu_hour``
    (whole nodes for the whole wall time, as the runner prices them); returns trials changed.
    Call inside a transaction."""
    from ..prices import job_cost_usd

    rows = [
        r
        for r in store.trial_rows(experiment=experiment)
        if (r["generation"] or 1) == generation
        and r["gpus"]
        and r["nodes"]
        and (r["source"] or "local") == "local"
    ]
    n = 0
    for r in rows:
        g, nn = int(r["gpus"]), int(r["nodes"])
        if r["runtime_s"] is not None:
            cost = job_cost_usd(price_per_gpu_hour, g, nn, float(r["runtime_s"]))
            store.conn.execute(
                "UPDATE trials SET cost_usd = ? WHERE run_id = ?", (cost, r["run_id"])
            )
            n += 1
        store.conn.execute(
            "UPDATE history SET cost_usd = ? * ? * ? * wall_s / 3600.0 "
            "WHERE run_id = ? AND wall_s IS NOT NULL",
            (price_per_gpu_hour, g, nn, r["run_id"]),
        )
    return n


@dataclass
class GenerationDecision:
    """What a launch will do about generations; ``record`` writes it (after the launch's own
    checks passed, so a refused launch records nothing)."""

    experiment: str
    generation: int
    started_new: bool
    settings: dict[str, Any]
    fingerprint: str
    reason: str
    price_change: tuple[float, float] | None = None
    recosted: int = 0

    @property
    def note(self) -> str:
        """One line for the launch output (empty when there is nothing to say)."""
        if self.started_new:
            return f"generation {self.generation} started: {self.reason}"
        if self.price_change is not None:
            a, b = self.price_change
            return (
                f"price {a:g} -> {b:g} $/GPU-hour: re-costed {plural(self.recosted, 'trial')} of "
                f"generation {self.generation} (no new generation: the price does not change "
                "what a trial measures)"
            )
        return ""

    def record(self, store: Store) -> None:
        with store.transaction():
            if self.price_change is not None:
                self.recosted = recost(
                    store, self.experiment, self.generation, self.price_change[1]
                )
            store.add_generation(
                self.experiment, self.generation, self.fingerprint, self.settings, self.reason
            )


def decide_for_launch(
    store: Store,
    cfg: ExperimentConfig,
    extra_args: Sequence[str] = (),
    *,
    new_generation: bool = False,
    running: Sequence[str] = (),
    hint_command: str = "hwscale-tui launch",
) -> GenerationDecision:
    """The generation a launch of ``cfg`` runs in (nothing written; see ``record``). Raises
    GenerationChangeRequired when comparability settings changed and ``new_generation`` is not
    set, UsageError when a new generation would start while pairs of the old one run or are
    due to start (``running``: their tags)."""
    comp, now = compare(store, cfg, extra_args)
    fp = fingerprint(now)
    if not comp.recorded:
        return GenerationDecision(cfg.name, 1, False, now, fp, "first launch")
    if comp.changes and not new_generation:
        raise GenerationChangeRequired(comp, hint_command)
    if new_generation:
        if running:
            raise UsageError(
                f"{', '.join(running)} of experiment {cfg.name} "
                f"{'is' if len(running) == 1 else 'are'} still running or due to start in "
                f"generation {comp.generation}; accepted: hwscale-tui cancel --experiment-name "
                f"{cfg.name} --all first, then the launch with --new-generation."
            )
        gen = comp.generation + 1
        reason = comp.describe() or "asked for (no comparability setting changed)"
        return GenerationDecision(cfg.name, gen, True, now, fp, reason)
    gens = store.generations(cfg.name)
    reason = gens[-1]["reason"] if gens else "trials recorded before generations existed"
    return GenerationDecision(
        cfg.name, comp.generation, False, now, fp, reason, price_change=comp.price_change
    )


def _launch_hint(cfg: ExperimentConfig) -> str:
    """The launch command of ``cfg``'s experiment, pasteable: its file, else its name."""
    import shlex

    if cfg.path:
        return f"hwscale-tui launch -e {shlex.quote(str(cfg.path))}"
    return f"hwscale-tui launch --experiment-name {cfg.name}"


def check_for_sweep(
    store: Store,
    cfg: ExperimentConfig,
    extra_args: Sequence[str] = (),
    *,
    hint_command: str | None = None,
) -> str:
    """The fingerprint a sweep of ``cfg`` records on its trials; refuses (UsageError) a sweep
    whose settings differ from its generation's, so trials never mix even without ``launch``.
    ``hint_command``: the launch the refusal offers (default: the experiment's launch)."""
    hint = hint_command or _launch_hint(cfg)
    now = settings(cfg, extra_args)
    fp = fingerprint(now)
    gens = {int(g["generation"]): g for g in store.generations(cfg.name)}
    rec = gens.get(cfg.generation)
    if rec is None:
        if cfg.generation == 1 and not gens:
            comp, _ = compare(store, cfg, extra_args)
            if comp.recorded and comp.changes:
                raise GenerationChangeRequired(comp, hint)
            store.add_generation(cfg.name, 1, fp, now, "first sweep")
            return fp
        raise UsageError(
            f"experiment {cfg.name} has no generation {cfg.generation}; accepted: "
            f"hwscale-tui launch --experiment-name {cfg.name}."
        )
    if rec["fingerprint"] != fp:
        comp = Comparison(cfg.name, cfg.generation, True)
        was = json.loads(rec["settings_json"])
        comp.changes = [
            (k, was.get(k), v) for k, v in now.items() if k != PRICE_KEY and was.get(k) != v
        ]
        raise GenerationChangeRequired(comp, hint)
    return fp


def newest_generation(name: str) -> int:
    """The experiment's newest generation in the default store (1 when there is no store)."""
    from ..paths import app_paths

    path = app_paths().store
    if not path.exists():
        return 1
    from ..store import Store

    with Store(path, readonly=True) as store:
        return store.latest_generation(name)


__all__ = [
    "Comparison",
    "GenerationChangeRequired",
    "GenerationDecision",
    "check_for_sweep",
    "compare",
    "decide_for_launch",
    "fingerprint",
    "newest_generation",
    "recost",
    "settings",
]
