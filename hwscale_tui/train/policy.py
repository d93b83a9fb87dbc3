"""A numpy actor-critic (two tanh MLPs), the PPO loss with its analytic gradient, and Adam.

All parameters live in one flat vector (views give the layer matrices), so the gradient
all-reduce, gradient clipping and Adam are single vector operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PPOCoefs:
    clip_coef: float
    vf_clip_coef: float
    ent_coef: float
    vf_coef: float


@dataclass
class Minibatch:
    obs: np.ndarray  # (B, obs_dim)
    actions: np.ndarray  # (B,) int
    logp_old: np.ndarray  # (B,)
    advantages: np.ndarray  # (B,) already normalized
    returns: np.ndarray  # (B,)
    values_old: np.ndarray  # (B,)
    mask: np.ndarray  # (B,) 1.0 for real transitions, 0.0 for auto-reset steps


@dataclass(frozen=True)
class LossStats:
    loss: float
    policy_loss: float
    value_loss: float
    entropy: float
    approx_kl: float
    clipfrac: float


def aligned_zeros(size: int, dtype: type, align: int = 64) -> np.ndarray:
    """A zeroed vector whose data starts on an ``align``-byte boundary.

    Reductions (the gradient norm) and SIMD loops then take the same path on every rank, so
    ranks that apply the same update keep bit-identical parameters.
    """
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(size * itemsize + align, dtype=np.uint8)
    offset = -raw.ctypes.data % align
    return raw[offset : offset + size * itemsize].view(dtype)


def _orthogonal(rng: np.random.Generator, rows: int, cols: int, gain: float) -> np.ndarray:
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q[:rows, :cols]


class ActorCritic:
    """Separate actor and critic MLPs with tanh hidden layers; parameters in one flat vector."""

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: tuple[int, ...] = (64, 64),
        dtype: type = np.float64,
    ):
        self.obs_dim, self.n_actions, self.hidden, self.dtype = (
            obs_dim,
            n_actions,
            tuple(hidden),
            dtype,
        )
        self.shapes: list[tuple[int, ...]] = []
        for out_dim in (n_actions, 1):  # actor tower, then critic tower
            sizes = (obs_dim, *self.hidden, out_dim)
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
                self.shapes += [(fan_in, fan_out), (fan_out,)]
        self.offsets = np.cumsum([0] + [int(np.prod(s)) for s in self.shapes])
        self.size = int(self.offsets[-1])
        self.layers_per_tower = len(self.hidden) + 1
        self._views: dict[int, tuple[np.ndarray, list[np.ndarray]]] = {}  # id -> (array, its views)

    def unpack(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views into ``flat``: [W, b] per layer, actor layers first (cached for the arrays reused every step)."""
        hit = self._views.get(id(flat))
        if hit is not None and hit[0] is flat:
            return hit[1]
        views = [
            flat[a:b].reshape(s)
            for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)
        ]
        if len(self._views) < 4:  # the parameters and the gradient buffer
            self._views[id(flat)] = (flat, views)
        return views

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """CleanRL's initialization: orthogonal weights (gain sqrt 2; 0.01 policy head; 1 value head), zero biases."""
        flat = aligned_zeros(self.size, self.dtype)
        views = self.unpack(flat)
        n = self.layers_per_tower
        for tower, head_gain in ((0, 0.01), (1, 1.0)):
            for layer in range(n):
                w = views[2 * (tower * n + layer)]
                gain = head_gain if layer == n - 1 else np.sqrt(2.0)
                rows, cols = w.shape
                w[...] = _orthogonal(rng, rows, cols, gain)
        return flat

    def _tower(
        self, views: list[np.ndarray], tower: int, x: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        n = self.layers_per_tower
        acts = [x]
        for layer in range(n):
            w, b = views[2 * (tower * n + layer)], views[2 * (tower * n + layer) + 1]
            z = acts[-1] @ w
            z += b
            if layer < n - 1:
                np.tanh(z, out=z)
            acts.append(z)
        return acts[-1], acts[:-1]

    def forward(self, flat: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
        """(logits (B, A), values (B,), cache for ``backward``)."""
        views = self.unpack(flat)
        logits, actor_acts = self._tower(views, 0, obs)
        value, critic_acts = self._tower(views, 1, obs)
        return logits, value[:, 0], (views, actor_acts, critic_acts)

    def _tower_backward(
        self, cache: tuple, grads: list[np.ndarray], tower: int, g_out: np.ndarray
    ) -> None:
        views, actor_acts, critic_acts = cache
        acts = actor_acts if tower == 0 else critic_acts
        n = self.layers_per_tower
        g = g_out
        for layer in range(n - 1, -1, -1):
            i = 2 * (tower * n + layer)
            np.matmul(acts[layer].T, g, out=grads[i])
            np.sum(g, axis=0, out=grads[i + 1])
            if layer > 0:
                g = g @ views[i].T
                g *= 1.0 - acts[layer] * acts[layer]  # tanh'

    def backward(
        self, cache: tuple, g_logits: np.ndarray, g_values: np.ndarray, grad_out: np.ndarray
    ) -> np.ndarray:
        """Write d(loss)/d(params) into ``grad_out`` given the loss's gradient w.r.t. the outputs."""
        grads = self.unpack(grad_out)
        self._tower_backward(cache, grads, 0, g_logits)
        self._tower_backward(cache, grads, 1, g_values[:, None])
        return grad_out


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
    return z


def sample_actions(logits: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Categorical samples and their log-probabilities."""
    logp_all = log_softmax(logits)
    cdf = np.cumsum(np.exp(logp_all), axis=1)
    u = rng.random(len(logits))[:, None] * cdf[:, -1:]
    actions = (cdf < u).sum(axis=1)
    np.minimum(actions, logits.shape[1] - 1, out=actions)
    return actions, logp_all[np.arange(len(actions)), actions]


def ppo_loss_and_grad(
    model: ActorCritic, flat: np.ndarray, mb: Minibatch, coefs: PPOCoefs, grad_out: np.ndarray
) -> LossStats:
    """PPO's loss (clipped surrogate + clipped value loss - entropy bonus), its gradient in ``grad_out``.

    Per-sample terms are averaged over the real transitions (``mask``); auto-reset steps count zero.
    """
    logits, values, cache = model.forward(flat, mb.obs)
    n = logits.shape[0]
    mask = mb.mask
    inv_count = 1.0 / max(float(mask.sum()), 1.0)
    w = mask * inv_count  # weight of each sample in every mean

    logp_all = log_softmax(logits)
    probs = np.exp(logp_all)
    rows = np.arange(n)
    logratio = logp_all[rows, mb.actions] - mb.logp_old
    ratio = np.exp(logratio)

    c = coefs.clip_coef
    pg_unclipped = -mb.advantages * ratio
    pg_clipped = -mb.advantages * np.clip(ratio, 1.0 - c, 1.0 + c)
    policy_loss = float(w @ np.maximum(pg_unclipped, pg_clipped))
    # d/d ratio of max(...): the unclipped branch when it is the max, else the clipped one, flat outside [1-c, 1+c].
    d_logp = np.where(pg_unclipped >= pg_clipped, -mb.advantages, 0.0) * ratio * w

    entropy_per = -(probs * logp_all).sum(axis=1)
    entropy = float(w @ entropy_per)

    g_logits = -probs * d_logp[:, None]
    g_logits[rows, mb.actions] += d_logp
    # -ent_coef * dH/dlogits, with dH_i/dz_ik = -p_ik (log p_ik + H_i)
    g_logits += (coefs.ent_coef * w)[:, None] * probs * (logp_all + entropy_per[:, None])

    vc = coefs.vf_clip_coef
    delta = values - mb.values_old
    v_clipped = mb.values_old + np.clip(delta, -vc, vc)
    err_unclipped = values - mb.returns
    err_clipped = v_clipped - mb.returns
    sq_unclipped, sq_clipped = err_unclipped**2, err_clipped**2
    value_loss = 0.5 * float(w @ np.maximum(sq_unclipped, sq_clipped))
    inside = np.abs(delta) < vc
    d_value = np.where(
        sq_unclipped >= sq_clipped, err_unclipped, np.where(inside, err_clipped, 0.0)
    )
    g_values = coefs.vf_coef * w * d_value

    model.backward(
        cache,
        g_logits.astype(model.dtype, copy=False),
        g_values.astype(model.dtype, copy=False),
        grad_out,
    )
    loss = policy_loss - coefs.ent_coef * entropy + coefs.vf_coef * value_loss
    return LossStats(
        loss=loss,
        policy_loss=policy_loss,
        value_loss=value_loss,
        entropy=entropy,
        approx_kl=float(w @ ((ratio - 1.0) - logratio)),
        clipfrac=float(w @ (np.abs(ratio - 1.0) > c)),
    )


def gae_advantages(
    rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, gamma: float, lam: float
) -> np.ndarray:
    """GAE(lambda) over a rollout of shape (T, envs); ``values`` has T + 1 rows (the last is the bootstrap).

    ``dones[t]`` ends the episode after step t: no bootstrap and no credit flows across it.
    """
    adv = np.zeros_like(rewards)
    last = np.zeros(rewards.shape[1:], dtype=rewards.dtype)
    for t in range(len(rewards) - 1, -1, -1):
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * values[t + 1] * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv


def clip_grad_norm(grad: np.ndarray, max_norm: float) -> float:
    """Scale ``grad`` in place to at most ``max_norm``; return the norm before clipping."""
    norm = float(np.sqrt(np.dot(grad, grad)))
    if norm > max_norm:
        grad *= max_norm / (norm + 1e-6)
    return norm


class Adam:
    """Adam with bias correction, updating a flat parameter vector in place."""

    def __init__(
        self,
        size: int,
        dtype: type,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-5,
    ):
        self.lr, self.beta1, self.beta2, self.eps = lr, betas[0], betas[1], eps
        self.m = aligned_zeros(size, dtype)
        self.v = aligned_zeros(size, dtype)
        self.t = 0
        self._tmp = aligned_zeros(size, dtype)

    def step(self, params: np.ndarray, grad: np.ndarray) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        self.m *= b1
        self.m += (1.0 - b1) * grad
        self.v *= b2
        np.multiply(grad, grad, out=self._tmp)
        self._tmp *= 1.0 - b2
        self.v += self._tmp
        step = self.lr * np.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        np.sqrt(self.v, out=self._tmp)
        self._tmp += self.eps * np.sqrt(1.0 - b2**self.t)
        np.divide(self.m, self._tmp, out=self._tmp)
        self._tmp *= step
        params -= self._tmp
