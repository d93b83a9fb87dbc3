"""A pair whose sweep runner died unwatched is not counted as work done in the progress line.

Found by hand (session 43, helper 91): experiment exM's supervisor and g1n1's sweep runner
were SIGKILLed before any trial ended. ``status`` showed g1n1 ``exited (code unknown)`` with
0/2 trials and g2n1 never started, yet said ``progress: 50%``: the dead pair counted as a
finished one, although ``launch --resume`` starts it again and its trials are still to run. It
is now left out of the share and named, as a cancelled or failed pair is:
``progress: 0% (not counted: g1n1 sweep runner died)``. A pair that ended by itself while
unwatched (its sweep recorded its end) still counts as done.
"""

from __future__ import annotations

from types import SimpleNamespace

from hwscale_tui.launch.progress import PairPlan, ProgressSettings, experiment_progress


def _pair(tag: str, **kw):
    base = dict(
        sweep_name=f"exp.{tag}",
        gpus=int(tag[1]),
        nodes=1,
        status="exited",
        planned_start=1.0,
        started_at=2.0,
        max_trials=2,
        exit_code=None,
        never_started=False,
        launch_id=1,
        position=0,
        ended_at=None,
        alive=False,
    )
    base.update(kw)
    return SimpleNamespace(**base)


SETTINGS = ProgressSettings(1000.0, 2, 1, 1.0, 60.0)


def test_a_dead_runners_pair_is_left_out_of_the_share_and_named():
    died = PairPlan.of(_pair("g1n1"))  # exit code unknown, no end recorded: its runner died
    waiting = PairPlan.of(
        _pair("g2n1", status="scheduled", started_at=None, never_started=True, position=1)
    )
    progress = experiment_progress([died, waiting], [], SETTINGS, 100.0)
    assert progress.pairs[0].stopped_short == "sweep runner died"
    assert progress.fraction == 0.0
    assert "0% (not counted: g1n1 sweep runner died)" in progress.summary()


def test_a_pair_that_ended_by_itself_unwatched_still_counts_as_done():
    ended = PairPlan.of(_pair("g1n1", ended_at=50.0))  # its sweep recorded its own end
    progress = experiment_progress([ended], [], SETTINGS, 100.0)
    assert progress.pairs[0].stopped_short is None
    assert progress.fraction == 1.0
