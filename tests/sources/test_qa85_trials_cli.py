"""QA 85: ``hwscale-tui trials`` as a new user, against the loopback W&B server (real client)."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs


@pytest.fixture
def experiment_file(tmp_path):
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta"),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [1, 2], "grid.node_counts": [1]},
    )
    return cfgmod.save(cfg, tmp_path / "exp.toml")


def test_a_key_wandb_refuses_says_what_to_set(tmp_path, monkeypatch, capsys, experiment_file):
    """It said only "could not read trials: W&B refused the API key (HTTP 401).", where analyze
    says which key to set; retrying with the same key never helps."""
    runs = experiment_runs("hardware_scaling", ["g1n1"], 2)
    with WandbLoopback(runs, api_key="r" * 40) as server:  # not the key the client sends
        for name, value in server.client_env(tmp_path / "wandb-dir", key="k" * 40).items():
            monkeypatch.setenv(name, value)
        rc = main(["trials", "--experiment", str(experiment_file)])
    out, err = capsys.readouterr()
    assert (rc, out) == (1, "")
    assert err == (
        "hwscale-tui: error: could not read trials: W&B refused the API key (HTTP 401); set a "
        "WANDB_API_KEY W&B accepts.\n"
    )
