"""The note an analysis carries while its generation is still running (analysis/selection.py),
in ``hwscale-tui analyze`` on a real store too."""

from __future__ import annotations

import subprocess

from hwscale_tui.analysis.selection import progress_note
from hwscale_tui.config import default_config
from hwscale_tui.records import Trial
from hwscale_tui.store import Store
from tests.analysis.analysis_helpers import trial
from tests.support.cli import REPO, hwscale_cmd


def _trial(run_id: str, pair: str, state: str, generation: int = 1) -> Trial:
    g, n = (int(v) for v in pair[1:].split("n"))
    score = 400.0 if state == "finished" else None
    return trial(run_id, g, n, score, state=state, generation=generation)


def _cfg(pairs=((1, 2), (1,)), generation: int = 1):
    cfg = default_config()
    cfg.grid.gpu_counts, cfg.grid.node_counts = list(pairs[0]), list(pairs[1])
    cfg.generation = generation
    return cfg


def test_no_note_when_every_pair_has_only_finished_trials():
    trials = [_trial("a", "g1n1", "finished"), _trial("b", "g2n1", "failed")]
    assert progress_note(_cfg(), trials) is None
    assert progress_note(_cfg(), []) is None


def test_trials_in_flight_and_pairs_without_trials_are_named():
    trials = [
        _trial("a", "g1n1", "finished"),
        _trial("b", "g1n1", "running"),
        _trial("c", "g1n1", "awaiting_eval"),
    ]
    note = progress_note(_cfg(), trials)
    assert note is not None
    assert "2 trials still running or awaiting evaluation (g1n1)" in note
    assert "no trials yet from g2n1" in note
    assert "will change" in note
    # only a pair missing
    note = progress_note(_cfg(), [_trial("a", "g1n1", "finished")])
    assert note is not None and "still running" not in note and "g2n1" in note


def test_trials_awaiting_evaluation_are_not_said_to_run():
    """A Metta trial whose training ended and whose evaluation is due was "still running"."""
    trials = [_trial("a", "g1n1", "finished"), _trial("c", "g1n1", "awaiting_eval")]
    note = progress_note(_cfg(), trials, ended={"g2n1"})
    assert note is not None and "1 trial awaiting evaluation (g1n1)" in note, note
    assert "running" not in note


def test_a_pair_whose_sweep_ended_without_trials_is_not_waited_for():
    # g2n1 was cancelled while scheduled: it will bring no trial, the generation has ended
    trials = [_trial("a", "g1n1", "finished")]
    assert progress_note(_cfg(), trials, ended={"g2n1"}) is None
    note = progress_note(_cfg(), [*trials, _trial("b", "g1n1", "running")], ended={"g2n1"})
    assert note is not None and "g2n1" not in note and "still running (g1n1)" in note


def test_an_older_generation_is_not_said_to_miss_pairs():
    # generation 2 added g2n1; generation 1 never had it and is not waiting for it
    cfg = _cfg(generation=2)
    old = [_trial("a", "g1n1", "finished", generation=1)]
    assert progress_note(cfg, old) is None
    new = [_trial("b", "g1n1", "finished", generation=2)]
    note = progress_note(cfg, new)
    assert note is not None and "no trials yet from g2n1" in note


def test_analyze_says_so_on_a_store_with_a_running_trial(private_home):
    with Store.open_default() as store:
        for i, (state, score) in enumerate((("finished", 480.0), ("running", None))):
            run_id = f"trial_{i}"
            store.insert_trial(
                run_id,
                "hardware_scaling.g1n1",
                experiment="hardware_scaling",
                gpus=1,
                nodes=1,
                state=state,
                params={"trainer.batch_size": 1024},
                score=score,
                agent_steps=20_000,
                runtime_s=2.0,
            )
            store.append_history(
                run_id,
                [
                    {"agent_step": 1000.0 * k, "wall_s": 0.1 * k, "score": 40.0 * k}
                    for k in range(1, 13 if state == "finished" else 5)
                ],
            )
    r = subprocess.run(
        [*hwscale_cmd("analyze", "--bootstrap", "50", "--width", "160")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr
    # the embedded default grid: every pair but g1n1 has no trial yet
    sentence = "Still in progress: 1 trial still running (g1n1); no trials yet from "
    assert sentence in r.stderr
    line = next(x for x in r.stderr.splitlines() if sentence in x)
    assert "g2n1" in line and "g1n1," not in line and "will change" in line
    assert sentence in " ".join(r.stdout.split())  # in the report's notes too


def test_local_mode_does_not_wait_for_a_pair_the_analysis_leaves_out(monkeypatch):
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    cfg = _cfg(pairs=((1, 4), (1,)))  # g4n1: 4 ranks on 2 cores, left out of the analysis
    assert cfg.local_ranks
    trials = [_trial("a", "g1n1", "finished")]
    assert progress_note(cfg, trials) is None
    note = progress_note(cfg, trials, allow_oversubscribed=True)
    assert note is not None and "no trials yet from g4n1" in note
