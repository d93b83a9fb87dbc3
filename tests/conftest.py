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


def _default_handler(signum: int):
    return signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL


@pytest.fixture(autouse=True)
def stop_signals_at_their_defaults():
    """Every test starts, and leaves, with the stop signals as a fresh Python process has them
    (SIGINT raising KeyboardInterrupt, SIGHUP and SIGTERM at the kernel's default) and none of
    them blocked. Commands run in-process (``main([...])``) install handlers, and an interrupted
    foreground launch ignores all three while it cancels; an ignored or blocked signal is
    inherited by every process a later test in the same worker starts: a pty "terminal" that
    never got its hangup, a ``status --watch`` that never got its ctrl+c (both timed out in CI;
    reproduced by running them under a parent that ignores the signal)."""

    def reset() -> None:
        for s in STOP_SIGNALS:
            signal.signal(s, _default_handler(s))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(STOP_SIGNALS))

    reset()
    yield
    reset()


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
