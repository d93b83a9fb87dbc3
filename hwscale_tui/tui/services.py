"""The core parts the app is a client of, injected so tests can swap in fakes (Posting's factory idea).

Nothing here imports Textual or a heavy library at module import: the real services are module
proxies that import ``hwscale_tui.launch.supervisor``, ``hwscale_tui.sources`` and
``hwscale_tui.analysis`` the first time an attribute is used -- which the app only does inside
thread workers, so the first frame never waits for pandas, scipy, wandb or sky.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:  # for the type checker only: importing these costs the first frame seconds
    from ..analysis import AnalysisResult, AnalysisSettings
    from ..config import ExperimentConfig
    from ..launch.progress import ExperimentProgress, PlanEstimate
    from ..launch.progress import PairPlan as PairPlanT
    from ..launch.progress import ProgressSettings as ProgressSettingsT
    from ..launch.state import ExperimentStatus, LaunchInfo
    from ..records import Trial
    from ..sources import Poller, TrialSource

Clock = Callable[[], float]


class SupervisorApi(Protocol):
    """``hwscale_tui.launch.supervisor`` as the app uses it."""

    def launch(self, cfg: ExperimentConfig, *, only: list[str] | None = None) -> LaunchInfo: ...

    def pair_status(self, experiment: str) -> ExperimentStatus: ...

    def cancel(self, experiment: str, sweeps: list[str] | None, *, by: str) -> list[str]: ...

    def relaunch(self, experiment: str, sweeps: Sequence[str]) -> LaunchInfo: ...

    def log_tail(self, path: str | os.PathLike[str] | None, n: int = 50) -> list[str]: ...


class SourcesApi(Protocol):
    """``hwscale_tui.sources`` as the app uses it."""

    def make_source(self, cfg: ExperimentConfig, kind: str | None = None) -> TrialSource: ...

    @property
    def Poller(self) -> type[Poller]: ...


class AnalysisApi(Protocol):
    """``hwscale_tui.analysis`` as the app uses it."""

    def settings_from_config(self, cfg: Any, **changes: Any) -> AnalysisSettings: ...

    def analyze(
        self,
        trials: Sequence[Trial],
        histories: Mapping[str, Any],
        settings: AnalysisSettings | None = None,
    ) -> AnalysisResult: ...

    def write_report(
        self, result: AnalysisResult, md_path: str | Path, png_dir: str | Path | None = None
    ) -> Path: ...


class LazyModule:
    """A module imported on first attribute access (thread-safe)."""

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None
        self._lock = threading.Lock()

    def _load(self) -> ModuleType:
        with self._lock:
            if self._module is None:
                self._module = importlib.import_module(self._name)
            return self._module

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r}, loaded={self._module is not None})"


class ProgressApi(Protocol):
    """``hwscale_tui.launch.progress`` as the app uses it."""

    @property
    def PairPlan(self) -> type[PairPlanT]: ...

    @property
    def ProgressSettings(self) -> type[ProgressSettingsT]: ...

    def experiment_progress(
        self,
        pairs: Sequence[PairPlanT],
        trials: Iterable[Trial],
        settings: ProgressSettingsT,
        now: float,
        *,
        history_sps: Mapping[tuple[int, int], float] | None = None,
    ) -> ExperimentProgress: ...

    def estimate_plan(
        self,
        pairs: Sequence[PairPlanT],
        settings: ProgressSettingsT,
        *,
        history_sps: Mapping[tuple[int, int], float] | None = None,
        trials: Iterable[Trial] = (),
    ) -> PlanEstimate: ...

    def measured_throughput(
        self, runner: str, store: Any | None = None, *, experiment: str | None = None
    ) -> dict[tuple[int, int], float]: ...


class TrialControlApi(Protocol):
    """``hwscale_tui.launch.trial_control`` as the app uses it."""

    def trial_log_path(self, run_id: str) -> str | None: ...

    def stop_trial(self, run_id: str) -> str: ...


@dataclass
class Services:
    """What the app calls: each member is typed by a Protocol of the core module it stands for
    (the real module, imported lazily, or a test's fake).

    - ``supervisor``: ``launch(cfg, *, only=None)``, ``pair_status(experiment)``,
      ``cancel(experiment, sweeps, *, by)``, ``relaunch(experiment, sweeps)``, ``log_tail(path, n)``.
    - ``sources``: ``make_source(cfg, kind)`` -> ``.poll()`` / ``.histories(run_ids, metric)``;
      ``Poller(src, interval_s, clock)`` -> ``.poll_once()``, ``.state``, ``.set_interval(s)``.
    - ``analysis``: ``settings_from_config(cfg)``, ``analyze(trials, histories, settings)``,
      ``write_report(result, md_path, png_dir)``.
    - ``clock``: epoch seconds (frozen in snapshot tests).
    - ``progress``: ``experiment_progress``, ``estimate_plan``, ``measured_throughput``,
      ``PairPlan``, ``ProgressSettings`` (pure arithmetic plus one store read: tests use
      the real module).
    - ``trial_control``: ``trial_log_path(run_id)``, ``stop_trial(run_id)`` (the store's
      record of a trial's process group).
    """

    supervisor: SupervisorApi
    sources: SourcesApi
    analysis: AnalysisApi
    clock: Clock = field(default=time.time)
    progress: ProgressApi = field(
        default_factory=lambda: cast(ProgressApi, LazyModule("hwscale_tui.launch.progress"))
    )
    trial_control: TrialControlApi = field(
        default_factory=lambda: cast(
            TrialControlApi, LazyModule("hwscale_tui.launch.trial_control")
        )
    )


def real_services(clock: Clock = time.time) -> Services:
    return Services(
        supervisor=cast(SupervisorApi, LazyModule("hwscale_tui.launch.supervisor")),
        sources=cast(SourcesApi, LazyModule("hwscale_tui.sources")),
        analysis=cast(AnalysisApi, LazyModule("hwscale_tui.analysis")),
        clock=clock,
    )


if TYPE_CHECKING:  # the real modules satisfy the protocols (checked by mypy, never run)
    from .. import analysis as _analysis
    from .. import sources as _sources
    from ..launch import progress as _progress
    from ..launch import supervisor as _supervisor
    from ..launch import trial_control as _trial_control

    _checked: tuple[SupervisorApi, SourcesApi, AnalysisApi, ProgressApi, TrialControlApi] = (
        _supervisor,
        _sources,
        _analysis,
        _progress,
        _trial_control,
    )
