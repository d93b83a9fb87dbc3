"""The experiment being edited: the config, where it saves, and the edits the grid editor makes.

Plain data and foundation calls only (no Textual), so the editor's rules are testable without a
terminal. Every edit goes through ``config.apply_overrides`` with the experiment file as the
source, so a bad value raises the same :class:`ConfigError` sentence the CLI prints for that
file.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config as cfgmod
from ..config import ExperimentConfig
from ..errors import ConfigError
from ..hardware import HardwarePair
from ..values import ValueType, ValueTypeError

SOURCE_KINDS = ("local", "wandb")


@dataclass(frozen=True)
class GridCell:
    """One (GPUs per node, nodes) cell of the editor's matrix."""

    pair: HardwarePair
    state: str  # "on" | "off" (excluded) | "invalid"
    reason: str = ""


def parse_field_text(dotted: str, text: str) -> Any:
    """Turn what was typed into the value a TOML file would hold for ``dotted``.

    Text that does not parse as the field's type is passed through unchanged, so validation
    rejects it with the same message a file holding that string would get.
    """
    section, key = dotted.split(".", 1)
    text = text.strip()
    try:
        return ValueType.of(cfgmod.field_specs(section)[key].type).from_text(text)
    except ValueTypeError:
        return text


def _check_words(source: str, dotted: str, text: str) -> None:
    """A command typed into the form is split into words as a shell does; an unclosed quote
    got the file's sentence, "accepted: a list of strings", which a text field never shows."""
    try:
        shlex.split(text)
    except ValueError:
        raise ConfigError(
            source,
            dotted,
            f"got {text.strip()!r}: a quote is not closed",
            "words as a shell splits them (quote a word that has spaces: python 'my run.py')",
        ) from None


def format_field_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if all(isinstance(v, int) for v in value):
            return " ".join(str(v) for v in value)
        return shlex.join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _new_config(path: Path) -> ExperimentConfig:
    """The built-in default for a file not made yet (``-e my_experiment.toml``), named after
    the file: the default's own name (``hardware_scaling``) showed, and launched into, the
    trials of whichever experiment already had that name. A stem that is no experiment name
    (``my exp``) keeps the default's; the name field on the grid renames it."""
    cfg = cfgmod.default_config(env=os.environ)
    try:
        return cfgmod.apply_overrides(cfg, {"experiment.name": path.stem})
    except ConfigError:
        return cfg


