"""Gradient all-reduce over shared memory: every rank ends with the same mean gradient.

Each rank writes its gradient into its own row of a shared ``(2, ranks, size)`` buffer, waits
at a barrier, then averages all rows itself. Every rank reduces the same bytes in the same
order, so the results are bit-identical. The two halves alternate between calls: a rank can
only overwrite a half after everyone passed the barrier of the call that last read it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def shared_gradient_buffer(ctx: Any, ranks: int, size: int, dtype: type) -> Any:
    """The shared memory a ``SharedGradientMean`` needs (a lock-free ``RawArray``)."""
    itemsize = np.dtype(dtype).itemsize
    return ctx.RawArray("b", 2 * ranks * size * itemsize)


class SharedGradientMean:
    def __init__(self, buffer: Any, barrier: Any, ranks: int, rank: int, size: int, dtype: type):
        self.rows: np.ndarray | None = (
            np.frombuffer(buffer, dtype=dtype).reshape(2, ranks, size) if ranks > 1 else None
        )
        self.barrier, self.ranks, self.rank, self.size = barrier, ranks, rank, size
        self.calls = 0

    def __call__(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Mean of ``grad`` over all ranks, written to ``out`` (may be ``grad`` itself)."""
        if self.ranks == 1:
            if out is not grad:
                out[...] = grad
            return out
        assert self.rows is not None  # ranks > 1
        half = self.rows[self.calls & 1]
        self.calls += 1
        half[self.rank] = grad
        self.barrier.wait()
        np.sum(half, axis=0, out=out)
        out *= 1.0 / self.ranks
        return out
