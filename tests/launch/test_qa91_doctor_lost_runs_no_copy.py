"""doctor says what to do about lost trials that neither their folders nor a copy bring back.

Found by hand (session 43, helper 91): a trial whose row the store lost and whose trial.json
was damaged made ``doctor`` report a PROBLEM (exit 1) with the one way out 'put back the store
copy that has them if you have one'. Without such a copy it stayed a problem for good, and
nothing said how to end it. The finding now says they are lost and that doctor reports them
until their run folders are moved out of state/runs; moved out, the check is ok.
"""

from __future__ import annotations

import shutil

from hwscale_tui.commands import doctor
from hwscale_tui.paths import app_paths
from hwscale_tui.store import Store


def test_lost_trials_nothing_rebuilds_say_how_to_end_the_finding(tmp_path):
    with Store.open_default():
        pass  # a store, healthy and empty
    runs = app_paths().runs
    run = runs / "exp.g1n1_trial_0001_abcdef"
    run.mkdir(parents=True)
    (run / "trial.json").write_text('{"broken')
    (run / "metrics.jsonl").write_text('{"state": "finished", "score": 1.0}\n')

    report = doctor.Report()
    doctor.check_runs(report, repair=True, store_ok=True)
    (finding,) = [f for f in report.findings if f.check == "trial runs"]
    assert not finding.ok and not finding.fixed and not finding.repairable
    assert "without one they are lost" in finding.detail, finding.detail
    assert f"until their run folders are moved out of {runs}" in finding.detail

    shutil.move(str(run), str(tmp_path / run.name))  # what the finding says to do
    report = doctor.Report()
    doctor.check_runs(report, repair=False, store_ok=True)
    assert all(f.ok for f in report.findings), report.findings
