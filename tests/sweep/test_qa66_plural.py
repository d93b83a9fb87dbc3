"""QA 66: a resumed sweep of one trial said "1 of 1 trials done"; counts in the runner's lines
go through records.plural."""

from __future__ import annotations

from tests.sweep.sweep_helpers import ScriptedDispatcher, finished_exit
from tests.sweep.test_sweep_scheduler import make_runner


def test_a_resumed_sweep_of_one_trial_says_1_of_1_trial_done():
    runner, _spy, _store, _out = make_runner(
        ScriptedDispatcher(exit_for=lambda spec: finished_exit()),
        max_trials=1,
        batch_size=1,
        max_parallel=1,
    )
    assert runner.run() == 0
    again, _spy, _store, out = make_runner(
        ScriptedDispatcher(exit_for=lambda spec: finished_exit()),
        max_trials=1,
        batch_size=1,
        max_parallel=1,
    )
    assert again.run() == 0
    resumed = [line for line in out.getvalue().splitlines() if " resumed " in line]
    assert resumed and resumed[0].endswith(
        "sched.g1n1 1 of 1 trial done, 0 re-attached, 0 suggested but never started"
    ), out.getvalue()
