"""Vectorized classic-control environments for one rank.

``CartPole-v1`` has gymnasium's numpy-vectorized implementation (one numpy step for all envs);
the other tasks run as a synchronous vector of single envs. Both reset finished envs on the
*next* step (gymnasium's NEXT_STEP autoreset), which the rollout masks out of the loss.
"""

from __future__ import annotations

from typing import Any


def make_vector_env(env_id: str, num_envs: int) -> Any:
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode

    try:
        venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    except gym.error.Error:
        venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync")
    mode = venv.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if mode != AutoresetMode.NEXT_STEP:  # pragma: no cover - a gymnasium change we must notice
        raise RuntimeError(f"{env_id}: expected NEXT_STEP autoreset, got {mode}")
    return venv


# (observation size, number of actions) per supported env: the parent sizes the shared
# gradient buffer from these without loading gymnasium; each rank checks them against the env.
ENV_SPACES: dict[str, tuple[int, int]] = {
    "CartPole-v1": (4, 2),
    "Acrobot-v1": (6, 3),
    "MountainCar-v0": (2, 3),
}


def param_count(obs_dim: int, n_actions: int, hidden: tuple[int, ...]) -> int:
    """Parameters of ``policy.ActorCritic`` (actor and critic MLPs, weights and biases)."""
    total = 0
    for out_dim in (n_actions, 1):
        sizes = (obs_dim, *hidden, out_dim)
        total += sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    return total
