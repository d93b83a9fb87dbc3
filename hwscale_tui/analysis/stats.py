"""Small statistics helpers shared by the fits and the survival estimates."""

from __future__ import annotations

import numpy as np


def percentile_ci(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of bootstrap samples; NaN samples (failed refits) are ignored.

    ``inverted_cdf`` never interpolates, so an infinite sample gives an infinite bound, not NaN.
    One sample (``--bootstrap 1``) makes no interval: it was printed as one from that sample to
    itself, beside an estimate it did not contain.
    """
    s = np.asarray(samples, dtype=float)
    s = s[~np.isnan(s)]
    if s.size < 2:
        return (float("nan"), float("nan"))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(s, [alpha, 1.0 - alpha], method="inverted_cdf")
    return (float(lo), float(hi))


def min_resamples(level: float) -> int:
    """The fewest bootstrap resamples whose percentile interval at ``level`` has each end
    inside them: each tail holds ``(1 - level) / 2`` of them, at least one (40 at 95%)."""
    return int(np.ceil(2.0 / (1.0 - level) - 1e-9))


def resample_counts(idx: np.ndarray, n: int) -> np.ndarray:
    """(B, n) multiplicities of each item in each row of resampled indices ``idx`` (B, n)."""
    b = idx.shape[0]
    flat = idx + (np.arange(b) * n)[:, None]
    return np.bincount(flat.ravel(), minlength=b * n).reshape(b, n)


def aicc(rss: float, n: int, k: int) -> float | None:
    """Corrected Akaike criterion for a least-squares fit with ``k`` parameters (noise included)."""
    if n - k - 1 <= 0:
        return None
    rss = max(rss, 1e-24 * n)  # a perfect fit would give -inf
    return float(n * np.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1))
