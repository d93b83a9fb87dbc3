"""One real 2-node Slurm cluster with fake GPUs per test session (hwscale_tui.testing.slurm_cluster).

Without root the Slurm tests skip with the reason, except under ``HWSCALE_REQUIRE_SLURM=1``
(``.ci/run`` sets it): there a cluster that cannot start fails them.
"""

from __future__ import annotations

import os

import pytest

from tests.support.slurm_cluster import LocalSlurmCluster, unavailable_reason


@pytest.fixture(scope="session")
def slurm_cluster():
    reason = unavailable_reason()
    required = os.environ.get("HWSCALE_REQUIRE_SLURM") == "1"
    if reason:
        if required:
            pytest.fail(f"HWSCALE_REQUIRE_SLURM=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    cluster = LocalSlurmCluster(nodes=2, gpus_per_node=2, cpus_per_node=4)
    cluster.start()  # with root, a cluster that does not start is a failure, never a skip
    yield cluster
    cluster.stop()


@pytest.fixture
def slurm(slurm_cluster, monkeypatch):
    """The cluster, with SLURM_CONF set for this test and every job cancelled after it."""
    for key, value in slurm_cluster.env().items():
        monkeypatch.setenv(key, value)
    yield slurm_cluster
    slurm_cluster.cancel_all()
