"""The shared-memory all-reduce gives every process the exact mean of everyone's gradient."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np

from hwscale_tui.train.allreduce import SharedGradientMean, shared_gradient_buffer

SIZE, ROUNDS = 50, 6


def _local_gradient(rank: int, round_: int) -> np.ndarray:
    return np.random.default_rng([rank, round_]).standard_normal(SIZE).astype(np.float32)


def _worker(rank: int, ranks: int, barrier, buffer, conn) -> None:
    reduce = SharedGradientMean(buffer, barrier, ranks, rank, SIZE, np.float32)
    results = []
    for round_ in range(ROUNDS):
        g = _local_gradient(rank, round_)
        reduce(g, g)
        results.append(g.copy())
    conn.send(np.stack(results))
    conn.close()


def test_every_rank_gets_the_same_exact_mean():
    ranks = 3
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(ranks)
    buffer = shared_gradient_buffer(ctx, ranks, SIZE, np.float32)
    pipes = [ctx.Pipe(duplex=False) for _ in range(ranks)]
    procs = [
        ctx.Process(target=_worker, args=(r, ranks, barrier, buffer, pipes[r][1]))
        for r in range(ranks)
    ]
    for p in procs:
        p.start()
    try:
        results = [pipes[r][0].recv() for r in range(ranks)]
    finally:
        for p in procs:
            p.join(120)
    assert [p.exitcode for p in procs] == [0] * ranks
    for round_ in range(ROUNDS):
        local = np.stack([_local_gradient(r, round_) for r in range(ranks)])
        np.testing.assert_allclose(results[0][round_], local.mean(axis=0), rtol=1e-6, atol=1e-7)
        assert not np.allclose(results[0][round_], local[0])  # really averaged, not the rank's own
    for r in range(1, ranks):
        assert results[r].tobytes() == results[0].tobytes()  # bit-identical on every rank


def test_one_rank_passes_its_gradient_through():
    reduce = SharedGradientMean(None, None, 1, 0, SIZE, np.float32)
    g = _local_gradient(0, 0)
    out = np.zeros_like(g)
    reduce(g, out)
    np.testing.assert_array_equal(out, g)
