"""One data-parallel rank: its own envs, rollouts, GAE and PPO epochs, gradients all-reduced.

A rank is a worker process started by ``runner.run_training``. It reports to the parent over a
pipe, one message per update; the parent owns every metric sink. A rank dies with its parent
(``PR_SET_PDEATHSIG`` plus a parent-pid check each update) and ignores SIGINT: the parent
decides when ranks stop.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import sys
import time
from typing import Any

import numpy as np

from .allreduce import SharedGradientMean
from .envs import ENV_SPACES, make_vector_env, param_count
from .overrides import TrainConfig
from .policy import (
    ActorCritic,
    Adam,
    Minibatch,
    PPOCoefs,
    aligned_zeros,
    clip_grad_norm,
    gae_advantages,
    ppo_loss_and_grad,
    sample_actions,
)

DTYPE = (
    np.float32
)  # measured: float32 halves tanh/matmul time on this CPU (float64 for gradient checks)
STAT_NAMES = ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac")


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def param_digest(params: np.ndarray) -> str:
    return hashlib.blake2b(params.tobytes(), digest_size=8).hexdigest()


class RankTrainer:
    """PPO on this rank's envs; ``update()`` collects one rollout and runs the epochs."""

    def __init__(
        self, cfg: TrainConfig, rank: int, allreduce: SharedGradientMean, dtype: type = DTYPE
    ):
        self.cfg, self.rank, self.allreduce, self.dtype = cfg, rank, allreduce, dtype
        self.n_envs, self.horizon = cfg.rank_envs()[rank], cfg.rollout
        self.venv = make_vector_env(cfg.env, self.n_envs)
        env_seed, rng_seed = np.random.SeedSequence([cfg.seed, rank]).generate_state(2)
        self.rng = np.random.default_rng(rng_seed)
        obs, _ = self.venv.reset(seed=int(env_seed))
        obs_dim = self.venv.single_observation_space.shape[0]
        self.model = ActorCritic(obs_dim, int(self.venv.single_action_space.n), cfg.hidden, dtype)
        if self.model.size != allreduce.size:
            raise RuntimeError(
                f"{cfg.env}: {self.model.size} parameters but the all-reduce holds {allreduce.size}"
            )
        self.params = self.model.init_params(
            np.random.default_rng(cfg.seed)
        )  # identical on every rank
        self.grad = aligned_zeros(self.model.size, dtype)
        self.adam = Adam(self.model.size, dtype, cfg.learning_rate)
        self.coefs = PPOCoefs(cfg.clip_coef, cfg.vf_clip_coef, cfg.ent_coef, cfg.vf_coef)
        self.local_minibatch = cfg.rank_minibatch(rank)
        self.grad_weight = cfg.rank_grad_weight(rank)
        T, n = self.horizon, self.n_envs
        self.obs = np.zeros((T, n, obs_dim), dtype=dtype)
        self.actions = np.zeros((T, n), dtype=np.int64)
        self.logp: np.ndarray = np.zeros((T, n), dtype=dtype)
        self.values: np.ndarray = np.zeros((T + 1, n), dtype=dtype)
        self.rewards: np.ndarray = np.zeros((T, n), dtype=dtype)
        self.dones: np.ndarray = np.zeros((T, n), dtype=dtype)
        self.valid: np.ndarray = np.zeros((T, n), dtype=dtype)
        self.next_obs = obs.astype(dtype)
        self.resetting = np.zeros(n, dtype=bool)  # the next step of these envs is an auto-reset
        self.episode_return = np.zeros(n, dtype=np.float64)

    def collect(self) -> list[float]:
        """One rollout of ``horizon`` steps per env; returns the episodes finished during it."""
        finished: list[float] = []
        truncated_at: list[tuple[int, np.ndarray]] = []
        for t in range(self.horizon):
            obs = self.next_obs
            logits, value, _ = self.model.forward(self.params, obs)
            actions, logp = sample_actions(logits, self.rng)
            self.obs[t], self.actions[t], self.logp[t], self.values[t] = obs, actions, logp, value
            self.valid[t] = ~self.resetting
            next_obs, reward, terminated, truncated, _ = self.venv.step(actions)
            done = terminated | truncated
            self.rewards[t] = reward
            self.dones[t] = done
            self.episode_return += reward
            if done.any():
                finished.extend(self.episode_return[done].tolist())
                self.episode_return[done] = 0.0
                if truncated.any():
                    truncated_at.append((t, truncated.copy()))
            self.resetting = done
            self.next_obs = next_obs.astype(self.dtype)
        _, self.values[self.horizon], _ = self.model.forward(self.params, self.next_obs)
        # A time-limit end is not a failure: bootstrap from the value of the final observation,
        # which NEXT_STEP autoreset hands back as the next observation.
        for t, truncated in truncated_at:
            self.rewards[t, truncated] += self.cfg.gamma * self.values[t + 1, truncated]
        return finished

    def advantages(self) -> tuple[np.ndarray, np.ndarray]:
        """GAE(lambda) advantages and returns for the last rollout."""
        adv = gae_advantages(
            self.rewards, self.values, self.dones, self.cfg.gamma, self.cfg.gae_lambda
        )
        return adv, adv + self.values[: self.horizon]

    def learn(self, adv: np.ndarray, returns: np.ndarray) -> np.ndarray:
        """``update_epochs`` passes over shuffled minibatches; returns the mean loss stats."""
        n = self.horizon * self.n_envs
        obs = self.obs.reshape(n, -1)
        actions, logp = self.actions.reshape(n), self.logp.reshape(n)
        adv, returns = adv.reshape(n), returns.reshape(n)
        values, mask = self.values[: self.horizon].reshape(n), self.valid.reshape(n)
        totals = np.zeros(len(STAT_NAMES))
        steps = 0
        for _ in range(self.cfg.update_epochs):
            order = self.rng.permutation(n)
            for start in range(0, n, self.local_minibatch):
                idx = order[start : start + self.local_minibatch]
                mb = Minibatch(
                    obs[idx],
                    actions[idx],
                    logp[idx],
                    _normalized(adv[idx], mask[idx]),
                    returns[idx],
                    values[idx],
                    mask[idx],
                )
                stats = ppo_loss_and_grad(self.model, self.params, mb, self.coefs, self.grad)
                if self.grad_weight != 1.0:
                    self.grad *= self.dtype(self.grad_weight)
                self.allreduce(self.grad, self.grad)
                clip_grad_norm(self.grad, self.cfg.max_grad_norm)
                self.adam.step(self.params, self.grad)
                totals += [getattr(stats, name) for name in STAT_NAMES]
                steps += 1
        return totals / max(steps, 1)

    def update(self) -> tuple[list[float], list[float]]:
        finished = self.collect()
        adv, returns = self.advantages()
        return finished, self.learn(adv, returns).tolist()


