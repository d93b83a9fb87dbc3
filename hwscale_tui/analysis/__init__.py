"""Analysis of hardware scaling experiments: time, samples and cost to target from learning
curves, scaling laws with uncertainty, figures of merit, recommendations and reports.

No module here imports textual, wandb or sky; matplotlib is imported only to write PNG files.
See docs/analysis.md.
"""

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
