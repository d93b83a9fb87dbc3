"""Progress, ETA and cost estimates (launch/progress.py) on known trial records."""

from __future__ import annotations

import pytest

from hwscale_tui.launch.progress import (
    BASIS_HISTORY,
    BASIS_MEASURED,
    BASIS_SCALED,
    BASIS_SETTINGS,
    BASIS_TEXT,
    PairPlan,
    ProgressSettings,
    estimate_plan,
    experiment_progress,
    measured_throughput,
    trial_progress,
)
from hwscale_tui.records import Trial
from hwscale_tui.store import Store

SETTINGS = ProgressSettings(
    budget_steps=1000.0, max_trials=4, parallel=1, price_per_gpu_hour=3.6, max_trial_s=600.0
)


def t(run: str, state: str, steps=None, runtime=None, sps=None, cost=None, sweep="e.g1n1", g=1):
    return Trial(
        sweep=sweep, run_id=run, gpus=g, nodes=1, state=state, agent_steps=steps,
        runtime_s=runtime, sps=sps, cost_usd=cost,
    )  # fmt: skip


def test_a_running_trial_has_percent_steps_per_second_and_eta():
    p = trial_progress(t("r", "running", steps=250, sps=50), 1000)
    assert p.fraction == 0.25 and p.percent_text == "25%" and p.sps == 50
    assert p.eta_s == pytest.approx(15.0)  # 750 steps left at 50 steps/s
    assert trial_progress(t("f", "finished", steps=1000, sps=50), 1000).eta_s is None


def test_pair_counts_eta_and_cost_from_measured_trials():
    trials = [
        t("a", "finished", steps=1000, runtime=20, sps=50, cost=0.02),
        t("b", "failed", steps=100, runtime=5, sps=20, cost=0.005),
        t("c", "killed", steps=300, runtime=6, cost=0.006),
        t("d", "running", steps=500, runtime=10, sps=50, cost=0.01),
        t("x", "finished", steps=1000, runtime=1, sweep="other.g1n1"),  # not this experiment
    ]
    prog = experiment_progress([PairPlan("e.g1n1", 1, 1, "running")], trials, SETTINGS, 100.0)
    pair = prog.pairs[0]
    # done = finished + failed (what counts toward max_trials); killed shown apart
    assert (pair.done, pair.finished, pair.failed, pair.killed, pair.running) == (2, 1, 1, 1, 1)
    assert pair.counts_text() == "2/4 done, 1 running, 1 failed, 1 killed"
    assert pair.basis == BASIS_MEASURED and pair.trial_s == pytest.approx(20.0)
    # running trial: 500 steps left at 50/s = 10 s; then 1 new trial (4 - 2 done - 1 running)
    assert pair.eta_s == pytest.approx(10.0 + 20.0)
    assert pair.cost_so_far_usd == pytest.approx(0.041)
    # projected: so far + (4 - 2 - 0.5 running) trials x $0.02 measured per full trial
    assert pair.cost_projected_usd == pytest.approx(0.041 + 1.5 * 0.02)
    assert prog.eta_s == pytest.approx(30.0) and not prog.ended
    assert "est. 30s left" in prog.summary() and "measured" in prog.summary()


def test_ended_pairs_have_no_time_left_and_cost_what_they_cost():
    trials = [t(str(i), "finished", steps=1000, runtime=10, cost=0.01) for i in range(4)]
    prog = experiment_progress([PairPlan("e.g1n1", 1, 1, "exited")], trials, SETTINGS, 0.0)
    assert prog.ended and prog.eta_s == 0.0
    assert prog.cost_projected_usd == pytest.approx(0.04)
    assert prog.summary().startswith("all pairs ended")


