"""Building the wandb client sends no request that retries on its own.

``wandb.Api(api_key=...)`` checks the key before the source can bound the client's retries
(wandb 0.26: ``wandb_login._verify_login``, ``InternalApi``'s retry loop of up to 7 days on a 5xx,
a 429 or a dropped connection; with error reporting on, ``_configure_sentry``'s ``GetViewer``,
retried for 20 s). A W&B that answered our key probe and then failed -- an outage starting, a
proxy flapping -- held the first poll (the app's poll worker, ``trials``, ``analyze``) for as long,
printing "wandb: Network error (HTTPError), entering retry loop.", where docs/sources.md says a
poll fails in seconds. The client's key check is the probe's request, so it is not sent again.

Whether wandb's retry loop is entered is read from the loop itself (its wait is replaced by one
that records and stops it), not from a clock.
"""

from __future__ import annotations

import pytest
import requests
from wandb.sdk.lib import retry as wandb_retry

from hwscale_tui import config as cfgmod
from hwscale_tui.sources import SourceSettings, SourceUnavailable, make_source
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs


class EnteredRetryLoop(Exception):
    pass


@pytest.fixture
def retry_waits(monkeypatch):
    """Every wait of a wandb retry loop, which is stopped there instead of sleeping."""
    waits: list[str] = []

    def wait_before_retry(self):
        waits.append("wait")
        raise EnteredRetryLoop("the wandb client entered its own retry loop")

    monkeypatch.setattr(wandb_retry._RetryLoop, "wait_before_retry", wait_before_retry)
    return waits


def _source():
    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    # client_retries=0: the source's own bounded retry never waits either
    return make_source(cfg, "wandb", settings=SourceSettings(client_retries=0, timeout_s=30))


def _fail_after_the_probe(monkeypatch, server, kind):
    """Every request after the source's key probe (``requests.post``) gets ``kind``."""
    post = requests.post

    def probe_then_fail(*args, **kwargs):
        response = post(*args, **kwargs)
        server.fail(kind, operation=None, times=1000)
        return response

    monkeypatch.setattr(requests, "post", probe_then_fail)


@pytest.mark.parametrize("kind, reason", [("500", "answered HTTP 500"), ("drop", "cannot reach")])
@pytest.mark.parametrize("error_reporting", ["false", "true"])
def test_a_wandb_that_fails_after_the_key_probe_fails_the_poll_without_a_retry_loop(
    tmp_path, monkeypatch, retry_waits, kind, reason, error_reporting
):
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        if error_reporting == "true":  # wandb's own default; Sentry itself never starts here
            from wandb.analytics import sentry

            monkeypatch.setattr(sentry.Sentry, "_boot", lambda self: False)
            monkeypatch.setenv("WANDB_ERROR_REPORTING", "true")
        _fail_after_the_probe(monkeypatch, server, kind)
        with pytest.raises(SourceUnavailable) as e:
            _source().poll()
        assert retry_waits == []
        assert reason in e.value.reason, e.value.reason
        # the probe, then (error reporting on) GetViewer once, then the query
        expected = {"anonymous:viewer": 1, "Runs": 1}
        if error_reporting == "true":
            expected["GetViewer"] = 1
        assert dict(server.counts) == expected


def test_a_key_the_probe_finds_no_user_for_is_refused_at_once(tmp_path, monkeypatch, retry_waits):
    """wandb's own check refused such an answer ("API key verification failed"); it is not
    sent any more, so the probe's answer is read the same way."""
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(server, "_viewer", lambda variables: {"viewer": None})
        with pytest.raises(SourceUnavailable) as e:
            _source().poll()
        assert e.value.reason == "W&B refused the API key (its key check answered no user for it)"
        assert e.value.status == 401 and retry_waits == []
        assert dict(server.counts) == {"anonymous:viewer": 1}


def test_the_clients_key_check_is_skipped_only_while_the_source_builds_it(tmp_path, monkeypatch):
    """Another ``wandb.Api()`` in the process checks its key as wandb always does."""
    from wandb.sdk import wandb_login

    original = wandb_login._verify_login
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        assert len(_source().poll().trials) == 2
        assert wandb_login._verify_login is original
        server.reset_counts()
        import wandb

        wandb.Api(overrides={"base_url": server.url}, api_key="k" * 40)
        assert server.counts["anonymous:viewer"] == 1  # wandb's own check, sent as before
