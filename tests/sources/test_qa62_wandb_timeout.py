"""A W&B server that does not answer a query within ``timeout_s`` fails the poll after one wait,
not two: the bounded retry (``client_retries``) asked again after a timeout, so ``trials`` on a
hung server waited twice ``timeout_s`` (41 s at the default 20 s) where docs/sources.md says it
fails when W&B does not answer within ``timeout_s``. 500s and dropped connections still get
their quick retry."""

from __future__ import annotations

import threading

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.sources import SourceSettings, SourceUnavailable, make_source
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs


def _source(timeout_s: float = 20.0):
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    settings = SourceSettings(timeout_s=timeout_s, retry_sleep_s=0.01, client_retries=1)
    return make_source(cfg, "wandb", settings=settings)


def test_a_query_that_times_out_is_not_sent_again(tmp_path, monkeypatch):
    release = threading.Event()
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        src = _source(timeout_s=2.0)  # a loopback answer takes milliseconds; the hung one, 30 s
        assert len(src.poll().trials) == 2  # key checks done, the client built
        answer = server.answer

        def hung(operation, variables, query=""):
            if operation == "Runs":
                release.wait(30)  # past timeout_s: the client gives up first
            return answer(operation, variables, query)

        monkeypatch.setattr(server, "answer", hung)
        server.reset_counts()
        try:
            with pytest.raises(SourceUnavailable) as e:
                src.poll()
        finally:
            release.set()
        assert "did not answer in time" in e.value.reason
        assert server.counts["Runs"] == 1


def test_a_500_still_gets_its_quick_retry(tmp_path, monkeypatch):
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        src = _source()
        src.poll()
        server.reset_counts()
        server.fail("500", times=1)
        assert len(src.poll().trials) == 2
        assert server.counts["Runs"] == 2