def _normalized(adv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    count = max(float(mask.sum()), 1.0)
    mean = float(mask @ adv) / count
    std = float(np.sqrt(mask @ (adv - mean) ** 2 / count))
    return (adv - mean) / (std + 1e-8)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def rank_main(
    cfg: TrainConfig, rank: int, parent_pid: int, conn: Any, barrier: Any, buffer: Any
) -> None:
    """Entry point of a rank process: report ``ready``, one ``update`` per update, then ``done``
    (with its peak RSS and the CPU seconds its training loop used)."""
    set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before we asked to follow it
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a diverging run overflows: the coordinator fails it saying so, without numpy's warnings
    np.seterr(over="ignore", invalid="ignore")
    try:
        obs_dim, n_actions = ENV_SPACES[cfg.env]
        size = param_count(obs_dim, n_actions, cfg.hidden)
        trainer = RankTrainer(
            cfg, rank, SharedGradientMean(buffer, barrier, cfg.ranks, rank, size, DTYPE)
        )
        conn.send(("ready", rank, os.getpid()))
        cpu_start = time.process_time()
        for update in range(cfg.updates):
            if os.getppid() != parent_pid:
                os._exit(1)
            finished, stats = trainer.update()
            conn.send(("update", rank, update, finished, stats, param_digest(trainer.params)))
        conn.send(("done", rank, peak_rss_bytes(), time.process_time() - cpu_start))
    except Exception as exc:  # reported to the parent, which fails the trial with it
        conn.send(("error", rank, f"{type(exc).__name__}: {exc}"))
        os._exit(1)
