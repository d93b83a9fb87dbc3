"""Local mode: trials that shared the machine's cores with other trials are said to have."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.analysis.selection import local_mode
from tests.analysis.analysis_helpers import trial


def _ran(run_id: str, gpus: int, start: float, end: float, state: str = "finished"):
    return trial(run_id, gpus, 1, 1.0, state=state, created_at=start, updated_at=end)


def _said(notes: list[str]) -> list[str]:
    return [n for n in notes if n.startswith("Trials ran at the same time")]


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    return cfgmod.default_config()


def test_pairs_that_ran_together_past_the_cores_are_said_to_measure_contention(two_cores):
    """`launch --delay 0` ran g1n1 and g2n1 (and g4n1, left out as oversubscribed) at once on
    2 cores: g1n1's steps per second read 3.9k there and 16k alone, and the analysis said
    nothing of it."""
    trials = [
        _ran("a", 1, 0.0, 10.0),
        _ran("b", 2, 5.0, 15.0),
        _ran("c", 4, 20.0, 40.0),  # left out (4 ranks > 2 cores), and alone
        _ran("d", 1, 30.0, 35.0),  # beside c: 5 ranks at once
    ]
    kept, notes = local_mode(two_cores, trials, allow_oversubscribed=False)
    assert [t.run_id for t in kept] == ["a", "b", "d"]
    assert _said(notes) == [
        "Trials ran at the same time on this machine: 3 of 3 analyzed trials (g1n1, g2n1) ran "
        "beside other trials, up to 5 ranks at once on the 2 usable cores, so their times and "
        "steps per second include waiting for a core (contention), not the pair's scaling "
        "alone; launch the pairs one at a time (--sequential, with [sweep] max_parallel_jobs = "
        "1) to measure each by itself."
    ]


def test_pairs_one_after_another_or_within_the_cores_are_not_said_to(two_cores):
    sequential = [_ran("a", 1, 0.0, 10.0), _ran("b", 2, 10.0, 20.0), _ran("c", 1, 20.0, 30.0)]
    assert not _said(local_mode(two_cores, sequential, allow_oversubscribed=False)[1])
    within = [_ran("a", 1, 0.0, 10.0), _ran("b", 1, 0.0, 10.0)]  # 2 ranks on 2 cores
    assert not _said(local_mode(two_cores, within, allow_oversubscribed=False)[1])
    # an oversubscribed pair alone is its own note's, kept with --allow-oversubscribed
    alone = [_ran("a", 1, 0.0, 10.0), _ran("c", 4, 10.0, 20.0)]
    assert not _said(local_mode(two_cores, alone, allow_oversubscribed=True)[1])
    # a queued trial takes no core, and a record without times says nothing
    queued = [_ran("a", 2, 0.0, 10.0), _ran("b", 1, 0.0, 10.0, state="queued")]
    assert not _said(local_mode(two_cores, queued, allow_oversubscribed=False)[1])
    # a trial recorded killed when a supervisor found its runner gone: its end is not when
    # it stopped
    orphan = [_ran("a", 2, 0.0, 10.0), _ran("b", 1, 0.0, 500.0, state="killed")]
    assert not _said(local_mode(two_cores, orphan, allow_oversubscribed=False)[1])
    untimed = [trial("a", 2, 1, 1.0), trial("b", 2, 1, 1.0)]
    assert not _said(local_mode(two_cores, untimed, allow_oversubscribed=False)[1])


def test_one_trial_beside_a_left_out_pair_is_said_in_the_singular(two_cores):
    """A pair left out as oversubscribed still took the cores from the trials beside it."""
    trials = [_ran("c", 4, 0.0, 10.0), _ran("a", 1, 5.0, 15.0), _ran("b", 1, 20.0, 30.0)]
    kept, notes = local_mode(two_cores, trials, allow_oversubscribed=False)
    assert [t.run_id for t in kept] == ["a", "b"]
    (note,) = _said(notes)
    assert note.startswith(
        "Trials ran at the same time on this machine: 1 of 2 analyzed trials (g1n1) ran beside "
        "other trials, up to 5 ranks at once on the 2 usable cores, so its times"
    )


def test_other_experiments_trials_at_the_same_time_are_counted_and_named(two_cores):
    """Session 43: experiments `hardware_scaling` and `second` ran their (sequential) pairs at
    once on 2 cores; each one's analysis saw only its own trials and said nothing."""
    from dataclasses import replace

    mine = [_ran("a", 1, 0.0, 10.0), _ran("b", 2, 10.0, 20.0)]  # one after another
    theirs = [
        replace(_ran("x", 2, 12.0, 18.0), sweep="second.g2n1"),  # beside b: 4 ranks
        replace(_ran("y", 2, 100.0, 110.0), sweep="second.g2n1.gen2"),  # beside nothing
    ]
    assert not _said(local_mode(two_cores, mine, allow_oversubscribed=False)[1])
    kept, notes = local_mode(two_cores, mine, allow_oversubscribed=False, beside=theirs)
    assert [t.run_id for t in kept] == ["a", "b"]  # counted, never analyzed
    (note,) = _said(notes)
    assert note.startswith(
        "Trials ran at the same time on this machine: 1 of 2 analyzed trials (g2n1) ran beside "
        "other trials, among them other experiments' (second), up to 4 ranks at once"
    ), note
    assert note.endswith(
        "run one experiment at a time on this machine (and its pairs one at a time: "
        "--sequential, with [sweep] max_parallel_jobs = 1) to measure each by itself."
    ), note
    # another experiment's trials at other times: nothing said
    later = [replace(_ran("z", 2, 50.0, 60.0), sweep="second.g2n1")]
    assert not _said(local_mode(two_cores, mine, allow_oversubscribed=False, beside=later)[1])


def test_the_store_gives_other_experiments_trials_and_the_app_counts_them(two_cores):
    """analyze and the app's analysis screen read the other experiments' trials from this
    machine's store (an experiment name may hold dots: `hw.v2` is not `hw`)."""
    from hwscale_tui.analysis.selection import other_experiments_trials
    from hwscale_tui.paths import app_paths
    from hwscale_tui.store import Store
    from hwscale_tui.tui.screens.analysis import select_trials

    with Store(app_paths().ensure().store) as st:
        for run, sweep, gpus, start, end in (
            ("a", "hw.g1n1", 1, 0.0, 10.0),
            ("b", "hw.g2n1", 2, 10.0, 20.0),
            ("x", "hw.v2.g2n1", 2, 12.0, 18.0),  # another experiment, beside b
        ):
            st.insert_trial(
                run,
                sweep,
                gpus=gpus,
                nodes=1,
                state="finished",
                score=1.0,
                created_at=start,
                updated_at=end,
            )
    assert [t.run_id for t in other_experiments_trials("hw")] == ["x"]
    assert [t.run_id for t in other_experiments_trials("hw.v2")] == ["a", "b"]
    cfg = cfgmod.apply_overrides(two_cores, {"experiment.name": "hw"}, "test")
    with Store(app_paths().store, readonly=True) as st:
        mine = [t for t in st.trials() if t.sweep.startswith("hw.g")]
    _kept, notes = select_trials(cfg, mine)
    (note,) = _said(notes)
    assert "among them other experiments' (hw.v2)" in note, note
