"""The ETA of a pair relaunched in a sequential experiment.

Found by hand: right after relaunching a cancelled g1n1 while g2n1 ran, g1n1's ETA read ~2h44m
and settled at ~9m a few seconds later. Two causes in launch/progress.py:

- with no finished trial, a pair's throughput was the median steps/s of its running trials.
  A trial's steps/s is its steps over its time so far, start-up included (spawning its ranks,
  building its environments), so its first reports -- one batch of steps after seconds of
  start-up, slower still beside another pair -- stood for the pair's speed, ~20x too slow;
  and the trial the cancel killed, which had run at the pair's real speed, was left out.
  Now the pair's trials that ran (killed ones too) add up their steps and their time, so a
  trial that has only just begun weighs as little as the steps it made.
- a relaunched pair now waits for the pair still running (``test_qa68_sequential_relaunch``),
  but the sequential ETAs were added up in the grid's order: g1n1, listed before g2n1, was
  given its own time alone, as if it started now. They are added up in the order the pairs
  run: the running pair first, then the waiting ones by launch.
"""

from __future__ import annotations

import pytest

from hwscale_tui.launch.progress import (
    BASIS_MEASURED,
    PairPlan,
    ProgressSettings,
    experiment_progress,
)
from hwscale_tui.records import Trial

BUDGET = 200_000.0
SEQUENTIAL = ProgressSettings(
    budget_steps=BUDGET,
    max_trials=3,
    parallel=1,
    price_per_gpu_hour=3.6,
    max_trial_s=600.0,
    sequential=True,
)


def trial(sweep: str, idx: int, state: str, steps: float, sps: float, gpus: int = 1) -> Trial:
    return Trial(
        sweep=sweep,
        run_id=f"{sweep}_trial_{idx:04d}_abcdef",
        gpus=gpus,
        nodes=1,
        state=state,
        agent_steps=steps,
        runtime_s=steps / sps,
        sps=sps,
    )


def test_a_trials_first_report_does_not_stand_for_the_pairs_throughput():
    trials = [
        # cancelled mid-trial: 117,760 steps at the pair's speed before the cancel
        trial("e.g1n1", 1, "killed", 117_760, 34_557.7),
        # relaunched: its first report, one batch after 6 s of start-up on a loaded machine
        trial("e.g1n1", 2, "running", 1_024, 170.0),
    ]
    prog = experiment_progress([PairPlan("e.g1n1", 1, 1, "running")], trials, SEQUENTIAL, 0.0)
    pair = prog.pairs[0]
    seconds = 117_760 / 34_557.7 + 1_024 / 170.0
    assert pair.basis == BASIS_MEASURED
    # the pair's steps over the time they took; it was 200,000 / 170 = 1,176 s a trial
    assert pair.trial_s == pytest.approx(BUDGET * seconds / (117_760 + 1_024))
    assert pair.trial_s == pytest.approx(15.9, abs=0.1)


def test_a_pair_waiting_for_the_running_one_ends_after_it():
    """g1n1 (launch 2, relaunched) waits for g2n1 (launch 1, running): its ETA is g2n1's time
    left plus its own, though the grid lists it first; the experiment's ETA adds them up."""
    pairs = [
        PairPlan("e.g1n1", 1, 1, "scheduled", None, launch_id=2, position=0),
        PairPlan("e.g2n1", 2, 1, "running", 1.0, 1.0, launch_id=1, position=1),
    ]
    trials = [
        trial("e.g1n1", 1, "finished", BUDGET, 20_000.0),  # 10 s a trial
        trial("e.g2n1", 1, "running", 100_000, 20_000.0, gpus=2),  # 5 s of its 10 s left
    ]
    prog = experiment_progress(pairs, trials, SEQUENTIAL, 100.0)
    g1, g2 = prog.pairs
    assert g2.eta_s == pytest.approx(5.0 + 2 * 10.0)  # its running trial, then 2 more
    assert g1.eta_s == pytest.approx(g2.eta_s + 2 * 10.0)  # after g2n1: its 2 trials left
    assert prog.eta_s == pytest.approx(g1.eta_s)


def test_pairs_of_one_sequential_launch_still_add_up_in_the_grids_order():
    pairs = [
        PairPlan("e.g1n1", 1, 1, "running", 1.0, 1.0, launch_id=1, position=0),
        PairPlan("e.g2n1", 2, 1, "scheduled", None, launch_id=1, position=1),
        PairPlan("e.g4n1", 4, 1, "scheduled", None, launch_id=1, position=2),
    ]
    trials = [trial("e.g1n1", 1, "finished", BUDGET, 20_000.0)]  # 10 s a trial; scaled: 5, 2.5
    prog = experiment_progress(pairs, trials, SEQUENTIAL, 100.0)
    g1, g2, g4 = (p.eta_s for p in prog.pairs)
    assert g1 == pytest.approx(20.0)
    assert g2 == pytest.approx(20.0 + 15.0)
    assert g4 == pytest.approx(20.0 + 15.0 + 7.5)


def test_a_trial_just_begun_is_given_the_pairs_time_per_trial():
    """Its 4th trial at its first report (one batch after seconds of start-up): the pair's
    time left was that trial's steps left at its own steps/s, 1,170 s here (1m16s for a 5 s
    trial by hand), before it settled. It is the pair's time per trial, less what it did."""
    trials = [
        trial("e.g1n1", 1, "finished", BUDGET, 20_000.0),  # 10 s a trial
        trial("e.g1n1", 2, "finished", BUDGET, 20_000.0),
        trial("e.g1n1", 3, "running", 1_024, 170.0),
    ]
    prog = experiment_progress([PairPlan("e.g1n1", 1, 1, "running")], trials, SEQUENTIAL, 0.0)
    assert prog.pairs[0].trial_s == pytest.approx(10.0)
    assert prog.pairs[0].eta_s == pytest.approx(10.0 * (1 - 1_024 / BUDGET))


def test_a_new_pairs_first_report_gives_way_to_another_pairs_measured_rate():
    """g2n1's first trial at its first report (4,096 steps in 0.51 s, start-up included): its
    ETA read 1m39s, one second before it read 27s. Under a tenth of a trial's steps, a pair's
    own rate comes after another pair's measured one, scaled; alone, it is all there is."""
    pairs = [
        PairPlan("e.g1n1", 1, 1, "exited", launch_id=1, position=0),
        PairPlan("e.g2n1", 2, 1, "running", 1.0, 1.0, launch_id=1, position=1),
    ]
    first_report = trial("e.g2n1", 1, "running", 4_096, 8_012.2, gpus=2)
    trials = [trial("e.g1n1", i, "finished", BUDGET, 20_000.0) for i in (1, 2, 3)]
    g2 = experiment_progress(pairs, [*trials, first_report], SEQUENTIAL, 0.0).pairs[1]
    assert g2.basis == "scaled" and g2.trial_s == pytest.approx(5.0)  # 10 s a trial on 1 rank
    # no other pair measured: its own first report is used, as before
    alone = experiment_progress(pairs[1:], [first_report], SEQUENTIAL, 0.0).pairs[0]
    assert alone.basis == BASIS_MEASURED
    assert alone.trial_s == pytest.approx(BUDGET / 8_012.2)