class ExperimentSession:
    """The config on screen, its file, and whether it has unsaved edits (``dirty``: the config
    on screen differs from the one last opened or saved, so an edit undone by hand is none)."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        path: Path,
        *,
        source_kind: str | None = None,
        read_only: bool = False,
    ):
        self.cfg = cfg
        self.path = Path(path)
        self.source_kind = source_kind
        self.read_only = read_only
        self._saved = _file_values(cfg)  # what the file holds (as opened, or as last saved)
        self._dirty: tuple[ExperimentConfig, bool] | None = None  # (cfg, dirty) last worked out
        self._plan: tuple[ExperimentConfig, int, Any] | None = None

    @classmethod
    def open(
        cls,
        experiment_file: str | os.PathLike[str] | None = None,
        *,
        source_kind: str | None = None,
        read_only: bool = False,
    ) -> ExperimentSession:
        """The named file, else the current experiment, else the built-in local default."""
        if experiment_file is not None:
            path = Path(experiment_file).expanduser()
            cfg = cfgmod.load(path) if path.exists() else _new_config(path)
            if path.exists():
                from ..launch.experiments import set_current

                set_current(cfg.name, path)  # opening a file selects its experiment
        else:
            from ..launch.experiments import current_config, save_path

            cfg, file = current_config()
            path = save_path(cfg.name, file)
        from ..launch.generations import newest_generation

        cfg.generation = newest_generation(cfg.name)
        return cls(cfg, path, source_kind=source_kind, read_only=read_only)

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def dirty(self) -> bool:
        """The config on screen would write a file other than the one opened or last saved.

        Worked out once per config (every edit makes a new config object; the header asks
        every second)."""
        if self._dirty is None or self._dirty[0] is not self.cfg:
            self._dirty = (self.cfg, _file_values(self.cfg) != self._saved)
        return self._dirty[1]

    def launched_unsaved(self) -> bool:
        """The unsaved config on screen is the one the latest launch froze (its snapshot): its
        edits were launched from the app but not saved to the file. Reads a file."""
        from .launched import LaunchedConfig

        launched = LaunchedConfig().get(self.name)
        return launched is not None and _file_values(launched) == _file_values(self.cfg)

    @property
    def generation(self) -> int:
        """The experiment's newest generation: the one whose sweeps the plan and sources name."""
        return self.cfg.generation

    def follow_generation(self, generation: int) -> bool:
        """The store's newest generation is ``generation`` (a launch from the app or the CLI
        started one): the config on screen takes it, so its plan (sweep names ``.gen<K>``) and
        the trial sources (``source_cache.source_key``) follow. Edits and ``dirty`` are kept
        (the generation is not a file key). Returns whether it changed."""
        if generation == self.cfg.generation:
            return False
        new = self.cfg.copy()  # a new object: whoever cached the old one sees the change
        new.generation = generation
        self.cfg = new
        return True

    @property
    def source_label(self) -> str:
        if self.source_kind:
            return self.source_kind
        return "wandb" if self.cfg.experiment.runner == "metta" else "local"

    # -- edits (each replaces cfg with a validated copy, or raises ConfigError) ---------------
    def _apply(self, overrides: dict[str, Any]) -> None:
        self.cfg = cfgmod.apply_overrides(self.cfg, overrides, source=str(self.path))

    def set_field(self, dotted: str, text: str) -> None:
        """Set one ``section.key`` from typed text; empty text unsets an optional value."""
        self.set_fields(texts={dotted: text})

    def set_fields(
        self, texts: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None
    ) -> None:
        """Set several fields at once, validated together (a rule that ties two fields, such as
        ``sweep.batch_size`` <= ``sweep.max_trials``, sees both new values): ``texts`` as typed
        (empty text unsets an optional value), ``values`` as a TOML file would hold them. Nothing
        changes when the result is invalid."""
        new = self.cfg.copy()
        overrides: dict[str, Any] = dict(values or {})
        for dotted, text in (texts or {}).items():
            section, key = dotted.split(".", 1)
            value_type = ValueType.of(cfgmod.field_specs(section)[key].type)
            optional = value_type.optional
            if value_type.kind == "list[str]":
                _check_words(str(self.path), dotted, text)
            if text.strip() == "" and optional:
                setattr(getattr(new, section), key, None)
                new.explicit.discard(dotted)
                new.env_filled.discard(dotted)
            else:
                overrides[dotted] = parse_field_text(dotted, text)
        edited = cfgmod.apply_overrides(new, overrides, source=str(self.path))
        self._refuse_taken_name(edited.name)
        self.cfg = edited

    def _refuse_taken_name(self, name: str) -> None:
        """The name field renamed the experiment to another one's name without a word, and
        saving then pointed that experiment (its trials, its generations) at this file, its own
        file still naming it: a name another experiment has is refused, as the switcher's new
        name is. The experiment's own name (as opened or last saved) is always taken back."""
        if name in (self.cfg.name, self._saved.get("experiment", {}).get("name")):
            return
        from ..errors import StoreError
        from ..launch.experiments import known_names

        try:
            taken = name in known_names()
        except StoreError:  # a damaged store says so where it is read; the name is not judged
            return
        if taken:
            raise ConfigError(
                str(self.path),
                "experiment.name",
                f"an experiment named {name!r} already exists",
                "a new name (hwscale-tui experiments lists the taken ones)",
            )

    def grid_cells(self) -> list[list[GridCell]]:
        """Rows per GPU count, columns per node count (both in file order, duplicates dropped)."""
        g = self.cfg.grid
        excluded = set(g.exclude)
        rows = []
        for gpus in dict.fromkeys(g.gpu_counts):
            row = []
            for nodes in dict.fromkeys(g.node_counts):
                pair = HardwarePair(gpus, nodes)
                if gpus > g.max_gpus_per_node:
                    row.append(
                        GridCell(
                            pair,
                            "invalid",
                            f"{self._per_node(gpus)} is more than max_gpus_per_node = "
                            f"{g.max_gpus_per_node}",
                        )
                    )
                elif pair.tag in excluded:
                    row.append(GridCell(pair, "off", "switched off (grid.exclude)"))
                else:
                    row.append(GridCell(pair, "on"))
            rows.append(row)
        return rows

    def _per_node(self, count: int) -> str:
        """``2 GPUs per node``, or ``2 ranks per node`` in local mode, where the matrix's rows
        are CPU ranks (an invalid row's reason said GPUs beside its ``2 ranks``)."""
        word = "rank" if self.cfg.local_ranks else "GPU"
        return f"{count} {word}{'' if count == 1 else 's'} per node"

    def toggle_pair(self, pair: HardwarePair) -> bool:
        """Switch a valid pair off/on (``grid.exclude``); returns whether it is now on."""
        if pair.gpus > self.cfg.grid.max_gpus_per_node:
            top = self.cfg.grid.max_gpus_per_node
            raise ConfigError(
                str(self.path),
                "grid.exclude",
                f"{pair.tag} is not a valid pair ({self._per_node(pair.gpus)} is more than "
                f"max_gpus_per_node = {top})",
                f"pairs with at most {self._per_node(top)}",
            )
        exclude = list(self.cfg.grid.exclude)
        if pair.tag in exclude:
            exclude.remove(pair.tag)
        else:
            exclude.append(pair.tag)
        self._apply({"grid.exclude": exclude})
        return pair.tag not in exclude

    def add_count(self, axis: str, count: int) -> None:
        """Add a GPU-per-node (``axis="gpus"``) or node (``"nodes"``) count, kept sorted."""
        key = _axis_key(axis)
        counts = list(self.cfg.get(key))
        if count in counts:
            return
        self._apply({key: sorted([*counts, count])})

    def remove_count(self, axis: str, count: int) -> None:
        key = _axis_key(axis)
        counts = [c for c in self.cfg.get(key) if c != count]
        position = 0 if axis == "gpus" else 1
        exclude = [t for t in self.cfg.grid.exclude if _tag_counts(t)[position] != count]
        self._apply({key: counts, "grid.exclude": exclude})

    # -- file ----------------------------------------------------------------------------------
    def save(self) -> Path:
        if self.read_only:
            raise ConfigError(
                str(self.path), "<file>", "the app runs read-only", "saving without --read-only"
            )
        saved = cfgmod.save(self.cfg, self.path)
        self._saved, self._dirty = _file_values(self.cfg), None
        from ..launch.experiments import remember

        remember(self.cfg.name, saved)  # saving makes it the current experiment
        return saved

    def plan(self):
        """What launching would run (``launch/commands.plan_experiment``), pointing at the snapshot file.

        Computed once per config and generation (every edit makes a new config object; the
        sweep names carry the generation).
        """
        from ..errors import UsageError
        from ..launch.commands import ExperimentPlan, plan_experiment
        from ..paths import snapshot_path

        if (
            self._plan is None
            or self._plan[0] is not self.cfg
            or self._plan[1] != self.cfg.generation
        ):
            try:
                plan = plan_experiment(self.cfg, snapshot_path(self.cfg.name))
            except UsageError as e:
                # what `hwscale-tui plan` refuses with exit 2 (a [launch] extra_args entry the
                # runner refuses: trainer.seed=1 under Metta): the app ended with a traceback
                # on opening such a file. No pair can be planned: the grid says why, as a
                # warning, and a launch is refused with the same sentence (a blocker).
                plan = ExperimentPlan(
                    self.cfg,
                    snapshot_path(self.cfg.name),
                    [],
                    [],
                    warnings=[f"launch refuses this: {e}"],
                    blockers=[str(e).rstrip(".")],
                )
            self._plan = (self.cfg, self.cfg.generation, plan)
        return self._plan[2]


def _file_values(cfg: ExperimentConfig) -> dict[str, dict[str, Any]]:
    """What saving ``cfg`` writes (``config.save`` writes ``to_toml()`` of these values; values
    taken from the environment are not saved)."""
    return cfg.to_dict()


def _axis_key(axis: str) -> str:
    if axis == "gpus":
        return "grid.gpu_counts"
    if axis == "nodes":
        return "grid.node_counts"
    raise ValueError(f"axis must be 'gpus' or 'nodes', not {axis!r}")


def _tag_counts(tag: str) -> tuple[int, int]:
    g, n = tag[1:].split("n")
    return int(g), int(n)


def equivalent_command(pair_plan) -> str:
    """The shell line that runs one pair by hand: env assignments, then the argv."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(pair_plan.env.items()))
    return f"{env} {shlex.join(pair_plan.argv)}".strip()
