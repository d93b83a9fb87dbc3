"""Shared by the reliability tests (import ``nothing_starts`` into a test module to use it)."""

from __future__ import annotations

import pytest


class WouldRun(Exception):
    """Raised by test guards where the real command would start something."""


@pytest.fixture(autouse=True)
def nothing_starts(monkeypatch):
    """No test of this folder may spawn a detached supervisor by accident."""
    from hwscale_tui.launch import supervisor

    def refuse_spawn(*_a, **_k):
        raise WouldRun("a supervisor would have been spawned")

    monkeypatch.setattr(supervisor, "spawn_in_new_session", refuse_spawn)
