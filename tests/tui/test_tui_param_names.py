"""The trials screen names a trial's hyperparameters as the grid and the logs do."""

from __future__ import annotations

from hwscale_tui.tui.screens.trials import _param_names


def test_last_key_component() -> None:
    params = {"trainer.optimizer.learning_rate": 0.001, "trainer.losses.ppo.clip_coef": 0.2}
    assert sorted(_param_names(params)) == [("clip_coef", 0.2), ("learning_rate", 0.001)]


def test_full_keys_when_two_would_share_a_name() -> None:
    params = {"trainer.ppo.clip_coef": 0.2, "trainer.sac.clip_coef": 0.3, "batch_size": 512}
    assert sorted(_param_names(params)) == sorted(params.items())