def test_a_pair_stopped_short_is_not_counted_as_done_work():
    pairs = [
        PairPlan("e.g1n1", 1, 1, "cancelled"),  # cancelled before any trial ended
        PairPlan("e.g2n1", 2, 1, "running"),
    ]
    running = [t("r", "running", steps=500, sps=50, sweep="e.g2n1", g=2)]
    prog = experiment_progress(pairs, running, SETTINGS, 0.0)
    assert [p.stopped_short for p in prog.pairs] == ["cancelled", None]
    # half of one of g2n1's 4 trials: 12.5%, not (4 + 0.5) / 8 = 56% with g1n1 counted as done
    assert prog.fraction == pytest.approx(0.125)
    assert prog.summary().startswith("12% (not counted: g1n1 cancelled) | est. ")
    assert prog.to_json()["stopped_short"] == ["g1n1"]
    assert not prog.ended and prog.eta_s is not None and prog.eta_s > 0

    failed = experiment_progress(
        [PairPlan("e.g1n1", 1, 1, "failed_to_start"), PairPlan("e.g2n1", 2, 1, "running")],
        [],
        SETTINGS,
        0.0,
    )
    assert failed.fraction == 0.0 and "not counted: g1n1 failed to start" in failed.summary()
    # a pair cancelled after its budget was spent did all its work: it counts
    spent = [t(str(i), "finished", steps=1000, runtime=10) for i in range(4)]
    prog = experiment_progress(pairs, spent + running, SETTINGS, 0.0)
    assert prog.pairs[0].stopped_short is None and prog.fraction == pytest.approx(4.5 / 8)
    assert "not counted" not in prog.summary()

    # both pairs ended, one of them cancelled short: the ended line says which
    both = [PairPlan("e.g1n1", 1, 1, "cancelled"), PairPlan("e.g2n1", 2, 1, "exited")]
    done = [t(str(i), "finished", steps=1000, runtime=10, sweep="e.g2n1", g=2) for i in range(4)]
    prog = experiment_progress(both, done, SETTINGS, 0.0)
    assert prog.ended and prog.summary().startswith("all pairs ended (g1n1 cancelled) | cost $")


def test_a_sweep_that_exits_with_an_error_before_its_trials_is_not_counted_as_done():
    """g1n1's sweep exited 1 at 0/4: its trials never run, so the share is g2n1's alone (it
    read 50% with g2n1 not started); an exit 0 is taken as done (a Metta sweep's trials are
    in W&B, not in the store these counts come from)."""
    g2 = PairPlan("e.g2n1", 2, 1, "running")
    running = [t("r", "running", steps=500, sps=50, sweep="e.g2n1", g=2)]
    failed = experiment_progress(
        [PairPlan("e.g1n1", 1, 1, "exited", exit_code=1), g2], running, SETTINGS, 0.0
    )
    assert failed.pairs[0].stopped_short == "exited with code 1"
    assert failed.fraction == pytest.approx(0.5 / 4)
    assert "(not counted: g1n1 exited with code 1)" in failed.summary()
    killed = experiment_progress(
        [PairPlan("e.g1n1", 1, 1, "exited", exit_code=-9), g2], running, SETTINGS, 0.0
    )
    assert killed.stopped_short_text() == "g1n1 killed by signal 9"
    clean = experiment_progress(
        [PairPlan("e.g1n1", 1, 1, "exited", exit_code=0), g2], running, SETTINGS, 0.0
    )
    assert clean.pairs[0].stopped_short is None and clean.fraction == pytest.approx(4.5 / 8)


def test_without_measurements_the_estimate_is_scaled_from_history_or_an_upper_bound():
    pairs = [PairPlan("e.g1n1", 1, 1), PairPlan("e.g2n1", 2, 1)]
    bare = estimate_plan(pairs, SETTINGS)
    assert bare.basis == BASIS_SETTINGS and "upper bound" in bare.basis_text
    # 4 trials x 600 s, the second pair starts 0 s later (delay 0), pairs run side by side
    assert bare.duration_s == pytest.approx(2400.0)
    # $3.6/GPU-hour = $0.001/GPU-s: 4 x 600 s x (1 + 2) GPUs
    assert bare.cost_usd == pytest.approx(4 * 600 * 3 * 0.001)
    assert bare.trials == 8 and bare.ranks == 3 and bare.gpus_max == 2
    assert any("at most" in line for line in bare.lines())
    # a cluster's pairs are GPUs, local mode's CPU ranks: the question says which ("ranks/GPUs")
    assert bare.lines()[0] == "2 pairs, 8 trials in all, 3 GPUs across pairs (largest pair 2)"
    local = estimate_plan(pairs, ProgressSettings(**{**SETTINGS.__dict__, "local_ranks": True}))
    assert local.lines()[0] == "2 pairs, 8 trials in all, 3 ranks across pairs (largest pair 2)"

    hist = estimate_plan(pairs, SETTINGS, history_sps={(1, 1): 100.0})
    by_tag = {
        p.tag: p
        for p in experiment_progress(pairs, [], SETTINGS, 0.0, history_sps={(1, 1): 100.0}).pairs
    }
    assert by_tag["g1n1"].basis == BASIS_HISTORY and by_tag["g1n1"].trial_s == pytest.approx(10.0)
    assert by_tag["g2n1"].basis == BASIS_SCALED and by_tag["g2n1"].trial_s == pytest.approx(5.0)
    # local mode's pairs are ranks: the label names both, never GPUs alone
    assert "(GPUs; ranks in local mode)" in BASIS_TEXT[by_tag["g2n1"].basis]
    assert hist.basis == "mixed" and hist.duration_s == pytest.approx(40.0)


