"""Every test runs with a private HOME and HWSCALE_HOME, and nothing reaches the network."""

from __future__ import annotations

import signal

import pytest

# A margin before a test's pytest-timeout, the stacks of the hwscale-tui processes it started
# go into its report (tests/support/stackdump.py).
pytest_plugins = ["tests.support.stackdump"]


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    hw = home / "hwscale"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HWSCALE_HOME", str(hw))
    monkeypatch.setenv("SKYPILOT_DISABLE_LOCAL_API_SERVER", "1")
    monkeypatch.setenv("SKYPILOT_DISABLE_USAGE_COLLECTION", "1")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("WANDB_SILENT", "true")
    # The local default grid fits the usable cores (hardware.usable_cores); tests inject the
    # count so they do not depend on the machine: 16 keeps the full 1/2/4/8 x 1/2 default.
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "16")
    # The terminal's size is the test's to set: pytest-xdist's workers have COLUMNS=80 and
    # LINES=24 in their environment, and a shell may export its own
    for var in ("COLUMNS", "LINES"):
        monkeypatch.delenv(var, raising=False)
    for var in ("WANDB_API_KEY", "WANDB_ENTITY", "WANDB_PROJECT", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return hw


STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


@pytest.fixture(autouse=True)
def signals_as_they_were():
    """The stop signals' handlers and this thread's signal mask are put back after each test.
    Commands run in-process (``main([...])``) install handlers, and an interrupted foreground
    launch ignores SIGHUP, SIGINT and SIGTERM while it cancels; an ignored or blocked signal is
    inherited by every process a later test in the same worker starts (a "terminal" that then
    never got the hangup its test sends)."""
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    yield
    for s, handler in before.items():
        if signal.getsignal(s) is not handler and handler is not None:
            signal.signal(s, handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (scripts/test.sh runs ``-n 2 --dist loadgroup``) every test that uses
    the local Slurm cluster runs in one worker, so the suite starts one cluster, not one per
    worker. First of the hooks: xdist's worker reads the mark in its own
    ``pytest_collection_modifyitems`` (xdist/remote.py), and run after it the mark came too late:
    both workers started a cluster, and on a new machine both ran apt-get at once."""
    for item in items:
        if "slurm_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("slurm"))
