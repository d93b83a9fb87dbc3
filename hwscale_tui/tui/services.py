"""The core parts the app is a client of, injected so tests can swap in fakes (Posting's factory idea).

Nothing here imports Textual or a heavy library at module import: the real services are module
proxies that import ``hwscale_tui.launch.supervisor``, ``hwscale_tui.sources`` and
``hwscale_tui.analysis`` the first time an attribute is used -- which the app only does inside
thread workers, so the first frame never waits for pandas, scipy, wandb or sky.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

Clock = Callable[[], float]


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


@dataclass
class Services:
    """What the app calls. Each member is duck-typed to the core module it stands for.

    - ``supervisor``: ``launch(cfg, *, only=None)``, ``pair_status(experiment)``,
      ``cancel(experiment, sweeps, *, by)``, ``relaunch(experiment, sweeps)``, ``log_tail(path, n)``.
    - ``sources``: ``make_source(cfg, kind)`` -> ``.poll()`` / ``.histories(run_ids, metric)``;
      ``Poller(src, interval_s, clock)`` -> ``.poll_once()``, ``.state``, ``.set_interval(s)``.
    - ``analysis``: ``settings_from_config(cfg)``, ``analyze(trials, histories, settings)``,
      ``write_report(result, md_path, png_dir)``.
    - ``clock``: epoch seconds (frozen in snapshot tests).
    """

    supervisor: Any
    sources: Any
    analysis: Any
    clock: Clock = field(default=time.time)


def real_services(clock: Clock = time.time) -> Services:
    return Services(
        supervisor=LazyModule("hwscale_tui.launch.supervisor"),
        sources=LazyModule("hwscale_tui.sources"),
        analysis=LazyModule("hwscale_tui.analysis"),
        clock=clock,
    )
