"""A dated default price table ($ per GPU-hour), overridable in the experiment file.

Sources, per row, with dates: docs/prices.md (public on-demand and spot list prices). Clouds bill whole VMs
per second; a multi-node job pays for every node for its whole wall time.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2025-06"


@dataclass(frozen=True)
class GpuPrice:
    gpu_type: str
    price: float  # $ per GPU-hour
    spot: bool
    source: str
    as_of: str = PRICES_AS_OF


# (gpu_type, spot) -> (price per GPU-hour, where it comes from)
PRICE_TABLE: dict[tuple[str, bool], tuple[float, str]] = {
    ("H100", False): (6.88, "AWS p5.48xlarge on-demand after the June 2025 cut"),
    ("H100", True): (4.42, "GCP a3-highgpu-8g spot"),
    ("A100", False): (2.74, "AWS p4d on-demand (A100-40GB)"),
    ("A100", True): (1.29, "GCP a2-highgpu-1g spot"),
    ("L4", False): (0.71, "GCP g2-standard-4 on-demand (1 GPU per instance)"),
    ("L4", True): (0.28, "GCP g2-standard-4 spot"),
    # A CPU rank of the local built-in trainer: one vCPU (docs/prices.md, "CPU ranks").
    ("VCPU", False): (0.0425, "AWS c5 on-demand, us-east-1: $0.34/h for 8 vCPUs (c5.2xlarge)"),
    ("VCPU", True): (0.0213, "AWS c5 spot, us-east-1 (c5.2xlarge about $0.17/h for 8 vCPUs)"),
}


def _key(gpu_type: str, spot: bool) -> tuple[str, bool]:
    return (gpu_type.upper().replace("-40GB", "").replace("-80GB", ""), spot)


def in_table(gpu_type: str, spot: bool = False) -> bool:
    """Whether the dated table has a price for this GPU type (else the H100's is used)."""
    return _key(gpu_type, spot) in PRICE_TABLE


def price_per_gpu_hour(gpu_type: str, spot: bool = False) -> GpuPrice:
    """Look up the table; unknown GPU types fall back to the H100 on-demand price, said so."""
    key = _key(gpu_type, spot)
    if key in PRICE_TABLE:
        price, source = PRICE_TABLE[key]
        return GpuPrice(gpu_type, price, spot, source)
    price, source = PRICE_TABLE[("H100", False)]
    return GpuPrice(gpu_type, price, spot, f"no table entry for {gpu_type}; used {source}")


def job_cost_usd(
    price_per_gpu_hour: float, gpus_per_node: int, nodes: int, seconds: float
) -> float:
    """Whole billed nodes for the whole wall time."""
    return price_per_gpu_hour * gpus_per_node * nodes * max(seconds, 0.0) / 3600.0
