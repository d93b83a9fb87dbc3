"""The score/cost Pareto front the Protein optimizer samples its candidates around."""

from __future__ import annotations

import numpy as np


def pareto_front(scores: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both counts (higher score, lower cost).

    Scores are maximized. The result is ordered from cheapest to most expensive; of points with
    equal cost only the best-scoring one can be on the front.
    """
    scores = np.asarray(scores, dtype=float)
    costs = np.asarray(costs, dtype=float)
    order = np.lexsort((-scores, costs))  # cost ascending, then score descending
    front: list[int] = []
    best = -np.inf
    for i in order:
        if scores[i] > best:
            front.append(int(i))
            best = scores[i]
    return np.array(front, dtype=int)