def test_sequential_pairs_add_up_and_staggered_pairs_wait_for_their_start():
    pairs = [PairPlan("e.g1n1", 1, 1), PairPlan("e.g2n1", 2, 1)]
    hist = {(1, 1): 100.0, (2, 1): 200.0}  # 10 s and 5 s per trial
    seq = ProgressSettings(**{**SETTINGS.__dict__, "sequential": True})
    assert estimate_plan(pairs, seq, history_sps=hist).duration_s == pytest.approx(60.0)
    staggered = ProgressSettings(**{**SETTINGS.__dict__, "delay_s": 30.0})
    # the second pair starts 30 s later and takes 20 s: 50 s
    assert estimate_plan(pairs, staggered, history_sps=hist).duration_s == pytest.approx(50.0)


def test_continuing_a_generation_the_estimate_counts_only_the_trials_left():
    """max_trials raised from 4 to 6 after both pairs ran 4: the launch runs 2 more per pair
    (killed ones again), and the question's trials, duration and cost are of those."""
    pairs = [PairPlan("e.g1n1", 1, 1), PairPlan("e.g2n1", 2, 1)]
    six = ProgressSettings(**{**SETTINGS.__dict__, "max_trials": 6, "delay_s": 30.0})
    ran = [
        *(t(f"a{i}", "finished", steps=1000, runtime=10, cost=0.01) for i in range(4)),
        t("a4", "killed", steps=200, runtime=2, cost=0.002),
        *(t(f"b{i}", "finished", steps=1000, runtime=5, cost=0.01, sweep="e.g2n1", g=2) for i in range(3)),
        t("b3", "failed", steps=100, runtime=1, cost=0.001, sweep="e.g2n1", g=2),
    ]  # fmt: skip
    fresh = estimate_plan(pairs, six)
    assert fresh.trials == 12
    est = estimate_plan(pairs, six, trials=ran)
    assert est.trials == 4  # 6 - 4 done for each pair; the killed trial is not done
    # 2 trials x 10 s for g1n1; g2n1 starts 30 s later and runs 2 x 5 s: 40 s
    assert est.duration_s == pytest.approx(40.0)
    # the work left at each pair's measured cost per full trial, not what was spent before
    assert est.cost_usd == pytest.approx(2 * 0.01 + 2 * 0.01)


def test_a_scheduled_pair_continuing_a_generation_waits_for_its_start():
    """A relaunch after max_trials was raised: g2n1's sweep ran 4 trials before and is
    scheduled to start in 60 s; its ETA counts the wait, as a fresh pair's does."""
    six = ProgressSettings(**{**SETTINGS.__dict__, "max_trials": 6})
    ran = [t(f"b{i}", "finished", steps=1000, runtime=5, cost=0.01, sweep="e.g2n1", g=2) for i in range(4)]  # fmt: skip
    now = 1000.0
    pair = PairPlan("e.g2n1", 2, 1, status="scheduled", planned_start=now + 60.0)
    (pp,) = experiment_progress([pair], ran, six, now).pairs
    assert pp.eta_s == pytest.approx(60.0 + 2 * 5.0)


def test_measured_throughput_reads_finished_trials_of_the_runner_from_the_store():
    with Store.open_default() as store:
        store.upsert_sweep("old.g1n1", experiment="old", gpus=1, nodes=1, runner="builtin")
        store.upsert_sweep("met.g1n1", experiment="met", gpus=1, nodes=1, runner="metta")
        for i, sps in enumerate((100.0, 300.0, 200.0)):
            store.insert_trial(f"r{i}", "old.g1n1", gpus=1, nodes=1, state="finished", sps=sps)
        store.insert_trial("q", "old.g1n1", gpus=1, nodes=1, state="running", sps=999.0)
        store.insert_trial("m", "met.g1n1", gpus=1, nodes=1, state="finished", sps=5.0)
        assert measured_throughput("builtin", store, experiment="old") == {(1, 1): 200.0}
        assert measured_throughput("metta", store, experiment="met") == {(1, 1): 5.0}
