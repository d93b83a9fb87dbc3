"""When each pair starts: the stagger schedule (pure data, so tests need no clock)."""

from __future__ import annotations

# A detached supervisor needs a moment to start (a fresh Python process); the first pair is
# planned this far after the launch so "planned" is a time the supervisor can actually keep.
DETACHED_START_LEAD_S = 1.0


def stagger_schedule(t0: float, count: int, delay_s: float, sequential: bool) -> list[float | None]:
    """Planned start (epoch seconds) per pair, in launch order.

    Staggered: ``t0 + i * delay_s``. Sequential: the first at ``t0``, the others ``None`` --
    each starts when the previous one has exited, so its time is only known then.
    """
    if sequential:
        return [t0] + [None] * (count - 1) if count else []
    return [t0 + i * delay_s for i in range(count)]
