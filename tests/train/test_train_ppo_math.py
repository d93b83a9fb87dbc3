"""PPO's analytic gradient against central differences, GAE, Adam and action sampling."""

from __future__ import annotations

import numpy as np
import pytest

from hwscale_tui.train.envs import ENV_SPACES, param_count
from hwscale_tui.train.policy import (
    ActorCritic,
    Adam,
    Minibatch,
    PPOCoefs,
    clip_grad_norm,
    gae_advantages,
    log_softmax,
    ppo_loss_and_grad,
    sample_actions,
)


def _tiny_problem(seed: int):
    rng = np.random.default_rng(seed)
    model = ActorCritic(obs_dim=3, n_actions=3, hidden=(5, 4), dtype=np.float64)
    params = model.init_params(rng)
    params += 0.3 * rng.standard_normal(
        model.size
    )  # leave the tiny-head initialization: real gradients everywhere
    n = 24
    obs = rng.standard_normal((n, 3))
    logits, values, _ = model.forward(params, obs)
    actions = rng.integers(0, 3, n)
    logp_now = log_softmax(logits)[np.arange(n), actions]
    # Old policy / values away from the current ones, so both clip branches are taken.
    mb = Minibatch(
        obs=obs,
        actions=actions,
        logp_old=logp_now + rng.normal(0.0, 0.4, n),
        advantages=rng.standard_normal(n),
        returns=values + rng.normal(0.0, 1.0, n),
        values_old=values + rng.normal(0.0, 0.3, n),
        mask=np.ones(n),
    )
    mb.mask[[3, 11]] = 0.0  # auto-reset steps carry no weight
    return model, params, mb


def _loss(model, params, mb, coefs):
    return ppo_loss_and_grad(model, params, mb, coefs, np.zeros(model.size)).loss


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ppo_gradient_matches_central_differences(seed):
    model, params, mb = _tiny_problem(seed)
    coefs = PPOCoefs(clip_coef=0.2, vf_clip_coef=0.15, ent_coef=0.05, vf_coef=0.7)
    grad = np.zeros(model.size)
    stats = ppo_loss_and_grad(model, params, mb, coefs, grad)
    assert 0.0 < stats.clipfrac < 1.0  # the data exercises clipped and unclipped samples
    h = 1e-6
    numeric = np.zeros(model.size)
    for i in range(model.size):
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (_loss(model, up, mb, coefs) - _loss(model, down, mb, coefs)) / (2 * h)
    assert np.max(np.abs(grad - numeric)) / (np.max(np.abs(numeric)) + 1e-12) < 1e-6
    assert np.linalg.norm(grad) > 1e-3


def test_each_loss_term_reaches_the_gradient():
    """Switching a coefficient off changes the gradient: no term is silently dropped."""
    model, params, mb = _tiny_problem(4)
    base = PPOCoefs(0.2, 0.15, 0.05, 0.7)
    grads = {}
    for name, coefs in {
        "all": base,
        "no_ent": PPOCoefs(0.2, 0.15, 0.0, 0.7),
        "no_vf": PPOCoefs(0.2, 0.15, 0.05, 0.0),
    }.items():
        grads[name] = np.zeros(model.size)
        ppo_loss_and_grad(model, params, mb, coefs, grads[name])
    assert not np.allclose(grads["all"], grads["no_ent"])
    assert not np.allclose(grads["all"], grads["no_vf"])


def test_masked_samples_do_not_change_the_gradient():
    model, params, mb = _tiny_problem(5)
    coefs = PPOCoefs(0.2, 0.15, 0.05, 0.7)
    g1 = np.zeros(model.size)
    ppo_loss_and_grad(model, params, mb, coefs, g1)
    mb.advantages[3] += 100.0  # a masked sample
    mb.returns[11] -= 100.0
    g2 = np.zeros(model.size)
    ppo_loss_and_grad(model, params, mb, coefs, g2)
    np.testing.assert_array_equal(g1, g2)


def test_param_count_matches_the_model():
    for obs_dim, n_actions in ENV_SPACES.values():
        assert (
            param_count(obs_dim, n_actions, (64, 64))
            == ActorCritic(obs_dim, n_actions, (64, 64)).size
        )


def test_gae_against_a_hand_computed_rollout():
    gamma, lam = 0.9, 0.8
    rewards = np.array([[1.0], [2.0], [3.0], [4.0]])
    values = np.array([[0.5], [1.0], [1.5], [2.0], [10.0]])
    dones = np.array([[0.0], [1.0], [0.0], [0.0]])  # the episode ends after step 1
    adv = gae_advantages(rewards, values, dones, gamma, lam)
    d3 = 4.0 + gamma * 10.0 - 2.0
    d2 = 3.0 + gamma * 2.0 - 1.5
    d1 = 2.0 - 1.0  # no bootstrap across the end
    d0 = 1.0 + gamma * 1.0 - 0.5
    expected = [d0 + gamma * lam * d1, d1, d2 + gamma * lam * d3, d3]
    np.testing.assert_allclose(adv[:, 0], expected)


def test_adam_matches_the_textbook_update():
    rng = np.random.default_rng(0)
    params = rng.standard_normal(6)
    ref = params.copy()
    adam = Adam(6, np.float64, lr=0.01)
    m = np.zeros(6)
    v = np.zeros(6)
    for t in range(1, 6):
        g = rng.standard_normal(6)
        adam.step(params, g)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref -= 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-5)
    np.testing.assert_allclose(params, ref, rtol=1e-12, atol=1e-12)


def test_clip_grad_norm_scales_only_large_gradients():
    g = np.array([3.0, 4.0])
    assert clip_grad_norm(g, 10.0) == pytest.approx(5.0) and list(g) == [3.0, 4.0]
    clip_grad_norm(g, 0.5)
    assert np.linalg.norm(g) == pytest.approx(0.5, rel=1e-5)


def test_sampled_actions_follow_the_softmax():
    rng = np.random.default_rng(1)
    logits = np.tile(np.log(np.array([0.2, 0.5, 0.3])), (60_000, 1))
    actions, logp = sample_actions(logits, rng)
    freq = np.bincount(actions, minlength=3) / len(actions)
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.01)
    np.testing.assert_allclose(np.exp(logp), np.array([0.2, 0.5, 0.3])[actions])
