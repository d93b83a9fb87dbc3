"""Readers of a trial's metrics file outside the sweep runner survive a folder, a named pipe and
a line nested too deep (helper 86, session 43: `cancel`, the supervisor's reap and doctor's
rebuild read it through metrics_file.MetricsTail, which raised IsADirectoryError, hung on a pipe
nobody writes, and ended in a RecursionError)."""

from __future__ import annotations

import json
import os

from hwscale_tui.metrics_file import read_final, recovered_trial, write_trial_record


def test_a_folder_a_pipe_or_a_too_deep_line_reads_as_no_final_line(tmp_path):
    folder = tmp_path / "a" / "metrics.jsonl"
    folder.mkdir(parents=True)
    assert read_final(folder) is None
    pipe = tmp_path / "b.jsonl"
    os.mkfifo(pipe)
    assert read_final(pipe) is None  # returns at once: nobody writes it
    deep = tmp_path / "c.jsonl"
    final = {"final": True, "state": "finished", "sweep/score": 3.0}
    deep.write_text("[" * 200_000 + "\n" + json.dumps(final) + "\n")
    assert read_final(deep) == final  # the deep line is skipped, the rest read


def test_doctor_rebuild_names_a_run_whose_metrics_path_is_a_folder(tmp_path):
    run = tmp_path / "exp.g1n1_trial_0001_abcdef"
    write_trial_record(
        run,
        {"run_id": run.name, "sweep": "exp.g1n1", "idx": 1, "gpus": 1, "nodes": 1, "params": {}},
    )
    (run / "metrics.jsonl").mkdir()
    assert "no final metrics line" in str(recovered_trial(run))
