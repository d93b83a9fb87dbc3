"""QA 75: a stop that came while sbatch ran made the runner suggest one more trial.

Found by hand on the local cluster: a trial waited to be submitted again (the partition was
drained); ``hwscale-tui cancel`` came while its retried sbatch ran (a slow controller), and
the SIGTERM that reaches the runner's process group ended sbatch too. The runner recorded that
trial killed and, in the same turn, suggested a new one -- ``h12.g1n1_trial_0003_... killed:
not submitted: the sweep is stopping, so sbatch was not asked`` -- a trial row the user never
asked for, after the cancel (and the killed one said "a new suggestion replaces it"). A turn
during which a stop was asked for now starts no new trial.

Shaped with an in-memory dispatcher (the timing of a signal inside sbatch is not something a
test can hit on the real cluster every time): its first submit asks to be retried, and the
retry gets the stop and fails as sbatch killed by it does.
"""

from __future__ import annotations

import signal

from hwscale_tui.sweep.dispatch import NotSubmitted
from hwscale_tui.sweep.slurm import SubmitNotNow
from tests.sweep.sweep_helpers import ScriptedDispatcher, finished_exit
from tests.sweep.test_sweep_scheduler import make_runner


def test_a_stop_during_a_retried_sbatch_starts_no_new_trial():
    calls: list[str] = []

    class StoppedDuringSbatch(ScriptedDispatcher):
        def start(self, spec):
            calls.append(spec.run_id)
            if len(calls) == 1:  # the partition is drained: asked again at once (poll_s 0)
                raise SubmitNotNow("sbatch refused the job: Required partition not available", 0.0)
            if len(calls) == 2:  # the cancel's SIGTERM reaches the runner and its sbatch
                runner.request_stop(signal.SIGTERM)
                raise NotSubmitted("sbatch refused the job: exit -15")
            return super().start(spec)

    dispatcher = StoppedDuringSbatch(exit_for=lambda spec: finished_exit(), kind="slurm")
    runner, _spy, store, out = make_runner(
        dispatcher, max_trials=2, batch_size=1, max_parallel=1, name="stopsb"
    )
    assert runner.run() == 128 + signal.SIGTERM
    rows = store.trial_rows(["stopsb.g1n1"])
    assert [(r["state"], r["error"]) for r in rows] == [
        ("killed", "not submitted: sbatch refused the job: exit -15")
    ], out.getvalue()
    assert len(calls) == 2, calls
    assert "a new suggestion replaces it" not in out.getvalue()  # none does: it stops
    assert store.get_sweep("stopsb.g1n1")["status"] == "cancelled"
