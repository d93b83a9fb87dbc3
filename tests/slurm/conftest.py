"""One real 2-node Slurm cluster with fake GPUs per test session (hwscale_tui.testing.slurm_cluster).

Without root the Slurm tests skip with the reason, except under ``HWSCALE_REQUIRE_SLURM=1``
(``.ci/run`` sets it): there a cluster that cannot start fails them.
"""

from __future__ import annotations

import os

import pytest

from tests.support.slurm_cluster import LocalSlurmCluster, unavailable_reason


def _claim_the_cluster_for_this_worker(tmp_path_factory) -> None:
    """Under pytest-xdist one worker runs every Slurm test (tests/conftest.py marks them): the
    first worker to start a cluster leaves its name in the run's shared temp dir, and a second
    worker that gets here fails, so a grouping that stops working is seen, not paid for with a
    second cluster (and, on a new machine, two apt-get runs fighting for dpkg's lock)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = tmp_path_factory.getbasetemp()
    if not worker or base.name != f"popen-{worker}":  # not a worker (a child pytest inherits
        return  # the variable, with a temp dir of its own)
    claim = base.parent / "slurm-cluster-worker"
    try:
        fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        owner = claim.read_text()
        if owner and owner != worker:
            pytest.fail(
                f"worker {worker} was given a Slurm test, but {owner} runs the cluster: the "
                "xdist_group mark (tests/conftest.py) did not reach pytest-xdist (it needs "
                "--dist loadgroup, as scripts/test.sh gives)",
                pytrace=False,
            )
        return
    with os.fdopen(fd, "w") as f:
        f.write(worker)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    _claim_the_cluster_for_this_worker(tmp_path_factory)
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
