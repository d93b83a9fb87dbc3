"""A password in ``WANDB_BASE_URL`` never reaches a message.

The wandb client accepts ``https://user:password@host`` (a proxy's basic auth in front of a W&B
server). Every reason the W&B source gives names the server, and those reasons are printed
(``trials``, ``analyze``, the app's status line) and written to files (``analyze --report``'s and
``--json``'s notes about curves that could not be read), so the password went with them. Secrets
travel only in the environment; messages show the URL as ``http://***@host``.
"""

from __future__ import annotations

import socket
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.sources import SourceSettings, SourceUnavailable, make_source
from tests.support.cli import hwscale_cmd
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs

SECRET = "S3cretProxyPw"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cfg():
    return cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})


def _source():
    return make_source(_cfg(), "wandb", settings=SourceSettings(retry_sleep_s=0.01, timeout_s=30))


@pytest.fixture
def wandb_env(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))


def test_an_unreachable_server_is_named_without_its_password(wandb_env, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("WANDB_BASE_URL", f"http://proxyuser:{SECRET}@127.0.0.1:{port}")
    with pytest.raises(SourceUnavailable) as e:
        _source().poll()
    assert e.value.reason == (
        f"cannot reach W&B at http://***@127.0.0.1:{port} (connection failed or dropped)"
    )


def test_reasons_of_a_reachable_server_and_its_curves_carry_no_password(wandb_env, monkeypatch):
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 3)) as server:
        url = server.url.replace("http://", f"http://proxyuser:{SECRET}@")
        monkeypatch.setenv("WANDB_BASE_URL", url)
        src = _source()
        trials = src.poll().trials
        assert len(trials) == 3  # the URL with user and password works
        server.fail("500", operation="RunSampledHistory", times=100)
        src.histories([t.run_id for t in trials])
        shown = server.url.replace("http://", "http://***@")
        assert src.history_error == f"W&B at {shown} answered HTTP 500"
        server.clear_faults()
        server.fail("500", times=100)
        with pytest.raises(SourceUnavailable) as e:
            src.poll()
        assert e.value.reason == f"W&B at {shown} answered HTTP 500"


@pytest.mark.parametrize(
    "url, shown",
    [
        (f"ftp://u:{SECRET}@host", "'ftp://***@host' is not an http(s) URL"),
        (f"http://u:{SECRET}@127.0.0.1:9\n", "'http://***@127.0.0.1:9\\n' starts or ends with"),
    ],
)
def test_a_refused_wandb_base_url_is_quoted_without_its_password(
    wandb_env, monkeypatch, url, shown
):
    monkeypatch.setenv("WANDB_BASE_URL", url)
    with pytest.raises(SourceUnavailable) as e:
        _source().poll()
    assert shown in e.value.reason and SECRET not in e.value.reason


def test_trials_says_where_it_could_not_read_without_the_password(wandb_env, tmp_path):
    exp = cfgmod.save(_cfg(), tmp_path / "exp.toml")
    port = _closed_port()
    env = {
        **__import__("os").environ,
        "WANDB_BASE_URL": f"http://proxyuser:{SECRET}@127.0.0.1:{port}",
    }
    r = subprocess.run(
        hwscale_cmd("trials", "-e", str(exp), "--source", "wandb"),
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 1 and f"http://***@127.0.0.1:{port}" in r.stderr, r.stderr
    assert SECRET not in r.stdout + r.stderr
