"""A learning curve's absurd points (beyond +-2**53) are not measurements.

Helper 85 (session 43) found: the local store's curves reach the analysis unchecked (the
sources flag such numbers in summaries, not in the store's history rows), and a history row
scoring 1e308 set analyze's target to 1.8e307, so no config ever reached it.
"""

from __future__ import annotations

import numpy as np

from hwscale_tui.analysis.curves import history_frame
from hwscale_tui.store import Store


def test_points_beyond_2_to_the_53_are_left_out_of_the_store_curves(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    s.append_history(
        "r",
        [
            {"agent_step": 10, "wall_s": 1.0, "score": 5.0},
            {"agent_step": 20, "wall_s": 2.0, "score": 1e308},  # an overflow logged as a score
            {"agent_step": 1e300, "wall_s": 3.0, "score": 7.0},  # a step count gone wrong
            {"agent_step": 30, "wall_s": 4.0, "score": -9.0e15},  # within +-2**53: kept
        ],
    )
    frame = history_frame(s.histories(["r"])["r"])
    assert frame["agent_step"].tolist() == [10.0, 30.0]
    assert frame["score"].tolist() == [5.0, -9.0e15]
    assert np.isfinite(frame["score"]).all()
    s.close()
