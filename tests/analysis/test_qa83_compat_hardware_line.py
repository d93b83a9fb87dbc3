"""QA 83: the original-style report says a recommended pair's GPUs per node, not as a total.

``HardwareScalingAnalyzer.generate_report`` wrote "Hardware: g2n2 (2 GPUs on 2 nodes)" for a
pair of 4 GPUs (2 per node on 2 nodes), and "1 GPUs on 1 nodes" for g1n1. It now says
"g2n2 (2 GPUs/node x 2 nodes)", as the recommendations of ``analyze`` do.
"""

from __future__ import annotations

from hwscale_tui.analysis import HardwareScalingAnalyzer
from tests.analysis.test_analysis_compat import FakeRun, capped


def _runs(pairs=((1, 1, 100.0), (2, 2, 400.0), (2, 1, 190.0))) -> list[FakeRun]:
    out = []
    for gpus, nodes, sps in pairs:
        for k in range(2):
            out.append(
                FakeRun(
                    f"r{gpus}{nodes}{k}",
                    f"hardware_scaling.g{gpus}n{nodes}",
                    1000.0 - k,
                    capped(1.0 - 0.01 * k, 1000.0 - k, sps),
                    sps=sps,
                )
            )
    return out


def _hardware_lines(runs: list[FakeRun]) -> set[str]:
    analyzer = HardwareScalingAnalyzer(target_performance=0.9)
    report = analyzer.generate_report(analyzer.analyze_wandb_runs(runs))
    return {line.strip() for line in report.splitlines() if line.strip().startswith("Hardware:")}


def test_the_hardware_line_counts_gpus_per_node() -> None:
    assert _hardware_lines(_runs()) == {"Hardware: g2n2 (2 GPUs/node x 2 nodes)"}
    assert _hardware_lines(_runs(((1, 1, 100.0),))) == {"Hardware: g1n1 (1 GPU/node x 1 node)"}
