"""Analysis of hardware scaling experiments: time, samples and cost to target from learning
curves, scaling laws with uncertainty, figures of merit, recommendations and reports.

No module here imports textual, wandb or sky; matplotlib is imported only to write PNG files.
See docs/analysis.md.

Names are loaded on first use (PEP 562): ``from hwscale_tui.analysis.selection import ...`` or
the settings do not import numpy, scipy and pandas, and a command can read its data while the
heavy modules import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compat import HardwareScalingAnalyzer
    from .core import AnalysisResult, CompositeModel, Recommendation, analyze
    from .curves import Curve, ToTarget, time_to_target
    from .fits import (
        AmdahlFit,
        CriticalBatchFit,
        NotEnoughData,
        PowerLawFit,
        ThroughputSelection,
        USLFit,
        fit_amdahl,
        fit_critical_batch,
        fit_power_law,
        fit_usl,
        select_throughput_model,
    )
    from .fom import ParetoFront, pareto_front
    from .report import render_text, write_report
    from .settings import DEFAULT_SCENARIOS, AnalysisSettings, PriceInForce, settings_from_config
    from .survival import SurvivalSummary

_WHERE = {
    "HardwareScalingAnalyzer": ".compat",
    "AnalysisResult": ".core",
    "CompositeModel": ".core",
    "Recommendation": ".core",
    "analyze": ".core",
    "Curve": ".curves",
    "ToTarget": ".curves",
    "time_to_target": ".curves",
    "AmdahlFit": ".fits",
    "CriticalBatchFit": ".fits",
    "NotEnoughData": ".fits",
    "PowerLawFit": ".fits",
    "ThroughputSelection": ".fits",
    "USLFit": ".fits",
    "fit_amdahl": ".fits",
    "fit_critical_batch": ".fits",
    "fit_power_law": ".fits",
    "fit_usl": ".fits",
    "select_throughput_model": ".fits",
    "ParetoFront": ".fom",
    "pareto_front": ".fom",
    "render_text": ".report",
    "write_report": ".report",
    "DEFAULT_SCENARIOS": ".settings",
    "AnalysisSettings": ".settings",
    "PriceInForce": ".settings",
    "settings_from_config": ".settings",
    "SurvivalSummary": ".survival",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_SCENARIOS",
    "AmdahlFit",
    "AnalysisResult",
    "AnalysisSettings",
    "CompositeModel",
    "CriticalBatchFit",
    "Curve",
    "HardwareScalingAnalyzer",
    "NotEnoughData",
    "ParetoFront",
    "PowerLawFit",
    "PriceInForce",
    "Recommendation",
    "SurvivalSummary",
    "ThroughputSelection",
    "ToTarget",
    "USLFit",
    "analyze",
    "fit_amdahl",
    "fit_critical_batch",
    "fit_power_law",
    "fit_usl",
    "pareto_front",
    "render_text",
    "select_throughput_model",
    "settings_from_config",
    "time_to_target",
    "write_report",
]
